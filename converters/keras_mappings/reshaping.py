"""Keras reshaping layers: padding, cropping, upsampling (1D/2D/3D), Reshape, Permute,
RepeatVector, Flatten.

Keras' `ZeroPadding1D(padding)` and `Cropping1D` take one `(before, after)` pair (or an
int for both sides); 2D and 3D take one per spatial axis (or an int for all). Bilinear
`UpSampling2D` resizes with half-pixel centers and no antialiasing, as trax's `UpSample`.
"""

from typing import Any

import trax.layers as tl
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import channels_last
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import Unsupported


def _pairs(value: Any, n: int) -> tuple:
  """Keras' padding or cropping argument as one `(before, after)` pair per spatial axis."""
  if isinstance(value, int):
    return ((value, value),) * n
  if n == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
    return (tuple(value),)
  return tuple((p, p) if isinstance(p, int) else tuple(p) for p in value)


def zero_padding(layer, call: Call) -> Mapped:
  """Any padding; not channels_first."""
  config = layer.get_config()
  channels_last(config)
  return Mapped([tl.ZeroPad(_pairs(config['padding'], len(call.input_shapes[0]) - 2))])


def cropping(layer, call: Call) -> Mapped:
  """Any cropping; not channels_first."""
  config = layer.get_config()
  channels_last(config)
  return Mapped([tl.Crop(_pairs(config['cropping'], len(call.input_shapes[0]) - 2))])


def upsampling(layer, call: Call) -> Mapped:
  """Nearest (1D/2D/3D) or bilinear (2D); not channels_first or other interpolations."""
  config = layer.get_config()
  channels_last(config)
  n = len(call.input_shapes[0]) - 2
  size = config['size']
  size = (size,) * n if isinstance(size, int) else tuple(size)
  interpolation = config.get('interpolation', 'nearest')
  if interpolation not in ('nearest', 'bilinear'):
    raise Unsupported(f'interpolation={interpolation!r}')
  return Mapped([tl.UpSample(size, interpolation)])


def reshape(layer, call: Call) -> Mapped:
  """Any target_shape."""
  return Mapped([tl.Reshape(tuple(layer.get_config()['target_shape']))])


def permute(layer, call: Call) -> Mapped:
  """Any dims."""
  return Mapped([tl.Transpose((0, *layer.get_config()['dims']))])


def repeat_vector(layer, call: Call) -> Mapped:
  """RepeatVector."""
  return Mapped([tl.RepeatVector(layer.get_config()['n'])])


def flatten(layer, call: Call) -> Mapped:
  """Inputs of rank >= 2; not channels_first."""
  channels_last(layer.get_config())
  if len(call.input_shapes[0]) < 2:
    raise Unsupported('a rank-1 input (Keras makes it (batch, 1))')
  return Mapped([tl.Flatten()])


def table() -> dict:
  import keras

  layers = keras.layers
  mappings = {
    layers.Reshape: reshape,
    layers.Permute: permute,
    layers.RepeatVector: repeat_vector,
    layers.Flatten: flatten,
  }
  for n in (1, 2, 3):
    mappings[getattr(layers, f'ZeroPadding{n}D')] = zero_padding
    mappings[getattr(layers, f'Cropping{n}D')] = cropping
    mappings[getattr(layers, f'UpSampling{n}D')] = upsampling
  return mappings
