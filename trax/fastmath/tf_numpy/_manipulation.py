"""Reshaping, joining, splitting and indexing arrays for the TF namespace.

Shapes may hold scalar tensors (dynamic dimensions); ranks must be known when tracing.
"""

from typing import Literal

import numpy as np
import tensorflow as tf

from trax.fastmath.backend import BackendError
from trax.fastmath.tf_numpy._dtypes import asarray
from trax.fastmath.tf_numpy._dtypes import is_tensor
from trax.fastmath.tf_numpy._dtypes import promote
from trax.fastmath.tf_numpy._dtypes import shape
from trax.fastmath.tf_numpy._dtypes import shape_arg

__all__ = [
  'reshape',
  'ravel',
  'transpose',
  'swapaxes',
  'moveaxis',
  'expand_dims',
  'squeeze',
  'broadcast_to',
  'concatenate',
  'stack',
  'split',
  'tile',
  'repeat',
  'pad',
  'flip',
  'roll',
  'take',
  'take_along_axis',
  'diag',
  'select',
  'atleast_1d',
  'atleast_2d',
  'hstack',
  'vstack',
  'searchsorted',
]

_PAD_MODES: dict[str, Literal['CONSTANT', 'REFLECT', 'SYMMETRIC']] = {
  'constant': 'CONSTANT',
  'reflect': 'REFLECT',
  'symmetric': 'SYMMETRIC',
}


def _rank(x: tf.Tensor) -> int:
  if x.shape.rank is None:
    raise BackendError(
      f'The tensorflow-numpy backend needs arrays of known rank; got a tensor of unknown rank: {x}.'
    )
  return x.shape.rank


def _normalize_axes(axes, rank: int) -> list:
  return [a % rank for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]


def reshape(a, shape, order='C') -> tf.Tensor:
  if order != 'C':
    raise BackendError(
      f'fastmath.numpy.reshape: only order="C" is available on the '
      f'tensorflow-numpy backend, got order={order!r}.'
    )
  return tf.reshape(asarray(a), shape_arg(shape))


def ravel(a) -> tf.Tensor:
  return tf.reshape(asarray(a), [-1])


def transpose(a, axes=None) -> tf.Tensor:
  return tf.transpose(asarray(a), None if axes is None else list(axes))


def swapaxes(a, axis1, axis2) -> tf.Tensor:
  a = asarray(a)
  perm = list(range(_rank(a)))
  i, j = _normalize_axes((axis1, axis2), len(perm))
  perm[i], perm[j] = perm[j], perm[i]
  return tf.transpose(a, perm)


def moveaxis(a, source, destination) -> tf.Tensor:
  a = asarray(a)
  rank = _rank(a)
  sources, destinations = _normalize_axes(source, rank), _normalize_axes(destination, rank)
  perm = [i for i in range(rank) if i not in sources]
  for dest, src in sorted(zip(destinations, sources)):
    perm.insert(dest, src)
  return tf.transpose(a, perm)


def expand_dims(a, axis) -> tf.Tensor:
  a = asarray(a)
  axes = axis if isinstance(axis, (tuple, list)) else (axis,)
  for ax in sorted(_normalize_axes(axes, _rank(a) + len(axes))):
    a = tf.expand_dims(a, ax)
  return a


def squeeze(a, axis=None) -> tf.Tensor:
  axes = None if axis is None else list(axis) if isinstance(axis, (tuple, list)) else [axis]
  return tf.squeeze(asarray(a), axes)


def broadcast_to(array, shape) -> tf.Tensor:
  return tf.broadcast_to(asarray(array), shape_arg(shape))


def concatenate(arrays, axis=0) -> tf.Tensor:
  arrays = promote(*arrays)
  if axis is None:
    arrays, axis = [tf.reshape(a, [-1]) for a in arrays], 0
  return tf.concat(arrays, axis)


def stack(arrays, axis=0) -> tf.Tensor:
  return tf.stack(promote(*arrays), axis)


def atleast_1d(x) -> tf.Tensor:
  x = asarray(x)
  return tf.reshape(x, [1]) if _rank(x) == 0 else x


def atleast_2d(x) -> tf.Tensor:
  x = atleast_1d(x)
  return x[None] if _rank(x) == 1 else x


def hstack(tup) -> tf.Tensor:
  arrays = [atleast_1d(a) for a in tup]
  return concatenate(arrays, axis=0 if arrays[0].shape.rank == 1 else 1)


def vstack(tup) -> tf.Tensor:
  return concatenate([atleast_2d(a) for a in tup], axis=0)


def split(ary, indices_or_sections, axis=0) -> list:
  """Equal sections if an int, else pieces cut at the given indices (like numpy)."""
  ary = asarray(ary)
  if not isinstance(indices_or_sections, (tuple, list, np.ndarray)):
    return tf.split(ary, int(indices_or_sections), axis)
  cuts = list(indices_or_sections)
  sizes = [end - start for start, end in zip([0] + cuts, cuts)] + [-1]  # -1: the rest.
  return tf.split(ary, shape_arg(sizes), axis)


def tile(A, reps) -> tf.Tensor:
  a = asarray(A)
  reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
  rank = _rank(a)
  if len(reps) > rank:
    a = tf.reshape(a, shape_arg((1,) * (len(reps) - rank) + shape(a)))
  reps = (1,) * (_rank(a) - len(reps)) + reps
  return tf.tile(a, shape_arg(reps))


def repeat(a, repeats, axis=None, total_repeat_length=None) -> tf.Tensor:
  return tf.repeat(asarray(a), repeats, axis)


def _pad_widths(pad_width, rank: int) -> list:
  """numpy's pad widths (int, (lo, hi), or one pair per axis) as one pair per axis."""
  if isinstance(pad_width, int) or is_tensor(pad_width) and pad_width.shape.rank == 0:
    return [[pad_width, pad_width]] * rank
  pairs = [list(p) if isinstance(p, (tuple, list)) else [p, p] for p in pad_width]
  if len(pairs) == 2 and not isinstance(pad_width[0], (tuple, list)):
    return [list(pad_width)] * rank
  return pairs * rank if len(pairs) == 1 else pairs


def pad(array, pad_width, mode='constant', constant_values=0) -> tf.Tensor:
  """Pads with a constant or by reflection ('reflect', 'symmetric'); widths may be tensors."""
  x = asarray(array)
  if mode not in _PAD_MODES:
    raise BackendError(
      f'fastmath.numpy.pad: mode {mode!r} is not available on the '
      f'tensorflow-numpy backend; use one of {sorted(_PAD_MODES)}.'
    )
  widths = _pad_widths(pad_width, _rank(x))
  widths = (
    tf.stack([shape_arg(p) for p in widths])
    if any(is_tensor(w) for p in widths for w in p)
    else widths
  )
  value = asarray(constant_values, x.dtype)
  return tf.pad(x, widths, _PAD_MODES[mode], constant_values=value)


def flip(m, axis=None) -> tf.Tensor:
  m = asarray(m)
  axes = list(range(_rank(m))) if axis is None else _normalize_axes(axis, _rank(m))
  return tf.reverse(m, axes)


def roll(a, shift, axis=None) -> tf.Tensor:
  a = asarray(a)
  if axis is None:
    return tf.reshape(tf.roll(tf.reshape(a, [-1]), shift, 0), tf.shape(a))
  return tf.roll(a, shift, axis)


def _in_bounds(indices: tf.Tensor, dim, mode, where: str) -> tf.Tensor:
  """Indices made valid for TF's gather according to jax's `mode`."""
  if mode == 'promise_in_bounds' or indices.dtype.is_unsigned:
    return indices
  if mode == 'clip':
    return tf.clip_by_value(indices, 0, tf.cast(dim, indices.dtype) - 1)
  if mode in (None, 'fill'):  # Negative indices count from the end, as in numpy and jax.
    return tf.where(indices < 0, indices + tf.cast(dim, indices.dtype), indices)
  raise BackendError(
    f'fastmath.numpy.{where}: mode {mode!r} is not available on the '
    'tensorflow-numpy backend; use None, "clip" or "promise_in_bounds".'
  )


def take(
  a, indices, axis=None, mode=None, unique_indices=False, indices_are_sorted=False, fill_value=None
) -> tf.Tensor:
  """Entries of `a` at `indices` along `axis` (flattened `a` if None).

  Negative indices count from the end. Unlike jax's default mode ('fill'), out-of-bounds
  indices are an error (TF's gather), not replaced by NaN; mode='clip' clamps them and
  'promise_in_bounds' skips the check for negative indices.
  """
  a, indices = asarray(a), asarray(indices)
  if axis is None:
    a, axis = tf.reshape(a, [-1]), 0
  indices = _in_bounds(indices, shape(a)[axis], mode, 'take')
  return tf.gather(a, indices, axis=axis)


def _broadcast_except(x: tf.Tensor, batch_shape: tf.Tensor, axis: int) -> tf.Tensor:
  """Broadcasts `x` to `batch_shape` on every axis except `axis`."""
  own = tf.shape(x)
  return tf.broadcast_to(
    x, tf.concat([batch_shape[:axis], own[axis : axis + 1], batch_shape[axis + 1 :]], 0)
  )


def take_along_axis(arr, indices, axis, mode=None, fill_value=None) -> tf.Tensor:
  """`out[..., j, ...] = arr[..., indices[..., j, ...], ...]` along `axis`."""
  arr, indices = asarray(arr), asarray(indices)
  if axis is None:
    arr, indices, axis = tf.reshape(arr, [-1]), tf.reshape(indices, [-1]), 0
  rank = _rank(arr)
  axis = axis % rank
  indices = _in_bounds(indices, shape(arr)[axis], mode, 'take_along_axis')
  others = lambda s: s.as_list()[:axis] + s.as_list()[axis + 1 :]
  # Two dimensions both unknown when tracing are taken to match (e.g. argsort of arr).
  if others(arr.shape) != others(indices.shape):
    ones_at_axis = lambda x: tf.tensor_scatter_nd_update(tf.shape(x), [[axis]], [1])
    batch_shape = tf.broadcast_dynamic_shape(ones_at_axis(arr), ones_at_axis(indices))
    arr = _broadcast_except(arr, batch_shape, axis)
    indices = _broadcast_except(indices, batch_shape, axis)
  if axis == rank - 1:
    return tf.gather(arr, indices, batch_dims=rank - 1)
  to_last = list(range(axis)) + list(range(axis + 1, rank)) + [axis]
  gathered = tf.gather(
    tf.transpose(arr, to_last), tf.transpose(indices, to_last), batch_dims=rank - 1
  )
  return tf.transpose(gathered, [to_last.index(i) for i in range(rank)])


def diag(v, k=0) -> tf.Tensor:
  """The `k`-th diagonal of a matrix, or a matrix with vector `v` on its `k`-th diagonal."""
  v = asarray(v)
  return tf.linalg.diag(v, k=k) if _rank(v) == 1 else tf.linalg.diag_part(v, k=k)


def select(condlist, choicelist, default=0) -> tf.Tensor:
  """The first choice whose condition holds, elementwise; `default` where none does."""
  *choices, result = promote(*choicelist, default)
  for condition, choice in reversed(list(zip(condlist, choices))):
    result = tf.where(asarray(condition, bool), choice, result)
  return result


def searchsorted(a, v, side='left', sorter=None, method=None) -> tf.Tensor:
  """Indices (int32) where the entries of `v` would go in the sorted 1-d array `a`."""
  if sorter is not None:
    raise BackendError(
      'fastmath.numpy.searchsorted(sorter=...) is not available on the '
      'tensorflow-numpy backend; sort `a` first.'
    )
  a, v = promote(a, v)
  flat = tf.searchsorted(a[None, :], tf.reshape(v, [1, -1]), side=side, out_type=tf.int32)
  return tf.reshape(flat, tf.shape(v))
