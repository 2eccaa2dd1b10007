"""Convolutions (plain, causal, grouped, dilated, depthwise, separable), pooling, padding
and cropping, channels-last.

- Kernels: trax's `(*kernel_size, in / groups, filters)` is Keras' layout for `Conv*D`
  with `groups`. A depthwise kernel `(*kernel_size, 1, channels * multiplier)` reshapes to
  Keras' `(*kernel_size, channels, multiplier)` (output channel `c * multiplier + m` in
  both); Keras has no `DepthwiseConv3D`, so 3-D ones become `Conv3D(groups=channels)`.
- `SeparableConv` (a depthwise then a 1x1 convolution) is Keras' `SeparableConv*D`.
"""

from converters.to_keras_mappings.base import axes_of
from converters.to_keras_mappings.base import flat_weights
from converters.to_keras_mappings.base import keras
from converters.to_keras_mappings.base import simple
from converters.to_keras_mappings.base import spatial_class
from converters.to_keras_mappings.base import Unmapped


def _rank_fits(inputs: list, n_spatial: int) -> None:
  if len(inputs[0].shape) != n_spatial + 2:
    raise Unmapped('extra batch axes')


def conv(builder, layer, arguments, inputs):
  """`Conv`, `Conv1d` and `CausalConv`."""
  if type(layer).__name__ == 'CausalConv':
    kernel, strides, padding = (arguments['kernel_width'],), (1,), 'causal'
  elif 'dimension_numbers' not in arguments:  # Conv1d
    kernel, strides = (arguments['kernel_size'],), (arguments['stride'],)
    padding = arguments['padding'].lower()
  else:
    if tuple(arguments['dimension_numbers']) not in (
      ('NHWC', 'HWIO', 'NHWC'),
      ('NWC', 'WIO', 'NWC'),
    ):
      raise Unmapped(f'layout {arguments["dimension_numbers"]}')
    kernel = tuple(arguments['kernel_size'])
    strides = tuple(arguments['strides'] or (1,) * len(kernel))
    padding = arguments['padding'].lower()
  _rank_fits(inputs, len(kernel))
  values = flat_weights(layer)
  made = builder.keras_layer(
    layer,
    lambda: getattr(keras().layers, spatial_class('Conv', len(kernel)))(
      values[0].shape[-1], kernel, strides=strides, padding=padding, use_bias=arguments['use_bias']
    ),
    values,
  )
  return [made(inputs[0])]


def _windows(arguments: dict) -> tuple:
  kernel = tuple(arguments['kernel_size'])
  n = len(kernel)
  return (
    kernel,
    tuple(arguments['strides'] or (1,) * n),
    arguments['padding'].lower(),
    tuple(arguments['dilation'] or (1,) * n),
  )


def grouped_conv(builder, layer, arguments, inputs):
  kernel, strides, padding, dilation = _windows(arguments)
  _rank_fits(inputs, len(kernel))
  made = builder.keras_layer(
    layer,
    lambda: getattr(keras().layers, spatial_class('Conv', len(kernel)))(
      arguments['filters'],
      kernel,
      strides=strides,
      padding=padding,
      dilation_rate=dilation,
      groups=arguments['groups'],
      use_bias=arguments['use_bias'],
    ),
    flat_weights(layer),
  )
  return [made(inputs[0])]


def depthwise_conv(builder, layer, arguments, inputs):
  kernel, strides, padding, dilation = _windows(arguments)
  _rank_fits(inputs, len(kernel))
  multiplier, channels = arguments['depth_multiplier'], inputs[0].shape[-1]
  values = flat_weights(layer)
  if len(kernel) == 3:  # No DepthwiseConv3D in Keras: the same as one group per channel.
    made = builder.keras_layer(
      layer,
      lambda: keras().layers.Conv3D(
        channels * multiplier,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=channels,
        use_bias=arguments['use_bias'],
      ),
      values,
    )
    return [made(inputs[0])]
  values[0] = values[0].reshape(*kernel, channels, multiplier)
  made = builder.keras_layer(
    layer,
    lambda: getattr(keras().layers, spatial_class('DepthwiseConv', len(kernel)))(
      kernel,
      strides=strides,
      padding=padding,
      depth_multiplier=multiplier,
      dilation_rate=dilation,
      use_bias=arguments['use_bias'],
    ),
    values,
  )
  return [made(inputs[0])]


def separable_conv(builder, layer, arguments, inputs):
  kernel, strides, padding, dilation = _windows(arguments)
  _rank_fits(inputs, len(kernel))
  multiplier, channels = arguments['depth_multiplier'], inputs[0].shape[-1]
  values = flat_weights(layer)
  values[0] = values[0].reshape(*kernel, channels, multiplier)
  made = builder.keras_layer(
    layer,
    lambda: getattr(keras().layers, spatial_class('SeparableConv', len(kernel)))(
      arguments['filters'],
      kernel,
      strides=strides,
      padding=padding,
      depth_multiplier=multiplier,
      dilation_rate=dilation,
      use_bias=arguments['use_bias'],
    ),
    values,
  )
  return [made(inputs[0])]


def pooling(kind: str):
  def mapping(builder, layer, arguments, inputs):
    pool_size = tuple(arguments['pool_size'])
    strides = tuple(arguments['strides'] or (1,) * len(pool_size))
    _rank_fits(inputs, len(pool_size))
    made = builder.keras_layer(
      layer,
      lambda: getattr(keras().layers, spatial_class(f'{kind}Pooling', len(pool_size)))(
        pool_size, strides=strides, padding=arguments['padding'].lower()
      ),
      [],
    )
    return [made(inputs[0])]

  return mapping


def global_pooling(kind: str):
  def mapping(builder, layer, arguments, inputs):
    rank = len(inputs[0].shape)
    axes = axes_of(arguments['axis'], rank)
    if rank not in (3, 4, 5) or axes != tuple(range(1, rank - 1)):
      raise Unmapped(f'{kind} over axis {arguments["axis"]} of rank-{rank} inputs')
    made = builder.keras_layer(
      layer,
      lambda: getattr(keras().layers, spatial_class(f'Global{kind}Pooling', rank - 2))(
        keepdims=arguments['keepdims']
      ),
      [],
    )
    return [made(inputs[0])]

  return mapping


def _spatial_pairs(prefix: str, argument: str):
  """ZeroPad and Crop: one `(before, after)` pair per spatial axis, as Keras takes them."""

  def make(arguments):
    pairs = tuple(tuple(int(p) for p in pair) for pair in arguments[argument])
    return getattr(keras().layers, spatial_class(prefix, len(pairs)))(
      pairs[0] if len(pairs) == 1 else pairs
    )

  return simple(make)


def table() -> dict:
  return {
    'Conv': conv,
    'Conv1d': conv,
    'CausalConv': conv,
    'GroupedConv': grouped_conv,
    'DepthwiseConv': depthwise_conv,
    'SeparableConv': separable_conv,
    'MaxPool': pooling('Max'),
    'AvgPool': pooling('Average'),
    'Mean': global_pooling('Average'),
    'Max': global_pooling('Max'),
    'ZeroPad': _spatial_pairs('ZeroPadding', 'padding'),
    'Crop': _spatial_pairs('Cropping', 'cropping'),
  }
