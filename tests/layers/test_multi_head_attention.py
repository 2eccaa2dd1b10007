"""trax/layers/multi_head_attention.py against numpy attention with every mask."""

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case(
    'MultiHeadAttention',
    lambda: tl.MultiHeadAttention(
      2,
      3,
      d_value=2,
      d_out=5,
      n_sequences=3,
      masks=('query', 'attention'),
      causal=True,
      use_bias=False,
      mode='eval',
    ),
    (
      ShapeDtype((2, 5, 4)),
      ShapeDtype((2, 6, 3)),
      ShapeDtype((2, 6, 2)),
      ShapeDtype((2, 5), np.bool_),
      ShapeDtype((2, 5, 6), np.bool_),
    ),
  ),
]
RNG = np.random.default_rng(0)


def _reference(q, v, k, weights, heads, d_key, d_value, mask):
  wq, bq, wk, bk, wv, bv, wo, bo = weights
  split = lambda x, d: x.reshape(x.shape[0], x.shape[1], heads, d).transpose(0, 2, 1, 3)
  qh, kh, vh = split(q @ wq + bq, d_key), split(k @ wk + bk, d_key), split(v @ wv + bv, d_value)
  scores = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(d_key)
  scores = np.where(mask[:, None], scores, -1e9)
  probabilities = np.exp(scores - scores.max(-1, keepdims=True))
  probabilities /= probabilities.sum(-1, keepdims=True)
  merged = (probabilities @ vh).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], -1)
  return merged @ wo + bo


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_masked_cross_attention_against_numpy(backend):
  q, v, k = (RNG.normal(size=s).astype(np.float32) for s in ((2, 4, 5), (2, 6, 3), (2, 6, 7)))
  query_mask = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
  value_mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
  attention_mask = RNG.random((2, 4, 6)) < 0.8
  layer = tl.MultiHeadAttention(
    2,
    3,
    d_value=4,
    d_out=5,
    n_sequences=3,
    masks=('query', 'value', 'attention'),
    causal=True,
    mode='eval',
  )
  inputs = (q, v, k, query_mask, value_mask, attention_mask)
  layer.init(tuple(ShapeDtype(x.shape, x.dtype) for x in inputs))
  weights = [
    np.asarray(w) + 0.1 * RNG.normal(size=w.shape).astype(np.float32) for w in layer.weights
  ]
  with fastmath.use_backend(backend):
    y = np.asarray(layer(inputs, weights=tuple(weights)))
  causal = np.tril(np.ones((4, 6), bool))
  mask = query_mask[:, :, None] & value_mask[:, None, :] & attention_mask & causal
  expected = _reference(q, v, k, weights, 2, 3, 4, mask)
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_zero_masked_queries_without_keys_attend_to_nothing():
  x = RNG.normal(size=(2, 3, 4)).astype(np.float32)
  query_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
  layer = tl.MultiHeadAttention(1, 2, masks=('query',), zero_masked=True, mode='eval')
  layer.init((ShapeDtype(x.shape), ShapeDtype(query_mask.shape, np.bool_)))
  bias = np.asarray(layer.weights[-1])
  y = np.asarray(layer((x, query_mask)))
  np.testing.assert_allclose(y[0, 2], bias, atol=1e-6)  # Only the output bias.
  plain = tl.MultiHeadAttention(1, 2, masks=('query',), mode='eval')
  y_plain = np.asarray(plain((x, query_mask), weights=layer.weights))
  np.testing.assert_allclose(y[1], y_plain[1], atol=1e-6)
  assert not np.allclose(y[0, 2], y_plain[0, 2])


def test_self_attention_uses_the_query_as_value_and_key():
  x = RNG.normal(size=(2, 5, 4)).astype(np.float32)
  layer = tl.MultiHeadAttention(2, 2, mode='eval')
  layer.init(ShapeDtype(x.shape))
  weights = [np.asarray(w) for w in layer.weights]
  np.testing.assert_allclose(
    np.asarray(layer(x)),
    _reference(x, x, x, weights, 2, 2, 2, np.ones((2, 5, 5), bool)),
    rtol=1e-5,
    atol=1e-5,
  )


def test_bad_arguments_are_refused_clearly():
  with pytest.raises(ValueError, match='distinct names'):
    tl.MultiHeadAttention(2, 2, masks=('padding',))
  with pytest.raises(ValueError, match='1 to 3'):
    tl.MultiHeadAttention(2, 2, n_sequences=4)
