"""Pooling layers: MaxPool, SumPool, AvgPool, and MaskedMean.

Each reduces windows of the spatial axes of an input `(batch, *spatial, channels)` to one
value per channel; the batch and channel axes are never pooled. Windows are `pool_size`
big and `strides` apart.

As in Trax 1.x (and `jax.example_libraries.stax`), `strides` defaults to 1 in every
spatial axis, so windows overlap; Keras' pooling layers default to `strides = pool_size`.
Pass `strides=pool_size` for non-overlapping windows.
"""

from typing import Any
from collections.abc import Callable, Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.config import register

__all__ = [
  'MaxPool',
  'SumPool',
  'AvgPool',
  'MaskedMean',
]


@register
def MaxPool(
  pool_size: Sequence[int] = (2, 2), strides: 'Sequence[int] | None' = None, padding: str = 'VALID'
) -> base.Layer:
  """Reduces each window of the spatial axes to its maximum.

  Args:
    pool_size: window size, one entry per spatial axis (inputs have rank
      `len(pool_size) + 2`).
    strides: offsets between neighbouring windows, one per spatial axis; 1 by default.
    padding: 'VALID' keeps only whole windows; 'SAME' pads the borders so that there are
      `ceil(size / stride)` windows per axis, and padding never wins the maximum.

  Returns:
    A layer mapping `(batch, *spatial, channels)` to `(batch, *pooled, channels)`.

  >>> MaxPool((2, 2))(np.ones((1, 5, 5, 3), np.float32)).shape  # Overlapping windows.
  (1, 4, 4, 3)
  >>> MaxPool((2, 2), strides=(2, 2))(np.ones((1, 5, 5, 3), np.float32)).shape
  (1, 2, 2, 3)
  """
  return _pooling_layer('MaxPool', fastmath.max_pool, pool_size, strides, padding)


@register
def SumPool(
  pool_size: Sequence[int] = (2, 2), strides: 'Sequence[int] | None' = None, padding: str = 'VALID'
) -> base.Layer:
  """Reduces each window of the spatial axes to its sum (padding adds zeros).

  Arguments and shapes as in `MaxPool`.

  >>> np.asarray(SumPool((2,), strides=(2,))(np.ones((1, 4, 1), np.float32))).ravel()
  array([2., 2.], dtype=float32)
  """
  return _pooling_layer('SumPool', fastmath.sum_pool, pool_size, strides, padding)


@register
def AvgPool(
  pool_size: Sequence[int] = (2, 2), strides: 'Sequence[int] | None' = None, padding: str = 'VALID'
) -> base.Layer:
  """Reduces each window of the spatial axes to its mean.

  With 'SAME' padding, border windows average only their in-bounds elements (as Keras
  and TensorFlow do). Arguments and shapes as in `MaxPool`.

  >>> AvgPool((2, 2), padding='SAME')(np.ones((1, 5, 5, 3), np.float32)).shape
  (1, 5, 5, 3)
  """
  return _pooling_layer('AvgPool', fastmath.avg_pool, pool_size, strides, padding)


@register
def MaskedMean(keepdims: bool = False) -> base.Layer:
  """`x, mask -> ` the mean of `x` over the steps (axis 1) that the mask keeps.

  `x` has shape `(batch, length, ...)`, `mask` `(batch, length)`, true at the steps to
  average; the result has shape `(batch, ...)`. A row with no kept step gives NaN (0 / 0).

  >>> x, mask = np.array([[1., 2., 6.]]), np.array([[True, True, False]])
  >>> MaskedMean()((x[..., None], mask)).tolist()
  [[1.5]]

  Args:
    keepdims: keep axis 1 with size 1.
  """

  def mean(x, mask):
    mask = jnp.expand_dims(mask, tuple(range(2, len(x.shape))))
    total = jnp.sum(jnp.where(mask, x, jnp.zeros_like(x)), axis=1, keepdims=keepdims)
    return total / jnp.sum(jnp.astype(mask, total.dtype), axis=1, keepdims=keepdims)

  return base.Fn('MaskedMean', mean)


def _pooling_layer(
  kind: str,
  pool_fn: Callable,
  pool_size: Sequence[int],
  strides: 'Sequence[int] | None',
  padding: str,
) -> base.Layer:
  """A layer applying `pool_fn` after checking the arguments and the input rank."""
  pool_size = tuple(pool_size)
  strides = tuple(strides) if strides is not None else (1,) * len(pool_size)
  name = f'{kind}{pool_size}'.replace(' ', '')
  if len(strides) != len(pool_size):
    raise ValueError(
      f'{name}: strides {strides} must have one entry per axis of pool_size {pool_size}.'
    )
  if padding not in ('VALID', 'SAME'):
    raise ValueError(f"{name}: padding must be 'VALID' or 'SAME', got {padding!r}.")

  def pool(x: Any) -> Any:
    if len(x.shape) != len(pool_size) + 2:
      raise ValueError(
        f'{name} expects inputs of rank {len(pool_size) + 2}, (batch, '
        f'{len(pool_size)} spatial axes, channels), got shape {tuple(x.shape)}.'
      )
    return pool_fn(x, pool_size, strides, padding)

  return base.Fn(name, pool)
