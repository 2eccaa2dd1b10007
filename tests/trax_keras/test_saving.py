"""Saving: `.keras` files (same backend and across backends) and weights files."""

import keras
import numpy as np
import pytest

import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers

build = helpers.model_with_every_kind_of_variable
ids, targets = helpers.ids_and_targets()


@pytest.fixture(scope='module')
def trained_model():
  model = build()
  model.fit(ids, targets, epochs=1, batch_size=8, verbose=0)
  return model


def test_keras_file_round_trip_gives_identical_predictions(tmp_path, trained_model):
  model = trained_model
  path = str(tmp_path / 'model.keras')
  model.save(path)
  loaded = keras.saving.load_model(path)  # no custom_objects: the layer is registered
  assert isinstance(loaded.get_layer('trax_block'), TraxLayer)
  np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
  assert [v.path for v in loaded.variables] == [v.path for v in model.variables]
  for a, b in zip(loaded.get_weights(), model.get_weights()):
    np.testing.assert_array_equal(a, b)


def test_save_weights_and_load_weights(tmp_path, trained_model):
  model = trained_model
  path = str(tmp_path / 'model.weights.h5')
  model.save_weights(path)
  other = build()
  other.load_weights(path)
  np.testing.assert_array_equal(other.predict(ids, verbose=0), model.predict(ids, verbose=0))
  trained = model.get_layer('trax_block')
  loaded = other.get_layer('trax_block')
  for a, b in zip(
    keras.tree.flatten(loaded.trax_state()), keras.tree.flatten(trained.trax_state())
  ):
    np.testing.assert_array_equal(a, b)


def test_config_holds_the_trax_config_and_no_code():
  config = build().get_layer('trax_block').get_config()
  assert config['layer']['factory'] == 'Serial'
  assert config['input_signature'] == {'shape': [None, 6], 'dtype': 'int32'}
  assert 'lambda' not in repr(config) and 'function' not in repr(config)


_ON_JAX = """
import keras, numpy as np
import trax_keras  # registers TraxLayer with Keras' deserialization
from tests.trax_keras import helpers

ids, targets = helpers.ids_and_targets()
from_tf = keras.saving.load_model({directory!r} + '/from_tf.keras')
np.testing.assert_allclose(from_tf.predict(ids, verbose=0),
                           np.load({directory!r} + '/from_tf.npy'), rtol=1e-5, atol=1e-5)
from_tf.fit(ids, targets, epochs=1, batch_size=8, verbose=0)
model = helpers.model_with_every_kind_of_variable()
model.fit(ids, targets, epochs=1, batch_size=8, verbose=0)
model.save({directory!r} + '/from_jax.keras')
np.save({directory!r} + '/from_jax.npy', model.predict(ids, verbose=0))
print('ok')
"""


@helpers.tf_only
def test_keras_files_load_across_backends(tmp_path, trained_model):
  # One JAX process loads the TensorFlow file and writes one for TensorFlow to load.
  model = trained_model
  model.save(str(tmp_path / 'from_tf.keras'))
  np.save(tmp_path / 'from_tf.npy', model.predict(ids, verbose=0))
  assert helpers.run_python(_ON_JAX.format(directory=str(tmp_path)), 'jax').strip() == 'ok'
  from_jax = keras.saving.load_model(str(tmp_path / 'from_jax.keras'))
  np.testing.assert_allclose(
    from_jax.predict(ids, verbose=0), np.load(tmp_path / 'from_jax.npy'), rtol=1e-5, atol=1e-5
  )
  from_jax.fit(ids, targets, epochs=1, batch_size=8, verbose=0)


def test_layer_built_from_a_config_dict():
  layer = TraxLayer(tl.Serial(tl.Dense(3), tl.Relu()).config(), seed=0)
  assert keras.ops.convert_to_numpy(layer(np.ones((2, 5), np.float32))).shape == (2, 3)


def _keras_file_with(tmp_path, layer: tl.Layer, edit) -> str:
  """A `.keras` file of `Sequential([Input((4,)), TraxLayer(layer)])`, its config edited."""
  import json
  import zipfile

  model = keras.Sequential([keras.Input((4,)), TraxLayer(layer, seed=0, name='trax_block')])
  saved, edited = str(tmp_path / 'saved.keras'), str(tmp_path / 'edited.keras')
  model.save(saved)
  with zipfile.ZipFile(saved) as source, zipfile.ZipFile(edited, 'w') as target:
    for name in source.namelist():
      data = source.read(name)
      if name == 'config.json':
        data = json.dumps(edit(json.loads(data))).encode()
      target.writestr(name, data)
  return edited


def _trax_config(keras_config: dict) -> dict:
  return keras_config['config']['layers'][-1]['config']['layer']


def test_safe_mode_refuses_configs_that_read_files(tmp_path):
  """A config naming a FIFO hung the load forever, one naming /etc/passwd read it."""
  import os
  import signal

  weights = tmp_path / 'w.npy'
  np.save(weights, np.ones((4, 2), np.float32))
  fifo = str(tmp_path / 'fifo')
  os.mkfifo(fifo)

  def point_at_fifo(config):
    _trax_config(config)['kwargs']['kernel_initializer']['args'] = [fifo]
    return config

  layer = tl.Dense(2, kernel_initializer=tl.InitializerFromFile(str(weights)))
  path = _keras_file_with(tmp_path, layer, point_at_fifo)
  signal.signal(signal.SIGALRM, lambda *_: pytest.fail('the load read the FIFO (hung)'))
  signal.alarm(120)
  try:
    with pytest.raises(
      Exception, match='Safe mode: refusing InitializerFromFile, which reads local files'
    ):
      keras.saving.load_model(path)
  finally:
    signal.alarm(0)
  trusted = _keras_file_with(tmp_path, layer, lambda config: config)
  loaded = keras.saving.load_model(trusted, safe_mode=False)  # The explicit switch.
  assert loaded.get_layer('trax_block').trax_weights()[0].shape == (4, 2)


def test_safe_mode_refuses_absurd_sizes(tmp_path):
  """Dense(n_units=10**12) in a .keras file aborted the process (SIGABRT)."""

  def huge_dense(config):
    _trax_config(config)['args'] = [10**12]
    return config

  path = _keras_file_with(tmp_path, tl.Dense(2), huge_dense)
  with pytest.raises(Exception, match=r'Safe mode: refusing Dense\(argument 0=1000000000000\)'):
    keras.saving.load_model(path)

  def big_weights(config):
    _trax_config(config)['args'] = [2**24]  # Within the size limit, but 2**34 weights.
    config['config']['layers'][-1]['config']['input_signature']['shape'] = [None, 2**10]
    return config

  with pytest.raises(Exception, match='Safe mode: TraxLayer .* would make .* bytes of weights'):
    keras.saving.load_model(_keras_file_with(tmp_path, tl.Dense(2), big_weights))
