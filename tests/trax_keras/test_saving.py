"""Saving: `.keras` files (same backend and across backends) and weights files."""

import keras
import numpy as np

import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers

build = helpers.model_with_every_kind_of_variable
ids, targets = helpers.ids_and_targets()


def _trained_model():
  model = build()
  model.fit(ids, targets, epochs=1, batch_size=8, verbose=0)
  return model


def test_keras_file_round_trip_gives_identical_predictions(tmp_path):
  model = _trained_model()
  path = str(tmp_path / 'model.keras')
  model.save(path)
  loaded = keras.saving.load_model(path)  # no custom_objects: the layer is registered
  assert isinstance(loaded.get_layer('trax_block'), TraxLayer)
  np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
  assert [v.path for v in loaded.variables] == [v.path for v in model.variables]
  for a, b in zip(loaded.get_weights(), model.get_weights()):
    np.testing.assert_array_equal(a, b)
  # The loaded model keeps training.
  loaded.fit(ids, targets, epochs=1, batch_size=8, verbose=0)


def test_save_weights_and_load_weights(tmp_path):
  model = _trained_model()
  path = str(tmp_path / 'model.weights.h5')
  model.save_weights(path)
  other = build()
  other.load_weights(path)
  np.testing.assert_array_equal(other.predict(ids, verbose=0), model.predict(ids, verbose=0))
  trained = model.get_layer('trax_block')
  loaded = other.get_layer('trax_block')
  for a, b in zip(keras.tree.flatten(loaded.trax_state()),
                  keras.tree.flatten(trained.trax_state())):
    np.testing.assert_array_equal(a, b)


def test_config_holds_the_trax_config_and_no_code():
  config = build().get_layer('trax_block').get_config()
  assert config['layer']['factory'] == 'Serial'
  assert config['input_signature'] == {'shape': [None, 6], 'dtype': 'int32'}
  assert 'lambda' not in repr(config) and 'function' not in repr(config)


def _other_backend_code(action: str, path: str) -> str:
  return f'''
import keras, numpy as np
import trax_keras  # registers TraxLayer with Keras' deserialization
from tests.trax_keras import helpers

ids, targets = helpers.ids_and_targets()
path = {path!r}
if {action!r} == 'save':
  model = helpers.model_with_every_kind_of_variable()
  model.fit(ids, targets, epochs=1, batch_size=8, verbose=0)
  model.save(path + '.keras')
  np.save(path + '.npy', model.predict(ids, verbose=0))
else:
  model = keras.saving.load_model(path + '.keras')
  np.testing.assert_allclose(model.predict(ids, verbose=0), np.load(path + '.npy'),
                             rtol=1e-5, atol=1e-5)
  model.fit(ids, targets, epochs=1, batch_size=8, verbose=0)
print('ok')
'''


@helpers.tf_only
def test_saved_on_tensorflow_loads_on_jax(tmp_path):
  path = str(tmp_path / 'from_tf')
  model = _trained_model()
  model.save(path + '.keras')
  np.save(path + '.npy', model.predict(ids, verbose=0))
  assert helpers.run_python(_other_backend_code('load', path), 'jax').strip() == 'ok'


@helpers.tf_only
def test_saved_on_jax_loads_on_tensorflow(tmp_path):
  path = str(tmp_path / 'from_jax')
  helpers.run_python(_other_backend_code('save', path), 'jax')
  model = keras.saving.load_model(path + '.keras')
  np.testing.assert_allclose(model.predict(ids, verbose=0), np.load(path + '.npy'),
                             rtol=1e-5, atol=1e-5)
  model.fit(ids, targets, epochs=1, batch_size=8, verbose=0)


def test_layer_built_from_a_config_dict():
  layer = TraxLayer(tl.Serial(tl.Dense(3), tl.Relu()).config(), seed=0)
  assert keras.ops.convert_to_numpy(layer(np.ones((2, 5), np.float32))).shape == (2, 3)
