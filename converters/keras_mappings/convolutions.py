"""Keras convolutions (1D/2D/3D): plain, grouped, dilated, causal, depthwise, separable,
transposed.

- Conv: Keras kernels are `(*kernel_size, in / groups, filters)`, as trax's (HWIO).
  Plain convolutions become `Conv`; grouped or dilated ones `GroupedConv`. 'causal'
  padding (1D) is a left `ZeroPad` of `(kernel - 1) * dilation` and a 'VALID' convolution.
- DepthwiseConv: Keras' kernel `(*kernel_size, in, multiplier)` reshapes to trax's
  `(*kernel_size, 1, in * multiplier)` (output channel `c * multiplier + m` in both).
- SeparableConv: the depthwise kernel as above, then the pointwise kernel and bias.
- ConvTranspose: Keras' kernel `(*kernel_size, filters, in)` is the true transpose of a
  convolution; trax's `ConvTranspose` kernel is it with the spatial axes flipped and the
  last two swapped (a zero bias when `use_bias=False`). `output_padding` refuses.
All refuse `data_format='channels_first'`.
"""

import numpy as np

import trax.layers as tl
from converters.keras_mappings.activations import activation
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import channels_last
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported


def _layouts(n: int) -> tuple[str, str, str]:
  spatial = 'DHW'[3 - n :]
  return f'N{spatial}C', f'{spatial}IO', f'N{spatial}C'


def _common(config: dict) -> tuple:
  channels_last(config)
  kernel = tuple(config['kernel_size'])
  strides = tuple(config['strides'])
  dilation = tuple(config.get('dilation_rate') or (1,) * len(kernel))
  padding = config['padding']
  if padding not in ('valid', 'same', 'causal'):
    raise Unsupported(f'padding={padding!r}')
  return kernel, strides, dilation, padding


def _causal_padding(kernel: tuple, dilation: tuple, padding: str) -> tuple[list, str]:
  """A left ZeroPad for 'causal' padding (then the convolution is 'VALID')."""
  if padding != 'causal':
    return [], padding.upper()
  if len(kernel) != 1:
    raise Unsupported('causal padding on more than one spatial axis')
  return [tl.ZeroPad((((kernel[0] - 1) * dilation[0], 0),))], 'VALID'


def _weights(layer, kernel: np.ndarray, use_bias: bool) -> list:
  return [kernel] + ([numpy(layer.bias)] if use_bias else [])


def conv(layer, call: Call) -> Mapped:
  """Any groups, dilation_rate, strides and padding (incl. causal); not channels_first."""
  config = layer.get_config()
  kernel, strides, dilation, padding = _common(config)
  layers, padding = _causal_padding(kernel, dilation, padding)
  filters, groups, use_bias = config['filters'], config.get('groups', 1), config['use_bias']
  if groups == 1 and set(dilation) == {1}:
    layers.append(
      tl.Conv(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        dimension_numbers=_layouts(len(kernel)),
        use_bias=use_bias,
      )
    )
  else:
    layers.append(
      tl.GroupedConv(
        filters,
        kernel,
        groups=groups,
        strides=strides,
        padding=padding,
        dilation=dilation,
        use_bias=use_bias,
      )
    )
  return Mapped(
    layers + activation(config['activation']), _weights(layer, numpy(layer.kernel), use_bias)
  )


def depthwise_conv(layer, call: Call) -> Mapped:
  """Any depth_multiplier, dilation_rate, strides and padding; not channels_first."""
  config = layer.get_config()
  kernel, strides, dilation, padding = _common(config)
  layers, padding = _causal_padding(kernel, dilation, padding)
  use_bias = config['use_bias']
  layers.append(
    tl.DepthwiseConv(
      kernel,
      config['depth_multiplier'],
      strides=strides,
      padding=padding,
      dilation=dilation,
      use_bias=use_bias,
    )
  )
  return Mapped(
    layers + activation(config['activation']),
    _weights(layer, _depthwise_kernel(layer.kernel), use_bias),
  )


def _depthwise_kernel(variable) -> np.ndarray:
  kernel = numpy(variable)
  return kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])


def separable_conv(layer, call: Call) -> Mapped:
  """Any depth_multiplier, dilation_rate, strides; valid or same padding."""
  config = layer.get_config()
  kernel, strides, dilation, padding = _common(config)
  if padding == 'causal':
    raise Unsupported('causal padding')
  use_bias = config['use_bias']
  weights = [_depthwise_kernel(layer.depthwise_kernel), numpy(layer.pointwise_kernel)]
  return Mapped(
    [
      tl.SeparableConv(
        config['filters'],
        kernel,
        config['depth_multiplier'],
        strides=strides,
        padding=padding.upper(),
        dilation=dilation,
        use_bias=use_bias,
      ),
      *activation(config['activation']),
    ],
    weights + ([numpy(layer.bias)] if use_bias else []),
  )


def conv_transpose(layer, call: Call) -> Mapped:
  """Any strides, dilation_rate, valid or same padding; not output_padding."""
  config = layer.get_config()
  kernel, strides, dilation, padding = _common(config)
  if config.get('output_padding') is not None:
    raise Unsupported(f'output_padding={config["output_padding"]}')
  if padding == 'causal':
    raise Unsupported('causal padding')
  n = len(kernel)
  keras_kernel = numpy(layer.kernel)
  w = np.swapaxes(np.flip(keras_kernel, axis=tuple(range(n))), -1, -2)
  # trax's ConvTranspose always has a bias: zero stands for none.
  bias = numpy(layer.bias) if config['use_bias'] else np.zeros(config['filters'], w.dtype)
  return Mapped(
    [
      tl.ConvTranspose(
        config['filters'],
        kernel,
        strides=strides,
        padding=padding.upper(),
        rhs_dilation=dilation,
        dimension_numbers=_layouts(n),
      ),
      *activation(config['activation']),
    ],
    [np.ascontiguousarray(w), bias],
  )


def table() -> dict:
  import keras

  layers = keras.layers
  return {
    layers.Conv1D: conv,
    layers.Conv2D: conv,
    layers.Conv3D: conv,
    layers.DepthwiseConv1D: depthwise_conv,
    layers.DepthwiseConv2D: depthwise_conv,
    layers.SeparableConv1D: separable_conv,
    layers.SeparableConv2D: separable_conv,
    layers.Conv1DTranspose: conv_transpose,
    layers.Conv2DTranspose: conv_transpose,
    layers.Conv3DTranspose: conv_transpose,
  }
