"""Convolution and pooling with `lax.conv_general_dilated` / `reduce_window` semantics.

TF's kernels want channels last (`NHWC` inputs, `HWIO` kernels); other layouts named by
`dimension_numbers` are transposed in and out. Explicit padding becomes a `tf.pad`
followed by a 'VALID' window.
"""

from typing import Any
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from trax.fastmath import tf_numpy
from trax.fastmath.backend import BackendError
from trax.fastmath.tf_numpy import _dtypes

_SPATIAL_LETTERS = {1: 'W', 2: 'HW', 3: 'DHW'}


def _transpose(x: tf.Tensor, layout: str, target: str) -> tf.Tensor:
  """Reorders the axes of `x` from `layout` to `target` (strings of axis letters)."""
  perm = [layout.index(c) for c in target]
  return x if perm == sorted(perm) else tf.transpose(x, perm)


def _conv_layouts(dimension_numbers: Any, n_spatial: int) -> tuple[str, str, str]:
  if dimension_numbers is None:  # jax's default: channels first.
    spatial = _SPATIAL_LETTERS[n_spatial]
    return 'NC' + spatial, 'OI' + spatial, 'NC' + spatial
  if not (
    isinstance(dimension_numbers, (tuple, list))
    and len(dimension_numbers) == 3
    and all(isinstance(s, str) for s in dimension_numbers)
  ):
    raise BackendError(
      'fastmath.conv on the tensorflow-numpy backend takes '
      'dimension_numbers as three layout strings such as '
      f"('NHWC', 'HWIO', 'NHWC'); got {dimension_numbers!r}."
    )
  return tuple(dimension_numbers)


def _pad_spatial(x: tf.Tensor, pads: Sequence, value: Any = 0) -> tf.Tensor:
  """Pads the spatial axes of channels-last `x` by `(low, high)` pairs (ints or tensors)."""
  pairs = [[0, 0], *[list(p) for p in pads], [0, 0]]
  if any(_dtypes.is_tensor(p) for pair in pairs for p in pair):
    pairs = tf.stack([_dtypes.shape_arg(pair) for pair in pairs])
  elif any(p < 0 for pair in pairs for p in pair):
    raise BackendError(f'Negative padding {pads} is not available on the tensorflow-numpy backend.')
  return tf.pad(x, pairs, constant_values=value)


def _same_padding(x: tf.Tensor, window: Sequence[int], strides: Sequence[int]) -> list:
  """The (low, high) pads of 'SAME' windows over the spatial axes of `x` (may be tensors)."""
  pads = []
  for size, k, s in zip(_dtypes.shape(x)[1:-1], window, strides):
    total = (-(-size // s) - 1) * s + k - size
    total = max(total, 0) if isinstance(total, int) else tf.maximum(total, 0)
    pads.append((total // 2, total - total // 2))
  return pads


def _dilated_kernel(w: tf.Tensor, dilations: Sequence[int]) -> tf.Tensor:
  """`(*window, I, O)` kernel `w` with `d - 1` zeros between taps along each window axis."""
  for axis, d in enumerate(dilations):
    if d > 1:
      taps = tf.stack([w] + [tf.zeros_like(w)] * (d - 1), axis=axis + 1)
      dims: list[Any] = w.shape.as_list()  # A kernel's shape is static.
      w = tf.reshape(taps, dims[:axis] + [dims[axis] * d] + dims[axis + 1 :])
      w = tf.gather(w, tf.range((dims[axis] - 1) * d + 1), axis=axis)
  return w


def _convolution(x, w, strides, padding, dilations) -> tf.Tensor:
  if len(strides) == 3:
    # Eager gradients of tf.nn.convolution's Conv3D fail in TF 2.21 (the op lacks its
    # data_format attribute); conv3d sets it.
    return tf.nn.conv3d(
      x, w, [1, *strides, 1], padding, data_format='NDHWC', dilations=[1, *dilations, 1]
    )
  return tf.nn.convolution(x, w, strides, padding, dilations=dilations)


def _grouped_conv(x, w, strides, padding, dilations, groups) -> tf.Tensor:
  """Convolution of channels-last `x` with `(*window, in / groups, out)` kernel `w`."""
  if groups == 1:
    return _convolution(x, w, strides, padding, dilations)
  if len(strides) == 2 and w.shape[-2] == 1 and (max(strides) == 1 or max(dilations) == 1):
    # Depthwise: jax's output channel c * multiplier + m is TF's (c, m), row-major.
    kernel = tf.reshape(w, [*w.shape[:2], groups, w.shape[-1] // groups])
    return tf.nn.depthwise_conv2d(x, kernel, [1, *strides, 1], padding, dilations=dilations)
  pieces = zip(tf.split(x, groups, axis=-1), tf.split(w, groups, axis=-1))
  return tf.concat(
    [_convolution(xi, wi, strides, padding, dilations) for xi, wi in pieces], axis=-1
  )


def conv(
  x, w, strides, padding, dimension_numbers, rhs_dilation=None, feature_group_count=1
) -> tf.Tensor:
  """N-d convolution (1 to 3 spatial axes) as `lax.conv_general_dilated`."""
  x, w = _dtypes.promote(x, w)
  n_spatial = w.shape.rank - 2
  lhs, rhs, out = _conv_layouts(dimension_numbers, n_spatial)
  spatial = ''.join(c for c in rhs if c not in 'OI')  # jax orders spatial axes as the kernel.
  x = _transpose(x, lhs, 'N' + spatial + 'C')
  w = _transpose(w, rhs, spatial + 'IO')
  strides, dilations = list(strides), list(rhs_dilation or [1] * n_spatial)
  if not isinstance(padding, str):
    x, padding = _pad_spatial(x, padding), 'VALID'
  if padding not in ('SAME', 'VALID'):
    raise BackendError(
      f"fastmath.conv: padding {padding!r} is not available on the "
      "tensorflow-numpy backend; use 'SAME', 'VALID' or (low, high) pairs."
    )
  if max(strides) > 1 and max(dilations) > 1:  # TF takes one or the other.
    w, dilations = _dilated_kernel(w, dilations), [1] * n_spatial
  y = _grouped_conv(x, w, strides, padding, dilations, feature_group_count)
  return _transpose(y, 'N' + spatial + 'C', out)


def max_pool(x, pool_size, strides, padding) -> tf.Tensor:
  x = tf_numpy.asarray(x)
  if not isinstance(padding, str):
    lowest = x.dtype.min if x.dtype.is_integer else -np.inf
    x, padding = _pad_spatial(x, padding, lowest), 'VALID'
  return tf.nn.max_pool(x, list(pool_size), list(strides), padding)


def sum_pool(x, pool_size, strides, padding) -> tf.Tensor:
  x = _dtypes.as_inexact(x)
  if padding == 'SAME':
    padding = _same_padding(x, pool_size, strides)
  if not isinstance(padding, str):
    x = _pad_spatial(x, padding)
  means = tf.nn.avg_pool(x, list(pool_size), list(strides), 'VALID')
  return means * tf.constant(np.prod(pool_size), x.dtype)


def avg_pool(x, pool_size, strides, padding) -> tf.Tensor:
  """Window means; with 'SAME' padding, over the in-bounds elements only."""
  x = _dtypes.as_inexact(x)
  if isinstance(padding, str):
    # TF counts in-bounds elements; its stubs type `padding` as a Literal.
    return tf.nn.avg_pool(x, list(pool_size), list(strides), padding)  # pyright: ignore[reportArgumentType]
  counts = sum_pool(tf.ones_like(x[..., 0:1]), pool_size, strides, padding)  # pyright: ignore[reportArgumentType] (TF's stubs lack `...`)
  return sum_pool(x, pool_size, strides, padding) / counts
