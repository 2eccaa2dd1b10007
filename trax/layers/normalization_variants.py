r"""More normalization and scaling layers: GroupNorm, L2Normalize, Standardize, Rescale,
LayerScale.

- `GroupNorm` normalizes groups of channels per example (Wu & He, 2018).
- `L2Normalize` divides by the Euclidean norm along some axes.
- `Standardize` subtracts a fixed mean and divides by a fixed standard deviation (data
  statistics gathered beforehand; they are state, not trained), or undoes that.
- `Rescale` multiplies by and adds constants (e.g. pixels from [0, 255] to [-1, 1]).
- `LayerScale` multiplies each channel by a learned factor (Touvron et al., 2021).
"""

from typing import Any
from collections.abc import Sequence

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.config import register

__all__ = [
  'GroupNorm',
  'L2Normalize',
  'Standardize',
  'Rescale',
  'LayerScale',
]


class GroupNorm(base.Layer):
  r"""Group normalization of channels-last inputs `(batch, ..., channels)`.

  The channels are split into `groups` consecutive groups; each group of each example is
  standardized over its channels and all other non-batch axes, then every channel gets its
  own scale and bias:

  .. math::
      y = \frac{x - \mu_g}{\sqrt{\sigma_g^2 + \epsilon}} \cdot \text{scale} + \text{bias}

  Wu & He (2018), https://arxiv.org/abs/1803.08494. `groups=1` standardizes over all
  non-batch axes; `groups=channels` is instance normalization.

  Weights: `(scale, bias)`, each of shape `(channels,)` (`()` in place of one turned off by
  `scale` / `center`).

  >>> GroupNorm(2)(np.ones((2, 4, 4, 6), np.float32)).shape
  (2, 4, 4, 6)

  Args:
    groups: number of channel groups (must divide the channels).
    epsilon: added to the variance for stability.
    center: add `bias`.
    scale: multiply by `scale`.
  """

  def __init__(
    self, groups: int = 32, epsilon: float = 1e-3, center: bool = True, scale: bool = True
  ):
    super().__init__(name=f'GroupNorm_{groups}')
    self._groups = groups
    self._epsilon = epsilon
    self._center = center
    self._scale = scale

  def init_weights_and_state(self, input_signature: Any) -> None:
    channels, dtype = input_signature.shape[-1], input_signature.dtype
    self._check_channels(input_signature.shape)
    self.weights = (
      jnp.ones((channels,), dtype) if self._scale else (),
      jnp.zeros((channels,), dtype) if self._center else (),
    )

  def forward(self, x: Any) -> Any:
    self._check_channels(x.shape)
    shape = fastmath.shape(x)  # Dynamic dimensions under TF are tensors.
    grouped = jnp.reshape(x, (*shape[:-1], self._groups, x.shape[-1] // self._groups))
    reduce = tuple(range(1, len(shape) - 1)) + (len(shape),)
    mean = jnp.mean(grouped, axis=reduce, keepdims=True)
    centered = grouped - mean
    variance = jnp.mean(centered * centered, axis=reduce, keepdims=True)
    y = jnp.reshape(centered / jnp.sqrt(variance + self._epsilon), shape)
    scale, bias = self.weights
    if self._scale:
      y = y * scale
    return y + bias if self._center else y

  def _check_channels(self, shape: Sequence) -> tuple:
    shape = tuple(shape)
    if len(shape) < 2 or shape[-1] % self._groups:
      raise ValueError(
        f'{self.name} needs inputs (batch, ..., channels) with channels '
        f'divisible by groups={self._groups}, got shape {shape}.'
      )
    return shape


@register
def L2Normalize(axis: 'int | Sequence[int]' = -1, epsilon: float = 1e-12) -> base.Layer:
  r"""Divides by the Euclidean norm along `axis`: :math:`x / \max(\|x\|_2, \epsilon)`.

  >>> L2Normalize()(np.array([[0., 4.]])).tolist()
  [[0.0, 1.0]]

  Args:
    axis: the axis or axes of the norm.
    epsilon: the smallest norm divided by (so zeros stay zeros).
  """
  axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis

  def normalize(x):
    squares = jnp.sum(x * x, axis=axis, keepdims=True)
    return x * jnp.minimum(1.0 / jnp.sqrt(squares), 1.0 / epsilon)

  return base.Fn('L2Normalize', normalize)


class Standardize(base.Layer):
  r"""Standardizes with fixed statistics: :math:`(x - \mu) / \max(\sqrt{v}, \epsilon)`.

  With `invert=True` it undoes that: :math:`\mu + x \max(\sqrt{v}, \epsilon)`. The mean
  :math:`\mu` and variance :math:`v` are data statistics (per feature along `axis`)
  gathered beforehand; they are the layer's state, which training leaves as it is. They
  start at 0 and 1 (the identity) until set, e.g. by a converter or
  `layer.state = (mean, variance)`.

  State: `(mean, variance)`, each of the input's rank with size 1 except on `axis`.

  >>> layer = Standardize()
  >>> _ = layer.init(ShapeDtype((2, 3)))
  >>> layer.state = (np.full((1, 3), 2., np.float32), np.full((1, 3), 4., np.float32))
  >>> layer(np.full((2, 3), 4., np.float32)).tolist()
  [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]

  Args:
    axis: the axis or axes with one statistic per entry (None: one for all).
    invert: undo the standardization instead.
    epsilon: the smallest standard deviation divided by.
  """

  def __init__(
    self, axis: 'int | Sequence[int] | None' = -1, invert: bool = False, epsilon: float = 1e-7
  ):
    super().__init__(name='Standardize')
    self._axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    self._invert = invert
    self._epsilon = epsilon

  def init_weights_and_state(self, input_signature: Any) -> None:
    shape = tuple(input_signature.shape)
    kept = () if self._axis is None else {a % len(shape) for a in np.atleast_1d(self._axis)}
    stats_shape = tuple(shape[i] if i in kept else 1 for i in range(len(shape)))
    dtype = (
      input_signature.dtype if jnp.issubdtype(input_signature.dtype, np.floating) else np.float32
    )
    self.state = (jnp.zeros(stats_shape, dtype), jnp.ones(stats_shape, dtype))

  def forward(self, x: Any) -> Any:
    mean, variance = self.state
    x = x if jnp.issubdtype(x.dtype, np.floating) else jnp.astype(x, mean.dtype)
    deviation = jnp.maximum(jnp.sqrt(variance), self._epsilon)
    return mean + x * deviation if self._invert else (x - mean) / deviation


@register
def Rescale(scale: Any = 1.0, offset: Any = 0.0) -> base.Layer:
  """`x * scale + offset` with constant `scale` and `offset` (scalars or per-channel lists).

  Integer inputs (such as uint8 pixels) are first cast to float32.

  >>> Rescale(1 / 127.5, -1.)(np.array([0, 255], np.uint8)).tolist()
  [-1.0, 1.0]

  Args:
    scale: the factor, a number or a list broadcasting against the input's last axes.
    offset: the term added, likewise.
  """

  def rescale(x):
    if not jnp.issubdtype(x.dtype, np.floating):
      x = jnp.astype(x, np.float32)
    y = x * jnp.asarray(scale, x.dtype)
    return y if _is_zero(offset) else y + jnp.asarray(offset, x.dtype)

  return base.Fn('Rescale', rescale)


def _is_zero(value: Any) -> bool:
  return not np.any(np.asarray(value))


class LayerScale(base.Layer):
  """Multiplies each channel by a learned factor: `x * gamma` for `x` of shape `(..., d)`.

  Touvron et al. (2021), https://arxiv.org/abs/2103.17239 (as in ConvNeXt's blocks).

  Weights: `gamma` of shape `(d,)`, starting at `init_value`.

  >>> LayerScale(0.5)(np.ones((2, 3), np.float32)).tolist()
  [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]

  Args:
    init_value: the initial factor of every channel.
  """

  def __init__(self, init_value: float = 1e-6):
    super().__init__(name='LayerScale')
    self._init_value = init_value

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.weights = jnp.full((input_signature.shape[-1],), self._init_value, input_signature.dtype)

  def forward(self, x: Any) -> Any:
    return x * self.weights
