"""Layer-style code on the tensorflow-numpy backend builds plain TF ops: a transformer block
traced with unknown batch and length matches jax and converts to TF Lite builtins only."""

import jax
import numpy as np
import pytest
import tensorflow as tf

from trax import fastmath
from trax.fastmath import numpy as fnp

D_MODEL, N_HEADS, D_FF = 16, 4, 32
RNG = np.random.default_rng(3)
WEIGHTS = {
  name: (RNG.normal(size=shape) / np.sqrt(shape[0])).astype(np.float32)
  for name, shape in [
    ('q', (D_MODEL, D_MODEL)),
    ('k', (D_MODEL, D_MODEL)),
    ('v', (D_MODEL, D_MODEL)),
    ('o', (D_MODEL, D_MODEL)),
    ('ff1', (D_MODEL, D_FF)),
    ('ff2', (D_FF, D_MODEL)),
  ]
}


def _layer_norm(x):
  mean = fnp.mean(x, axis=-1, keepdims=True)
  return (x - mean) / fnp.sqrt(fnp.var(x, axis=-1, keepdims=True) + 1e-6)


def decoder_block(x):
  """Pre-norm causal self-attention and a GELU feed-forward; x: (batch, length, d_model)."""
  batch, length, _ = fastmath.shape(x)
  heads = lambda z: fnp.swapaxes(fnp.reshape(z, (batch, length, N_HEADS, -1)), 1, 2)
  y = _layer_norm(x)
  q, k, v = (heads(fnp.dot(y, WEIGHTS[name])) for name in 'qkv')  # (B, H, T, D/H)
  logits = fnp.matmul(q, fnp.swapaxes(k, -1, -2)) / np.sqrt(D_MODEL // N_HEADS)
  logits = fnp.where(fnp.tril(fnp.ones((length, length), fnp.bool_)), logits, -1e9)
  attention = fnp.exp(logits - fastmath.logsumexp(logits, axis=-1, keepdims=True))
  mixed = fnp.reshape(fnp.swapaxes(fnp.matmul(attention, v), 1, 2), (batch, length, -1))
  x = x + fnp.dot(mixed, WEIGHTS['o'])
  h = fnp.dot(_layer_norm(x), WEIGHTS['ff1'])
  h = 0.5 * h * (1.0 + fastmath.erf(h / np.sqrt(2.0)))
  return x + fnp.dot(h, WEIGHTS['ff2'])


@pytest.fixture(scope='module')
def traced_block():
  with fastmath.use_backend('tensorflow-numpy'):
    block = tf.function(
      decoder_block, autograph=False, input_signature=[tf.TensorSpec([None, None, D_MODEL])]
    )
    return block, block.get_concrete_function()


def test_block_matches_jax_for_any_batch_and_length(traced_block):
  block, _ = traced_block
  for shape in [(2, 5, D_MODEL), (1, 9, D_MODEL)]:
    x = RNG.normal(size=shape).astype(np.float32)
    with fastmath.use_backend('jax'):
      expected = np.asarray(jax.jit(decoder_block)(x))
    np.testing.assert_allclose(block(x).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_graph_has_only_ordinary_ops(traced_block):
  _, concrete = traced_block
  op_types = {op.type for op in concrete.graph.get_operations()}
  assert not op_types & {'XlaCallModule', 'XlaDotV2', 'XlaGather', 'XlaScatter'}
  assert not any(
    t.dtype == tf.float64 for op in concrete.graph.get_operations() for t in op.outputs
  )


def test_converts_to_tflite_builtins_with_dynamic_shapes(traced_block):
  from ai_edge_litert import interpreter as litert

  block, concrete = traced_block
  converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], block)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  runner = litert.Interpreter(model_content=converter.convert())
  x = RNG.normal(size=(3, 7, D_MODEL)).astype(np.float32)
  runner.resize_tensor_input(runner.get_input_details()[0]['index'], x.shape)
  runner.allocate_tensors()
  runner.set_tensor(runner.get_input_details()[0]['index'], x)
  runner.invoke()
  np.testing.assert_allclose(
    runner.get_tensor(runner.get_output_details()[0]['index']),
    block(x).numpy(),
    rtol=1e-4,
    atol=1e-4,
  )
