"""Array creation for the TF namespace: float32 and int32 defaults, dynamic shapes."""

import tensorflow as tf

from trax.fastmath.backend import BackendError
from trax.fastmath.tf_numpy._dtypes import as_inexact
from trax.fastmath.tf_numpy._dtypes import asarray
from trax.fastmath.tf_numpy._dtypes import astype
from trax.fastmath.tf_numpy._dtypes import float32
from trax.fastmath.tf_numpy._dtypes import result_dtype
from trax.fastmath.tf_numpy._dtypes import shape
from trax.fastmath.tf_numpy._dtypes import shape_arg
from trax.fastmath.tf_numpy._dtypes import tf_dtype

__all__ = [
  'zeros',
  'ones',
  'empty',
  'full',
  'zeros_like',
  'ones_like',
  'empty_like',
  'full_like',
  'arange',
  'linspace',
  'eye',
  'identity',
  'tri',
  'tril',
  'triu',
  'meshgrid',
]


def zeros(shape, dtype=None) -> tf.Tensor:
  return tf.zeros(shape_arg(shape), tf_dtype(float32 if dtype is None else dtype))


def ones(shape, dtype=None) -> tf.Tensor:
  return tf.ones(shape_arg(shape), tf_dtype(float32 if dtype is None else dtype))


empty = zeros


def full(shape, fill_value, dtype=None) -> tf.Tensor:
  return tf.broadcast_to(asarray(fill_value, dtype), shape_arg(shape))


def full_like(a, fill_value, dtype=None, shape=None) -> tf.Tensor:
  a = asarray(a)
  target = tf.shape(a) if shape is None else shape_arg(shape)
  return tf.broadcast_to(asarray(fill_value, a.dtype if dtype is None else dtype), target)


def zeros_like(a, dtype=None, shape=None) -> tf.Tensor:
  return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None) -> tf.Tensor:
  return full_like(a, 1, dtype, shape)


empty_like = zeros_like


def arange(start, stop=None, step=None, dtype=None) -> tf.Tensor:
  """Like numpy; int32 for integer bounds, float32 if any bound is a float."""
  start, stop = (0, start) if stop is None else (start, stop)
  step = 1 if step is None else step
  dtype = tf_dtype(dtype) if dtype is not None else result_dtype(start, stop, step)
  return tf.range(*(asarray(v, dtype) for v in (start, stop, step)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0) -> tf.Tensor:
  """`num` evenly spaced float32 points from `start` to `stop` (scalars only)."""
  if retstep or axis != 0:
    raise BackendError(
      'fastmath.numpy.linspace on the tensorflow-numpy backend supports '
      f'neither retstep nor axis != 0; got retstep={retstep}, axis={axis}.'
    )
  start, stop = as_inexact(start), as_inexact(stop)
  points = tf.linspace(start, stop, num if endpoint else num + 1)
  return astype(points if endpoint else points[:-1], start.dtype if dtype is None else dtype)


def _band(n_rows, n_cols, k, keep) -> tf.Tensor:
  """Boolean (n_rows, n_cols) mask, `keep(col - row - k)` entrywise; sizes may be tensors."""
  offsets = tf.range(n_cols)[None, :] - tf.range(n_rows)[:, None] - k
  return keep(offsets)


def eye(N, M=None, k=0, dtype=float32) -> tf.Tensor:
  return astype(_band(N, N if M is None else M, k, lambda d: tf.equal(d, 0)), dtype)


def identity(n, dtype=float32) -> tf.Tensor:
  return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=float32) -> tf.Tensor:
  return astype(_band(N, N if M is None else M, k, lambda d: d <= 0), dtype)


def tril(m, k=0) -> tf.Tensor:
  m = asarray(m)
  rows, cols = shape(m)[-2:]
  return tf.where(_band(rows, cols, k, lambda d: d <= 0), m, tf.zeros_like(m))


def triu(m, k=0) -> tf.Tensor:
  m = asarray(m)
  rows, cols = shape(m)[-2:]
  return tf.where(_band(rows, cols, k, lambda d: d >= 0), m, tf.zeros_like(m))


def meshgrid(*xi, indexing='xy', sparse=False, copy=True) -> list:
  if sparse:
    raise BackendError(
      'fastmath.numpy.meshgrid(sparse=True) is not available on the tensorflow-numpy backend.'
    )
  return tf.meshgrid(*(asarray(x) for x in xi), indexing=indexing)
