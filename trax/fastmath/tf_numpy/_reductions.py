"""Reductions, cumulative sums and sorting for the TF namespace (jax's result dtypes).

`axis` is an int, a tuple of ints or None (all axes). Sums and products of bools and small
integers accumulate in 32 bits; means and variances of integers are float32; `argmax`,
`argmin` and `argsort` give int32.
"""

import tensorflow as tf

from trax.fastmath.tf_numpy._dtypes import as_bool
from trax.fastmath.tf_numpy._dtypes import as_inexact
from trax.fastmath.tf_numpy._dtypes import asarray
from trax.fastmath.tf_numpy._dtypes import astype
from trax.fastmath.tf_numpy._dtypes import promote

__all__ = [
  'sum',
  'prod',
  'mean',
  'var',
  'std',
  'max',
  'min',
  'amax',
  'amin',
  'argmax',
  'argmin',
  'all',
  'any',
  'count_nonzero',
  'cumsum',
  'cumprod',
  'sort',
  'argsort',
  'average',
]


def _axes(axis):
  return list(axis) if isinstance(axis, (tuple, list)) else axis


def _accumulator(x: tf.Tensor, dtype) -> tf.Tensor:
  """`x` in the dtype sums and products accumulate in."""
  if dtype is not None:
    return astype(x, dtype)
  if x.dtype == tf.bool or (x.dtype.is_integer and x.dtype.size < 4):
    return tf.cast(x, tf.uint32 if x.dtype.is_unsigned else tf.int32)
  return x


def sum(a, axis=None, dtype=None, keepdims=False) -> tf.Tensor:
  return tf.reduce_sum(_accumulator(asarray(a), dtype), _axes(axis), keepdims)


def prod(a, axis=None, dtype=None, keepdims=False) -> tf.Tensor:
  return tf.reduce_prod(_accumulator(asarray(a), dtype), _axes(axis), keepdims)


def mean(a, axis=None, dtype=None, keepdims=False) -> tf.Tensor:
  a = as_inexact(a) if dtype is None else astype(a, dtype)
  return tf.reduce_mean(a, _axes(axis), keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
  """Mean of `a` along `axis`, weighted by `weights` (of `a`'s shape) if given."""
  if weights is None:
    mean_value, total = mean(a, axis, keepdims=keepdims), None
  else:
    a, weights = (as_inexact(x) for x in promote(a, weights))
    total = tf.reduce_sum(weights, _axes(axis), keepdims)
    mean_value = tf.reduce_sum(a * weights, _axes(axis), keepdims) / total
  if not returned:
    return mean_value
  if total is None:
    a = as_inexact(a)
    total = tf.reduce_sum(tf.ones_like(a), _axes(axis), keepdims)
  return mean_value, tf.broadcast_to(total, tf.shape(mean_value))


def var(a, axis=None, dtype=None, ddof=0, keepdims=False) -> tf.Tensor:
  """Mean squared deviation from the mean, divided by `n - ddof` instead of `n`."""
  a = as_inexact(a) if dtype is None else astype(a, dtype)
  means = tf.reduce_mean(a, _axes(axis), keepdims=True)
  centered = a - means
  squares = tf.math.real(centered * tf.math.conj(centered))
  if ddof == 0:
    return tf.reduce_mean(squares, _axes(axis), keepdims)
  n = tf.cast(tf.size(a) // tf.size(means), squares.dtype)
  return tf.reduce_sum(squares, _axes(axis), keepdims) / (n - ddof)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False) -> tf.Tensor:
  return tf.math.sqrt(var(a, axis, dtype, ddof, keepdims))


def max(a, axis=None, keepdims=False) -> tf.Tensor:
  a = asarray(a)
  reduce = tf.reduce_any if a.dtype == tf.bool else tf.reduce_max
  return reduce(a, _axes(axis), keepdims)


def min(a, axis=None, keepdims=False) -> tf.Tensor:
  a = asarray(a)
  reduce = tf.reduce_all if a.dtype == tf.bool else tf.reduce_min
  return reduce(a, _axes(axis), keepdims)


amax, amin = max, min


def _arg_reduce(tf_fn, a, axis, keepdims) -> tf.Tensor:
  a = asarray(a)
  if axis is None:
    flat = tf_fn(tf.reshape(a, [-1]), axis=0, output_type=tf.int32)
    return tf.reshape(flat, [1] * a.shape.rank) if keepdims else flat
  index = tf_fn(a, axis=axis, output_type=tf.int32)
  return tf.expand_dims(index, axis) if keepdims else index


def argmax(a, axis=None, keepdims=False) -> tf.Tensor:
  return _arg_reduce(tf.math.argmax, a, axis, keepdims)


def argmin(a, axis=None, keepdims=False) -> tf.Tensor:
  return _arg_reduce(tf.math.argmin, a, axis, keepdims)


def all(a, axis=None, keepdims=False) -> tf.Tensor:
  return tf.reduce_all(as_bool(a), _axes(axis), keepdims)


def any(a, axis=None, keepdims=False) -> tf.Tensor:
  return tf.reduce_any(as_bool(a), _axes(axis), keepdims)


def count_nonzero(a, axis=None, keepdims=False) -> tf.Tensor:
  return tf.reduce_sum(tf.cast(as_bool(a), tf.int32), _axes(axis), keepdims)


def _cumulative(tf_fn, a, axis, dtype) -> tf.Tensor:
  a = asarray(a)
  if axis is None:
    a, axis = tf.reshape(a, [-1]), 0
  if dtype is not None:
    a = astype(a, dtype)
  elif a.dtype == tf.bool:
    a = tf.cast(a, tf.int32)
  return tf_fn(a, axis=axis)


def cumsum(a, axis=None, dtype=None) -> tf.Tensor:
  return _cumulative(tf.math.cumsum, a, axis, dtype)


def cumprod(a, axis=None, dtype=None) -> tf.Tensor:
  return _cumulative(tf.math.cumprod, a, axis, dtype)


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False) -> tf.Tensor:
  a = asarray(a)
  if axis is None:
    a, axis = tf.reshape(a, [-1]), 0
  return tf.sort(a, axis, 'DESCENDING' if descending else 'ASCENDING')


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False) -> tf.Tensor:
  """Indices (int32) that sort `a` along `axis`; ties keep their order."""
  a = asarray(a)
  if axis is None:
    a, axis = tf.reshape(a, [-1]), 0
  return tf.argsort(a, axis, 'DESCENDING' if descending else 'ASCENDING', stable=True)
