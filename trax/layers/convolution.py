"""Convolution layers: Conv, Conv1d, CausalConv, CausalDepthwiseConv (ConvTranspose has its
own module).

Layouts follow `lax.conv_general_dilated`: `dimension_numbers = (lhs, rhs, out)` names the
axes of the input, kernel and output, e.g. `('NHWC', 'HWIO', 'NHWC')` (N batch, C channels,
I/O kernel input/output channels, other letters spatial). The number of spatial axes is
`len(kernel_size)`. With channels-last layouts, inputs may carry extra leading batch axes:
they are folded into one batch axis for the convolution and restored afterwards.
"""

import itertools
from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import initializers as init
from trax.layers.config import register

__all__ = [
  'Conv',
  'Conv1d',
  'CausalConv',
  'CausalDepthwiseConv',
]

_PADDINGS = ('VALID', 'SAME')


class Conv(base.Layer):
  """N-d convolution with `filters` output channels, plus a bias: `y = conv(x, w) + b`.

  With the default layouts, inputs `x` have shape `(..., *spatial, channels)` (at least one
  batch axis) and outputs `(..., *out_spatial, filters)`; with `padding='SAME'` and unit
  strides `out_spatial == spatial`, with `'VALID'` each axis shrinks by `kernel - 1` before
  striding.

  Weights: `(w, b)`, or just `w` when `use_bias=False`. `w` is laid out as
  `dimension_numbers[1]` (default HWIO: `(*kernel_size, channels, filters)`); `b` has
  shape `(filters,)` for a channels-last output and e.g. `(filters, 1, 1)` for NCHW.

  >>> Conv(8, (3, 3), padding='SAME')(np.ones((2, 5, 5, 3), np.float32)).shape
  (2, 5, 5, 8)

  Args:
    filters: number of output channels.
    kernel_size: window size, one entry per spatial axis.
    strides: window step, one entry per spatial axis; 1 by default.
    padding: 'VALID' (only whole windows) or 'SAME' (zero-pad to `ceil(size / stride)`
      windows, as TensorFlow).
    dimension_numbers: layouts of input, kernel and output (see the module docstring).
    kernel_initializer: defaults to Glorot normal over the kernel's I and O axes.
    bias_initializer: initializer of `b`.
    use_bias: whether to add `b`.
  """

  weight_names = ('w', 'b')

  def __init__(
    self,
    filters: int,
    kernel_size: Sequence[int],
    strides: 'Sequence[int] | None' = None,
    padding: str = 'VALID',
    dimension_numbers: Sequence[str] = ('NHWC', 'HWIO', 'NHWC'),
    kernel_initializer: 'init.Initializer | None' = None,
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
    use_bias: bool = True,
  ):
    super().__init__(name=type(self).__name__)
    self._filters = filters
    self._kernel_size = as_sizes(kernel_size, 'kernel_size', self._name)
    n_spatial = len(self._kernel_size)
    self._strides = as_sizes(strides or (1,) * n_spatial, 'strides', self._name, n_spatial)
    self._padding = _check_padding(padding, self._name)
    self._lhs_spec, self._rhs_spec, self._out_spec = _check_specs(
      dimension_numbers, n_spatial, self._name
    )
    self._kernel_initializer: init.Initializer = kernel_initializer or (
      init.GlorotNormalInitializer(self._rhs_spec.index('O'), self._rhs_spec.index('I'))
    )
    self._bias_initializer = bias_initializer
    self._use_bias = use_bias

  def init_weights_and_state(self, input_signature: Any) -> None:
    shape = self._checked_shape(input_signature.shape)
    channels = shape[self._lhs_spec.index('C') - len(self._lhs_spec)]
    sizes = iter(self._kernel_size)
    kernel_channels = self._kernel_channels(channels)
    kernel_shape = tuple(
      self._filters if c == 'O' else kernel_channels if c == 'I' else next(sizes)
      for c in self._rhs_spec
    )
    rng_w, rng_b = fastmath.random.split(self.rng, 2)
    w = self._kernel_initializer(kernel_shape, rng_w)
    if not self._use_bias:
      self.weights = w
      return
    # The bias broadcasts against the output: (filters, 1, 1) for NCHW, (filters,) for NHWC.
    bias_shape = tuple(
      itertools.dropwhile(
        lambda d: d == 1, [self._filters if c == 'C' else 1 for c in self._out_spec]
      )
    )
    self.weights = (w, self._bias_initializer(bias_shape, rng_b))

  def forward(self, x: Any) -> Any:
    w, b = self.weights if self._use_bias else (self.weights, None)
    self._checked_shape(x.shape, w)
    n_batch_axes = len(x.shape) - len(self._lhs_spec) + 1
    batch_shape = fastmath.shape(x)[:n_batch_axes]
    if n_batch_axes > 1:
      x = jnp.reshape(x, (-1, *fastmath.shape(x)[n_batch_axes:]))
    y = self._convolve(x, w)
    if self._use_bias:
      y = y + b
    if n_batch_axes > 1:
      y = jnp.reshape(y, (*batch_shape, *fastmath.shape(y)[1:]))
    return y

  def _kernel_channels(self, channels: 'int | None') -> 'int | None':
    """The kernel's input channels (I) for inputs of `channels` (fewer when grouped)."""
    return channels

  def _convolve(self, x: Any, w: Any) -> Any:
    """The convolution of a single-batch-axis input `x` with kernel `w`."""
    return fastmath.conv(
      x, w, self._strides, self._padding, (self._lhs_spec, self._rhs_spec, self._out_spec)
    )

  def _checked_shape(self, shape: Sequence, w: Any = None) -> tuple:
    """Checks the rank (and channels, given `w`) of an input shape; returns it."""
    shape, rank = tuple(shape), len(self._lhs_spec)
    channels_last = self._lhs_spec[0] == 'N' and self._lhs_spec[-1] == 'C'
    if len(shape) < rank or (len(shape) > rank and not channels_last):
      expected = f'rank {rank}' if not channels_last else f'rank >= {rank}'
      raise ValueError(
        f'{self._name} with input layout {self._lhs_spec!r} expects inputs of {expected} '
        f'(kernel_size {self._kernel_size} has {rank - 2} spatial axes), got shape {shape}.'
      )
    channels = shape[self._lhs_spec.index('C') - rank]
    expected = None if w is None else w.shape[self._rhs_spec.index('I')]
    if (
      expected is not None
      and channels is not None
      and (self._kernel_channels(channels) != expected)
    ):
      raise ValueError(
        f'{self._name} got input shape {shape} with {channels} channels, but '
        f'its weights expect {expected}.'
      )
    return shape


@register
def Conv1d(
  filters: int,
  kernel_size: int,
  stride: int = 1,
  padding: str = 'VALID',
  kernel_initializer: 'init.Initializer | None' = None,
  bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
  use_bias: bool = True,
) -> base.Layer:
  """1-d convolution over `(batch, length, channels)`: a `Conv` with layouts NWC/WIO/NWC.

  Weights: `w` of shape `(kernel_size, channels, filters)`, `b` of shape `(filters,)`.

  >>> Conv1d(8, 3, stride=2)(np.ones((2, 9, 4), np.float32)).shape
  (2, 4, 8)

  Args:
    filters: number of output channels.
    kernel_size: window length.
    stride: window step.
    padding: 'VALID' or 'SAME', as in `Conv`.
    kernel_initializer: defaults to Glorot normal, as in `Conv`.
    bias_initializer: initializer of `b`.
    use_bias: whether to add `b`.
  """
  return Conv(
    filters,
    (kernel_size,),
    strides=(stride,),
    padding=padding,
    dimension_numbers=('NWC', 'WIO', 'NWC'),
    kernel_initializer=kernel_initializer,
    bias_initializer=bias_initializer,
    use_bias=use_bias,
  )


class CausalConv(Conv):
  """1-d convolution over time in which output `t` depends only on inputs `<= t`.

  Inputs `(..., length, channels)`; outputs `(..., length, filters)`. The input is
  left-padded with `kernel_width - 1` zeros and convolved with VALID padding, so
  `y[t] = b + sum_k x[t - kernel_width + 1 + k] @ w[k]`.

  Weights: `w` of shape `(kernel_width, channels, filters)`, `b` of shape `(filters,)`.

  >>> CausalConv(8, kernel_width=3)(np.ones((2, 6, 4), np.float32)).shape
  (2, 6, 8)

  Args:
    filters: number of output channels.
    kernel_width: how many positions (the current one and those before it) each output
      sees.
    kernel_initializer: defaults to Glorot normal, as in `Conv`.
    bias_initializer: initializer of `b`.
    use_bias: whether to add `b`.
  """

  # Named by index, unlike Conv's: Keras variable paths of saved .keras files keep them.
  weight_names = ()

  def __init__(
    self,
    filters: int,
    kernel_width: int = 3,
    kernel_initializer: 'init.Initializer | None' = None,
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
    use_bias: bool = True,
  ):
    super().__init__(
      filters,
      (kernel_width,),
      padding='VALID',
      dimension_numbers=('NWC', 'WIO', 'NWC'),
      kernel_initializer=kernel_initializer,
      bias_initializer=bias_initializer,
      use_bias=use_bias,
    )

  def _convolve(self, x: Any, w: Any) -> Any:
    x = jnp.pad(x, [(0, 0), (self._kernel_size[0] - 1, 0), (0, 0)])
    return super()._convolve(x, w)


class CausalDepthwiseConv(base.Layer):
  """Per-channel causal convolution over time: `y[t] = sum_i w[i] * x[t - i]`.

  Each channel has its own kernel of `kernel_size` taps; inputs before the start of the
  sequence count as zeros. Inputs and outputs have shape `(..., length, depth)`.

  Weights: `w` of shape `(kernel_size, depth)` (a bare array, as in Trax 1.x); `w[0]`
  weighs the current position.

  >>> CausalDepthwiseConv(3)(np.ones((2, 6, 4), np.float32)).shape
  (2, 6, 4)

  Args:
    kernel_size: number of taps (the current position and `kernel_size - 1` before it).
    kernel_initializer: initializer of `w`.
    use_bfloat16: store `w` in bfloat16.
  """

  def __init__(
    self,
    kernel_size: int = 3,
    kernel_initializer: init.Initializer = init.GlorotUniformInitializer(),
    use_bfloat16: bool = False,
  ):
    super().__init__(name='CausalDepthwiseConv')
    self._kernel_size = kernel_size
    self._kernel_initializer = kernel_initializer
    self._use_bfloat16 = use_bfloat16

  def init_weights_and_state(self, input_signature: Any) -> None:
    _check_sequence_rank(input_signature.shape, self._name)
    w = self._kernel_initializer((self._kernel_size, input_signature.shape[-1]), self.rng)
    self.weights = jnp.astype(w, jnp.bfloat16) if self._use_bfloat16 else w

  def forward(self, x: Any) -> Any:
    _check_sequence_rank(x.shape, self._name)
    k = self._kernel_size
    padding = [(0, 0)] * (len(x.shape) - 2) + [(k - 1, 0), (0, 0)]
    padded = jnp.pad(x, padding)
    # padded[..., k - 1 - i + t, :] is x[..., t - i, :] (zero before the start).
    shifted = [padded[..., k - 1 - i : _stop(-i), :] for i in range(k)]
    return sum(self.weights[i] * shifted[i] for i in range(k))


def _stop(i: int) -> 'int | None':
  """The slice stop dropping the last `-i` items (all items when `i == 0`)."""
  return i if i < 0 else None


def as_sizes(sizes: Any, what: str, layer_name: str, n: 'int | None' = None) -> tuple[int, ...]:
  """`sizes` (kernel sizes, strides, dilations) checked: ints, `n` of them if given."""
  if isinstance(sizes, int) or not all(isinstance(s, int) for s in sizes):
    raise ValueError(
      f'{layer_name}: {what} must be a sequence of ints (one per spatial axis), got {sizes!r}.'
    )
  if n is not None and len(sizes) != n:
    raise ValueError(
      f'{layer_name}: {what} {tuple(sizes)} must have one entry per spatial '
      f'axis ({n}, as kernel_size).'
    )
  return tuple(sizes)


def _check_padding(padding: str, layer_name: str) -> str:
  if padding not in _PADDINGS:
    raise ValueError(f"{layer_name}: padding must be 'VALID' or 'SAME', got {padding!r}.")
  return padding


def _check_specs(
  dimension_numbers: Sequence[str], n_spatial: int, layer_name: str
) -> tuple[str, str, str]:
  lhs, rhs, out = dimension_numbers
  if not (
    len(lhs) == len(rhs) == len(out) == n_spatial + 2
    and {'N', 'C'} <= set(lhs)
    and {'N', 'C'} <= set(out)
    and {'I', 'O'} <= set(rhs)
  ):
    raise ValueError(
      f'{layer_name}: dimension_numbers {tuple(dimension_numbers)} must name N and C '
      f'(input, output) or I and O (kernel) plus {n_spatial} spatial axes (one per '
      'kernel_size entry), e.g. (\'NHWC\', \'HWIO\', \'NHWC\').'
    )
  return lhs, rhs, out


def _check_sequence_rank(shape: Sequence, layer_name: str) -> None:
  if len(shape) < 3:
    raise ValueError(
      f'{layer_name} expects inputs of shape (batch, length, depth), got shape {tuple(shape)}.'
    )
