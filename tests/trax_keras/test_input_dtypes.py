"""Input dtypes: integer ids reach a TraxLayer where Keras guessed floats."""

import keras
import numpy as np
import pytest

from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers

ids = np.random.default_rng(0).integers(0, 20, (32, 6)).astype(np.int32)
targets = np.random.default_rng(1).normal(size=(32, 6, 3)).astype(np.float32)


def _sequential(first_layer: keras.layers.Layer) -> keras.Model:
  """A Sequential without keras.Input: Keras builds its input with a float dtype."""
  model = keras.Sequential([first_layer, keras.layers.Dense(3)])
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  return model


def _fit(model: keras.Model) -> np.ndarray:
  """The model's outputs after training it (outputs by an eager call: no predict step)."""
  model.fit(ids, targets, epochs=1, batch_size=8, shuffle=False, verbose=0)
  return keras.ops.convert_to_numpy(model(ids))


@pytest.mark.parametrize('input_signature', [None, shapes.ShapeDtype((None, 6), np.int32)])
def test_sequential_without_input_trains_a_trax_embedding_as_keras_trains_its_own(input_signature):
  native = _sequential(keras.layers.Embedding(20, 8))
  layer = TraxLayer(tl.Embedding(20, 8), input_signature=input_signature, seed=0)
  model = _sequential(layer)
  model(ids)  # Builds the model on int32 data.
  assert layer.input_signature == shapes.ShapeDtype((None, 6), np.int32)
  before = keras.ops.convert_to_numpy(native(ids))
  for mine, theirs in zip(model.trainable_variables, native.trainable_variables):
    mine.assign(keras.ops.convert_to_numpy(theirs))  # Same start: the table, then Dense's.
  after = _fit(model)
  np.testing.assert_allclose(after, _fit(native), atol=1e-5)
  assert np.max(np.abs(after - before)) > 0.01


def test_first_real_call_with_ids_keeps_them():
  layer = TraxLayer(tl.Serial(tl.Embedding(20, 4), tl.Dense(2)), seed=0)
  outputs = layer(ids[:2])
  assert layer.input_signature == shapes.ShapeDtype((None, 6), np.int32)
  weights = layer.trax_weights()
  with fastmath.use_backend('jax'):
    expected, _ = tl.Serial(tl.Embedding(20, 4), tl.Dense(2)).pure_fn(
      ids[:2], weights, ((), ()), np.zeros(2, np.uint32)
    )
  np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), expected, atol=1e-6)


def test_float_layers_keep_float_inputs():
  layer = TraxLayer(helpers.mlp(), seed=0)
  keras.Sequential([layer])(np.ones((2, 4), np.float32))
  assert layer.input_signature.dtype == np.float32
