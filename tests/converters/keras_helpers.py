"""Shared helpers of the from_keras tests: random Keras weights, parity with Keras itself."""

import jax
import keras
import numpy as np

import converters


def randomize(model, seed=0):
  """Random weights everywhere (non-zero biases, moved BatchNorm statistics)."""
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    values = []
    for variable in layer.weights:
      value = rng.normal(scale=0.5, size=variable.shape)
      if 'variance' in variable.path:
        value = np.abs(value) + 0.5
      values.append(value.astype(variable.dtype))
    if values:
      layer.set_weights(values)
  return model


def randomize_batch_norm(model):
  """Moves BatchNorm statistics off (0, 1), so the mapping of the state is exercised."""
  rng = np.random.default_rng(0)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      layer.moving_mean.assign(rng.normal(scale=0.1, size=layer.moving_mean.shape))
      layer.moving_variance.assign(rng.uniform(0.5, 1.5, size=layer.moving_variance.shape))


def relative_error(got, expected) -> float:
  """`max |got - expected| / max |expected|`."""
  return float(np.max(np.abs(np.asarray(got) - expected)) / np.max(np.abs(expected)))


def as_list(outputs):
  outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
  return [np.asarray(o) for o in outputs]


def trax_outputs(layer, x, jit=False):
  """The converted layer's outputs on `x` (a list of inputs goes in as a tuple)."""
  x = tuple(x) if isinstance(x, list) else x
  if not jit:
    return as_list(layer(x))
  run = jax.jit(lambda x, w, s: layer.pure_fn(x, w, s, jax.random.PRNGKey(0))[0])
  return as_list(run(x, layer.weights, layer.state))


def assert_same(keras_model, x, atol=1e-5, rtol=1e-5, mode='eval', jit=False):
  """Converts `keras_model` and checks its outputs on `x` against Keras'; returns it."""
  layer, _ = converters.from_keras(keras_model, mode=mode)
  expected = as_list(keras_model(x, training=mode == 'train'))
  got = trax_outputs(layer, x, jit)
  assert [g.shape for g in got] == [e.shape for e in expected]
  for g, e in zip(got, expected):
    np.testing.assert_allclose(g, e, atol=atol, rtol=rtol)
  return layer


def single_layer_model(layer, input_shape, dtype='float32', call=None):
  inputs = keras.Input(input_shape, dtype=dtype)
  return randomize(keras.Model(inputs, call(layer, inputs) if call else layer(inputs)))


def floats(shape, seed=1):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def padded_tokens(shape, vocab=11, seed=2):
  """Ids in [1, vocab) with trailing zeros (padding) of different lengths per row."""
  tokens = np.random.default_rng(seed).integers(1, vocab, size=shape).astype(np.int32)
  for row in range(shape[0]):
    tokens[row, shape[1] - 2 * (row + 1) :] = 0
  return tokens
