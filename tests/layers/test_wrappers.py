"""Tests of Chunk, BatchLeadingAxes and Bidirectional against numpy reshapes and flips."""

import jax
import numpy as np
import pytest

from trax import shapes
from trax.fastmath import numpy as fnp
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
RNG = harness.RNG


@tl.register
def _minus_batch_mean(x):
  return x - fnp.mean(x, axis=0, keepdims=True)


@tl.register
def _cumsum_over_time(x):
  return fnp.cumsum(x, axis=1)


def MinusBatchMean():
  """Depends on which items share the batch: shows how a wrapper batches them."""
  return tl.Fn('MinusBatchMean', _minus_batch_mean)


PARITY_CASES = [
  harness.Case('Chunk', lambda: tl.Chunk(tl.Serial(tl.Dense(3), tl.Dup()), 2), S((4, 3))),
  harness.Case(
    'BatchLeadingAxes',
    lambda: tl.BatchLeadingAxes(tl.Serial(tl.Dense(3), MinusBatchMean())),
    S((2, 3, 4)),
  ),
  harness.Case(
    'Bidirectional',
    lambda: tl.Bidirectional(tl.Serial(tl.Dense(3), tl.Fn('CumSum', _cumsum_over_time))),
    S((2, 5, 4)),
  ),
]


def test_chunk_runs_the_layer_on_each_chunk():
  x = harness.random_inputs(S((6, 3)))
  expected = np.concatenate([c - c.mean(0) for c in np.split(x, 3)])
  np.testing.assert_allclose(tl.Chunk(MinusBatchMean(), 2)(x), expected, atol=1e-6)


def test_chunk_shares_the_weights_of_all_chunks():
  layer = tl.Serial(tl.Dense(4), tl.Relu())
  chunked = tl.Chunk(layer, chunk_size=2)
  x = harness.random_inputs(S((6, 3)))
  y = chunked(x)
  weights = chunked.weights
  assert weights[0] == () and weights[2] == ()
  assert len(tl.flatten_weights_and_state(weights, chunked.state)[0]) == 2
  harness.assert_trees_close(y, layer.pure_fn(x, weights[1][0], layer.state, RNG)[0])


def test_chunk_with_a_size_not_dividing_the_batch():
  x = harness.random_inputs(S((5, 3)))
  np.testing.assert_allclose(tl.Chunk(MinusBatchMean(), 2)(x), x - x.mean(0), atol=1e-6)
  with pytest.raises(tl.LayerError, match='does not divide'):
    tl.Chunk(MinusBatchMean(), 2, pass_unchunkable=False)(x)
  dense = tl.Dense(2)
  assert tl.Chunk(dense, 0) is dense
  assert dense.config()['factory'] == 'Dense'


@pytest.mark.parametrize('n_kept', [1, 2])
def test_batch_leading_axes_folds_leading_axes_into_the_batch(n_kept):
  x = harness.random_inputs(S((2, 3, 4, 5)))
  kept = x.shape[-n_kept:]
  folded = x.reshape((-1,) + kept)
  expected = (folded - folded.mean(0)).reshape(x.shape)
  layer = tl.BatchLeadingAxes(MinusBatchMean(), n_last_axes_to_keep=n_kept)
  np.testing.assert_allclose(layer(x), expected, atol=1e-6)


def test_batch_leading_axes_with_weights_and_two_inputs():
  layer = tl.BatchLeadingAxes(tl.Serial(tl.Add(), tl.Dense(2)))
  assert (layer.n_in, layer.n_out) == (2, 1)
  a, b = harness.random_inputs((S((2, 3, 4)), S((2, 3, 4))))
  y = layer((a, b))
  (((), (w, bias)),) = layer.weights
  np.testing.assert_allclose(y, (a + b) @ w + bias, atol=1e-5)
  with pytest.raises(ValueError, match='n_out=1'):
    tl.BatchLeadingAxes(tl.Dup())


def test_bidirectional_runs_a_copy_on_the_reversed_sequence():
  cumsum = tl.Fn('CumSum', _cumsum_over_time)
  x = harness.random_inputs(S((2, 5, 3)))
  y = tl.Bidirectional(cumsum)(x)
  reversed_cumsum = np.flip(np.cumsum(np.flip(x, 1), 1), 1)
  np.testing.assert_allclose(y, np.concatenate([np.cumsum(x, 1), reversed_cumsum], -1), atol=1e-5)


def test_bidirectional_backward_copy_has_its_own_weights():
  layer = tl.Bidirectional(tl.Dense(4), merge_layer=tl.Add())
  x = harness.random_inputs(S((2, 5, 3)))
  y = layer(x)
  flat_weights, _ = tl.flatten_weights_and_state(layer.weights, layer.state)
  assert len(flat_weights) == 4
  w_f, b_f, w_b, b_b = flat_weights
  assert not np.allclose(w_f, w_b)
  np.testing.assert_allclose(y, x @ w_f + b_f + x @ w_b + b_b, atol=1e-5)
  rebuilt = tl.from_config(layer.config())
  assert len(jax.tree.leaves(rebuilt.init(S((2, 5, 3)))[0])) == 4
