"""trax/layers/recurrence.py: RNN (masks, reversed time, states) against a numpy loop."""

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

_X = ShapeDtype((2, 5, 3))
PARITY_CASES = [
  harness.Case('Flip', lambda: tl.Flip(1), _X),
  harness.Case(
    'SimpleRNNCell', lambda: tl.SimpleRNNCell(4), (ShapeDtype((2, 3)), ShapeDtype((2, 4)))
  ),
  harness.Case(
    'ResetAfterGRUCell', lambda: tl.ResetAfterGRUCell(4), (ShapeDtype((2, 3)), ShapeDtype((2, 4)))
  ),
  harness.Case(
    'RNN',
    lambda: tl.RNN(
      tl.SimpleRNNCell(3),
      3,
      masked=True,
      go_backwards=True,
      return_state=True,
      return_sequences=False,
    ),
    (ShapeDtype((2, 3, 2)), ShapeDtype((2, 3), np.bool_)),
  ),
]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 3)).astype(np.float32)
MASK = np.array([[1, 1, 0, 1, 0, 0], [0, 1, 1, 1, 1, 1]], bool)


def _reference(x, mask, w, b, h0, go_backwards, zero_output):
  """Keras' RNN semantics for an Elman cell, step by step."""
  order = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
  h, y_prev, outputs = h0, np.zeros_like(h0), []
  for t in order:
    new = np.tanh(np.concatenate([x[:, t], h], axis=-1) @ w + b)
    keep = mask[:, t : t + 1]
    h = np.where(keep, new, h)
    y_prev = np.where(keep, new, y_prev)
    outputs.append(np.where(keep, new, 0.0) if zero_output else y_prev)
  return np.stack(outputs, axis=1), h


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
@pytest.mark.parametrize('go_backwards, zero_output', [(False, False), (True, True)])
def test_masked_rnn_against_a_numpy_loop(go_backwards, zero_output, backend):
  layer = tl.RNN(
    tl.SimpleRNNCell(4),
    4,
    masked=True,
    return_state=True,
    go_backwards=go_backwards,
    zero_output_for_mask=zero_output,
    initial_state=True,
  )
  h0 = RNG.normal(size=(2, 4)).astype(np.float32)
  layer.init((ShapeDtype(X.shape), ShapeDtype(MASK.shape, np.bool_), ShapeDtype(h0.shape)))
  flat, _ = tl.flatten_weights_and_state(layer.weights, layer.state)
  w, b = np.asarray(flat[0]), np.asarray(flat[1])
  with fastmath.use_backend(backend):
    ys, h = layer((X, MASK, h0))
  expected_ys, expected_h = _reference(X, MASK, w, b, h0, go_backwards, zero_output)
  np.testing.assert_allclose(np.asarray(ys), expected_ys, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(h), expected_h, rtol=1e-5, atol=1e-6)


def test_last_output_without_mask_equals_the_last_step():
  every = tl.RNN(tl.LSTMCell(3), 3, 6)
  last = tl.RNN(tl.LSTMCell(3), 3, 6, return_sequences=False)
  every.init(ShapeDtype(X.shape))
  tree = last.init(ShapeDtype(X.shape))
  flat, _ = tl.flatten_weights_and_state(every.weights, every.state)
  last.weights, _ = tl.unflatten_weights_and_state(flat, [], tree, weights_only=True)
  np.testing.assert_allclose(np.asarray(last(X)), np.asarray(every(X))[:, -1], rtol=1e-6)
