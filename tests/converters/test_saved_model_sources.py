"""`to_saved_model` across models, paths and sources, each verified in a jax-free process.

The full matrix (MLP, conv net with BatchNorm, TransformerLM with dynamic batch and
length, encoder-decoder Transformer; native and xla) runs with `-m slow`; the default run
covers the native and xla paths in `test_saved_model.py`.
"""

import os

import keras
import numpy as np
import pytest

import converters
from converters import export_plan
from trax import models
from trax import shapes
import trax.layers as tl
from trax.checkpoint_files import checkpoints
from trax.layers import files
from tests.converters import helpers

ShapeDtype = shapes.ShapeDtype

PATHS = ['native', 'xla']


def _export_and_check(model, tmp_path, signature, path, **kwargs):
  result = converters.to_saved_model(model, tmp_path / path, signature, path=path, **kwargs)
  assert result.path_kind == path
  assert not result.verification.jax_importable
  assert result.verification.worst < 1e-4, result.verification.max_abs_error
  return result


@pytest.mark.slow
@pytest.mark.parametrize('path', PATHS)
def test_mlp(tmp_path, path):
  model = helpers.mlp()
  model.init(ShapeDtype((2, 5)), rng=helpers.RNG)
  _export_and_check(model, tmp_path, ShapeDtype((None, 5)), path)


@pytest.mark.slow
@pytest.mark.parametrize('path', PATHS)
def test_conv_net_with_batch_norm_uses_its_statistics(tmp_path, path):
  model = helpers.trained_conv_net(ShapeDtype((4, 8, 8, 3)))
  running_mean = np.asarray(model.state[1][0])
  assert np.abs(running_mean).max() > 1e-3  # The statistics matter to the outputs.
  result = _export_and_check(model, tmp_path, ShapeDtype((None, 8, 8, 3)), path)
  assert [c['inputs'][0] for c in result.verification.cases] == [1, 3, 2]


@pytest.mark.slow
@pytest.mark.parametrize('path', PATHS)
def test_transformer_lm_with_dynamic_batch_and_length(tmp_path, path):
  model = helpers.lm()
  model.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  result = _export_and_check(model, tmp_path, ShapeDtype((None, None), np.int32), path)
  assert {tuple(c['tokens']) for c in result.verification.cases} == {(1, 8), (3, 5), (2, 12)}
  assert result.verification.signatures['serving_default']['inputs'] == {
    'tokens': [[None, None], 'int32']
  }


@pytest.mark.slow
@pytest.mark.parametrize('path', PATHS)
def test_encoder_decoder_transformer(tmp_path, path):
  model = models.Transformer(
    input_vocab_size=24,
    output_vocab_size=20,
    d_model=16,
    d_ff=32,
    n_encoder_layers=1,
    n_decoder_layers=1,
    n_heads=2,
    max_len=32,
  )
  signature = (ShapeDtype((None, None), np.int32), ShapeDtype((None, None), np.int32))
  model.init(tuple(ShapeDtype((2, 8), np.int32) for _ in range(2)), rng=helpers.RNG)
  result = _export_and_check(model, tmp_path, signature, path, output_names=['logits', 'targets'])
  assert set(result.signatures['serving_default']['inputs']) == {'input_0', 'input_1'}
  # Source and target lengths vary independently.
  served = helpers.serve_in_process(
    result.path,
    input_0=helpers.random_tokens((2, 9), 24),
    input_1=helpers.random_tokens((2, 4), 20),
  )
  assert served['logits'].shape == (2, 4, 20)


@pytest.mark.slow
def test_a_real_mismatch_fails_verification_and_writes_nothing(tmp_path, monkeypatch):
  model = tl.Dense(3)
  model.init(ShapeDtype((1, 4)), rng=helpers.RNG)
  reference = export_plan.ExportPlan.reference

  def shifted(plan, signature):  # A reference that disagrees with the export by 0.5.
    return lambda case: [y + 0.5 for y in reference(plan, signature)(case)]

  monkeypatch.setattr(export_plan.ExportPlan, 'reference', shifted)
  with pytest.raises(converters.ExportVerificationError, match='max abs error 0.5') as e:
    converters.to_saved_model(model, tmp_path, ShapeDtype((None, 4)))
  assert e.value.report.max_abs_error['serving_default/logits'] == pytest.approx(0.5)
  assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_keras_model_of_one_trax_layer_is_unwrapped(tmp_path):
  from trax_keras import to_keras_model

  keras_model = to_keras_model(helpers.mlp(), ShapeDtype((None, 5)), seed=3)
  x = helpers.random_floats((4, 5))
  expected = keras_model(x).numpy()
  result = _export_and_check(keras_model, tmp_path, None, 'native')
  assert 'TraxLayer' in helpers.record(result.path)['origin']
  np.testing.assert_allclose(
    helpers.serve_in_process(result.path, inputs=x)['logits'], expected, atol=1e-5
  )


@pytest.mark.slow
def test_keras_model_mixing_trax_and_keras_layers(tmp_path):
  from trax_keras import TraxLayer

  inputs = keras.Input((5,))
  outputs = keras.layers.Softmax()(TraxLayer(helpers.mlp(), seed=1)(keras.layers.Dense(5)(inputs)))
  keras_model = keras.Model(inputs, outputs)
  result = converters.to_saved_model(keras_model, tmp_path, output_names=['probabilities'])
  assert result.path_kind == 'keras' and result.verification.worst < 1e-5
  x = helpers.random_floats((3, 5))
  np.testing.assert_allclose(
    helpers.serve_in_process(result.path, inputs=x)['probabilities'],
    keras_model(x).numpy(),
    atol=1e-6,
  )


def test_checkpoint_of_a_loop_is_rebuilt_in_eval_mode(tmp_path):
  signature = ShapeDtype((2, 8, 8, 3))
  trained = helpers.trained_conv_net(signature)
  files.save_layer(trained, str(tmp_path / 'run' / 'model.npz'), input_signature=signature)
  result = converters.to_saved_model(str(tmp_path / 'run'), tmp_path / 'serving', verify=False)
  assert 'model.npz' in helpers.record(result.path)['origin']
  assert result.signatures['serving_default']['inputs']['inputs']['shape'] == [None, 8, 8, 3]
  x = helpers.random_floats((3, 8, 8, 3))
  np.testing.assert_allclose(
    helpers.serve_in_process(result.path, inputs=x)['logits'],
    helpers.jax_outputs(trained, x),
    atol=1e-4,
  )


def test_checkpoint_errors_are_clear(tmp_path):
  with pytest.raises(converters.ExportError, match='holds no checkpoint'):
    converters.to_saved_model(str(tmp_path), tmp_path / 'out')
  (tmp_path / 'model.npz').write_bytes(b'PK\x03\x04 not really a zip')
  with pytest.raises(converters.ExportError, match='Cannot read checkpoint'):
    converters.to_saved_model(str(tmp_path), tmp_path / 'out')
  layer = tl.Dense(2)
  layer.init(ShapeDtype((1, 3)))
  path = str(tmp_path / 'weights.npz')
  checkpoints.write(
    path, checkpoints.Checkpoint(flat_weights=[np.asarray(w) for w in layer.weights], flat_state=[])
  )
  with pytest.raises(converters.ExportError, match='model config'):
    converters.to_saved_model(path, tmp_path / 'out')


def test_a_checkpoint_with_bad_special_dtypes_is_named(tmp_path):
  """A crafted `special_dtypes` raised a raw TypeError from to_saved_model."""
  import json
  import zipfile

  layer = tl.Serial(tl.Dense(2))
  layer.init(ShapeDtype((1, 3)))
  good = str(tmp_path / 'good.npz')
  layer.save_to_file(good, input_signature=ShapeDtype((1, 3)))
  crafted = str(tmp_path / 'crafted.npz')
  with zipfile.ZipFile(good) as source, zipfile.ZipFile(crafted, 'w') as target:
    for name in source.namelist():
      data = source.read(name)
      if name == 'metadata.json':
        data = json.dumps(dict(json.loads(data), special_dtypes={'weights/0': 'ham'}))
      target.writestr(name, data)
  with pytest.raises(
    converters.ExportError,
    match=f'Cannot read checkpoint {crafted}: '
    f"{crafted}: special_dtypes gives weights/0 the dtype 'ham' is not a "
    'dtype name',
  ):
    converters.to_saved_model(crafted, tmp_path / 'out')


def test_uninitialized_models_are_refused_unless_random_weights_are_allowed(tmp_path):
  signature = ShapeDtype((None, 5))
  with pytest.raises(converters.ExportError, match='has no weights.*allow_random_weights'):
    converters.to_saved_model(helpers.mlp(), tmp_path / 'refused', signature)
  with pytest.raises(converters.ExportError, match='has no weights'):
    converters.to_tflite(helpers.mlp(), tmp_path / 'refused.tflite', signature)
  assert not (tmp_path / 'refused').exists() and not (tmp_path / 'refused.tflite').exists()
  converters.to_saved_model(
    helpers.mlp(), tmp_path / 'demo', signature, verify=False, allow_random_weights=True
  )
  weightless = tl.Serial(tl.Relu(), tl.Softmax())  # Nothing random to refuse.
  result = converters.to_saved_model(weightless, tmp_path / 'softmax', signature, verify=False)
  x = helpers.random_floats((2, 5))
  np.testing.assert_allclose(
    helpers.serve_in_process(result.path, inputs=x)['logits'],
    helpers.jax_outputs(weightless, x),
    atol=1e-6,
  )


@pytest.fixture(scope='module')
def keras_trained():
  """A TraxLayer trained by Keras' fit, its outputs now far from where they started."""
  from trax_keras import TraxLayer

  layer = TraxLayer(helpers.mlp(), seed=0, name='block')
  model = keras.Sequential([keras.Input((5,)), layer], name='trained')
  model.compile(keras.optimizers.Adam(0.05), 'mse')
  x = helpers.random_floats((64, 5))
  initial_weights = layer.trax_weights()
  before = model.predict(x, verbose=0)
  model.fit(x, 5 * x[:, :3] + 2, epochs=10, batch_size=16, verbose=0)
  assert np.max(np.abs(model.predict(x, verbose=0) - before)) > 2.0
  return model, layer, initial_weights


def test_what_keras_trained_is_what_exports(tmp_path, keras_trained):
  model, layer, _ = keras_trained
  x = helpers.random_floats((3, 5), seed=1)
  expected = model.predict(x, verbose=0)
  from_attribute = converters.to_saved_model(
    layer.trax_layer, tmp_path / 'attribute', ShapeDtype((None, 5)), verify=False
  )
  from_layer = converters.to_saved_model(layer, tmp_path / 'layer')
  assert from_layer.verification.worst < 1e-4
  assert helpers.record(from_layer.path)['origin'] == 'TraxLayer block'
  for result in (from_attribute, from_layer):
    np.testing.assert_allclose(
      helpers.serve_in_process(result.path, inputs=x)['logits'], expected, atol=1e-5
    )


def test_verification_compares_with_the_keras_model_itself(tmp_path, keras_trained, monkeypatch):
  model, _, initial_weights = keras_trained
  from trax_keras import TraxLayer

  # Stale weights reaching the export (the old bug) must not pass as verified.
  monkeypatch.setattr(TraxLayer, 'trax_weights', lambda self: initial_weights)
  with pytest.raises(converters.ExportVerificationError, match='differs from Keras trained'):
    converters.to_saved_model(model, tmp_path)
  assert os.listdir(tmp_path) == []


def test_own_layers_export_outside_safe_mode_and_configs_from_files_inside_it(tmp_path):
  weights = tmp_path / 'w.npy'
  np.save(weights, np.full((3, 2), 0.5, np.float32))
  layer = tl.Serial(tl.Dense(2, kernel_initializer=tl.InitializerFromFile(str(weights))))
  layer.init(ShapeDtype((1, 3)))
  converters.to_saved_model(layer, tmp_path / 'own', ShapeDtype((None, 3)), verify=False)
  layer.save_to_file(str(tmp_path / 'model.npz'), input_signature=ShapeDtype((1, 3)))
  with pytest.raises(converters.ExportError, match='Safe mode: refusing InitializerFromFile'):
    converters.to_saved_model(str(tmp_path / 'model.npz'), tmp_path / 'from_file')
