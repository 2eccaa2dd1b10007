"""Keras normalization layers: Batch, Layer, RMS, Group, Unit normalization, Normalization.

- LayerNormalization: Keras' epsilon (default 1e-3) is passed; trax's default is 1e-6.
  Keras `center=False` still subtracts the mean (it only drops beta), so it maps to trax
  `LayerNorm` with a zero bias; `RMSNormalization` maps to trax's `center=False` (no mean
  subtracted). The deprecated `rms_scaling=True` refuses: it divides by the standard
  deviation without centering. Only the last axis maps.
- BatchNormalization: `momentum` means the same in both (weight of the old running
  average). Trax debiases its running averages in eval by the batch count `n`
  (dividing by `1 - momentum**n`); the count is set to 2**30, where that factor is exactly
  1 in float32, so inference uses Keras' moving mean and variance as they are, and
  training in trax continues the averages without a spurious correction.
- GroupNormalization: channels-last (`axis=-1`), as trax's `GroupNorm`.
- Normalization (preprocessing): the adapted (or given) mean and variance become the
  state of trax's `Standardize`, which training leaves alone, as Keras does.
"""

from typing import Any

import numpy as np

import trax.layers as tl
from converters.keras_mappings.base import axes
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported

BATCH_NORM_COUNT = 2**30


def layer_norm(layer, call: Call) -> Mapped:
  """The last axis; not rms_scaling=True (deprecated)."""
  config = layer.get_config()
  if config.get('rms_scaling'):
    raise Unsupported(
      'rms_scaling=True (deprecated in Keras: it divides by the standard '
      'deviation without centering, which no trax layer computes; use '
      'RMSNormalization)'
    )
  _check_last_axis(config['axis'], call)
  d = call.input_shapes[0][-1]
  gamma = numpy(layer.gamma) if config['scale'] else np.ones(d, np.float32)
  beta = numpy(layer.beta) if config['center'] else np.zeros(d, np.float32)
  return Mapped([tl.LayerNorm(epsilon=config['epsilon'])], [gamma, beta])


def rms_norm(layer, call: Call) -> Mapped:
  """The last axis."""
  config = layer.get_config()
  _check_last_axis(config['axis'], call)
  scale = numpy(layer.scale)
  return Mapped(
    [tl.LayerNorm(center=False, epsilon=config['epsilon'])], [scale, np.zeros_like(scale)]
  )


def _check_last_axis(axis: Any, call: Call) -> None:
  rank = len(call.input_shapes[0])
  if axes(axis, rank) != [rank - 1]:
    raise Unsupported(f'axis={axis} (trax normalizes the last axis only)')


def batch_norm(layer, call: Call) -> Mapped:
  """Any axis, center, scale and momentum < ~1 - 1e-7; not renorm, synchronized, or
  masked in train mode."""
  config = layer.get_config()
  if config.get('renorm') or config.get('synchronized'):
    raise Unsupported('renorm or synchronized batch normalization')
  momentum = config['momentum']
  if np.power(np.float32(momentum), BATCH_NORM_COUNT) != 0.0:
    raise Unsupported(f'momentum={momentum} (too close to 1 for an exact mapping)')
  shape = call.input_shapes[0]
  rank = len(shape)
  kept = axes(config['axis'], rank)
  normalized = tuple(i for i in range(rank) if i not in kept)
  stats_shape = tuple(1 if i in normalized else shape[i] for i in range(rank))
  weights = ([numpy(layer.beta)] if config['center'] else []) + (
    [numpy(layer.gamma)] if config['scale'] else []
  )
  state = [
    numpy(layer.moving_mean).reshape(stats_shape),
    numpy(layer.moving_variance).reshape(stats_shape),
    np.asarray(BATCH_NORM_COUNT, np.int32),
  ]
  if call.kwargs.get('mask') is not None and call.mode == 'train':
    raise Unsupported(
      'a Keras mask in train mode (Keras then takes batch statistics over the kept steps only)'
    )
  norm = tl.BatchNorm(
    axis=normalized,
    epsilon=config['epsilon'],
    center=config['center'],
    scale=config['scale'],
    momentum=momentum,
    mode=call.mode,
  )
  # In inference the moving statistics are used, whatever the mask.
  return Mapped([norm], weights, state, inputs=call.data[:1], masks_irrelevant=True)


def group_norm(layer, call: Call) -> Mapped:
  """Channels last (axis=-1), any groups, center and scale."""
  config = layer.get_config()
  rank = len(call.input_shapes[0])
  if axes(config['axis'], rank) != [rank - 1]:
    raise Unsupported(f'axis={config["axis"]} (trax groups the last axis)')
  channels = call.input_shapes[0][-1]
  groups = config['groups'] if config['groups'] != -1 else channels
  weights = ([numpy(layer.gamma)] if config['scale'] else []) + (
    [numpy(layer.beta)] if config['center'] else []
  )
  return Mapped(
    [
      tl.GroupNorm(
        groups, epsilon=config['epsilon'], center=config['center'], scale=config['scale']
      )
    ],
    weights,
  )


def unit_norm(layer, call: Call) -> Mapped:
  """Any axis."""
  axis = layer.get_config()['axis']
  return Mapped(
    [tl.L2Normalize(tuple(axis) if isinstance(axis, (list, tuple)) else axis, epsilon=1e-12)]
  )


def normalization(layer, call: Call) -> Mapped:
  """Adapted or given statistics, with or without invert."""
  import keras

  if getattr(layer, 'mean', None) is None:
    raise Unsupported('a Normalization layer that was neither adapted nor given a mean')
  config = layer.get_config()
  axis = config['axis']
  axis = None if axis is None else tuple(axis) if isinstance(axis, (list, tuple)) else axis
  shape = call.input_shapes[0]
  kept = [] if axis is None else axes(axis, len(shape))
  stats_shape = tuple(shape[d] if d in kept else 1 for d in range(len(shape)))
  if None in stats_shape:
    raise Unsupported(f'statistics over an axis of unknown size (input shape {shape})')
  state = [
    np.broadcast_to(numpy(layer.mean), stats_shape).astype(np.float32),
    np.broadcast_to(numpy(layer.variance), stats_shape).astype(np.float32),
  ]
  return Mapped(
    [tl.Standardize(axis=axis, invert=config['invert'], epsilon=keras.backend.epsilon())],
    state=state,
  )


def table() -> dict:
  import keras

  layers = keras.layers
  mappings = {
    layers.LayerNormalization: layer_norm,
    layers.BatchNormalization: batch_norm,
    layers.GroupNormalization: group_norm,
    layers.UnitNormalization: unit_norm,
    layers.Normalization: normalization,
  }
  if hasattr(layers, 'RMSNormalization'):
    mappings[layers.RMSNormalization] = rms_norm
  return mappings
