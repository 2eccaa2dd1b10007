"""Dtypes, jax's type promotion, conversion to tensors, and shapes for the TF namespace."""

import builtins
from typing import Any

import ml_dtypes
import numpy as np
import tensorflow as tf

__all__ = [
  'bool_',
  'complex64',
  'complex128',
  'float16',
  'float32',
  'float64',
  'bfloat16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'generic',
  'number',
  'inexact',
  'floating',
  'integer',
  'signedinteger',
  'unsignedinteger',
  'complexfloating',
  'ndarray',
  'inf',
  'nan',
  'pi',
  'e',
  'euler_gamma',
  'newaxis',
  'dtype',
  'asarray',
  'array',
  'astype',
  'copy',
  'shape',
  'ndim',
  'size',
  'finfo',
  'iinfo',
  'issubdtype',
  'result_type',
  'promote_types',
]

# Dtypes are numpy scalar types, as in jax.numpy; `tensor.dtype == float32` holds.
bool_, complex64, complex128 = np.bool_, np.complex64, np.complex128
float16, float32, float64, bfloat16 = np.float16, np.float32, np.float64, ml_dtypes.bfloat16
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
generic, number, inexact, floating = np.generic, np.number, np.inexact, np.floating
integer, signedinteger, unsignedinteger = np.integer, np.signedinteger, np.unsignedinteger
complexfloating = np.complexfloating
ndarray = tf.Tensor
inf, nan, pi, e, euler_gamma, newaxis = np.inf, np.nan, np.pi, np.e, np.euler_gamma, None

# 64-bit integers narrow to their 32-bit kin, as in jax with 64-bit types off: ids and
# counts need no more, and TF's int32 shape arithmetic stays int32.
_NARROW_INTS = {np.dtype(np.int64): np.dtype(np.int32), np.dtype(np.uint64): np.dtype(np.uint32)}
# 64-bit floats stay 64-bit in arrays (Trax 1.4's TF backend, on TF's numpy, kept them, as
# jax does with 64-bit types on), but numpy scalars such as `np.float64(2.)` or
# `np.sqrt(d)` narrow as in jax with 64-bit types off: they are layers' constants, and a
# float32 model must not turn float64.
_NARROW_SCALARS = {
  **_NARROW_INTS,
  np.dtype(np.float64): np.dtype(np.float32),
  np.dtype(np.complex128): np.dtype(np.complex64),
}
# Python scalars are "weak": they take the dtype of the arrays they meet, else these.
_WEAK_DEFAULTS = {int: tf.int32, float: tf.float32, complex: tf.complex64}


def dtype(obj) -> np.dtype:
  """The numpy dtype of a numpy, jax or TF dtype, a dtype name, or an array."""
  if not isinstance(obj, (type, np.dtype, tf.DType, str)):
    obj = getattr(obj, 'dtype', obj)  # An array.
  if isinstance(obj, tf.DType):
    return np.dtype(obj.as_numpy_dtype)
  return np.dtype(ml_dtypes.bfloat16 if isinstance(obj, str) and obj == 'bfloat16' else obj)


def tf_dtype(dtype_like) -> tf.DType:
  """The TF dtype for `dtype_like`: 64-bit integers narrowed, 64-bit floats kept."""
  d = dtype(dtype_like)
  return tf.as_dtype(_NARROW_INTS.get(d, d))


def _narrowed(a: np.ndarray, scalar: bool) -> np.ndarray:
  narrow = _NARROW_SCALARS if scalar else _NARROW_INTS
  return a.astype(narrow.get(a.dtype, a.dtype), copy=False)


def is_tensor(x) -> bool:
  """True for TF tensors and variables, Keras variables included."""
  return tf.is_tensor(x) or isinstance(x, tf.Variable)


def _is_weak(x) -> bool:
  return type(x) in _WEAK_DEFAULTS  # Python bool is not weak in jax.


def _rank(d: tf.DType) -> int:
  """Position in jax's promotion lattice: bool < unsigned < signed < float < complex."""
  if d == tf.bool:
    return 0
  if d.is_complex or d.is_floating:
    return 4 if d.is_complex else 3
  return 1 if d.is_unsigned else 2


def _join(a: tf.DType, b: tf.DType) -> tf.DType:
  (rank_a, a), (rank_b, b) = sorted([(_rank(a), a), (_rank(b), b)], key=lambda p: p[0])
  if a == b or rank_a == 0 or (rank_a < rank_b and rank_b >= 3):
    return b  # An integer meeting a float becomes that float (not float64, as in numpy).
  if {a, b} == {tf.float16, tf.bfloat16}:
    return tf.float32
  return tf_dtype(np.promote_types(a.as_numpy_dtype, b.as_numpy_dtype))


def _dtype_of(x) -> tf.DType:
  if is_tensor(x):
    return tf.as_dtype(x.dtype)  # Keras variables name their dtype by a string.
  if isinstance(x, (tf.DType, type, np.dtype, str)):
    return tf_dtype(x)
  if isinstance(x, np.generic):
    return tf.as_dtype(_narrowed(np.asarray(x), scalar=True).dtype)
  return tf_dtype(x.dtype) if hasattr(x, 'dtype') else asarray(x).dtype


def result_dtype(*args) -> tf.DType:
  """The TF dtype jax gives an operation on `args` (arrays, scalars or dtypes)."""
  result = None
  for x in args:
    if not _is_weak(x):
      result = _dtype_of(x) if result is None else _join(result, _dtype_of(x))
  for x in args:
    if _is_weak(x) and (result is None or _rank(result) < _rank(_WEAK_DEFAULTS[type(x)])):
      result = _WEAK_DEFAULTS[type(x)]
  if result is None:
    raise ValueError('result_dtype needs at least one array, scalar or dtype.')
  return result


def promote(*args) -> list:
  """`args` as tensors of their common (jax-promoted) dtype."""
  common = result_dtype(*args)
  return [asarray(x, common) for x in args]


def as_inexact(x) -> tf.Tensor:
  """`x` as a tensor; integers and bools become float32, as jax's float functions do."""
  x = asarray(x)
  return x if x.dtype.is_floating or x.dtype.is_complex else tf.cast(x, tf.float32)


def as_bool(x) -> tf.Tensor:
  """`x != 0` as a bool tensor (`x` itself if already bool), as numpy's logical functions."""
  x = asarray(x)
  return x if x.dtype == tf.bool else tf.not_equal(x, tf.zeros((), x.dtype))


def shape_arg(shape_like):
  """A shape for TF ops: a list of ints, or an int32 vector if some entries are tensors."""
  if is_tensor(shape_like) and shape_like.shape.rank == 1:
    return shape_like
  if isinstance(shape_like, tf.TensorShape):
    shape_like = shape_like.as_list()
  elif isinstance(shape_like, np.ndarray):
    shape_like = shape_like.tolist()
  is_sequence = isinstance(shape_like, (tuple, list))
  dims: tuple[Any, ...] = tuple(shape_like) if is_sequence else (shape_like,)
  if builtins.any(d is None for d in dims):
    raise ValueError(
      f'Shape {shape_like} has unknown (None) dimensions; build shapes with '
      'fastmath.shape(x), which gives tensors for dimensions known only at '
      'run time.'
    )
  if builtins.any(is_tensor(d) for d in dims):
    return tf.stack([tf.cast(d, tf.int32) if is_tensor(d) else int(d) for d in dims])
  return [int(d) for d in dims]


def asarray(a, dtype=None, copy=None) -> tf.Tensor:
  """`a` as a tensor; lists may mix tensors and scalars (`[batch, length, -1]`)."""
  if is_tensor(a):
    t = tf.convert_to_tensor(a)
  elif isinstance(a, (list, tuple)) and builtins.any(is_tensor(x) for x in tf.nest.flatten(a)):
    t = tf.stack(promote(*a))
  elif _is_weak(a) and dtype is not None:  # Straight to the dtype: no float64 constant.
    return tf.constant(np.asarray(a, tf_dtype(dtype).as_numpy_dtype))
  else:
    # Arrays (numpy, jax) keep 64-bit floats; scalars and lists of numbers narrow.
    is_array = hasattr(a, 'shape') and not isinstance(a, np.generic)
    t = tf.constant(_narrowed(np.asarray(a), scalar=not is_array))
  return t if dtype is None else astype(t, dtype)


def array(object, dtype=None, copy=True, ndmin=0) -> tf.Tensor:
  t = asarray(object, dtype)
  missing = ndmin - t.shape.rank
  return tf.reshape(t, shape_arg((1,) * missing + shape(t))) if missing > 0 else t


def astype(x, dtype, copy=False) -> tf.Tensor:
  x, target = asarray(x), tf_dtype(dtype)
  return x if x.dtype == target else tf.cast(x, target)


def copy(a) -> tf.Tensor:
  return tf.identity(asarray(a))


def shape(a) -> tuple:
  """Dimensions as Python ints where static, scalar int32 tensors where not."""
  if not is_tensor(a):
    return tuple(np.shape(a))
  static = tf.TensorShape(a.shape).as_list()
  if None not in static:
    return tuple(static)
  dynamic = tf.shape(a)
  return tuple(dynamic[i] if d is None else d for i, d in enumerate(static))


def ndim(a) -> int:
  return asarray(a).shape.rank


def size(a, axis=None):
  dims = shape(a) if axis is None else (shape(a)[axis],)
  if builtins.any(is_tensor(d) for d in dims):
    return tf.reduce_prod(shape_arg(dims))
  return int(np.prod(dims))


def finfo(dtype_like):
  return ml_dtypes.finfo(dtype(dtype_like))


def iinfo(dtype_like):
  return ml_dtypes.iinfo(dtype(dtype_like))


def issubdtype(arg1, arg2) -> bool:
  d = dtype(arg1)
  if d == np.dtype(ml_dtypes.bfloat16):  # numpy does not know bfloat16 is a float.
    return arg2 in (np.generic, np.number, np.inexact, np.floating) or d == dtype(arg2)
  abstract = isinstance(arg2, type) and issubclass(arg2, np.generic)
  return np.issubdtype(d, arg2 if abstract else dtype(arg2))


def result_type(*args) -> np.dtype:
  return dtype(result_dtype(*args))


def promote_types(type1, type2) -> np.dtype:
  return dtype(_join(tf_dtype(type1), tf_dtype(type2)))
