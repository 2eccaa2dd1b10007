"""Multi-head attention, heads and masks, against a loop-per-head numpy implementation."""

import jax
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness

ShapeDtype = shapes.ShapeDtype
RNG = jax.random.PRNGKey(0)
_QKV_MASK = (
  ShapeDtype((2, 4, 6)),
  ShapeDtype((2, 5, 7)),
  ShapeDtype((2, 5, 7)),
  ShapeDtype((2, 1, 1, 5), bool),
)

PARITY_CASES = [
  harness.Case(
    'Attention',
    lambda: tl.Attention(8, n_heads=2),
    (ShapeDtype((2, 5, 8)), ShapeDtype((2, 1, 1, 5), bool)),
  ),
  harness.Case('AttentionQKV', lambda: tl.AttentionQKV(8, n_heads=2), _QKV_MASK),
  harness.Case(
    'AttentionQKV', lambda: tl.AttentionQKV(8, n_heads=2, cache_KV_in_predict=True), _QKV_MASK
  ),
  harness.Case(
    'PureAttention',
    lambda: tl.PureAttention(n_heads=2),
    (
      ShapeDtype((2, 4, 6)),
      ShapeDtype((2, 5, 6)),
      ShapeDtype((2, 5, 6)),
      ShapeDtype((2, 1, 4, 5), bool),
    ),
  ),
  harness.Case('SplitIntoHeads', lambda: tl.SplitIntoHeads(3), ShapeDtype((2, 5, 6))),
  harness.Case('MergeHeads', lambda: tl.MergeHeads(3), ShapeDtype((6, 5, 2))),
  harness.Case(
    'ConfigurableAttention',
    lambda: tl.ConfigurableAttention(
      tl.Dense(6), tl.Dense(6), tl.Dense(6), tl.Dense(4), tl.DotProductCausalAttention(), n_heads=3
    ),
    ShapeDtype((2, 5, 7)),
  ),
  harness.Case(
    'PaddingMask', lambda: tl.PaddingMask(pad=1), ShapeDtype((2, 5), np.int32), {'int_high': 3}
  ),
  harness.Case(
    'EncoderDecoderMask',
    tl.EncoderDecoderMask,
    (ShapeDtype((2, 4, 6)), ShapeDtype((2, 1, 1, 5), bool)),
  ),
]


def softmax(x):
  e = np.exp(x - x.max(axis=-1, keepdims=True))
  return e / e.sum(axis=-1, keepdims=True)


def numpy_attention(x_q, x_k, x_v, mask, flat_weights, n_heads):
  """Textbook multi-head attention with Dense projections; `mask` is (batch, q, k) bool."""
  wq, bq, wk, bk, wv, bv, wo, bo = [np.asarray(w, np.float64) for w in flat_weights]
  q, k, v = x_q @ wq + bq, x_k @ wk + bk, x_v @ wv + bv
  d_head = q.shape[-1] // n_heads
  heads = np.zeros(q.shape)
  for b in range(q.shape[0]):
    for h in range(n_heads):
      cols = slice(h * d_head, (h + 1) * d_head)
      scores = q[b, :, cols] @ k[b, :, cols].T / np.sqrt(d_head)
      scores = np.where(mask[b], scores, -np.inf)
      heads[b, :, cols] = softmax(scores) @ v[b, :, cols]
  return heads @ wo + bo


def _flat_weights(layer):
  return tl.flatten_weights_and_state(layer.weights, layer.state)[0]


def test_attention_matches_numpy_with_padding():
  x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype(np.float32)
  tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
  mask = tl.PaddingMask()(tokens)
  layer = tl.Attention(8, n_heads=2)
  y, mask_out = layer((x, mask))
  expected = numpy_attention(
    x, x, x, np.broadcast_to(tokens[:, None, :] != 0, (2, 5, 5)), _flat_weights(layer), n_heads=2
  )
  np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-5)
  np.testing.assert_array_equal(mask_out, mask)


def test_attention_qkv_different_lengths_matches_numpy():
  rng = np.random.default_rng(1)
  x_q, x_k, x_v = (rng.normal(size=s).astype(np.float32) for s in [(2, 4, 6), (2, 5, 7), (2, 5, 7)])
  mask = rng.random((2, 1, 4, 5)) < 0.7
  mask[..., 0] = True  # Every query sees at least one key.
  layer = tl.AttentionQKV(8, n_heads=4)
  y, _ = layer((x_q, x_k, x_v, mask))
  expected = numpy_attention(x_q, x_k, x_v, mask[:, 0], _flat_weights(layer), n_heads=4)
  assert y.shape == (2, 4, 8)
  np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-5)


def test_attention_weight_structure_is_trax1():
  layer = tl.Attention(8, n_heads=2)
  layer.init((ShapeDtype((2, 5, 6)), ShapeDtype((2, 1, 1, 5), bool)))
  assert [w.shape for w in _flat_weights(layer)] == [(6, 8), (8,)] * 3 + [(8, 8), (8,)]
  assert tl.flatten_weights_and_state(layer.weights, layer.state)[1] == []


def test_masked_keys_do_not_matter():
  rng = np.random.default_rng(2)
  q, k, v = (rng.normal(size=(2, 5, 6)).astype(np.float32) for _ in range(3))
  mask = tl.PaddingMask()(np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]))
  layer = tl.PureAttention(n_heads=3)
  y, _ = layer((q, k, v, mask))
  k2, v2 = k.copy(), v.copy()
  k2[0, 3:], v2[0, 3:], k2[1, 4], v2[1, 4] = 100.0, -100.0, 50.0, 50.0
  y2, _ = layer((q, k2, v2, mask))
  np.testing.assert_allclose(y2, y, atol=1e-6)


def test_dot_product_attention_weights_and_dropout():
  rng = np.random.default_rng(3)
  q, k, v = (rng.normal(size=(3, 4, 2)).astype(np.float32) for _ in range(3))
  out, weights = tl.DotProductAttention(q, k, v, None, 0.5, 'eval', RNG)
  expected_weights = softmax(q @ np.swapaxes(k, 1, 2) / np.sqrt(2.0))
  np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
  np.testing.assert_allclose(out, expected_weights @ v, atol=1e-6)

  q, k, v = (rng.normal(size=(4, 64, 8)).astype(np.float32) for _ in range(3))
  _, clean = tl.DotProductAttention(q, k, v, None, 0.0, 'train', RNG)
  _, dropped = tl.DotProductAttention(q, k, v, None, 0.25, 'train', RNG)
  kept = np.asarray(dropped) != 0
  assert 0.70 < kept.mean() < 0.80
  np.testing.assert_allclose(np.asarray(dropped)[kept], np.asarray(clean)[kept] / 0.75, rtol=1e-5)


def test_split_and_merge_heads_layout():
  x = np.arange(2 * 3 * 6, dtype=np.float32).reshape(2, 3, 6)
  split = tl.SplitIntoHeads(2)(x)
  # Head h of batch b holds features [3h, 3h + 3) and sits at index b * n_heads + h.
  np.testing.assert_array_equal(split[1 * 2 + 1], x[1, :, 3:6])
  np.testing.assert_array_equal(tl.MergeHeads(2)(split), x)
  unmerged = tl.SplitIntoHeads(2, merged_batch_and_head=False)(x)
  assert unmerged.shape == (2, 2, 3, 3)
  np.testing.assert_array_equal(unmerged[1, 0], x[1, :, 0:3])
  np.testing.assert_array_equal(tl.MergeHeads(2, merged_batch_and_head=False)(unmerged), x)


def test_padding_mask():
  mask = tl.PaddingMask(pad=7)(np.array([[1, 7, 2], [7, 7, 3]]))
  assert mask.shape == (2, 1, 1, 3) and mask.dtype == bool
  np.testing.assert_array_equal(mask[:, 0, 0], [[True, False, True], [False, False, True]])


def test_encoder_decoder_mask():
  encoder_mask = tl.PaddingMask()(np.array([[5, 6, 0], [5, 0, 0]]))
  decoder = np.zeros((2, 4, 8), np.float32)
  mask = tl.EncoderDecoderMask()((decoder, encoder_mask))
  assert mask.shape == (2, 1, 4, 3) and mask.dtype == bool
  for t in range(4):
    np.testing.assert_array_equal(mask[:, 0, t], [[True, True, False], [True, False, False]])


def test_cache_kv_in_predict_reuses_first_keys_and_values():
  rng = np.random.default_rng(4)
  q1, q2 = (rng.normal(size=(2, 1, 6)).astype(np.float32) for _ in range(2))
  k, v, other = (rng.normal(size=(2, 5, 6)).astype(np.float32) for _ in range(3))
  mask = np.ones((2, 1, 1, 5), bool)
  signature = shapes.signature((q1, k, v, mask))
  eval_layer = tl.AttentionQKV(8, n_heads=2, mode='eval')
  weights, _ = eval_layer.init(signature, rng=RNG)
  predict_layer = tl.AttentionQKV(8, n_heads=2, mode='predict', cache_KV_in_predict=True)
  predict_tree, state = predict_layer.init(signature, rng=RNG)
  # The cached projections nest one level deeper; the flat (checkpoint) order is the same.
  weights, _ = tl.unflatten_weights_and_state(
    tl.flatten_weights_and_state(weights, ())[0], [], (predict_tree, ()), weights_only=True
  )
  step = jax.jit(lambda x, s: predict_layer.pure_fn(x, weights, s, RNG))
  y1, state = step((q1, k, v, mask), state)
  y2, state = step((q2, other, other, mask), state)  # New keys and values are ignored.
  np.testing.assert_allclose(y1[0], eval_layer((q1, k, v, mask))[0], atol=1e-6)
  np.testing.assert_allclose(y2[0], eval_layer((q2, k, v, mask))[0], atol=1e-6)


def test_errors_name_the_layer():
  x = np.ones((2, 3, 10), np.float32)
  with pytest.raises(tl.LayerError, match='PureAttention'):
    tl.PureAttention(n_heads=3)((x, x, x, None))
  with pytest.raises(tl.LayerError, match=r'SplitIntoHeads(.|\n)*n_heads=3'):
    tl.SplitIntoHeads(3)(x)
  with pytest.raises(tl.LayerError, match=r'MergeHeads(.|\n)*multiple of n_heads=4'):
    tl.MergeHeads(4)(np.ones((6, 3, 2), np.float32))
  with pytest.raises(tl.LayerError, match=r'PaddingMask(.|\n)*\(batch, length\)'):
    tl.PaddingMask()(np.ones((2, 3, 4), np.int32))
  with pytest.raises(ValueError, match='Attention: d_feature=10 must be a multiple of n_he'):
    tl.Attention(10, n_heads=4)
  with pytest.raises(ValueError, match="AttentionQKV: q_sparsity=4"):
    tl.AttentionQKV(8, q_sparsity=4)
  with pytest.raises(ValueError, match='PureAttention: mode'):
    tl.PureAttention(mode='decode')
  with pytest.raises(ValueError, match='dropout'):
    tl.Attention(8, dropout=1.0)


def test_noop_projections():
  layer = tl.AttentionQKV(6, n_heads=2, q_sparsity='noop', result_sparsity='noop')
  x = np.random.default_rng(5).normal(size=(1, 3, 6)).astype(np.float32)
  y, _ = layer((x, x, x, np.ones((1, 1, 1, 3), bool)))
  assert [w.shape for w in _flat_weights(layer)] == [(6, 6), (6,), (6, 6), (6,)]
  assert y.shape == (1, 3, 6)


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_viz_mode_keeps_the_attention_weights_in_state_as_trax():
  # Trax 1.4's 'viz' mode: computes as 'eval', the attention layers' state is the weights.
  rng = np.random.default_rng(0)
  q, k, v = (rng.normal(size=(2, 3, 4)).astype(np.float32) for _ in range(3))
  mask = np.array([True, True, False])[None, None, None, :].repeat(2, 0)
  layer = tl.PureAttention(n_heads=2, mode='viz')
  layer.init((shapes.signature(q),) * 3 + (shapes.signature(mask),))
  activations, _ = layer((q, k, v, mask))
  heads = lambda x: x.reshape(2, 3, 2, 2).transpose(0, 2, 1, 3)  # (batch, head, len, d)
  scores = heads(q) @ heads(k).transpose(0, 1, 3, 2) / np.sqrt(2)
  expected = _softmax(np.where(mask, scores, -1e9))
  np.testing.assert_allclose(layer.state, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(
    activations, (expected @ heads(v)).transpose(0, 2, 1, 3).reshape(2, 3, 4), rtol=1e-5
  )

  causal = tl.CausalAttention(4, n_heads=2, mode='viz')
  causal.init(shapes.signature(q))
  causal(q)
  core = causal.sublayers[1]
  assert causal.name == 'Serial' and core.state.shape == (4, 3, 3)  # (batch * heads, q, k)
  np.testing.assert_allclose(np.triu(core.state, 1), 0.0)
  np.testing.assert_allclose(core.state.sum(-1), 1.0, rtol=1e-5)
  plain = tl.DotProductCausalAttention(mode='viz')
  split = (rng.normal(size=(4, 3, 2)).astype(np.float32),) * 3
  plain.init(shapes.signature(split))
  plain(split)
  scores = split[0] @ split[1].transpose(0, 2, 1) / np.sqrt(2)
  expected = _softmax(np.where(np.tril(np.ones((3, 3), bool)), scores, -1e9))
  np.testing.assert_allclose(plain.state, expected, rtol=1e-5, atol=1e-6)
  assert tl.Attention(4).name == tl.AttentionQKV(4).name == 'Serial'  # As in Trax 1.4.
