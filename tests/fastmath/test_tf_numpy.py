"""The tensorflow-numpy namespace against jax.numpy: values and result dtypes.

Each case runs a function of a namespace `ns` on the same inputs with `ns = jax.numpy` (the
oracle) and `ns = trax.fastmath.tf_numpy`, eagerly and inside `tf.function` with the
leading dimension of the first input unknown (`None`). Cases with float64 arrays compare
with jax with 64-bit types on: the TF namespace keeps float64 arrays (as Trax 1.4's TF
backend did), and narrows 64-bit integers and numpy scalars as jax does with them off.
"""

import dataclasses
import functools
from typing import Any
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf

from trax import fastmath
from trax.fastmath import tf_numpy as tnp

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype(np.float32)
Y = RNG.normal(size=(3, 4)).astype(np.float32)
W = RNG.normal(size=(4, 5)).astype(np.float32)
B = RNG.normal(size=(2, 3, 4)).astype(np.float32)
POS = np.abs(X) + 0.5
I = np.array([[3, -1, 0, 2], [1, 1, -4, 7], [0, 5, 2, 2]], np.int32)
MASK = X > 0
SPECIAL = np.array([[0.0, np.inf, -np.inf, np.nan], [1.0, -2.0, 3.5, -0.5]], np.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
  name: str
  fn: Callable[..., Any]
  args: tuple = ()
  dynamic: bool = True  # Also trace with a None leading dimension of args[0].
  x64: bool = False  # Compare with jax with 64-bit types on.

  def __str__(self):
    return self.name


def c(name, fn, *args, dynamic=True, x64=False):
  return Case(name, fn, args, dynamic and bool(args), x64)


CASES = [
  # Creation.
  c('zeros', lambda ns: ns.zeros((2, 3))),
  c('zeros_int', lambda ns: ns.zeros((2,), ns.int32)),
  c('zeros_dynamic', lambda ns, x: ns.zeros((ns.shape(x)[0], 2), x.dtype), X),
  c('ones', lambda ns: ns.ones(3)),
  c('full_int', lambda ns: ns.full((2,), 7)),
  c('full_float', lambda ns: ns.full((2, 2), 1.5)),
  c('full_like', lambda ns, x: ns.full_like(x, 2), X),
  c('full_like_truncates', lambda ns, i: ns.full_like(i, 2.7), I),
  c('zeros_like', lambda ns, x: ns.zeros_like(x), I),
  c('ones_like_dtype', lambda ns, x: ns.ones_like(x, dtype=ns.int32), X),
  c('empty_shape', lambda ns: ns.zeros((0, 3))),
  c('arange', lambda ns: ns.arange(5)),
  c('arange_step', lambda ns: ns.arange(1, 8, 3)),
  c('arange_float', lambda ns: ns.arange(0.0, 1.0, 0.25)),
  c('arange_dynamic', lambda ns, x: ns.arange(ns.shape(x)[0]), X),
  c('linspace', lambda ns: ns.linspace(0, 1, 5)),
  c('linspace_open', lambda ns: ns.linspace(-1.0, 1.0, 4, endpoint=False)),
  c('eye', lambda ns: ns.eye(3)),
  c('eye_k', lambda ns: ns.eye(2, 4, k=1)),
  c('tri', lambda ns: ns.tri(3, 4, k=-1)),
  c('tril', lambda ns, x: ns.tril(x), X),
  c('triu_k', lambda ns, x: ns.triu(x, 1), X),
  c('array_list', lambda ns: ns.array([1.0, 2.0])),
  c('asarray_int', lambda ns: ns.asarray([1, 2])),
  c('asarray_scalar', lambda ns: ns.asarray(1.5)),
  c('asarray_f64', lambda ns: ns.asarray(np.ones(2)), x64=True),
  c('astype_f64', lambda ns, x: ns.astype(x, ns.float64), X, x64=True),
  c('asarray_i64', lambda ns: ns.asarray(np.arange(3))),
  c('array_dtype', lambda ns, x: ns.array(x, dtype=ns.int32), X),
  c('astype_bool', lambda ns, x: ns.astype(x, ns.bool_), X),
  c('astype_bf16', lambda ns, x: ns.astype(x, ns.bfloat16), X),
  c('meshgrid', lambda ns: ns.meshgrid(ns.arange(3), ns.arange(2))),
  c('meshgrid_ij', lambda ns: ns.meshgrid(ns.arange(3), ns.arange(2), indexing='ij')),
  # Shapes.
  c('reshape_dynamic', lambda ns, x: ns.reshape(x, (ns.shape(x)[0], 2, -1)), B),
  c('reshape_flat', lambda ns, x: ns.reshape(x, -1), X),
  c('ravel', lambda ns, x: ns.ravel(x), B),
  c('transpose', lambda ns, x: ns.transpose(x), B),
  c('transpose_axes', lambda ns, x: ns.transpose(x, (1, 0, 2)), B),
  c('swapaxes', lambda ns, x: ns.swapaxes(x, -1, 0), B),
  c('moveaxis', lambda ns, x: ns.moveaxis(x, 0, -1), B),
  c('moveaxis_many', lambda ns, x: ns.moveaxis(x, (0, 1), (2, 0)), B),
  c('expand_dims', lambda ns, x: ns.expand_dims(x, -1), X),
  c('expand_dims_tuple', lambda ns, x: ns.expand_dims(x, (0, 2)), X),
  c('squeeze', lambda ns, x: ns.squeeze(x[:, None, :1]), X),
  c('squeeze_axis', lambda ns, x: ns.squeeze(x[:, None], axis=1), X),
  c('broadcast_to', lambda ns, x: ns.broadcast_to(x[:, None], (ns.shape(x)[0], 2, 4)), X),
  c('concatenate', lambda ns, x, y: ns.concatenate([x, y, x], axis=-1), X, Y),
  c('concatenate_mixed', lambda ns, x, i: ns.concatenate([x, i]), X, I),
  c('concatenate_none', lambda ns, x, y: ns.concatenate([x, y], axis=None), X, Y),
  c('stack', lambda ns, x, y: ns.stack([x, y], axis=1), X, Y),
  c('split_sections', lambda ns, x: ns.split(x, 2, axis=1), X),
  c('split_indices', lambda ns, x: ns.split(x, [1, 3], axis=1), X),
  c('tile', lambda ns, x: ns.tile(x, (2, 1)), X),
  c('tile_more_dims', lambda ns, x: ns.tile(x, (2, 1, 2)), X),
  c('repeat', lambda ns, x: ns.repeat(x, 2, axis=1), X),
  c('repeat_flat', lambda ns, x: ns.repeat(x, 2), X),
  c('pad', lambda ns, x: ns.pad(x, ((1, 0), (2, 1))), X),
  c('pad_int', lambda ns, x: ns.pad(x, 1, constant_values=-1), I),
  c('pad_reflect', lambda ns, x: ns.pad(x, ((0, 0), (2, 1)), mode='reflect'), X),
  c('flip', lambda ns, x: ns.flip(x, 1), X),
  c('flip_all', lambda ns, x: ns.flip(x), X),
  c('roll', lambda ns, x: ns.roll(x, 1, axis=1), X),
  c('roll_flat', lambda ns, x: ns.roll(x, -2), X),
  c('take', lambda ns, x: ns.take(x, np.array([2, -1, 0]), axis=1), X),
  c('take_flat', lambda ns, x: ns.take(x, np.array([[0, 5], [11, -2]])), X),
  c('take_rows', lambda ns, w, i: ns.take(w, i, axis=0), W, np.abs(I) % 4),
  c('take_along_axis', lambda ns, x: ns.take_along_axis(x, ns.argsort(x, axis=1), 1), X),
  c('take_along_axis_0', lambda ns, x: ns.take_along_axis(x, ns.argsort(x, axis=0), 0), X),
  c('take_along_axis_bcast', lambda ns, x: ns.take_along_axis(x, np.array([[3, 0]]), axis=1), X),
  c('where', lambda ns, m, x: ns.where(m, x, 0.0), MASK, X),
  c('where_scalars', lambda ns, m: ns.where(m, 1, 0.5), MASK),
  c('diag_part', lambda ns, x: ns.diag(x), X, dynamic=False),
  c('diag_make', lambda ns: ns.diag(np.array([1.0, 2.0]), k=1), x64=True),
  c('atleast_2d', lambda ns: ns.atleast_2d(ns.atleast_1d(3.0))),
  c('hstack', lambda ns, x, y: ns.hstack([x, y]), X, Y),
  c('vstack', lambda ns, x: ns.vstack([x, x[0]]), X),
  c('searchsorted', lambda ns, x: ns.searchsorted(ns.arange(-1.0, 1.0, 0.5), x), X),
  c(
    'searchsorted_right', lambda ns, i: ns.searchsorted(np.array([0, 1, 1, 3]), i, side='right'), I
  ),
  c('select', lambda ns, x: ns.select([x > 1, x < -1], [x, -x], 0.0), X),
  # Reductions.
  c('sum', lambda ns, x: ns.sum(x), X),
  c('sum_axis', lambda ns, x: ns.sum(x, axis=0), X),
  c('sum_axes_keepdims', lambda ns, x: ns.sum(x, axis=(0, 2), keepdims=True), B),
  c('sum_bool', lambda ns, m: ns.sum(m, axis=1), MASK),
  c('sum_int8', lambda ns, i: ns.sum(ns.astype(i, ns.int8)), I),
  c('prod', lambda ns, x: ns.prod(x, axis=-1), X),
  c('mean', lambda ns, x: ns.mean(x, axis=-1, keepdims=True), X),
  c('mean_int', lambda ns, i: ns.mean(i), I),
  c('average', lambda ns, x: ns.average(x, axis=1), X),
  c(
    'average_weighted',
    lambda ns, x, y: ns.average(x, axis=0, weights=ns.abs(y), returned=True),
    X,
    Y,
  ),
  c('var', lambda ns, x: ns.var(x, axis=1), X),
  c('var_ddof', lambda ns, x: ns.var(x, axis=0, ddof=1), X),
  c('std', lambda ns, x: ns.std(x), X),
  c('max', lambda ns, x: ns.max(x, axis=1), X),
  c('min_keepdims', lambda ns, x: ns.min(x, axis=0, keepdims=True), X),
  c('amax_bool', lambda ns, m: ns.amax(m), MASK),
  c('argmax', lambda ns, x: ns.argmax(x), X),
  c('argmax_axis', lambda ns, x: ns.argmax(x, axis=1), X),
  c('argmin_keepdims', lambda ns, x: ns.argmin(x, axis=0, keepdims=True), X),
  c('all', lambda ns, m: ns.all(m, axis=0), MASK),
  c('any', lambda ns, x: ns.any(x > 1.0), X),
  c('count_nonzero', lambda ns, i: ns.count_nonzero(i, axis=1), I),
  c('cumsum', lambda ns, x: ns.cumsum(x, axis=1), X),
  c('cumsum_flat_bool', lambda ns, m: ns.cumsum(m), MASK),
  c('cumprod', lambda ns, x: ns.cumprod(x, axis=0), X),
  c('sort', lambda ns, x: ns.sort(x), X),
  c('sort_axis0', lambda ns, x: ns.sort(x, axis=0), X),
  c('argsort_ties', lambda ns, i: ns.argsort(i, axis=1), I),
  c('argsort_flat', lambda ns, x: ns.argsort(x, axis=None), X),
  # Elementwise math.
  *[
    c(name, lambda ns, x, name=name: getattr(ns, name)(x), POS)
    for name in [
      'exp',
      'exp2',
      'expm1',
      'log',
      'log2',
      'log10',
      'log1p',
      'sqrt',
      'cbrt',
      'reciprocal',
      'sin',
      'cos',
      'tan',
      'arctan',
      'sinh',
      'cosh',
      'tanh',
      'arcsinh',
      'square',
      'abs',
      'negative',
      'sign',
      'floor',
      'ceil',
      'rint',
      'trunc',
    ]
  ],
  c('arcsin', lambda ns, x: ns.arcsin(x / 10), X),
  c('arccos', lambda ns, x: ns.arccos(x / 10), X),
  c('arctanh', lambda ns, x: ns.arctanh(x / 10), X),
  c('arccosh', lambda ns, x: ns.arccosh(x + 2), POS),
  c('sqrt_int', lambda ns: ns.sqrt(64)),
  c('exp_int', lambda ns, i: ns.exp(i), I),
  c('floor_int', lambda ns, i: ns.floor(i), I),
  c('cbrt_negative', lambda ns, x: ns.cbrt(x), X),
  c('abs_int', lambda ns, i: ns.abs(i), I),
  c('round', lambda ns, x: ns.round(x * 3), X),
  c('round_decimals', lambda ns, x: ns.round(x, 2), X),
  c('isnan', lambda ns, s: ns.isnan(s), SPECIAL),
  c('isinf', lambda ns, s: ns.isinf(s), SPECIAL),
  c('isfinite', lambda ns, s: ns.isfinite(s), SPECIAL),
  c('isfinite_int', lambda ns, i: ns.isfinite(i), I),
  c('nan_to_num', lambda ns, s: ns.nan_to_num(s), SPECIAL),
  c(
    'nan_to_num_values', lambda ns, s: ns.nan_to_num(s, nan=-1.0, posinf=9.0, neginf=-9.0), SPECIAL
  ),
  *[
    c(name, lambda ns, x, y, name=name: getattr(ns, name)(x, y), X, Y)
    for name in [
      'add',
      'subtract',
      'multiply',
      'divide',
      'true_divide',
      'floor_divide',
      'mod',
      'remainder',
      'fmod',
      'maximum',
      'minimum',
      'arctan2',
      'logaddexp',
      'equal',
      'not_equal',
      'less',
      'less_equal',
      'greater',
      'greater_equal',
    ]
  ],
  *[
    c(f'{name}_int', lambda ns, i, name=name: getattr(ns, name)(i, 3), I)
    for name in [
      'floor_divide',
      'mod',
      'fmod',
      'divide',
      'power',
      'left_shift',
      'right_shift',
      'bitwise_and',
      'bitwise_or',
      'bitwise_xor',
    ]
  ],
  c('invert', lambda ns, i: ns.invert(i), I),
  c('power', lambda ns, x: ns.power(x, 2.0), POS),
  c('power_int_exponent', lambda ns, x: ns.power(x, 3), X),
  c('logaddexp_inf', lambda ns, s: ns.logaddexp(s, s), SPECIAL[:, :3]),
  c('logical_and', lambda ns, m, x: ns.logical_and(m, x > -0.5), MASK, X),
  c('logical_or', lambda ns, m, x: ns.logical_or(m, x > -0.5), MASK, X),
  c('logical_xor', lambda ns, m, i: ns.logical_xor(m, i), MASK, I),
  c('logical_not', lambda ns, i: ns.logical_not(i), I),
  c('clip', lambda ns, x: ns.clip(x, -0.5, 0.5), X),
  c('clip_lower', lambda ns, x: ns.clip(x, 0.0), X),
  c('clip_upper', lambda ns, x: ns.clip(x, None, 0.0), X),
  c('clip_int_by_floats', lambda ns, i: ns.clip(i, 0.5, 2.5), I),
  c('isclose', lambda ns, x: ns.isclose(x, x + 1e-6), X),
  c('isclose_inf_nan', lambda ns, s: ns.isclose(s, s, equal_nan=True), SPECIAL),
  c('allclose', lambda ns, x, y: ns.allclose(x, y), X, Y),
  c('array_equal', lambda ns, x: ns.array_equal(x, x), X),
  c('nonzero', lambda ns, i: ns.nonzero(i), I, dynamic=False),
  # jax's type promotion: Python scalars are weak, 64-bit scalars narrow to 32-bit.
  c('bf16_times_python_float', lambda ns, x: ns.multiply(ns.astype(x, ns.bfloat16), 2.0), X),
  c(
    'bf16_times_np_float32', lambda ns, x: ns.multiply(ns.astype(x, ns.bfloat16), np.float32(2)), X
  ),
  c('f32_times_np_float64', lambda ns, x: ns.multiply(x, np.float64(2)), X),
  c('f32_plus_f64_array', lambda ns, x: ns.add(x, np.ones(4)), X, x64=True),
  c(
    'f64_array_times_python_float',
    lambda ns, x: ns.multiply(ns.astype(x, ns.float64), 2.0),
    X,
    x64=True,
  ),
  c(
    'f64_mean_and_exp', lambda ns, x: ns.exp(ns.mean(ns.astype(x, ns.float64), axis=0)), X, x64=True
  ),
  c('int_plus_python_float', lambda ns, i: ns.add(i, 0.5), I),
  c('int_times_float_array', lambda ns, i, x: ns.multiply(i, x), I, X),
  c('f16_plus_bf16', lambda ns, x: ns.add(ns.astype(x, ns.float16), ns.astype(x, ns.bfloat16)), X),
  c(
    'int8_plus_uint8',
    lambda ns, i: ns.add(ns.astype(i, ns.int8), ns.astype(ns.abs(i), ns.uint8)),
    I,
  ),
  c('int32_plus_uint32', lambda ns, i: ns.add(i, ns.astype(ns.abs(i), ns.uint32)), I),
  c('bool_plus_python_int', lambda ns, m: ns.add(m, 1), MASK),
  c('where_int8_python_int', lambda ns, m, i: ns.where(m, ns.astype(i, ns.int8), 0), MASK, I),
  # Products.
  c('dot_2d', lambda ns, x, w: ns.dot(x, w), X, W),
  c('dot_3d_2d', lambda ns, b, w: ns.dot(b, w), B, W),
  c('dot_3d_1d', lambda ns, b, w: ns.dot(b, w[:, 0]), B, W),
  c('dot_1d_2d', lambda ns, w: ns.dot(w[:, 0], w), W),
  c('dot_1d_1d', lambda ns, x: ns.dot(x[0], x[1]), X, dynamic=False),
  c('dot_2d_3d', lambda ns, x, b: ns.dot(x, ns.swapaxes(b, 1, 2)), X, B),
  c('dot_scalar', lambda ns, x: ns.dot(x, 2.0), X),
  c('matmul_batched', lambda ns, b, x: ns.matmul(b, ns.transpose(x)), B, X),
  c('matmul_vector', lambda ns, b, w: ns.matmul(b, w[:, 0]), B, W),
  c('matmul_vector_left', lambda ns, w, b: ns.matmul(w[:3, 0], b), W, B),
  c('einsum', lambda ns, b, w: ns.einsum('btd,de->bte', b, w), B, W),
  c('einsum_ellipsis', lambda ns, b: ns.einsum('...ij,...kj->...ik', b, b), B),
  c('tensordot', lambda ns, b, w: ns.tensordot(b, w, axes=1), B, W),
  c('tensordot_axes', lambda ns, b, x: ns.tensordot(b, x, axes=([1, 2], [0, 1])), B, X),
  c('outer', lambda ns, x: ns.outer(x[0], x[1, :2]), X, dynamic=False),
  c('inner', lambda ns, b, x: ns.inner(b, x), B, X),
  c('vdot', lambda ns, x, y: ns.vdot(x, y), X, Y, dynamic=False),
  c('norm', lambda ns, x: ns.linalg.norm(x), X),
  c('norm_axis', lambda ns, x: ns.linalg.norm(x, axis=-1, keepdims=True), X),
  c('norm_ord1', lambda ns, x: ns.linalg.norm(x[0], ord=1), X, dynamic=False),
  c('inv', lambda ns, x: ns.linalg.inv(ns.dot(x, ns.transpose(x)) + ns.eye(3)), X),
  c('det', lambda ns, x: ns.linalg.det(ns.dot(x, ns.transpose(x))), X),
  c('cholesky', lambda ns, x: ns.linalg.cholesky(ns.dot(x, ns.transpose(x)) + ns.eye(3)), X),
  c('qr_reconstructs', lambda ns, x: ns.matmul(*ns.linalg.qr(x)), X),
  c(
    'one_hot', lambda ns, i: ns.astype(ns.equal(ns.abs(i)[..., None], ns.arange(8)), ns.float32), I
  ),
]


def _as_numpy(tree: Any) -> list:
  return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]


def _assert_matches(actual: Any, expected: Any, name: str) -> None:
  actual, expected = _as_numpy(actual), _as_numpy(expected)
  assert len(actual) == len(expected), name
  for a, e in zip(actual, expected):
    assert a.dtype == e.dtype, f'{name}: dtype {a.dtype}, jax gives {e.dtype}'
    assert a.shape == e.shape, f'{name}: shape {a.shape}, jax gives {e.shape}'
    if np.issubdtype(e.dtype, np.inexact) or e.dtype == ml_dtypes.bfloat16:
      tol = 1e-2 if e.dtype in (np.float16, ml_dtypes.bfloat16) else 2e-5
      np.testing.assert_allclose(
        a.astype(np.float32), e.astype(np.float32), rtol=tol, atol=tol, equal_nan=True, err_msg=name
      )
    else:
      np.testing.assert_array_equal(a, e, err_msg=name)


@functools.cache
def _jax_result(case: Case) -> list:
  with jax.enable_x64(case.x64):
    return _as_numpy(case.fn(jnp, *case.args))


@pytest.mark.parametrize('case', CASES, ids=str)
def test_matches_jax_eagerly(case):
  expected = _jax_result(case)
  actual = tf.nest.map_structure(lambda t: t.numpy(), case.fn(tnp, *case.args))
  _assert_matches(actual, expected, case.name)


@pytest.mark.parametrize('case', [case for case in CASES if case.dynamic], ids=str)
def test_matches_jax_in_tf_function_with_unknown_batch(case):
  first, *rest = case.args
  specs = [tf.TensorSpec([None, *first.shape[1:]], first.dtype)]
  specs += [tf.TensorSpec(a.shape, a.dtype) for a in rest]
  traced = tf.function(lambda *args: case.fn(tnp, *args), input_signature=specs, autograph=False)
  _assert_matches(
    tf.nest.map_structure(lambda t: t.numpy(), traced(*case.args)), _jax_result(case), case.name
  )


def test_accepts_tensors_variables_numpy_jax_and_scalars():
  total = tnp.add(tnp.add(tf.ones(2), tf.Variable([1.0, 2.0])), tnp.add(jnp.ones(2), 3))
  np.testing.assert_allclose(total.numpy(), [6.0, 7.0])
  assert total.dtype == tf.float32
  assert tnp.asarray([tf.constant(2), 3, -1]).dtype == tf.int32  # A shape from parts.


def test_traced_graph_has_no_float64():
  @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)], autograph=False)
  def layer_like(x):
    positions = tnp.multiply(tnp.arange(tnp.shape(x)[0])[:, None], -np.log(1e4) / 4)
    return tnp.mean(tnp.exp(x) * 2.5 + positions / 2, axis=-1) + tnp.sqrt(4)

  graph = layer_like.get_concrete_function().graph.as_graph_def()
  dtypes = {attr.type for node in graph.node for attr in node.attr.values()}
  assert tf.float64.as_datatype_enum not in dtypes


def test_dtype_helpers():
  assert tnp.float32 == np.float32 and tnp.bfloat16 == ml_dtypes.bfloat16
  assert tf.ones(2).dtype == tnp.float32
  assert tnp.dtype(tf.bfloat16) == np.dtype(ml_dtypes.bfloat16)
  assert tnp.issubdtype(tf.bfloat16, tnp.floating) and tnp.issubdtype(tnp.int8, tnp.integer)
  assert not tnp.issubdtype(tf.int32, tnp.floating)
  assert (
    tnp.finfo(tf.bfloat16).bits == 16 and tnp.finfo(tnp.float32).eps == jnp.finfo(jnp.float32).eps
  )
  assert tnp.iinfo(tf.int32).max == 2**31 - 1
  assert tnp.result_type(np.int32, 1.5) == jnp.result_type(jnp.int32, 1.5)
  assert tnp.promote_types(tnp.float16, tnp.bfloat16) == np.float32
  assert tnp.shape(X) == (3, 4) and tnp.ndim(B) == 3 and tnp.size(B) == 24
  assert tnp.ndarray is tf.Tensor and tnp.newaxis is None and tnp.inf == np.inf


def test_shape_is_ints_where_static_and_tensors_where_dynamic():
  @tf.function(input_signature=[tf.TensorSpec([None, 3, None])], autograph=False)
  def dims(x):
    batch, three, length = tnp.shape(x)
    assert three == 3 and isinstance(three, int)
    assert tf.is_tensor(batch) and tf.is_tensor(length)
    return tnp.stack([batch, length]), tnp.size(x)

  sizes, total = dims(tf.zeros((2, 3, 5)))
  assert sizes.numpy().tolist() == [2, 5] and int(total) == 30


def test_unknown_dims_in_a_shape_get_a_helpful_error():
  @tf.function(input_signature=[tf.TensorSpec([None, 4])], autograph=False)
  def bad(x):
    return tnp.zeros(x.shape)

  with pytest.raises(ValueError, match='fastmath.shape'):
    bad.get_concrete_function()


def test_unsupported_options_raise_backend_error():
  with pytest.raises(fastmath.BackendError, match='edge'):
    tnp.pad(X, 1, mode='edge')
  with pytest.raises(fastmath.BackendError, match='mode'):
    tnp.take(X, [0], mode='wrap')
  with fastmath.use_backend('tensorflow-numpy'):
    with pytest.raises(fastmath.BackendError, match="'tensorflow-numpy'"):
      _ = fastmath.numpy.no_such_function
    assert not hasattr(fastmath.numpy, '__wrapped__')  # Protocol probes see AttributeError.
