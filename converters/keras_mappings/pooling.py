"""Keras pooling layers (1D/2D/3D, windowed and global, with `keepdims` and masks).

trax's strides default to 1, so Keras' are always passed. 'same' average pooling averages
only in-bounds elements in both. A Keras mask reaching `GlobalAveragePooling1D` makes it
average the kept steps only (`MaskedMean`), as Keras does.
"""

from collections.abc import Callable

import trax.layers as tl
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import channels_last
from converters.keras_mappings.base import Mapped


def pooling(kind: Callable) -> Callable:
  def mapping(layer, call: Call) -> Mapped:
    """Any pool_size, strides, valid or same padding; not channels_first."""
    config = layer.get_config()
    channels_last(config)
    pool_size = tuple(config['pool_size'])
    strides = tuple(config['strides'] or pool_size)
    return Mapped([kind(pool_size, strides=strides, padding=config['padding'].upper())])

  return mapping


def global_pooling(kind: Callable) -> Callable:
  def mapping(layer, call: Call) -> Mapped:
    """With or without keepdims (and a mask, for the average); not channels_first."""
    config = layer.get_config()
    channels_last(config)
    mask = call.kwargs.get('mask')
    if mask is not None:
      return Mapped([tl.MaskedMean(keepdims=config['keepdims'])], inputs=[call.data[0], mask])
    rank = len(call.input_shapes[0])
    return Mapped(
      [kind(axis=tuple(range(1, rank - 1)), keepdims=config['keepdims'])], inputs=call.data[:1]
    )

  return mapping


def table() -> dict:
  import keras

  layers = keras.layers
  mappings = {}
  for n in (1, 2, 3):
    mappings[getattr(layers, f'MaxPooling{n}D')] = pooling(tl.MaxPool)
    mappings[getattr(layers, f'AveragePooling{n}D')] = pooling(tl.AvgPool)
    mappings[getattr(layers, f'GlobalAveragePooling{n}D')] = global_pooling(tl.Mean)
    mappings[getattr(layers, f'GlobalMaxPooling{n}D')] = global_pooling(tl.Max)
  return mappings
