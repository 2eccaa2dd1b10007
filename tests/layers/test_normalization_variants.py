"""trax/layers/normalization_variants.py against numpy formulas."""

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case('GroupNorm', lambda: tl.GroupNorm(2), ShapeDtype((2, 4, 3, 6))),
  harness.Case('L2Normalize', lambda: tl.L2Normalize(axis=(1, 2)), ShapeDtype((2, 3, 4))),
  harness.Case('Standardize', lambda: tl.Standardize(axis=None, invert=True), ShapeDtype((2, 3))),
  harness.Case('Rescale', lambda: tl.Rescale([1.0, 2.0, 3.0], 0.5), ShapeDtype((2, 4, 3))),
  harness.Case('LayerScale', lambda: tl.LayerScale(0.1), ShapeDtype((2, 4, 3))),
]
X = np.random.default_rng(0).normal(size=(2, 4, 3, 6)).astype(np.float32) * 3 + 1


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_group_norm_against_numpy(backend):
  layer = tl.GroupNorm(3, epsilon=1e-3)
  layer.init(ShapeDtype(X.shape))
  scale, bias = np.linspace(0.5, 2.0, 6, dtype=np.float32), np.arange(6, dtype=np.float32)
  with fastmath.use_backend(backend):
    y = np.asarray(layer(X, weights=(scale, bias)))
  groups = X.astype(np.float64).reshape(2, 4, 3, 3, 2)
  mean = groups.mean(axis=(1, 2, 4), keepdims=True)
  variance = groups.var(axis=(1, 2, 4), keepdims=True)
  expected = ((groups - mean) / np.sqrt(variance + 1e-3)).reshape(X.shape) * scale + bias
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_standardize_rescale_and_l2_normalize_against_numpy(backend):
  layer = tl.Standardize(axis=-1)
  layer.init(ShapeDtype(X.shape))
  mean = np.arange(6, dtype=np.float32).reshape(1, 1, 1, 6)
  variance = np.array([0.0, 1.0, 4.0, 9.0, 16.0, 25.0], np.float32).reshape(1, 1, 1, 6)
  inverse = tl.Standardize(invert=True)
  inverse.init(ShapeDtype(X.shape))
  with fastmath.use_backend(backend):
    standardized = np.asarray(layer(X, state=(mean, variance)))
    restored = np.asarray(inverse(standardized, state=(mean, variance)))
    rescaled = np.asarray(tl.Rescale(1 / 127.5, -1.0)(np.array([0, 51, 255], np.uint8)))
    unit = np.asarray(tl.L2Normalize(axis=-1)(X))
  deviation = np.maximum(np.sqrt(variance), 1e-7)
  np.testing.assert_allclose(standardized, (X - mean) / deviation, rtol=1e-6)
  np.testing.assert_allclose(restored[..., 1:], X[..., 1:], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(rescaled, [-1.0, 51 / 127.5 - 1.0, 1.0], rtol=1e-6)
  np.testing.assert_allclose(unit, X / np.linalg.norm(X, axis=-1, keepdims=True), rtol=1e-5)


def test_standardize_statistics_are_state_that_training_keeps():
  layer = tl.Standardize()
  weights, state = layer.init(ShapeDtype((4, 3)))
  assert not fastmath.tree_flatten(weights) and [s.shape for s in state] == [(1, 3), (1, 3)]
