"""MLP against a numpy computation of the same network."""

import numpy as np
import pytest

import trax.layers as tl
from trax import models
from trax import shapes
from tests.models import helpers


def _relu(x):
  return np.maximum(x, 0.0)


@pytest.mark.parametrize('out_activation', [False, True])
def test_mlp_matches_numpy(out_activation):
  model = models.MLP(layer_widths=(6, 5, 3), out_activation=out_activation)
  x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
  weights, state = helpers.init(model, shapes.signature(x))
  (w1, b1), (w2, b2), (w3, b3) = [
    (np.asarray(w), np.asarray(b))
    for w, b in zip(*[iter(tl.flatten_weights_and_state(weights, ())[0])] * 2)
  ]
  h = x.reshape(2, 12)
  expected = _relu(_relu(h @ w1 + b1) @ w2 + b2) @ w3 + b3
  if out_activation:
    expected = _relu(expected)
  y, _ = model.pure_fn(x, weights, state, helpers.RNG)
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
  assert helpers.flat_shapes(weights) == [(12, 6), (6,), (6, 5), (5,), (5, 3), (3,)]


def test_mlp_without_flatten_acts_on_the_last_axis():
  model = models.MLP(layer_widths=(4,), flatten=False, activation_fn=tl.Tanh)
  x = np.random.default_rng(1).normal(size=(2, 3, 5)).astype(np.float32)
  weights, state = helpers.init(model, shapes.signature(x))
  ((w, b),) = weights
  y, _ = model.pure_fn(x, weights, state, helpers.RNG)
  np.testing.assert_allclose(y, x @ np.asarray(w) + np.asarray(b), rtol=1e-5, atol=1e-6)


def test_mlp_computes_the_same_in_every_mode():
  x = np.random.default_rng(2).normal(size=(2, 7)).astype(np.float32)
  outputs = []
  for mode in ('train', 'eval', 'predict'):
    model = models.MLP(layer_widths=(3, 2), mode=mode)
    outputs.append(model.pure_fn(x, *helpers.init(model, shapes.signature(x)), helpers.RNG)[0])
  np.testing.assert_allclose(outputs[1], outputs[0])
  np.testing.assert_allclose(outputs[2], outputs[0])
