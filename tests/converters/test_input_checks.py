"""Exports keep dynamic the sizes a model accepts, and check input shapes at the signature."""

import numpy as np
import pytest
import tensorflow as tf

import converters
from converters import __main__ as cli
from converters import signatures
from converters import sources
from converters import tflite_inputs
from trax import shapes
import trax.layers as tl
from tests.converters import helpers

ShapeDtype = shapes.ShapeDtype
MAX_LEN = 64  # helpers.lm()'s positional table.


def _serving_function(saved_model_dir: str):
  """The `serving_default` signature of a SavedModel, loaded once, on numpy inputs."""
  function = tf.saved_model.load(saved_model_dir).signatures['serving_default']
  return lambda **inputs: {
    k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()
  }


def _error(serve, **inputs) -> str:
  with pytest.raises(tf.errors.InvalidArgumentError) as error:
    serve(**inputs)
  return str(error.value).replace("\\'", "'")


def test_loop_checkpoint_of_an_lm_serves_any_length_up_to_max_len(lm_run_dir, tmp_path, capsys):
  # Trained on length 8; checked below against the checkpoint's model in JAX.
  assert cli.main(['saved-model', lm_run_dir, str(tmp_path / 'serving'), '--no-verify']) == 0
  assert 'wrote' in capsys.readouterr().out
  saved = str(tmp_path / 'serving' / '1')
  record = helpers.record(saved)
  assert record['input_signature'] == [{'shape': [None, None], 'dtype': 'int32'}]
  assert record['input_limits'] == [[None, MAX_LEN]]
  model = sources.resolve(lm_run_dir)  # The oracle: the checkpoint's model, run by JAX.
  serve = _serving_function(saved)
  for length in (5, 16, MAX_LEN):
    tokens = helpers.random_tokens((2, length), seed=length)
    np.testing.assert_allclose(
      serve(tokens=tokens)['logits'], model.jax_outputs([tokens])[0], atol=1e-4
    )
  message = _error(serve, tokens=helpers.random_tokens((1, MAX_LEN + 1)))
  assert (
    "signature 'serving_default' input 'tokens': expected shape (None, <=64) (None: "
    'any size), got shape] [1 65]'
  ) in message


def test_wrong_shapes_fail_at_the_signature_naming_the_input(tmp_path):
  model = helpers.mlp()
  model.init(ShapeDtype((1, 5)))
  result = converters.to_saved_model(model, tmp_path, ShapeDtype((None, 5)), verify=False)
  serve = _serving_function(result.path)
  x = helpers.random_floats((3, 5))
  np.testing.assert_allclose(serve(inputs=x)['logits'], helpers.jax_outputs(model, x), atol=1e-5)
  for shape in ((3, 6), (5,), (2, 3, 5)):
    message = _error(serve, inputs=helpers.random_floats(shape))
    # No size limit: one EnsureShape op, named after the signature and the input.
    expected = (
      f'Shape of tensor inputs [{",".join(map(str, shape))}] is not compatible with '
      'expected shape [?,5].'
    )
    assert expected in message, message
    assert 'signature_serving_default_input_inputs_expected_shape' in message, message


def test_dynamic_sizes_are_those_the_model_accepts():
  lm = helpers.lm()
  lm.init(ShapeDtype((1, 16), np.int32))
  dynamic = signatures.accepted_dynamic_sizes(lm, [ShapeDtype((None, 16), np.int32)], MAX_LEN)
  assert dynamic == [ShapeDtype((None, None), np.int32)]
  assert signatures.size_limits(lm, dynamic, MAX_LEN) == [(None, MAX_LEN)]
  # A size the model does not accept at others stays fixed (image sizes before a dense
  # head: test_saved_model_sources' checkpoint test).
  mlp = helpers.mlp()
  mlp.init(ShapeDtype((1, 5)))
  assert signatures.accepted_dynamic_sizes(mlp, [ShapeDtype((None, 5))], None) == [
    ShapeDtype((None, 5))
  ]
  # Sizes that must match change together: two added inputs.
  add = tl.Add()
  pair = [ShapeDtype((None, 4)), ShapeDtype((None, 4))]
  assert signatures.accepted_dynamic_sizes(add, pair, None) == [ShapeDtype((None, None))] * 2
  assert signatures.size_limits(add, pair, None) == [(None, None), (None, None)]


def test_tflite_runner_checks_shapes_and_the_length_limit_in_the_file(lm_run_dir, tmp_path):
  path = tmp_path / 'lm.tflite'
  result = converters.to_tflite(lm_run_dir, path, verify=False)  # Checked below.
  assert result.input_signature['tokens'].shape == (None, None)
  flat_buffer = path.read_bytes()
  assert tflite_inputs.read_limits(flat_buffer) == {'serving_default': {'tokens': [None, MAX_LEN]}}
  runner = tflite_inputs.Runner(flat_buffer)
  tokens = helpers.random_tokens((2, 40))
  np.testing.assert_allclose(
    runner(tokens=tokens)['logits'], sources.resolve(lm_run_dir).jax_outputs([tokens])[0], atol=1e-4
  )
  with pytest.raises(
    ValueError,
    match=r"'tokens': expected shape \(None, <=64\) \(None: any "
    r'size\), got shape \(1, 65\)',
  ):
    tflite_inputs.run(str(path), tokens=helpers.random_tokens((1, MAX_LEN + 1)))
  with pytest.raises(ValueError, match=r'got shape \(65,\)'):
    runner(tokens=helpers.random_tokens((MAX_LEN + 1,)))
  with pytest.raises(ValueError, match=r"missing \['tokens'\]"):
    runner(ids=tokens)


def test_limits_metadata_pointing_to_an_empty_buffer_is_a_clear_error():
  from tensorflow.lite.tools import flatbuffer_utils

  double = tf.function(lambda x: 2.0 * x, input_signature=[tf.TensorSpec((None, 3))])
  flat_buffer = tf.lite.TFLiteConverter.from_concrete_functions(
    [double.get_concrete_function()], double
  ).convert()
  limits = {'serving_default': {'x': [None, 8]}}
  with_limits = tflite_inputs.with_limits(flat_buffer, limits)
  assert tflite_inputs.read_limits(with_limits) == limits
  model = flatbuffer_utils.read_model_from_bytearray(bytearray(with_limits))
  model.metadata[-1].buffer = 0  # TF Lite's empty sentinel buffer.
  damaged = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
  with pytest.raises(ValueError, match='trax_input_limits metadata points to an empty buffer'):
    tflite_inputs.read_limits(damaged)


def test_random_inputs_refuse_dynamic_sizes():
  with pytest.raises(ValueError, match=r'need every size known.*\(None, 5\)'):
    signatures.random_inputs([ShapeDtype((None, 5))], seed=0)
