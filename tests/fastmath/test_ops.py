"""`fastmath` ops on the tensorflow-numpy and numpy backends against the jax backend.

Each case calls `fastmath` functions; the jax backend's result is the oracle. Under
tensorflow-numpy each case also runs inside `tf.function` with the leading dimension of
its first input unknown.
"""

import dataclasses
import functools
from typing import Any
from collections.abc import Callable

import jax
import numpy as np
import pytest
import tensorflow as tf

from trax import fastmath
from trax.fastmath import numpy as fnp

RNG = np.random.default_rng(1)
X = RNG.normal(size=(3, 5)).astype(np.float32)
TIES = np.array([[1.0, 3.0, 3.0, 0.0, 2.0], [5.0, 5.0, 5.0, 1.0, 1.0]], np.float32)
KEYS = np.array([[3, 1, 2, 1], [0, 0, -1, 2]], np.int32)
IMAGE = RNG.normal(size=(2, 5, 6, 4)).astype(np.float32)
SEQUENCE = RNG.normal(size=(2, 7, 4)).astype(np.float32)
VOLUME = RNG.normal(size=(2, 4, 5, 3, 2)).astype(np.float32)
HEADS = RNG.normal(size=(2, 5, 3, 4)).astype(np.float32)  # (batch, length, heads, d)
MINUS_INF_ROW = np.array([[-np.inf, -np.inf], [0.0, 1.0]], np.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
  name: str
  fn: Callable[..., Any]
  args: tuple
  numpy: bool = True  # The numpy backend has this op.
  dynamic: bool = True  # Also trace with a None leading dimension of args[0].

  def __str__(self):
    return self.name


def _conv(layout, kernel_shape, padding='SAME', strides=None, dilation=None, groups=1):
  n = len(kernel_shape) - 2
  return lambda x, w: fastmath.conv(
    x, w, strides or (1,) * n, padding, layout, rhs_dilation=dilation, feature_group_count=groups
  )


def _conv_case(name, x, layout, kernel_shape, **options):
  kernel = RNG.normal(size=kernel_shape).astype(np.float32)
  return Case(f'conv_{name}', _conv(layout, kernel_shape, **options), (x, kernel), numpy=False)


NHWC = ('NHWC', 'HWIO', 'NHWC')
CASES = [
  Case('logsumexp', fastmath.logsumexp, (X,)),
  Case('logsumexp_axis', lambda x: fastmath.logsumexp(x, axis=1, keepdims=True), (X,)),
  Case('logsumexp_axes', lambda x: fastmath.logsumexp(x, axis=(0, 1)), (X,)),
  Case('logsumexp_all_minus_inf', lambda x: fastmath.logsumexp(x, axis=1), (MINUS_INF_ROW,)),
  Case('sigmoid', lambda x: fastmath.sigmoid(x * 50), (X,)),
  Case('expit', fastmath.expit, (X,)),
  Case('global_norm', lambda x, y: fastmath.global_norm([x, y]), (X, IMAGE)),
  Case('relu', lambda x: fastmath.relu(x * 4.0), (X,)),
  Case('relu6', lambda x: fastmath.relu6(x * 8.0), (X,)),
  Case('relu6_kinks', fastmath.relu6, (np.array([[-1.0, 0.0, 3.0, 6.0, 7.0]], np.float32),)),
  Case('erf', fastmath.erf, (X,)),
  Case(
    'contract_scores',
    lambda q, k: fastmath.contract('bqhd,bkhd->bhqk', q, k),
    (HEADS, HEADS[:, :3]),
  ),
  Case(
    'contract_values',
    lambda w, v: fastmath.contract('bhqk,bkhd->bqhd', w, v),
    (HEADS.transpose(0, 2, 1, 3)[..., :3], HEADS[:, :3]),
  ),
  Case('contract_matrix', lambda a, b: fastmath.contract('ji,jk->ki', a, b), (X, X[:, :4])),
  Case('matmul_last_axis', fastmath.matmul_last_axis, (SEQUENCE, X[:, :4].T)),
  Case('matmul_last_axis_2d', fastmath.matmul_last_axis, (X, X.T)),
  Case('matmul_last_axis_bias', fastmath.matmul_last_axis, (SEQUENCE, X[:, :4].T, X[0, :3])),
  Case('matmul_last_axis_2d_bias', fastmath.matmul_last_axis, (X, X.T, X[:, 0])),
  Case('top_k', lambda x: fastmath.top_k(x, 2), (X,)),
  Case('top_k_ties', lambda x: fastmath.top_k(x, 3), (TIES,)),
  Case('sort_key_val', lambda k, v: fastmath.sort_key_val(k, v), (KEYS, X[:2, :4])),
  Case(
    'sort_key_val_dim0', lambda k, v: fastmath.sort_key_val(k, v, dimension=0), (KEYS, X[:2, :4])
  ),
  Case('index_update_int', lambda x: fastmath.index_update(x, 1, 7.0), (X,)),
  Case(
    'index_update_slice',
    lambda x: fastmath.index_update(x, (slice(None), slice(1, None, 2)), -1.0),
    (X,),
  ),
  Case('index_update_ellipsis', lambda x: fastmath.index_update(x, (Ellipsis, -1), 5.0), (X,)),
  Case(
    'index_update_array',
    lambda x: fastmath.index_update(x, (slice(None), np.array([0, 3])), np.float32(2.0)),
    (X,),
  ),
  Case(
    'index_update_block',
    lambda x: fastmath.index_update(x, (slice(0, 2), slice(1, 3)), np.ones((2, 2), np.float32)),
    (X,),
  ),
  Case('index_add', lambda x: fastmath.index_add(x, (slice(None), 0), 10.0), (X,)),
  Case(
    'index_add_repeated',
    lambda x: fastmath.index_add(x, (slice(None), np.array([0, 0, 4])), 1.0),
    (X,),
  ),
  Case('index_add_newaxis', lambda x: fastmath.index_add(x, (None, 0), 1.0), (X,), dynamic=False),
  Case('dynamic_slice', lambda x: fastmath.dynamic_slice(x, (1, 2), (2, 2)), (X,)),
  Case('dynamic_slice_clamped', lambda x: fastmath.dynamic_slice(x, (2, 4), (2, 3)), (X,)),
  Case('dynamic_slice_negative', lambda x: fastmath.dynamic_slice(x, (0, -2), (2, 2)), (X,)),
  Case('dynamic_slice_in_dim', lambda x: fastmath.dynamic_slice_in_dim(x, 3, 2, axis=1), (X,)),
  Case(
    'dynamic_update_slice',
    lambda x: fastmath.dynamic_update_slice(x, np.ones((2, 2), np.float32), (1, 3)),
    (X,),
  ),
  Case(
    'dynamic_update_slice_clamped',
    lambda x: fastmath.dynamic_update_slice(x, np.ones((1, 3), np.float32), (5, -1)),
    (X,),
  ),
  Case(
    'dynamic_update_slice_in_dim',
    lambda x: fastmath.dynamic_update_slice_in_dim(x, np.zeros((3, 1), np.float32), 4, axis=1),
    (X,),
  ),
  Case(
    'max_pool_same', lambda x: fastmath.max_pool(x, (2, 2), (2, 2), 'SAME'), (IMAGE,), numpy=False
  ),
  Case(
    'max_pool_valid', lambda x: fastmath.max_pool(x, (3, 2), (1, 2), 'VALID'), (IMAGE,), numpy=False
  ),
  Case(
    'sum_pool_same', lambda x: fastmath.sum_pool(x, (2, 3), (1, 1), 'SAME'), (IMAGE,), numpy=False
  ),
  Case(
    'sum_pool_1d', lambda x: fastmath.sum_pool(x, (3,), (2,), 'VALID'), (SEQUENCE,), numpy=False
  ),
  Case(
    'avg_pool_same', lambda x: fastmath.avg_pool(x, (3, 3), (2, 2), 'SAME'), (IMAGE,), numpy=False
  ),
  Case(
    'avg_pool_valid', lambda x: fastmath.avg_pool(x, (2, 2), (1, 1), 'VALID'), (IMAGE,), numpy=False
  ),
  Case(
    'avg_pool_explicit',
    lambda x: fastmath.avg_pool(x, (2, 2), (1, 1), ((1, 0), (0, 1))),
    (IMAGE,),
    numpy=False,
  ),
  Case(
    'max_pool_3d',
    lambda x: fastmath.max_pool(x, (2, 2, 2), (1, 2, 1), 'SAME'),
    (VOLUME,),
    numpy=False,
  ),
  _conv_case('nhwc_same', IMAGE, NHWC, (3, 3, 4, 6)),
  _conv_case('nhwc_valid_strided', IMAGE, NHWC, (3, 2, 4, 5), padding='VALID', strides=(2, 1)),
  _conv_case('nhwc_explicit', IMAGE, NHWC, (2, 3, 4, 3), padding=((1, 2), (0, 1))),
  _conv_case('nhwc_dilated', IMAGE, NHWC, (2, 2, 4, 3), dilation=(2, 1)),
  _conv_case(
    'nhwc_dilated_strided',
    IMAGE,
    NHWC,
    (2, 2, 4, 3),
    dilation=(2, 3),
    strides=(2, 1),
    padding='VALID',
  ),
  _conv_case('nhwc_depthwise', IMAGE, NHWC, (3, 3, 1, 8), groups=4),
  _conv_case(
    'nhwc_depthwise_dilated_strided',
    IMAGE,
    NHWC,
    (2, 2, 1, 4),
    groups=4,
    dilation=(2, 2),
    strides=(2, 2),
  ),
  _conv_case(
    'nhwc_depthwise_strided', IMAGE, NHWC, (3, 3, 1, 4), groups=4, strides=(2, 2), padding='VALID'
  ),
  _conv_case('nhwc_groups', IMAGE, NHWC, (2, 2, 2, 6), groups=2),
  _conv_case(
    'nchw_oihw',
    np.transpose(IMAGE, (0, 3, 1, 2)),
    ('NCHW', 'OIHW', 'NCHW'),
    (5, 4, 3, 2),
    strides=(1, 2),
  ),
  _conv_case('nhwc_ohwi_nchw', IMAGE, ('NHWC', 'OHWI', 'NCHW'), (5, 2, 3, 4)),
  _conv_case('default_layout', np.transpose(IMAGE, (0, 3, 1, 2)), None, (5, 4, 3, 3)),
  _conv_case('nwc_wio', SEQUENCE, ('NWC', 'WIO', 'NWC'), (3, 4, 5)),
  _conv_case('nwc_causal', SEQUENCE, ('NWC', 'WIO', 'NWC'), (3, 4, 5), padding=((2, 0),)),
  _conv_case(
    'ncw_oiw',
    np.transpose(SEQUENCE, (0, 2, 1)),
    ('NCW', 'OIW', 'NCW'),
    (5, 4, 2),
    padding='VALID',
    strides=(2,),
  ),
  _conv_case('ndhwc', VOLUME, ('NDHWC', 'DHWIO', 'NDHWC'), (2, 3, 2, 2, 3)),
]


def _leaves(tree: Any) -> list:
  return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]


@functools.cache
def _jax_result(case: Case) -> list:
  with fastmath.use_backend('jax'):
    return _leaves(case.fn(*case.args))


def _assert_matches(actual: Any, expected: list, name: str, exact_dtype: bool) -> None:
  actual = _leaves(actual)
  assert len(actual) == len(expected), name
  for a, e in zip(actual, expected):
    assert a.shape == e.shape, f'{name}: shape {a.shape}, jax gives {e.shape}'
    if exact_dtype:
      assert a.dtype == e.dtype, f'{name}: dtype {a.dtype}, jax gives {e.dtype}'
    np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5, err_msg=name)


def _numpy_leaves(tree: Any) -> Any:
  return tf.nest.map_structure(lambda t: t.numpy(), tree)


@pytest.mark.parametrize('case', CASES, ids=str)
def test_tf_backend_matches_jax(case):
  with fastmath.use_backend('tensorflow-numpy'):
    actual = _numpy_leaves(case.fn(*case.args))
  _assert_matches(actual, _jax_result(case), case.name, exact_dtype=True)


@pytest.mark.parametrize('case', [case for case in CASES if case.dynamic], ids=str)
def test_tf_backend_matches_jax_in_tf_function_with_unknown_batch(case):
  first, *rest = case.args
  specs = [tf.TensorSpec([None, *first.shape[1:]], first.dtype)]
  specs += [tf.TensorSpec(a.shape, a.dtype) for a in rest]
  with fastmath.use_backend('tensorflow-numpy'):
    traced = tf.function(case.fn, input_signature=specs, autograph=False)
    actual = _numpy_leaves(traced(*case.args))
  _assert_matches(actual, _jax_result(case), case.name, exact_dtype=True)


@pytest.mark.parametrize('case', [case for case in CASES if case.numpy], ids=str)
def test_numpy_backend_matches_jax(case):
  with fastmath.use_backend('numpy'):
    actual = case.fn(*case.args)
  _assert_matches(actual, _jax_result(case), case.name, exact_dtype=False)


def test_numpy_backend_has_no_convolutions():
  with fastmath.use_backend('numpy'), pytest.raises(fastmath.BackendError, match='conv'):
    fastmath.conv(IMAGE, IMAGE, (1, 1), 'SAME', NHWC)


@pytest.mark.parametrize(
  'subscripts, shape_a, shape_b',
  [
    ('bqhd,bkhd->bhqk', (2, 5, 3, 4), (2, 6, 3, 4)),  # Attention's scores, heads in place.
    ('bhqk,bkhd->bqhd', (2, 3, 5, 6), (2, 6, 3, 4)),  # Its values.
    ('bqhd,bhkd->bhqk', (2, 5, 3, 4), (2, 3, 6, 4)),  # Keys with their heads first.
    ('bij,jkl->bikl', (2, 3, 4), (4, 5, 6)),  # Free axes in groups.
    ('ij,ij->', (3, 4), (3, 4)),  # All contracted.
  ],
)
def test_jax_contract_equals_numpy_einsum(subscripts, shape_a, shape_b):
  a, b = RNG.normal(size=shape_a), RNG.normal(size=shape_b)
  with fastmath.use_backend('jax'):
    np.testing.assert_allclose(
      fastmath.contract(subscripts, a.astype(np.float32), b.astype(np.float32)),
      np.einsum(subscripts, a, b),
      rtol=1e-5,
      atol=1e-5,
    )


def test_contract_refuses_indices_it_cannot_multiply():
  with fastmath.use_backend('jax'), pytest.raises(ValueError, match='batch, contracted or'):
    fastmath.contract('ij,jk->i', X, X.T)  # k summed out of one operand.


def test_matmul_last_axis_is_one_matmul_op_folded_on_tf_and_broadcast_for_tflite():
  from trax.fastmath import tf_backend

  def ops(dynamic):
    spec = tf.TensorSpec((None, None, 4), tf.float32) if dynamic else tf.TensorSpec((2, 7, 4))
    with fastmath.use_backend('tensorflow-numpy'):
      graph = (
        tf.function(lambda x: fastmath.matmul_last_axis(x, X[:, :4].T))
        .get_concrete_function(spec)
        .graph
      )
    return {op.type for op in graph.get_operations()}

  assert {'MatMul', 'Reshape'} <= ops(True) and 'BatchMatMulV2' not in ops(True)
  with tf_backend.graphs_for_tflite():
    assert 'BatchMatMulV2' in ops(True) and not {'MatMul', 'Reshape', 'Shape'} & ops(True)
  assert 'MatMul' in ops(False)  # The block ended.
  with fastmath.use_backend('tensorflow-numpy'):  # A bias on a 2-D product: a BiasAdd op.
    graph = (
      tf.function(lambda x: fastmath.matmul_last_axis(x, X.T, X[:, 0]))
      .get_concrete_function(tf.TensorSpec((None, 5), tf.float32))
      .graph
    )
  assert 'BiasAdd' in {op.type for op in graph.get_operations()}


def test_index_update_with_a_traced_position():
  @tf.function(
    input_signature=[tf.TensorSpec([None, 5]), tf.TensorSpec([], tf.int32)], autograph=False
  )
  def write_column(x, position):
    updated = fastmath.index_update(x, (slice(None), position), -1.0)
    shifted = fastmath.dynamic_update_slice_in_dim(x, x[:, :1] * 0 + 9, position, axis=1)
    return updated, shifted, fastmath.dynamic_slice_in_dim(x, position, 2, axis=1)

  with fastmath.use_backend('tensorflow-numpy'):
    updated, shifted, window = write_column(X, tf.constant(3))
  with fastmath.use_backend('jax'):
    expected = (
      fastmath.index_update(X, (slice(None), 3), -1.0),
      fastmath.dynamic_update_slice_in_dim(X, X[:, :1] * 0 + 9, 3, axis=1),
      fastmath.dynamic_slice_in_dim(X, 3, 2, axis=1),
    )
  for a, e in zip((updated, shifted, window), expected):
    np.testing.assert_array_equal(a.numpy(), e)


def test_shape_mixes_ints_and_tensors_for_dynamic_dims():
  @tf.function(input_signature=[tf.TensorSpec([None, None, 8])], autograph=False)
  def split_heads(x):
    batch, length, _ = fastmath.shape(x)
    assert tf.is_tensor(batch) and tf.is_tensor(length)
    heads = fnp.reshape(x, (batch, length, 2, -1))
    keep = fastmath.random.bernoulli(np.zeros(2, np.uint32), 0.5, (batch, length, 1, 1))
    return fnp.swapaxes(heads, 1, 2), keep

  with fastmath.use_backend('tensorflow-numpy'):
    heads, keep = split_heads(tf.zeros((3, 5, 8)))
    assert fastmath.shape(X) == (3, 5)
  assert heads.shape == (3, 2, 5, 4) and keep.shape == (3, 5, 1, 1) and keep.dtype == tf.bool
  with fastmath.use_backend('numpy'):
    assert fastmath.shape(X) == (3, 5)


def test_device_counts():
  for name in ('tensorflow-numpy', 'numpy'):
    with fastmath.use_backend(name):
      assert (
        fastmath.device_count()
        == fastmath.local_device_count()
        == len(tf.config.list_logical_devices('CPU'))
        == 1
      )
