"""Dtype policies, and the errors users see for wrong inputs or an unsupported backend."""

import importlib.util
import re

import keras
import numpy as np
import pytest

import trax.layers as tl
from trax_keras import TraxLayer
from trax_keras import backends
from tests.trax_keras import helpers


def test_mixed_float16_computes_in_float16_with_float32_variables():
  x, y = helpers.regression_data(64)
  mixed = TraxLayer(helpers.mlp(), seed=0, dtype='mixed_float16')
  full = TraxLayer(helpers.mlp(), seed=0)
  model = keras.Sequential([keras.Input((4,)), mixed])
  full(x)
  assert {v.dtype for v in mixed.trainable_variables} == {'float32'}
  assert mixed.compute_output_spec(keras.KerasTensor((None, 4))).dtype == 'float16'
  outputs = mixed(x)
  assert keras.backend.standardize_dtype(outputs.dtype) == 'float16'
  np.testing.assert_allclose(
    keras.ops.convert_to_numpy(outputs).astype(np.float32),
    keras.ops.convert_to_numpy(full(x)),
    rtol=1e-2,
    atol=1e-2,
  )
  model.compile(keras.optimizers.Adam(0.01), 'mse')  # Keras adds loss scaling
  losses = model.fit(x, y, epochs=3, batch_size=32, verbose=0).history['loss']
  assert losses[-1] < losses[0]
  assert {v.dtype for v in mixed.trainable_variables} == {'float32'}


def _message(error_info) -> str:
  message = str(error_info.value)
  assert len(message) < 3000 and 'jaxpr' not in message and 'Traceback' not in message
  return message


def test_wrong_number_of_inputs():
  layer = TraxLayer(tl.Serial(tl.Add(), tl.Dense(1)))
  x = np.ones((2, 3), np.float32)
  with pytest.raises(ValueError, match=r'expects 2 inputs, but got one input') as error:
    layer(x)
  assert 'Add' in _message(error) or 'Serial' in _message(error)
  with pytest.raises(ValueError, match=r'expects 1 input, but got a tuple of 2'):
    TraxLayer(tl.Dense(1))([x, x])


def test_wrong_last_dimension_names_the_dense_sublayer():
  layer = TraxLayer(helpers.mlp())
  layer(np.ones((2, 4), np.float32))
  with pytest.raises(ValueError) as error:
    layer(np.ones((2, 5), np.float32))
  message = _message(error)
  assert 'layer path: Serial > Dense_32' in message and 'last dimension 5' in message
  # The layer TraxLayer rebuilt from the config says it was made where the TraxLayer was.
  line = int(
    re.search(r'Dense_32 \(created at test_dtypes_and_errors\.py:(\d+)\)', message).group(1)
  )
  assert 'layer = TraxLayer(' in open(__file__).read().splitlines()[line - 1]


def test_wrong_dtype_names_the_embedding_sublayer():
  # Real float data (symbolic float inputs are Keras' guess, cast to ids: test_input_dtypes).
  with pytest.raises(ValueError) as error:
    TraxLayer(tl.Serial(tl.Embedding(10, 4), tl.Dense(2)))(np.ones((2, 6), np.float32))
  message = _message(error)
  assert 'Serial > Embedding_10_4' in message and 'integer ids' in message


def test_wrong_rank_names_the_sublayer():
  layer = TraxLayer(tl.Serial(tl.Conv(4, (3, 3)), tl.Relu()))
  layer(np.ones((2, 8, 8, 3), np.float32))
  with pytest.raises(ValueError) as error:
    layer(np.ones((2, 8, 3), np.float32))
  assert 'Serial > Conv' in _message(error)


def test_unsupported_backend_is_refused_with_a_fix():
  with pytest.raises(ValueError, match=r"running on 'torch'.*KERAS_BACKEND=jax"):
    backends.check_backend('torch')
  backends.check_backend('jax')
  backends.check_backend('tensorflow')


@pytest.mark.slow  # imports torch in a process of its own
@helpers.tf_only  # once per test run is enough
@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='torch not installed')
def test_torch_backend_error_message_from_a_fresh_process():
  code = '''
  import trax.layers as tl
  from trax_keras import TraxLayer
  try:
    TraxLayer(tl.Dense(1))
  except ValueError as e:
    print(e)
  '''
  assert 'KERAS_BACKEND=jax' in helpers.run_python(code, 'torch')
