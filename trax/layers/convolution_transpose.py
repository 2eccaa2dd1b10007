"""Transposed convolution (`ConvTranspose`): the gradient of `Conv` with respect to its input."""

from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import initializers as init
from trax.layers.convolution import Conv
from trax.layers.convolution import as_sizes

__all__ = [
  'ConvTranspose',
]


class ConvTranspose(Conv):
  """N-d transposed convolution (an upsampling "deconvolution"), plus a bias.

  Computes `lax.conv_transpose(x, w, strides, padding, rhs_dilation, dimension_numbers)`
  without flipping the kernel: the input is dilated by `strides` (zeros between
  neighbours), padded as below, and convolved with `w` at unit stride. Per spatial axis of
  size `n` with effective kernel size `k`, the output has size `n * s` for 'SAME' and
  `n * s + max(k - s, 0)` for 'VALID' (as Keras' `Conv2DTranspose`).

  Weights `(w, b)`: `w` laid out as `dimension_numbers[1]` (HWIO: `(*kernel_size,
  channels, filters)`), `b` of shape `(filters,)`. Keras' `Conv2DTranspose` kernel `k`
  (HWOI, applied as the true transpose of a convolution) corresponds to
  `w = transpose(k[::-1, ::-1], (0, 1, 3, 2))`.

  Unlike Trax 1.x (which called `jax.lax` directly), this runs on every fastmath backend,
  and the kernel initializer argument is spelled `kernel_initializer` (Trax 1.x had
  `kernel_initialzer`).

  >>> ConvTranspose(8, (3, 3), strides=(2, 2))(np.ones((2, 4, 4, 3), np.float32)).shape
  (2, 9, 9, 8)

  Args:
    filters: number of output channels.
    kernel_size: kernel size, one entry per spatial axis.
    strides: upsampling factor, one entry per spatial axis; 1 by default.
    padding: 'VALID' or 'SAME' (the padding of the convolution this transposes).
    rhs_dilation: kernel dilation, one entry per spatial axis; 1 by default.
    dimension_numbers: layouts of input, kernel and output (see the module docstring).
    kernel_initializer: defaults to Glorot normal over the kernel's I and O axes.
    bias_initializer: initializer of `b`.
  """

  def __init__(
    self,
    filters: int,
    kernel_size: Sequence[int],
    strides: 'Sequence[int] | None' = None,
    padding: str = 'VALID',
    rhs_dilation: 'Sequence[int] | None' = None,
    dimension_numbers: Sequence[str] = ('NHWC', 'HWIO', 'NHWC'),
    kernel_initializer: 'init.Initializer | None' = None,
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
  ):
    super().__init__(
      filters,
      kernel_size,
      strides=strides,
      padding=padding,
      dimension_numbers=dimension_numbers,
      kernel_initializer=kernel_initializer,
      bias_initializer=bias_initializer,
    )
    n_spatial = len(self._kernel_size)
    self._rhs_dilation = as_sizes(
      rhs_dilation or (1,) * n_spatial, 'rhs_dilation', self._name, n_spatial
    )

  def _convolve(self, x: Any, w: Any) -> Any:
    spatial_axes = [i for i, c in enumerate(self._lhs_spec) if c not in 'NC']
    padding = [(0, 0)] * len(self._lhs_spec)
    for axis, k, s, d in zip(spatial_axes, self._kernel_size, self._strides, self._rhs_dilation):
      x = _insert_zeros(x, axis, s)
      padding[axis] = _transpose_padding((k - 1) * d + 1, s, self._padding)
    x = jnp.pad(x, padding)
    ones = (1,) * len(spatial_axes)
    return fastmath.conv(
      x,
      w,
      ones,
      'VALID',
      (self._lhs_spec, self._rhs_spec, self._out_spec),
      rhs_dilation=self._rhs_dilation,
    )


def _transpose_padding(k: int, s: int, padding: str) -> tuple[int, int]:
  """Padding of the dilated input that makes a stride-1 conv a transposed conv.

  The input was dilated to `(n - 1) * s + 1`; a VALID conv of kernel `k` then yields the
  sizes documented in `ConvTranspose`.
  """
  if padding == 'SAME':
    total = k + s - 2
    before = k - 1 if s > k - 1 else -(-total // 2)
  else:
    total = k + s - 2 + max(k - s, 0)
    before = k - 1
  return before, total - before


def _insert_zeros(x: Any, axis: int, stride: int) -> Any:
  """Puts `stride - 1` zeros between neighbours along `axis`: size n -> (n - 1) * s + 1."""
  if stride == 1:
    return x
  shape = fastmath.shape(x)
  padding = [(0, 0)] * (len(shape) + 1)
  padding[axis + 1] = (0, stride - 1)
  x = jnp.pad(jnp.expand_dims(x, axis + 1), padding)
  x = jnp.reshape(x, (*shape[:axis], shape[axis] * stride, *shape[axis + 1 :]))
  index = [slice(None)] * len(shape)
  index[axis] = slice(0, 1 - stride)
  return x[tuple(index)]
