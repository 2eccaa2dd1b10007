"""Backend selection and dispatch: `use_backend`, `set_backend`, errors, API coverage."""

import importlib
import types

import numpy as np
import pytest

from trax import fastmath
from trax.fastmath import jax_backend
from trax.fastmath import numpy_backend

# Ops with no plain-numpy meaning; the numpy backend leaves them to the dispatcher's error.
NOT_IN_NUMPY = {
  'jit',
  'grad',
  'value_and_grad',
  'vjp',
  'vmap',
  'custom_vjp',
  'remat',
  'conv',
  'max_pool',
  'sum_pool',
  'avg_pool',
  'abstract_eval',
  'random_truncated_normal',
}


def _public_names(module) -> set:
  """The backend API of `module`: its public names, without the modules it imports."""
  return {
    n
    for n, v in vars(module).items()
    if not n.startswith('_') and (n == 'numpy' or not isinstance(v, types.ModuleType))
  }


@pytest.fixture(autouse=True)
def restore_default_backend():
  yield
  fastmath.set_backend('jax')


def test_use_backend_nests_and_restores():
  assert fastmath.backend_name() == 'jax'
  with fastmath.use_backend('numpy'):
    assert fastmath.backend_name() == 'numpy'
    with fastmath.use_backend(fastmath.Backend.TFNP):
      assert fastmath.backend_name() == 'tensorflow-numpy'
    assert fastmath.backend_name() == 'numpy'
  assert fastmath.backend_name() == 'jax'


def test_use_backend_restores_after_an_exception():
  with pytest.raises(ZeroDivisionError):
    with fastmath.use_backend('numpy'):
      with fastmath.use_backend('tensorflow-numpy'):
        _ = 1 / 0
  assert fastmath.backend_name() == 'jax'


def test_set_backend_changes_the_default_under_use_backend_blocks():
  fastmath.set_backend('tf')  # An alias.
  assert fastmath.backend_name() == 'tensorflow-numpy'
  with fastmath.use_backend('jax'):
    assert fastmath.backend_name() == 'jax'
  assert fastmath.backend_name() == 'tensorflow-numpy'
  assert fastmath.backend().name == 'tensorflow-numpy'


def test_unknown_backend_names_the_choices():
  with pytest.raises(ValueError, match="'jax', 'tensorflow-numpy', 'numpy'"):
    fastmath.set_backend('torch')
  with pytest.raises(ValueError, match='torch'):
    with fastmath.use_backend('torch'):
      pass
  assert fastmath.backend_name() == 'jax'


def test_missing_ops_raise_backend_error_naming_op_and_backend():
  with fastmath.use_backend('numpy'):
    with pytest.raises(fastmath.BackendError, match="grad.*'numpy'"):
      fastmath.grad(lambda x: x)
    with pytest.raises(fastmath.BackendError, match="no_such_fn.*'numpy'"):
      _ = fastmath.numpy.no_such_fn


def test_tf_backend_provides_every_name_of_the_jax_backend():
  tf_backend = importlib.import_module('trax.fastmath.tf_backend')
  missing = _public_names(jax_backend) - _public_names(tf_backend)
  assert not missing, missing
  assert tf_backend.name == 'tensorflow-numpy'


def test_numpy_backend_provides_the_ops_numpy_can_do():
  missing = _public_names(jax_backend) - _public_names(numpy_backend) - NOT_IN_NUMPY
  assert not missing, missing
  assert not NOT_IN_NUMPY & _public_names(numpy_backend)
  assert numpy_backend.numpy.__name__ == 'numpy'


def test_fastmath_numpy_dispatches_per_backend():
  import numpy as np

  with fastmath.use_backend('numpy'):
    assert fastmath.numpy.float32 is np.float32 and fastmath.numpy.sum is np.sum
  with fastmath.use_backend('tensorflow-numpy'):
    assert fastmath.numpy.sum([1, 2]).numpy() == 3
  assert type(fastmath.numpy.zeros(2)).__module__.startswith('jax')


def test_concrete_value_is_none_exactly_while_tracing():
  import jax
  import numpy as np

  x = np.arange(3)
  seen = []
  for backend in ('jax', 'tensorflow-numpy', 'numpy'):
    with fastmath.use_backend(backend):
      np.testing.assert_array_equal(fastmath.concrete_value(fastmath.numpy.asarray(x)), x)
  jax.jit(lambda y: seen.append(fastmath.concrete_value(y)) or y)(x)
  with fastmath.use_backend('tensorflow-numpy'):
    fastmath.jit(lambda y: seen.append(fastmath.concrete_value(y)) or y)(x)
  assert seen == [None, None]


def test_to_backend_arrays_and_widen_floats_per_backend():
  tf = pytest.importorskip('tensorflow')
  x64, w32, ids = np.ones((2, 3)), np.full((3,), 0.5, np.float32), np.arange(3)
  for backend in ('jax', 'numpy'):  # numpy inputs stay as they are; these backends promote.
    with fastmath.use_backend(backend):
      assert fastmath.to_backend_arrays(x64) is x64
      assert fastmath.widen_floats(w32, like=x64) is w32
  with fastmath.use_backend('tensorflow-numpy'):
    converted = fastmath.to_backend_arrays({'x': x64, 'ids': ids, 'name': 'a'})
    assert isinstance(converted['x'], tf.Tensor) and converted['x'].dtype == tf.float64
    assert isinstance(converted['ids'], tf.Tensor) and converted['name'] == 'a'
    widened = fastmath.widen_floats((w32, ids), like=x64)
    assert widened[0].dtype == tf.float64 and widened[1] is ids
    np.testing.assert_array_equal(widened[0].numpy(), np.full((3,), 0.5))
    assert fastmath.widen_floats(w32, like=w32.astype(np.float16)) is w32
