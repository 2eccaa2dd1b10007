"""Causal attention: numbers against numpy, causality, and incremental decoding == eval."""

import jax
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness
from tests.layers.test_attention import numpy_attention

ShapeDtype = shapes.ShapeDtype
RNG = jax.random.PRNGKey(0)

PARITY_CASES = [
  harness.Case('CausalAttention', lambda: tl.CausalAttention(8, n_heads=2), ShapeDtype((2, 5, 8))),
  harness.Case(
    'CausalAttention',
    lambda: tl.CausalAttention(6, n_heads=3, use_dconv=True),
    ShapeDtype((2, 5, 4)),
  ),
  harness.Case(
    'DotProductCausalAttention', tl.DotProductCausalAttention, (ShapeDtype((4, 5, 3)),) * 3
  ),
  harness.Case(
    'CausalAttentionCore', lambda: tl.CausalAttentionCore(n_heads=2), (ShapeDtype((2, 5, 6)),) * 3
  ),
]


def _flat_weights(layer):
  return tl.flatten_weights_and_state(layer.weights, layer.state)[0]


def _causal_mask(batch, length):
  return np.broadcast_to(np.tril(np.ones((length, length), bool)), (batch, length, length))


def test_causal_attention_matches_numpy():
  x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype(np.float32)
  layer = tl.CausalAttention(8, n_heads=4)
  y = layer(x)
  flat_weights = _flat_weights(layer)
  assert [w.shape for w in flat_weights] == [(8, 8), (8,)] * 4  # q, k, v, output
  expected = numpy_attention(x, x, x, _causal_mask(2, 6), flat_weights, n_heads=4)
  np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-5)


def test_positions_do_not_see_the_future():
  x = np.random.default_rng(1).normal(size=(1, 7, 4)).astype(np.float32)
  layer = tl.CausalAttention(4, n_heads=2)
  y = np.asarray(layer(x))
  for t in range(7):
    changed = x.copy()
    changed[:, t] += 10.0
    y_changed = np.asarray(layer(changed))
    np.testing.assert_allclose(y_changed[:, :t], y[:, :t], atol=1e-6)
    assert np.abs(y_changed[:, t] - y[:, t]).max() > 1e-3


def _language_model(mode, use_dconv=False, max_len=16):
  return tl.Serial(
    tl.Embedding(11, 8),
    tl.PositionalEncoding(max_len=32, mode=mode),
    tl.CausalAttention(8, n_heads=2, max_inference_length=max_len, use_dconv=use_dconv, mode=mode),
    tl.CausalAttention(8, n_heads=4, max_inference_length=max_len, mode=mode),
    tl.Dense(5),
  )


@pytest.mark.parametrize('use_dconv', [False, True])
@pytest.mark.parametrize('chunks', [[1] * 9, [3, 1, 1, 1, 1, 1, 1], [4, 5]])
def test_incremental_decoding_equals_one_eval_pass(chunks, use_dconv):
  tokens = np.random.default_rng(2).integers(0, 11, (2, 9)).astype(np.int32)
  eval_model = _language_model('eval', use_dconv)
  weights, eval_state = eval_model.init(ShapeDtype((2, 9), np.int32), rng=RNG)
  expected, _ = eval_model.pure_fn(tokens, weights, eval_state, RNG)

  predict_model = _language_model('predict', use_dconv)
  _, state = predict_model.init(ShapeDtype((2, 1), np.int32), rng=RNG)
  step = jax.jit(lambda x, s: predict_model.pure_fn(x, weights, s, RNG))
  outputs, start = [], 0
  for size in chunks:
    y, new_state = step(tokens[:, start : start + size], state)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    outputs.append(y)
    state, start = new_state, start + size
  np.testing.assert_allclose(np.concatenate(outputs, axis=1), expected, atol=1e-5)


def test_predict_state_holds_caches_and_position():
  layer = tl.CausalAttention(8, n_heads=2, max_inference_length=10, mode='predict')
  _, state = layer.init(ShapeDtype((3, 1, 8)))
  keys, values, position = state[1]  # CausalAttentionCore follows the q/k/v branch.
  assert keys.shape == values.shape == (3 * 2, 10, 4)  # Trax 1.x's layout.
  assert int(position) == 0
  x = np.ones((3, 4, 8), np.float32)
  layer(x)
  layer(x[:, :1])
  keys, _, position = layer.state[1]
  assert int(position) == 5
  assert np.abs(np.asarray(keys)[:, :5]).sum() > 0 and not np.asarray(keys)[:, 5:].any()


def test_dconv_weights_follow_each_projection():
  layer = tl.CausalAttention(6, n_heads=3, use_dconv=True)
  layer.init(ShapeDtype((2, 5, 4)))
  shapes_ = [w.shape for w in _flat_weights(layer)]
  assert shapes_ == [(4, 6), (6,), (3, 6)] * 3 + [(6, 6), (6,)]


def test_dropout_only_in_train():
  x = np.random.default_rng(3).normal(size=(2, 16, 8)).astype(np.float32)
  train = tl.CausalAttention(8, n_heads=2, dropout=0.5)
  weights, state = train.init(shapes.signature(x), rng=RNG)
  evaluate = tl.CausalAttention(8, n_heads=2, dropout=0.5, mode='eval')
  clean, _ = evaluate.pure_fn(x, weights, state, RNG)
  noisy, _ = train.pure_fn(x, weights, state, RNG)
  again, _ = train.pure_fn(x, weights, state, RNG)
  other, _ = train.pure_fn(x, weights, state, jax.random.PRNGKey(1))
  np.testing.assert_array_equal(noisy, again)
  assert np.abs(noisy - clean).max() > 1e-2 and np.abs(other - noisy).max() > 1e-2
  no_dropout = tl.CausalAttention(8, n_heads=2)
  np.testing.assert_allclose(no_dropout.pure_fn(x, weights, state, RNG)[0], clean, atol=1e-6)


def test_train_mode_compiles_without_large_constants():
  layer = tl.CausalAttention(8, n_heads=2, dropout=0.1)
  weights, state = layer.init(ShapeDtype((2, 64, 8)), rng=RNG)
  jaxpr = jax.make_jaxpr(lambda x, w: layer.pure_fn(x, w, state, RNG)[0])(
    np.ones((2, 64, 8), np.float32), weights
  )
  assert all(np.size(c) < 64 for c in jaxpr.consts)  # The causal mask comes from iota.


def test_errors_name_the_layer():
  with pytest.raises(ValueError, match='CausalAttention: d_feature=10 .* n_heads=3'):
    tl.CausalAttention(10, n_heads=3)
  layer = tl.CausalAttention(4, n_heads=2, max_inference_length=3, mode='predict')
  with pytest.raises(
    tl.LayerError,
    match=r'CausalAttentionCore(.|\n)*'
    r'max_inference_length=3',
  ):
    layer(np.ones((1, 5, 4), np.float32))
  with pytest.raises(
    tl.LayerError,
    match=r'DotProductCausalAttention(.|\n)*'
    r'max_inference_length=3',
  ):
    tl.DotProductCausalAttention(max_inference_length=3, mode='predict')(
      (np.ones((2, 5, 2), np.float32),) * 3
    )
  with pytest.raises(ValueError, match='DotProductCausalAttention: mode'):
    tl.DotProductCausalAttention(mode='decode')


@pytest.mark.slow  # Imports TensorFlow and traces the stack: about 10 s.
def test_tensorflow_backend_with_dynamic_batch_and_length():
  import tensorflow as tf
  from trax import fastmath

  model = tl.Serial(tl.ShiftRight(), _language_model('eval'))
  tokens = np.random.default_rng(4).integers(0, 11, (2, 9)).astype(np.int32)
  weights, state = model.init(shapes.signature(tokens), rng=RNG)
  expected, _ = model.pure_fn(tokens, weights, state, RNG)
  to_tf = lambda tree: tf.nest.map_structure(lambda a: tf.constant(np.asarray(a)), tree)
  tf_weights, tf_state, tf_rng = to_tf(weights), to_tf(state), to_tf(RNG)
  with fastmath.use_backend('tensorflow-numpy'):
    traced = tf.function(
      lambda x: model.pure_fn(x, tf_weights, tf_state, tf_rng)[0],
      input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    for length in (9, 4):
      np.testing.assert_allclose(traced(tokens[:, :length]), expected[:, :length], atol=1e-5)


def test_max_positions_is_the_predict_cache_or_the_positional_table():
  for mode, expected in (('train', None), ('eval', None), ('predict', 9)):
    assert tl.DotProductCausalAttention(mode=mode, max_inference_length=9).max_positions == (
      expected
    )
  assert tl.PositionalEncoding(max_len=7).max_positions == 7
