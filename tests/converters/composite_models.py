"""Keras models built from composite custom layers, as users and Keras libraries write them.

Token and position embeddings with a Keras mask, an encoder block taking several inputs
and a mask keyword, a layer taking a dict and returning two outputs, functional graphs
that slice and multiply KerasTensors, ops with no trax mapping, a Lambda, a nested model,
a custom layer used twice; and keras_hub's BERT (which maps exactly) and transformer
layers when keras_hub is installed. `check_wrapping` converts them with
`allow_wrapping=True` and reports, as JSON, the largest difference from Keras and what was
wrapped; it needs Keras on the JAX backend (tests run it in a subprocess).
"""

import json

import jax
import keras
from keras import ops
import numpy as np

import converters

L = keras.layers


class TokenAndPositionEmbedding(L.Layer):
  """Token plus learned position embeddings; masks id 0."""

  def __init__(self, vocab, length, dim, **kwargs):
    super().__init__(**kwargs)
    self.tokens = L.Embedding(vocab, dim)
    self.positions = L.Embedding(length, dim)

  def call(self, ids):
    return self.tokens(ids) + self.positions(ops.arange(ops.shape(ids)[-1]))

  def compute_mask(self, ids, mask=None):
    return ops.not_equal(ids, 0)


class EncoderBlock(L.Layer):
  """Attention over a context (several inputs, a mask keyword), then a feed-forward."""

  def __init__(self, dim, heads, **kwargs):
    super().__init__(**kwargs)
    self.attention = L.MultiHeadAttention(heads, dim // heads)
    self.feed_forward = L.Dense(dim, activation='gelu')
    self.norm1, self.norm2 = L.LayerNormalization(), L.LayerNormalization()

  def call(self, x, context, padding_mask=None):
    x = self.norm1(x + self.attention(x, context, attention_mask=padding_mask))
    return self.norm2(x + self.feed_forward(x))


class Scale(L.Layer):
  """A learned scale per feature."""

  def build(self, input_shape):
    self.scale = self.add_weight(shape=input_shape[-1:], initializer='random_normal')

  def call(self, x):
    return x * self.scale


class TwoOutputs(L.Layer):
  """Takes a dict, returns two tensors."""

  def call(self, inputs):
    return inputs['a'] * 2.0, inputs['b'] - 1.0


def transformer_with_custom_layers() -> tuple[keras.Model, dict]:
  tokens = keras.Input((6,), dtype='int32', name='tokens')
  context = keras.Input((4, 8), name='context')
  x = TokenAndPositionEmbedding(20, 6, 8)(tokens)
  padding = ops.logical_and(ops.ones((1, 6, 4), 'bool'), tokens[:, None, :4] > 0)
  x = EncoderBlock(8, 2)(x, context, padding_mask=padding)
  gated = x[:, :, :4] * ops.sigmoid(x[:, :, 4:])  # Slicing and ops on KerasTensors.
  a, b = TwoOutputs()({'a': gated, 'b': gated[:, ::-1]})
  scale = Scale()
  a, b = scale(a), scale(b)  # One layer twice: shared weights.
  inner_input = keras.Input((6, 4))
  nested = keras.Model(inner_input, L.Lambda(lambda t: t * 3.0)(L.Dense(4)(inner_input)))
  summary = L.GlobalAveragePooling1D()(nested(a) + ops.erf(b))
  model = keras.Model({'tokens': tokens, 'context': context}, [summary, a])
  rng = np.random.default_rng(0)
  ids = rng.integers(1, 20, (2, 6)).astype(np.int32)
  ids[1, -2:] = 0
  return model, {'tokens': ids, 'context': rng.normal(size=(2, 4, 8)).astype(np.float32)}


def keras_hub_models() -> list:
  """Small keras_hub models built from their configuration (nothing downloaded)."""
  import keras_hub

  bert = keras_hub.models.BertBackbone(
    vocabulary_size=50,
    num_layers=2,
    num_heads=2,
    hidden_dim=8,
    intermediate_dim=16,
    max_sequence_length=12,
  )
  ids = np.random.default_rng(1).integers(1, 50, (2, 12)).astype(np.int32)
  padding = np.ones((2, 12), bool)
  padding[1, 8:] = False
  bert_inputs = {'token_ids': ids, 'segment_ids': np.zeros_like(ids), 'padding_mask': padding}
  tokens = keras.Input((10,), dtype='int32')
  x = keras_hub.layers.TokenAndPositionEmbedding(30, 10, 8, mask_zero=True)(tokens)
  x = keras_hub.layers.TransformerEncoder(16, 2)(x)
  x = keras_hub.layers.TransformerDecoder(16, 2)(x, x)
  model = keras.Model(tokens, keras.layers.Dense(3)(x[:, 0]))
  decoder_ids = np.random.default_rng(2).integers(1, 30, (2, 10)).astype(np.int32)
  decoder_ids[0, -3:] = 0
  return [('bert', bert, bert_inputs), ('encoder_decoder', model, decoder_ids)]


def check_wrapping(model: keras.Model, inputs) -> dict:
  """Converts with wrapping; returns the error against Keras and the wrapped nodes."""
  layer, _ = converters.from_keras(model, allow_wrapping=True)
  expected = keras.tree.flatten(model(inputs, training=False))
  flat = tuple(keras.tree.flatten(inputs))  # Keras' order: sorted keys.
  flat = flat if len(flat) > 1 else flat[0]

  def run(weights):
    outputs, _ = layer.pure_fn(flat, weights, layer.state, jax.random.PRNGKey(0))
    return outputs if isinstance(outputs, tuple) else (outputs,)

  got = jax.jit(run)(layer.weights)
  error = max(float(np.max(np.abs(np.asarray(g) - np.asarray(e)))) for g, e in zip(got, expected))
  # trax differentiates through the wrapped nodes.
  loss = lambda weights: sum(jax.numpy.sum(o) for o in run(weights))
  gradients = jax.tree.leaves(jax.jit(jax.grad(loss))(layer.weights))
  wrapped = sorted({s.kind for s in converters.conversion_report(model) if s.status == 'wrapped'})
  return {
    'error': error,
    'wrapped': wrapped,
    'n_outputs': len(got),
    'gradients_finite': all(bool(np.all(np.isfinite(g))) for g in gradients),
    'n_gradients': len(gradients),
    'n_keras_weights': len(model.trainable_weights),
  }


def main(keras_hub: bool = True) -> None:
  """Prints one JSON line per model (run with KERAS_BACKEND=jax)."""
  models = [('custom', *transformer_with_custom_layers())]
  if keras_hub:
    models += keras_hub_models()
  for name, model, inputs in models:
    print(json.dumps({'model': name, **check_wrapping(model, inputs)}))


if __name__ == '__main__':
  main()
