"""Trax 1.4's `fastmath` names added for parity, against numpy and jax references."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax import fastmath

BACKENDS = ['jax', 'tensorflow-numpy', 'numpy']


@pytest.mark.parametrize('backend', BACKENDS)
def test_index_min_max_and_map(backend):
  x = np.array([5.0, 1.0, 4.0, 9.0, 2.0], np.float32)
  idx = np.array([0, 3, 3])
  expected_min, expected_max = x.copy(), x.copy()
  np.minimum.at(expected_min, idx, np.array([3.0, 7.0, 8.0], np.float32))
  np.maximum.at(expected_max, idx, np.array([3.0, 7.0, 8.0], np.float32))
  with fastmath.use_backend(backend):
    got_min = fastmath.index_min(x, idx, np.array([3.0, 7.0, 8.0], np.float32))
    got_max = fastmath.index_max(x, idx, np.array([3.0, 7.0, 8.0], np.float32))
    mapped = fastmath.map(lambda row: row * fastmath.numpy.sum(row), np.arange(6.0).reshape(3, 2))
    less = fastmath.lt(np.array([1, 5]), np.array([2, 2]))
    assert fastmath.is_backend(backend)
  np.testing.assert_array_equal(np.asarray(got_min), expected_min)
  np.testing.assert_array_equal(np.asarray(got_max), expected_max)
  rows = np.arange(6.0).reshape(3, 2)
  np.testing.assert_allclose(np.asarray(mapped), rows * rows.sum(1, keepdims=True))
  np.testing.assert_array_equal(np.asarray(less), [True, False])


def test_nested_zip_and_stack():
  trees = [{'a': 1, 'b': (2, [3])}, {'a': 4, 'b': (5, [6])}]
  assert fastmath.nested_zip(trees) == {'a': (1, 4), 'b': ((2, 5), [(3, 6)])}
  stacked = fastmath.nested_stack([{'w': np.ones(2), 'n': None}, {'w': np.zeros(2), 'n': None}])
  np.testing.assert_array_equal(stacked['w'], [[1.0, 1.0], [0.0, 0.0]])
  assert stacked['n'] is None
  along_1 = fastmath.nested_stack([(np.ones(3),), (np.zeros(3),)], axis=1)
  assert along_1[0].shape == (3, 2)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_custom_grad_and_trax_custom_vjp(backend):
  # f(x) = x**2 with the gradient of 10 x (so the custom one is visibly used).
  def f_vjp(x):
    return x**2, lambda g: (g * 10.0 * x,)

  with fastmath.use_backend(backend):
    f = fastmath.custom_grad(f_vjp, lambda x: x**2)
    value, grad = fastmath.value_and_grad(f)(np.float32(3.0))
    # Trax 1.x's form: f_bwd returns one cotangent per argument, None where not needed.
    g = fastmath.custom_vjp(
      lambda x, k: x * k, lambda x, k: (x * k, (x, k)), lambda res, ct: (ct * 0.5, None)
    )
    grad_g = fastmath.grad(g)(np.float32(2.0), np.float32(7.0))
  assert float(value) == 9.0 and float(grad) == 30.0
  assert float(grad_g) == 0.5


def test_device_counts_and_pmap_psum():
  assert fastmath.global_device_count() == jax.device_count()
  assert fastmath.local_device_count() == jax.local_device_count()
  summed = fastmath.pmap(lambda x: fastmath.psum(x, 'i'), axis_name='i')(jnp.ones((1, 3)))
  np.testing.assert_array_equal(summed, np.ones((1, 3)))
  with fastmath.use_backend('tensorflow-numpy'):
    with pytest.raises(fastmath.BackendError, match="run it under the 'jax' backend"):
      fastmath.pmap(lambda x: x)


def test_is_traced():
  assert not fastmath.is_traced((np.ones(2), ()))
  seen = []
  jax.jit(lambda x: seen.append(fastmath.is_traced(x)) or x)(np.ones(2))
  assert seen == [True]


def test_dataset_as_numpy():
  tf = pytest.importorskip('tensorflow')
  dataset = tf.data.Dataset.from_tensor_slices({'x': np.arange(3)})
  assert [int(e['x']) for e in fastmath.dataset_as_numpy(dataset)] == [0, 1, 2]


def test_disable_jit_turns_compilation_off_in_its_process():
  # In a subprocess: disable_jit is process-wide and cannot be undone, as in Trax.
  code = (
    'import numpy as np\nfrom trax import fastmath\n'
    'fastmath.disable_jit()\n'
    'seen = []\n'
    'f = fastmath.jit(lambda x: seen.append(type(x).__name__) or x)\n'
    'f(np.ones(2)); f(np.ones(2))\n'
    'print(len(seen), fastmath.jit(len) is len)\n'
  )
  out = subprocess.run(
    [sys.executable, '-c', code], capture_output=True, text=True, check=True, timeout=120
  ).stdout
  assert out.split() == ['2', 'True']  # Run twice, never traced; jit(f) is f.


def test_numpy_names_renamed_since_trax_1_4_still_resolve():
  from trax.fastmath import numpy as tnp

  x, y = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 3.0])
  assert float(tnp.trapz(x, y)) == 1.5 + 6.0  # Trapezoids: (1+2)/2*1 + (2+4)/2*2.
  np.testing.assert_allclose(tnp.round_(np.array([1.26, -0.74]), 1), [1.3, -0.7], rtol=1e-6)
  assert int(tnp.product(np.array([2, 3, 4]))) == 24
  assert tnp.cumproduct(np.array([2, 3])).tolist() == [2, 6]
  assert bool(tnp.alltrue(np.array([True, False]))) is False
  assert bool(tnp.sometrue(np.array([True, False]))) is True
  with pytest.raises(AttributeError, match='fastmath.numpy.no_such_name'):
    _ = tnp.no_such_name
