"""Grouped, dilated, depthwise and separable convolutions (channels-last).

- `GroupedConv`: channels split into `groups`; each group of `channels / groups` input
  channels makes its own `filters / groups` outputs. Also takes a kernel dilation, so
  `groups=1` is a plain dilated ("atrous") convolution.
- `DepthwiseConv`: one group per input channel, `depth_multiplier` outputs each (MobileNet).
- `SeparableConv`: a `DepthwiseConv` then a 1x1 `Conv` mixing the channels (Xception).

Inputs `(batch, *spatial, channels)` as in `Conv`, with `len(kernel_size)` spatial axes.
Output channel `g * (filters / groups) + j` comes from group `g`, the order of
`lax.conv_general_dilated`'s `feature_group_count`; for a depthwise convolution that is
`c * depth_multiplier + m` for input channel `c`.
"""

from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import convolution
from trax.layers import initializers as init
from trax.layers.config import register

__all__ = [
  'GroupedConv',
  'DepthwiseConv',
  'SeparableConv',
]

_BIAS_INIT = init.RandomNormalInitializer(1e-6)


def _layouts(n_spatial: int) -> tuple[str, str, str]:
  spatial = 'DHW'[3 - n_spatial :] if n_spatial <= 3 else None
  if spatial is None:
    raise ValueError(f'grouped convolutions take 1 to 3 spatial axes, got {n_spatial}.')
  return f'N{spatial}C', f'{spatial}IO', f'N{spatial}C'


class GroupedConv(convolution.Conv):
  """Convolution in `groups` independent channel groups, with an optional kernel dilation.

  Weights `(w, b)` (or `w` alone without bias): `w` of shape `(*kernel_size, channels /
  groups, filters)`, `b` of shape `(filters,)`.

  >>> GroupedConv(8, (3, 3), groups=2, padding='SAME')(np.ones((1, 5, 5, 4))).shape
  (1, 5, 5, 8)

  Args:
    filters: output channels (a multiple of `groups`).
    kernel_size: window size, one entry per spatial axis.
    groups: number of channel groups (must divide the input channels too).
    strides: window step per spatial axis; 1 by default.
    padding: 'VALID' or 'SAME' (which accounts for the dilated kernel size).
    dilation: kernel dilation per spatial axis; 1 by default.
    use_bias: whether to add `b`.
    kernel_initializer: defaults to Glorot normal.
  """

  # Named by index, unlike Conv's: Keras variable paths of saved .keras files keep them.
  weight_names = ()

  def __init__(
    self,
    filters: int,
    kernel_size: Sequence[int],
    groups: int = 1,
    strides: 'Sequence[int] | None' = None,
    padding: str = 'VALID',
    dilation: 'Sequence[int] | None' = None,
    use_bias: bool = True,
    kernel_initializer: 'init.Initializer | None' = None,
  ):
    super().__init__(
      filters,
      kernel_size,
      strides=strides,
      padding=padding,
      dimension_numbers=_layouts(len(kernel_size)),
      kernel_initializer=kernel_initializer,
      bias_initializer=_BIAS_INIT,
      use_bias=use_bias,
    )
    if groups < 1 or filters % groups:
      raise ValueError(
        f'{self.name}: groups={groups} must be positive and divide filters={filters}.'
      )
    self._groups = groups
    n = len(self._kernel_size)
    self._dilation = convolution.as_sizes(tuple(dilation or (1,) * n), 'dilation', self.name, n)

  def _kernel_channels(self, channels: 'int | None') -> 'int | None':
    if channels is not None and channels % self._groups:
      raise ValueError(
        f'{self.name}: input channels {channels} are not divisible by groups={self._groups}.'
      )
    return None if channels is None else channels // self._groups

  def _convolve(self, x: Any, w: Any) -> Any:
    return fastmath.conv(
      x,
      w,
      self._strides,
      self._padding,
      (self._lhs_spec, self._rhs_spec, self._out_spec),
      rhs_dilation=self._dilation,
      feature_group_count=x.shape[-1] // w.shape[-2],
    )


class DepthwiseConv(GroupedConv):
  """Convolves each input channel on its own into `depth_multiplier` output channels.

  Outputs `(batch, *out_spatial, channels * depth_multiplier)`. Weights `(w, b)` (or `w`
  alone): `w` of shape `(*kernel_size, 1, channels * depth_multiplier)`, `b` of shape
  `(channels * depth_multiplier,)`.

  >>> DepthwiseConv((3, 3), depth_multiplier=2)(np.ones((1, 5, 5, 4))).shape
  (1, 3, 3, 8)

  Args:
    kernel_size: window size, one entry per spatial axis.
    depth_multiplier: outputs per input channel.
    strides: window step per spatial axis; 1 by default.
    padding: 'VALID' or 'SAME'.
    dilation: kernel dilation per spatial axis; 1 by default.
    use_bias: whether to add `b`.
    kernel_initializer: defaults to Glorot normal.
  """

  def __init__(
    self,
    kernel_size: Sequence[int],
    depth_multiplier: int = 1,
    strides: 'Sequence[int] | None' = None,
    padding: str = 'VALID',
    dilation: 'Sequence[int] | None' = None,
    use_bias: bool = True,
    kernel_initializer: 'init.Initializer | None' = None,
  ):
    super().__init__(
      depth_multiplier,
      kernel_size,
      strides=strides,
      padding=padding,
      dilation=dilation,
      use_bias=use_bias,
      kernel_initializer=kernel_initializer,
    )
    self._depth_multiplier = depth_multiplier

  def init_weights_and_state(self, input_signature: Any) -> None:
    # The output width depends on the input's channels, known only now.
    self._filters = input_signature.shape[-1] * self._depth_multiplier
    super().init_weights_and_state(input_signature)

  def _kernel_channels(self, channels: int) -> int:
    return 1


@register
def SeparableConv(
  filters: int,
  kernel_size: Sequence[int],
  depth_multiplier: int = 1,
  strides: 'Sequence[int] | None' = None,
  padding: str = 'VALID',
  dilation: 'Sequence[int] | None' = None,
  use_bias: bool = True,
) -> base.Layer:
  """A depthwise convolution then a pointwise (1x1) one: `Serial(DepthwiseConv, Conv)`.

  Strides, padding and dilation apply to the depthwise step; the bias to the pointwise one.
  Weights: the depthwise kernel `(*kernel_size, 1, channels * depth_multiplier)`, then the
  pointwise `(w, b)` with `w` of shape `(1, ..., 1, channels * depth_multiplier, filters)`.

  >>> SeparableConv(8, (3, 3), padding='SAME')(np.ones((1, 5, 5, 4))).shape
  (1, 5, 5, 8)

  Args:
    filters: output channels.
    kernel_size: the depthwise window size, one entry per spatial axis.
    depth_multiplier: depthwise outputs per input channel.
    strides: depthwise window step per spatial axis.
    padding: 'VALID' or 'SAME' (depthwise step).
    dilation: depthwise kernel dilation per spatial axis.
    use_bias: whether the pointwise step adds a bias.
  """
  n = len(kernel_size)
  return cb.Serial(
    DepthwiseConv(
      kernel_size,
      depth_multiplier,
      strides=strides,
      padding=padding,
      dilation=dilation,
      use_bias=False,
    ),
    convolution.Conv(
      filters,
      (1,) * n,
      dimension_numbers=_layouts(n),
      use_bias=use_bias,
      bias_initializer=_BIAS_INIT,
    ),
    name='SeparableConv',
  )
