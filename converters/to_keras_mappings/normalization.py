"""LayerNorm, BatchNorm, Standardize and LayerScale.

- BatchNorm: trax's eval statistics are the running averages debiased by the batch count
  (see `tl.BatchNorm`); they become the Keras layer's moving mean and variance, and its
  momentum is trax's (the weight of the old average in both).
- Standardize (fixed statistics) is Keras' `Normalization` given its mean and variance,
  when the epsilon is Keras' (`keras.backend.epsilon()`, which Normalization always uses).
- LayerScale is ConvNeXt's `LayerScale` layer from `keras.applications` (the layer the
  Keras model had); a Keras without it refuses.
"""

import importlib

import numpy as np

from converters.to_keras_mappings.base import axes_of
from converters.to_keras_mappings.base import flat_weights
from converters.to_keras_mappings.base import keras
from converters.to_keras_mappings.base import Unmapped


def layer_norm(builder, layer, arguments, inputs):
  scale, bias = flat_weights(layer)
  if arguments['center']:
    make = lambda: keras().layers.LayerNormalization(epsilon=arguments['epsilon'])
    values = [scale, bias]
  else:
    make = lambda: keras().layers.RMSNormalization(epsilon=arguments['epsilon'])
    values = [scale]
  return [builder.keras_layer(layer, make, values)(inputs[0])]


def batch_norm(builder, layer, arguments, inputs):
  rank = len(inputs[0].shape)
  normalized = axes_of(arguments['axis'], rank)
  kept = [i for i in range(rank) if i not in normalized]
  if len(kept) != 1:  # Keras' BatchNormalization keeps exactly one axis (int(axis)).
    raise Unmapped(f'BatchNorm keeping axes {kept} (Keras BatchNormalization keeps one)')
  beta, gamma = layer.weights
  running_mean, running_var, n_batches = (np.asarray(s) for s in layer.state)
  momentum = np.float32(arguments['momentum'])
  start = np.power(momentum, n_batches) if n_batches > 0 else np.float32(0.0)
  mean = running_mean / (1.0 - start)  # As trax's eval mode debiases them.
  var = np.maximum((running_var - start) / (1.0 - start), 0.0)
  params_shape = tuple(inputs[0].shape[i] for i in kept)
  values = (
    ([np.asarray(gamma)] if arguments['scale'] else [])
    + ([np.asarray(beta)] if arguments['center'] else [])
    + [mean.reshape(params_shape), var.reshape(params_shape)]
  )
  made = builder.keras_layer(
    layer,
    lambda: keras().layers.BatchNormalization(
      axis=kept[0],
      momentum=float(momentum),
      epsilon=arguments['epsilon'],
      center=arguments['center'],
      scale=arguments['scale'],
    ),
    values,
  )
  return [made(inputs[0])]


def standardize(builder, layer, arguments, inputs):
  epsilon = keras().backend.epsilon()
  if not np.isclose(arguments['epsilon'], epsilon, rtol=1e-6, atol=0.0):
    raise Unmapped(
      f'epsilon={arguments["epsilon"]} (Keras Normalization divides by at '
      f'least keras.backend.epsilon() = {epsilon})'
    )
  rank = len(inputs[0].shape)
  axis = axes_of(arguments['axis'], rank)
  mean, variance = (np.asarray(s) for s in layer.state)
  kept_shape = [mean.shape[i] for i in axis] if axis is not None else []
  made = builder.keras_layer(
    layer,
    lambda: keras().layers.Normalization(
      # Keras' own signature has no types: pyright infers int from the default, -1.
      axis=None if axis is None else axis[0] if len(axis) == 1 else axis,  # pyright: ignore[reportArgumentType]
      mean=mean.reshape(kept_shape),
      variance=variance.reshape(kept_shape),
      invert=arguments['invert'],
    ),
    [],
  )
  return [made(inputs[0])]


def layer_scale(builder, layer, arguments, inputs):
  try:
    keras_class = importlib.import_module('keras.src.applications.convnext').LayerScale
  except (ImportError, AttributeError):
    raise Unmapped('this Keras has no keras.applications ConvNeXt LayerScale') from None
  gamma = np.asarray(layer.weights)
  made = builder.keras_layer(
    layer, lambda: keras_class(float(arguments['init_value']), gamma.shape[-1]), [gamma]
  )
  return [made(inputs[0])]


def table() -> dict:
  return {
    'LayerNorm': layer_norm,
    'BatchNorm': batch_norm,
    'Standardize': standardize,
    'LayerScale': layer_scale,
  }
