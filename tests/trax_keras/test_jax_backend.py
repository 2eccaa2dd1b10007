"""Reruns the trax_keras tests with Keras on the JAX backend.

Keras fixes its backend when first imported, so the main test run covers TensorFlow and
this module runs the backend-dependent modules (and the examples of `KerasLayer`) again
in a fresh pytest with KERAS_BACKEND=jax (two groups, so `pytest -n 2` runs them side by
side).
"""

import pytest

from tests.trax_keras import helpers

_GROUPS = {
  'layer_modes_model': [
    'test_traxlayer.py',
    'test_modes.py',
    'test_model.py',
    'test_trained_weights.py',
    'test_callbacks.py',
  ],
  'saving_errors_lm_keras_layer': [
    'test_saving.py',
    'test_dtypes_and_errors.py',
    'test_input_dtypes.py',
    'test_transformer.py',
    'test_keras_layer.py',
    'trax_keras/keras_layer.py',
  ],
}


@helpers.tf_only  # Run from the TensorFlow process only: no recursion under JAX.
@pytest.mark.parametrize('group', sorted(_GROUPS))
def test_modules_pass_with_keras_on_jax(group):
  modules = [name if '/' in name else f'tests/trax_keras/{name}' for name in _GROUPS[group]]
  code = (
    'import sys, keras, pytest\n'
    'assert keras.backend.backend() == "jax"\n'
    f'sys.exit(pytest.main({modules!r} + ["-q", "-p", "no:xdist", "--doctest-modules"]))\n'
  )
  output = helpers.run_python(code, 'jax')
  assert ' passed' in output and 'failed' not in output, output[-2000:]
