"""float64 on the tensorflow-numpy backend, as Trax 1.4's TF backend (TF's numpy) had it.

Every layer of the parity table (`PARITY_CASES`, see tests/layers/test_parity.py) whose
inputs are float32 is run on float64 inputs under tensorflow-numpy and compared with jax
with 64-bit types on (weights widened to float64, which is what numpy's promotion
computes): the same dtypes (integers aside: both backends keep 32-bit ones) and values to
1e-6. Two ways in: `layer(x)` on numpy inputs with jax weights (how Trax code calls
layers), and `pure_fn` on TF tensors for inputs, weights and state (how exports and the TF
trainer call them). A few layers run by default; the whole table is marked slow.
"""

import jax
import numpy as np
import pytest
import tensorflow as tf

from trax import fastmath
from trax import shapes
import trax.layers as tl
from tests.layers import harness

RNG = jax.random.PRNGKey(0)
# Run by default: the layers the Trax 1.4 notebooks lean on, and each way float64 can meet
# float32 (operators on weights, state updated in place, weights inside a TF while loop).
# (The first case of each of these names.)
FAST = {
  'Dense',
  'Gelu',
  'LayerNorm',
  'BatchNorm',
  'CausalAttention',
  'Chunk',
  'Standardize',
  'CrossEntropyLoss',
  'L2Loss',
}


def _as_float64(tree):
  return jax.tree.map(
    lambda s: shapes.ShapeDtype(s.shape, np.float64) if np.dtype(s.dtype) == np.float32 else s,
    tree,
    is_leaf=lambda s: isinstance(s, shapes.ShapeDtype),
  )


def _float_cases():
  fast = set(FAST)
  for case in harness.parity_cases():
    options = case.options
    if (
      _as_float64(case.input_signature) == case.input_signature
      or not options.get('deterministic', True)
      or not options.get('check_tf', True)
    ):
      continue
    marks = () if case.name in fast else (pytest.mark.slow,)
    fast.discard(case.name)
    yield pytest.param(case, id=case.name, marks=marks)


CASES = list(_float_cases())


def _inputs_and_expected(case):
  """Float64 inputs, the layer's (float32) weights and state, and jax's x64 outputs."""
  layer = case.make()
  inputs = case.options.get('inputs')
  if inputs is None:
    inputs = harness.random_inputs(case.input_signature, int_high=case.options.get('int_high', 8))
  inputs = jax.tree.map(lambda a: a.astype(np.float64) if a.dtype == np.float32 else a, inputs)
  weights, state = layer.init(case.input_signature)
  widened = jax.tree.map(
    lambda a: np.asarray(a, np.float64) if np.asarray(a).dtype == np.float32 else a,
    (weights, state),
  )
  with jax.enable_x64(True):
    expected, _ = jax.jit(lambda x, ws: layer.pure_fn(x, *ws, RNG))(inputs, widened)
    expected = jax.tree.map(np.asarray, expected)
  return layer, inputs, weights, state, expected


def _assert_same(actual, expected, name):
  actual = jax.tree.map(np.asarray, actual)
  assert jax.tree.structure(actual) == jax.tree.structure(expected), name
  for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
    both_int = np.issubdtype(a.dtype, np.integer) and np.issubdtype(e.dtype, np.integer)
    assert a.dtype == e.dtype or both_int, f'{name}: {a.dtype}, jax (x64) gives {e.dtype}'
    np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize('case', CASES)
def test_layer_call_keeps_float64(case):
  layer, inputs, weights, state, expected = _inputs_and_expected(case)
  with fastmath.use_backend('tensorflow-numpy'):
    outputs = layer(inputs, weights=weights, state=state, rng=RNG)
  assert all(tf.is_tensor(y) for y in jax.tree.leaves(outputs))  # TF computed it all.
  _assert_same(outputs, expected, case.name)


@pytest.mark.parametrize('case', CASES)
def test_pure_fn_on_tensors_keeps_float64(case):
  layer, inputs, weights, state, expected = _inputs_and_expected(case)
  to_tf = lambda tree: tf.nest.map_structure(lambda a: tf.constant(np.asarray(a)), tree)
  with fastmath.use_backend('tensorflow-numpy'):
    outputs, _ = layer.pure_fn(
      to_tf(inputs), to_tf(weights), to_tf(state), tf.constant(np.asarray(RNG))
    )
  _assert_same(outputs, expected, case.name)


def test_jax_backend_computes_float64_inputs_in_float32():
  layer = tl.Serial(tl.Dense(3), tl.LayerNorm())
  x = np.linspace(-1.0, 1.0, 8).reshape(2, 4)
  layer.init(shapes.signature(x))
  assert layer(x).dtype == np.float32
  with fastmath.use_backend('tensorflow-numpy'):
    y64 = layer(x)
  assert y64.dtype == tf.float64
  np.testing.assert_allclose(y64.numpy(), layer(x), rtol=1e-5, atol=1e-6)


def test_numpy_scalars_and_int64_narrow_as_on_jax():
  with fastmath.use_backend('tensorflow-numpy'):
    jnp = fastmath.numpy
    x32 = jnp.ones(3)
    assert jnp.multiply(x32, np.float64(2.0)).dtype == tf.float32  # A layer's constant.
    assert jnp.add(x32, np.ones(3)).dtype == tf.float64  # An array.
    assert jnp.asarray(np.arange(3)).dtype == tf.int32
    assert jnp.astype(x32, np.float64).dtype == tf.float64
    # Weights widen only to float64 inputs; float32 inputs leave them as they are.
    weights = (np.ones(2, np.float32), np.ones(2, np.int32))
    assert fastmath.widen_floats(weights, np.ones(2, np.float32)) is weights
    widened = fastmath.widen_floats(weights, np.ones(2))
    assert [w.dtype for w in widened] == [tf.float64, np.int32]
