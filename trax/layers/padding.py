"""Padding, cropping and upsampling of the spatial axes: ZeroPad, Crop, UpSample.

Inputs are channels-last, `(batch, *spatial, channels)`; the number of spatial axes is the
length of the layer's per-axis argument (`padding`, `cropping`, `size`), so the same
layers serve sequences (1 axis), images (2) and volumes (3).
"""

from typing import Any
from collections.abc import Sequence

import numpy as np

from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.config import register

__all__ = [
  'ZeroPad',
  'Crop',
  'UpSample',
]


@register
def ZeroPad(padding: Sequence[Sequence[int]]) -> base.Layer:
  """Adds zeros before and after each spatial axis.

  >>> ZeroPad(((1, 1), (2, 0)))(np.ones((2, 4, 4, 3), np.float32)).shape
  (2, 6, 6, 3)

  Args:
    padding: one `(before, after)` pair per spatial axis.
  """
  pairs = _pairs(padding, 'ZeroPad', 'padding')

  def pad(x):
    _check_rank(x, len(pairs), 'ZeroPad')
    return jnp.pad(x, [(0, 0), *pairs, (0, 0)])

  return base.Fn('ZeroPad', pad)


@register
def Crop(cropping: Sequence[Sequence[int]]) -> base.Layer:
  """Removes entries from the start and the end of each spatial axis.

  >>> Crop(((1, 1), (0, 2)))(np.ones((2, 5, 5, 3), np.float32)).shape
  (2, 3, 3, 3)

  Args:
    cropping: one `(start, end)` pair per spatial axis: how many entries to drop there.
  """
  pairs = _pairs(cropping, 'Crop', 'cropping')

  def crop(x):
    _check_rank(x, len(pairs), 'Crop')
    for size, (start, end) in zip(x.shape[1:], pairs):
      if size is not None and start + end >= size:
        raise ValueError(
          f'Crop {pairs} leaves nothing of an axis of size {size} (input shape {tuple(x.shape)}).'
        )
    index = tuple(slice(start, -end if end else None) for start, end in pairs)
    return x[(slice(None), *index)]

  return base.Fn('Crop', crop)


@register
def UpSample(size: Sequence[int], interpolation: str = 'nearest') -> base.Layer:
  """Enlarges each spatial axis by an integer factor.

  'nearest' repeats every entry `size[i]` times along axis `i`. 'bilinear' (two spatial
  axes) interpolates linearly between the centers of neighbouring input pixels, each output
  pixel's center sampled at `(o + 0.5) / size - 0.5` in input coordinates and the borders
  clamped: the "half-pixel" convention of `jax.image.resize` and `tf.image.resize`.

  >>> UpSample((2, 3))(np.ones((1, 2, 2, 4), np.float32)).shape
  (1, 4, 6, 4)

  Args:
    size: the factor per spatial axis.
    interpolation: 'nearest' or 'bilinear'.
  """
  size = tuple(size)
  if interpolation not in ('nearest', 'bilinear'):
    raise ValueError(
      f"UpSample: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}."
    )
  if interpolation == 'bilinear' and len(size) != 2:
    raise ValueError(f'UpSample: bilinear interpolation needs 2 spatial axes, got size {size}.')

  def upsample(x):
    _check_rank(x, len(size), 'UpSample')
    for axis, factor in enumerate(size, start=1):
      if interpolation == 'nearest':
        x = jnp.repeat(x, factor, axis=axis)
      else:
        x = _linear_upsample(x, axis, factor)
    return x

  return base.Fn('UpSample', upsample)


def _linear_upsample(x: Any, axis: int, factor: int) -> Any:
  """Linear interpolation along `axis` at half-pixel centers (a static axis size)."""
  n = x.shape[axis]
  if n is None:
    raise ValueError(
      f'UpSample(bilinear) needs a known size on axis {axis}, got input shape {tuple(x.shape)}.'
    )
  position = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0.0, n - 1.0)
  low = np.floor(position).astype(np.int32)
  high = np.minimum(low + 1, n - 1)
  weight_shape = [1] * len(x.shape)
  weight_shape[axis] = n * factor
  weight = jnp.reshape(jnp.asarray((position - low).astype(np.float32), x.dtype), weight_shape)
  below, above = jnp.take(x, low, axis=axis), jnp.take(x, high, axis=axis)
  return below + (above - below) * weight


def _pairs(pairs: Sequence[Sequence[int]], name: str, what: str) -> tuple:
  try:
    pairs = tuple((int(a), int(b)) for a, b in pairs)
  except (TypeError, ValueError):
    raise ValueError(
      f'{name}: {what} must be (before, after) pairs of ints, one per spatial axis; got {pairs!r}.'
    ) from None
  if any(a < 0 or b < 0 for a, b in pairs):
    raise ValueError(f'{name}: {what} {pairs} must not be negative.')
  return pairs


def _check_rank(x: Any, n_spatial: int, name: str) -> None:
  if len(x.shape) != n_spatial + 2:
    raise ValueError(
      f'{name} expects inputs of rank {n_spatial + 2} (batch, {n_spatial} '
      f'spatial axes, channels), got shape {tuple(x.shape)}.'
    )
