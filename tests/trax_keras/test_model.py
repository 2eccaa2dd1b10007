"""`to_keras_model`: functional Keras models around trax models."""

import keras
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from trax_keras import TraxLayer
from trax_keras import to_keras_model
from tests.trax_keras import helpers


def test_single_input_model_compiles_fits_and_predicts():
  x, y = helpers.regression_data(128)
  model = to_keras_model(helpers.mlp(), shapes.ShapeDtype((32, 4)), name='mlp', seed=0)
  assert isinstance(model.layers[-1], TraxLayer) and model.name == 'mlp'
  assert model.input_shape == (None, 4) and model.output_shape == (None, 1)
  assert model.inputs[0].name == 'input'
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  losses = model.fit(x, y, epochs=5, batch_size=32, verbose=0).history['loss']
  assert losses[-1] < losses[0]
  assert model.predict(x[:3], verbose=0).shape == (3, 1)


def test_one_keras_input_per_trax_input():
  signature = (shapes.ShapeDtype((None, 3)), shapes.ShapeDtype((None, 5)))
  model = to_keras_model(tl.Serial(tl.Concatenate(), tl.Dense(2)), signature, seed=0)
  assert [i.name for i in model.inputs] == ['input_0', 'input_1']
  a, b = np.ones((4, 3), np.float32), np.ones((4, 5), np.float32)
  trax_layer = model.layers[-1]
  expected, _ = tl.Dense(2).pure_fn(
    np.ones((4, 8), np.float32), trax_layer.trax_weights()[1], (), np.zeros(2, np.uint32)
  )
  np.testing.assert_allclose(model.predict([a, b], verbose=0), expected, rtol=1e-6)


@tl.register
def _scaled_difference(fields):
  return (fields['x'] - fields['y']) * 2.0


def test_dict_signature_gives_named_inputs():
  signature = {'x': shapes.ShapeDtype((None, 2)), 'y': shapes.ShapeDtype((None, 2))}
  model = to_keras_model(tl.Fn('ScaledDifference', _scaled_difference), signature)
  assert sorted(i.name for i in model.inputs) == ['x', 'y']
  ones = np.ones((3, 2), np.float32)
  np.testing.assert_allclose(model.predict({'x': 3 * ones, 'y': ones}, verbose=0), 4 * ones)


def test_scalar_signature_is_refused():
  with pytest.raises(ValueError, match='leading batch dimension'):
    to_keras_model(tl.Relu(), shapes.ShapeDtype(()))


def test_export_serves_the_same_predictions(tmp_path):
  import tensorflow as tf

  model = to_keras_model(
    tl.Serial(tl.Embedding(20, 8), tl.Dense(3)), shapes.ShapeDtype((None, None), np.int32), seed=0
  )
  ids = np.arange(12, dtype=np.int32).reshape(3, 4)
  model.export(str(tmp_path / 'served'), verbose=False)
  served = tf.saved_model.load(str(tmp_path / 'served'))
  np.testing.assert_allclose(
    served.serve(ids).numpy(), model.predict(ids, verbose=0), rtol=1e-6, atol=1e-6
  )
