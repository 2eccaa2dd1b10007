"""Activations: every trax layer that `from_keras` makes of a Keras activation maps back.

The plain ones are read off `keras_mappings.activations.ACTIVATIONS` (Keras name -> trax
layers), inverted, so the two directions cannot disagree; a trax layer made for several
Keras names (`swish` and `silu`) takes the first. Activations with arguments (ReLU's
ceiling, slope and threshold, LeakyReLU, ELU, softmax axes) map to the Keras layers that
take them.
"""

import functools

from converters.keras_mappings.activations import ACTIVATIONS
from converters.to_keras_mappings.base import built_by
from converters.to_keras_mappings.base import keras
from converters.to_keras_mappings.base import simple
from converters.to_keras_mappings.base import Unmapped


@functools.cache
def _keras_names() -> dict:
  """`{trax factory name: Keras activation name}` for the argument-free activations."""
  names = {}
  for keras_name, make in ACTIVATIONS.items():
    layers = make()
    if len(layers) == 1:
      names.setdefault(built_by(layers[0])[0], keras_name)
  return names


def _activation(keras_name: str):
  return simple(lambda arguments: keras().layers.Activation(keras_name))


def _log_softmax(builder, layer, arguments, inputs):
  if arguments['axis'] not in (-1, len(inputs[0].shape) - 1):
    raise Unmapped(f'LogSoftmax over axis {arguments["axis"]}')
  made = builder.keras_layer(layer, lambda: keras().layers.Activation('log_softmax'), [])
  return [made(inputs[0])]


def _general_relu(arguments):
  return keras().layers.ReLU(
    max_value=arguments['max_value'],
    negative_slope=arguments['negative_slope'],
    threshold=arguments['threshold'],
  )


def table() -> dict:
  with_arguments = {
    'GeneralRelu': simple(_general_relu),
    'LeakyRelu': simple(lambda a: keras().layers.LeakyReLU(negative_slope=a['a'])),
    'Elu': simple(lambda a: keras().layers.ELU(alpha=a['a'])),
    'Softmax': simple(lambda a: keras().layers.Softmax(axis=a['axis'])),
    'LogSoftmax': _log_softmax,
  }
  plain = {
    factory: _activation(name)
    for factory, name in _keras_names().items()
    if factory not in with_arguments
  }
  return {**plain, **with_arguments}
