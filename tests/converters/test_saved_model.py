"""`to_saved_model`: numbers against JAX, the serving layout, names, versions, atomicity."""

import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import converters
from converters import export_plan
from converters import verify as verify_lib
from trax import fastmath
from trax import shapes
import trax.layers as tl
from tests.converters import helpers

ShapeDtype = shapes.ShapeDtype


def _initialized(model, signature):
  model.init(signature, rng=helpers.RNG)
  return model


def test_mlp_export_serves_without_jax_with_stable_names(tmp_path):
  model = _initialized(helpers.mlp(), ShapeDtype((2, 5)))
  export_dir = tmp_path / 'serving' / 'mlp'
  result = converters.to_saved_model(
    model, export_dir, ShapeDtype((None, 5)), extra_signatures={'predict_proba': tl.Softmax()}
  )

  assert result.path == str(export_dir / '1') and result.version == 1
  assert result.path_kind == 'native'
  report = result.verification
  assert not report.jax_importable
  assert set(report.max_abs_error) == {'serving_default/logits', 'predict_proba/outputs'}
  assert report.worst < 1e-5
  assert [case['inputs'][0] for case in report.cases] == [1, 3, 2]  # Several batch sizes.
  # TF Serving's layout, and no partial or temporary directories beside the version.
  assert sorted(os.listdir(export_dir)) == ['1']
  for name in ('saved_model.pb', 'variables/variables.index', 'assets.extra/trax_export.json'):
    assert (export_dir / '1' / name).exists(), name
  assert 'XlaCallModule' not in helpers.graph_ops(result.path)

  shown = subprocess.run(
    ['saved_model_cli', 'show', '--dir', result.path, '--all'],
    capture_output=True,
    text=True,
    check=True,
  ).stdout
  for expected in (
    "signature_def['serving_default']",
    "signature_def['predict_proba']",
    "inputs['inputs']",
    "outputs['logits']",
    "outputs['outputs']",
    'shape: (-1, 5)',
    'shape: (-1, 3)',
  ):
    assert expected in shown, expected

  record = helpers.record(result.path)
  assert record['path'] == 'native' and record['model_config']['factory'] == 'Serial'
  assert set(record['versions']) >= {'trax', 'jax', 'tensorflow'}
  assert [w[0] for w in record['weights']][:2] == ['serial/0/dense/w', 'serial/0/dense/b']
  assert record['verification']['max_abs_error'] == report.max_abs_error


def test_weights_are_variables_named_by_layer_path(tmp_path):
  model = _initialized(helpers.mlp(), ShapeDtype((2, 5)))
  result = converters.to_saved_model(model, tmp_path, ShapeDtype((None, 5)), verify=False)
  loaded = tf.saved_model.load(result.path)
  names = sorted(v.name for v in loaded.model.weights)
  assert names[0] == 'serial/0/dense/b:0' and len(names) == 6
  flat, _ = tl.flatten_weights_and_state(model.weights, model.state)
  for variable, weight in zip(loaded.model.weights, flat):
    np.testing.assert_array_equal(variable.numpy(), np.asarray(weight))


def test_lm_native_path_has_dynamic_batch_and_length_and_no_random_ops(tmp_path):
  model = _initialized(helpers.lm(), ShapeDtype((2, 8), np.int32))  # Built in train mode.
  result = converters.to_saved_model(
    model, tmp_path, ShapeDtype((None, None), np.int32), verify=False
  )
  # Dropout (rate 0.1) is off in eval mode, and no layer splits keys it will not use.
  random_ops = {op: n for op, n in helpers.graph_op_counts(result.path).items() if 'Random' in op}
  assert not random_ops, random_ops
  assert result.signatures['serving_default']['inputs'] == {
    'tokens': {'shape': [None, None], 'dtype': 'int32'}
  }
  for shape in ((1, 7), (4, 13)):
    tokens = helpers.random_tokens(shape)
    served = helpers.serve_in_process(result.path, tokens=tokens)['logits']
    # Eval mode: dropout off, so the export equals the eval-mode JAX model.
    np.testing.assert_allclose(served, helpers.jax_outputs(model, tokens), atol=2e-5)


def test_lm_xla_path_is_one_xla_call_with_symbolic_dimensions(tmp_path):
  model = _initialized(helpers.lm(), ShapeDtype((2, 8), np.int32))
  result = converters.to_saved_model(
    model, tmp_path, ShapeDtype((None, None), np.int32), path='xla', verify=False
  )
  assert result.path_kind == 'xla'
  assert 'XlaCallModule' in helpers.graph_ops(result.path)
  assert helpers.record(result.path)['platforms'] == ['cpu', 'cuda']
  for shape in ((1, 5), (3, 11)):
    tokens = helpers.random_tokens(shape, seed=1)
    served = helpers.serve_in_process(result.path, tokens=tokens)['logits']
    np.testing.assert_allclose(served, helpers.jax_outputs(model, tokens), atol=2e-5)


class _JaxOnly(tl.Layer):
  """Doubles its input, but only on the jax backend (as a layer with a jax-only op)."""

  def forward(self, x):
    if fastmath.backend_name() != 'jax':
      raise fastmath.BackendError('this layer runs on jax only')
    return x * 2.0


def test_auto_path_falls_back_to_xla_and_says_why(tmp_path):
  model = _initialized(tl.Serial(tl.Dense(4), _JaxOnly()), ShapeDtype((2, 3)))
  x = helpers.random_floats((2, 3))
  result = converters.to_saved_model(
    model, tmp_path, ShapeDtype((None, 3)), path='auto', verify=False
  )
  assert result.path_kind == 'xla'
  assert 'runs on jax only' in helpers.record(result.path)['path_reason']
  expected = np.asarray(model(x))
  np.testing.assert_allclose(
    helpers.serve_in_process(result.path, inputs=x)['logits'], expected, atol=1e-6
  )
  with pytest.raises(converters.ExportError, match='path="xla"'):
    converters.to_saved_model(model, tmp_path, ShapeDtype((None, 3)), path='native', verify=False)


def test_preprocess_postprocess_and_names(tmp_path):
  model = _initialized(helpers.mlp(), ShapeDtype((2, 5)))
  scale = tf.function(
    lambda features: features * 2.0,
    input_signature=[tf.TensorSpec([None, 5], tf.float32, 'features')],
  )
  result = converters.to_saved_model(
    model,
    tmp_path,
    ShapeDtype((None, 5)),
    preprocess=scale,
    postprocess=lambda y: (y, tf.nn.softmax(y)),
    output_names=['scores', 'probabilities'],
    signature_name='classify',
    verify=False,
  )
  x = helpers.random_floats((4, 5))
  served = helpers.serve_in_process(result.path, 'classify', features=x)
  expected = helpers.jax_outputs(model, x * 2.0)
  np.testing.assert_allclose(served['scores'], expected, atol=1e-5)
  np.testing.assert_allclose(served['probabilities'], tf.nn.softmax(expected).numpy(), atol=1e-6)


def test_versions_increment_and_existing_versions_are_refused(tmp_path):
  model = _initialized(tl.Dense(2), ShapeDtype((1, 3)))
  (tmp_path / 'notes').mkdir()  # Non-numeric entries do not count as versions.
  export = lambda **kw: converters.to_saved_model(
    model, tmp_path, ShapeDtype((None, 3)), verify=False, **kw
  )
  assert [export().version, export().version, export(version=7).version, export().version] == [
    1,
    2,
    7,
    8,
  ]
  with pytest.raises(converters.ExportError, match='already exists'):
    export(version=2)
  assert sorted(os.listdir(tmp_path)) == ['1', '2', '7', '8', 'notes']


def test_failed_verification_leaves_no_version_directory(tmp_path, monkeypatch):
  model = _initialized(tl.Dense(2), ShapeDtype((1, 3)))

  def off_by_one(export_dir, checks, cases, tolerance):
    assert os.path.exists(os.path.join(export_dir, 'saved_model.pb'))  # Fully written.
    return verify_lib.VerificationReport(
      {'serving_default/logits': 1.0}, {'serving_default/logits': 1.0}, [], tolerance
    )

  monkeypatch.setattr(verify_lib, 'verify_saved_model', off_by_one)
  with pytest.raises(converters.ExportVerificationError, match='max abs error 1'):
    converters.to_saved_model(model, tmp_path, ShapeDtype((None, 3)))
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('error', [RuntimeError('disk full'), KeyboardInterrupt()])
def test_interrupted_export_leaves_no_partial_version(tmp_path, monkeypatch, error):
  model = _initialized(tl.Dense(2), ShapeDtype((1, 3)))
  converters.to_saved_model(model, tmp_path, ShapeDtype((None, 3)), verify=False)

  def fail(*args, **kwargs):
    raise error  # After the SavedModel files are written, before the rename.

  monkeypatch.setattr(export_plan.ExportPlan, 'record', fail)
  with pytest.raises(type(error)):
    converters.to_saved_model(model, tmp_path, ShapeDtype((None, 3)), verify=False)
  assert os.listdir(tmp_path) == ['1']


def test_argument_errors_say_what_to_do(tmp_path, monkeypatch):
  model = tl.Dense(2)
  model.init(ShapeDtype((1, 3)))
  with pytest.raises(converters.ExportError, match='input_signature='):
    converters.to_saved_model(model, tmp_path)
  with pytest.raises(converters.ExportError, match="path='gpu'"):
    converters.to_saved_model(model, tmp_path, ShapeDtype((None, 3)), path='gpu')
  with pytest.raises(converters.ExportError, match='platforms'):
    converters.to_saved_model(
      model, tmp_path, ShapeDtype((None, 3)), path='xla', platforms=['quantum']
    )
  from tensorflow.compiler.tf2xla.python import xla as tfxla

  monkeypatch.setattr(tfxla, 'call_module_maximum_supported_version', lambda: 9)
  with pytest.raises(converters.ExportError, match='calling convention 10.*up to version 9'):
    converters.to_saved_model(model, tmp_path, ShapeDtype((None, 3)), path='xla')
  assert os.listdir(tmp_path) == []


def test_signatures_check_token_ids_against_the_vocabulary(tmp_path):
  """Out-of-range ids gave the clipped row's answer (Embedding) from the export too."""
  tagger = _initialized(tl.Serial(tl.Embedding(10, 4), tl.Dense(3)), ShapeDtype((1, 2), np.int32))
  result = converters.to_saved_model(
    tagger, tmp_path, ShapeDtype((None, None), np.int32), verify=False
  )
  serve = tf.saved_model.load(result.path).signatures['serving_default']
  ok = serve(tokens=tf.constant([[0, 9]], tf.int32))['logits']
  np.testing.assert_allclose(ok, tagger(np.array([[0, 9]], np.int32)), atol=1e-6)
  for bad in ([[1, 10]], [[-1, 2]]):
    with pytest.raises(
      tf.errors.InvalidArgumentError, match=r"input .*tokens.*: token ids must lie in \[0, 10\)"
    ):
      serve(tokens=tf.constant(bad, tf.int32))
  floats = converters.to_saved_model(
    _initialized(tl.Dense(2), ShapeDtype((1, 3))),
    tmp_path / 'floats',
    ShapeDtype((None, 3)),
    verify=False,
  )
  for export, has_ids in ((result, True), (floats, False)):  # Nothing to check: no check.
    with open(os.path.join(export.path, 'saved_model.pb'), 'rb') as f:
      assert (b'token ids must lie in' in f.read()) == has_ids
