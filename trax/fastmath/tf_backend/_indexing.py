"""Functional index updates and dynamic slices, as jax's `x.at[idx]` and `lax.dynamic_*`.

`index_update`/`index_add` find the flat positions `x[idx]` selects by indexing a grid of
positions, then scatter into the flattened `x`. Dynamic slices clamp their starts so the
slice stays in bounds, as jax does; negative starts count from the end.
"""

from typing import Any
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from trax.fastmath import tf_numpy
from trax.fastmath.backend import BackendError
from trax.fastmath.tf_numpy import _dtypes


def _is_index_array(entry: Any) -> bool:
  if isinstance(entry, (list, np.ndarray)) or (hasattr(entry, 'shape') and len(entry.shape)):
    if tf_numpy.dtype(tf_numpy.asarray(entry).dtype) == np.bool_:
      raise BackendError(
        'Boolean-mask indices are not available in index_update/index_add '
        'on the tensorflow-numpy backend; use fastmath.numpy.where.'
      )
    return True
  return False


def _getitem(x: tf.Tensor, idx: Any) -> tf.Tensor:
  """numpy's `x[idx]`: basic indexing plus at most one integer array."""
  idx = idx if isinstance(idx, tuple) else (idx,)
  arrays = [i for i, entry in enumerate(idx) if _is_index_array(entry)]
  if not arrays:
    return x[idx]
  if len(arrays) > 1:
    raise BackendError(
      f'Index {idx} has several integer arrays; the tensorflow-numpy backend supports one.'
    )
  k = arrays[0]
  consumed = sum(1 for e in idx if e is not None and e is not Ellipsis)
  dims_before = sum(
    x.shape.rank - consumed if e is Ellipsis else int(e is None or isinstance(e, slice))
    for e in idx[:k]
  )
  basic = x[idx[:k] + (slice(None),) + idx[k + 1 :]]
  return tf_numpy.take(basic, idx[k], axis=dims_before)


def _scatter(x: Any, idx: Any, y: Any, scatter: Any) -> tf.Tensor:
  x = tf_numpy.asarray(x)
  positions = tf.reshape(tf.range(tf.size(x)), tf.shape(x))
  selected = _getitem(positions, idx)
  updates = tf.broadcast_to(tf_numpy.asarray(y, x.dtype), tf.shape(selected))
  flat = scatter(tf.reshape(x, [-1]), tf.reshape(selected, [-1, 1]), tf.reshape(updates, [-1]))
  return tf.reshape(flat, tf.shape(x))


def index_update(x: Any, idx: Any, y: Any) -> tf.Tensor:
  """`x` with `x[idx] = y` (ints, slices, Ellipsis, None, one integer array)."""
  return _scatter(x, idx, y, tf.tensor_scatter_nd_update)


def index_add(x: Any, idx: Any, y: Any) -> tf.Tensor:
  """`x` with `x[idx] += y`; repeated indices add up."""
  return _scatter(x, idx, y, tf.tensor_scatter_nd_add)


def index_min(x: Any, idx: Any, y: Any) -> tf.Tensor:
  """`x` with `x[idx] = minimum(x[idx], y)`."""
  return _scatter(x, idx, y, tf.tensor_scatter_nd_min)


def index_max(x: Any, idx: Any, y: Any) -> tf.Tensor:
  """`x` with `x[idx] = maximum(x[idx], y)`."""
  return _scatter(x, idx, y, tf.tensor_scatter_nd_max)


def _clamped_starts(starts: Sequence, dims: Sequence, sizes: Sequence) -> list:
  """Starts moved into `[0, dim - size]`, negative ones first counted from the end."""
  clamped = []
  for start, dim, size in zip(starts, dims, sizes):
    if not any(_dtypes.is_tensor(v) for v in (start, dim, size)):
      start = int(start) + dim if int(start) < 0 else int(start)
      clamped.append(min(max(start, 0), dim - size))
    else:
      start, dim = tf.cast(start, tf.int32), tf.cast(dim, tf.int32)
      start = tf.where(start < 0, start + dim, start)
      clamped.append(tf.clip_by_value(start, 0, dim - size))
  return clamped


def dynamic_slice(x: Any, start_indices: Sequence, slice_sizes: Sequence[int]) -> tf.Tensor:
  x = tf_numpy.asarray(x)
  starts = _clamped_starts(start_indices, _dtypes.shape(x), slice_sizes)
  return tf.slice(x, _dtypes.shape_arg(starts), list(slice_sizes))


def dynamic_slice_in_dim(x: Any, start_index: Any, slice_size: int, axis: int = 0) -> tf.Tensor:
  x = tf_numpy.asarray(x)
  axis = axis % x.shape.rank
  start = _clamped_starts([start_index], [_dtypes.shape(x)[axis]], [slice_size])[0]
  begin = [0] * axis + [start] + [0] * (x.shape.rank - axis - 1)
  size = [-1] * axis + [slice_size] + [-1] * (x.shape.rank - axis - 1)  # -1: the whole axis.
  return tf.slice(x, _dtypes.shape_arg(begin), size)


def dynamic_update_slice(x: Any, update: Any, start_indices: Sequence) -> tf.Tensor:
  """`x` with the block of `update`'s shape at `start_indices` replaced by `update`.

  Pads `update` and a mask to `x`'s shape and selects, which TF Lite runs with builtins.
  """
  x = tf_numpy.asarray(x)
  update = tf_numpy.asarray(update, x.dtype)
  dims, sizes = _dtypes.shape(x), _dtypes.shape(update)
  starts = _clamped_starts(start_indices, dims, sizes)
  pads = [[start, dim - start - size] for start, dim, size in zip(starts, dims, sizes)]
  if any(_dtypes.is_tensor(p) for pair in pads for p in pair):
    pads = tf.stack([_dtypes.shape_arg(pair) for pair in pads])
  inside = tf.pad(tf.ones_like(update, tf.int8), pads)
  return tf.where(tf.cast(inside, tf.bool), tf.pad(update, pads), x)


def dynamic_update_slice_in_dim(x: Any, update: Any, start_index: Any, axis: int) -> tf.Tensor:
  rank = tf_numpy.ndim(x)
  axis = axis % rank
  return dynamic_update_slice(x, update, [0] * axis + [start_index] + [0] * (rank - axis - 1))
