"""Keras layer -> trax layers with the same outputs: the table `from_keras` consults.

Each mapping takes the Keras layer and how it was called, and returns the trax layers to
run in sequence, the Keras weights rearranged into those layers' flat weights and state,
and the order in which the call's input tensors go on the data stack (top first).
Mappings are exact or refuse (`Unsupported`, saying why); notes on the less obvious ones:

- Dense, Conv1D/Conv2D: Keras kernels are already `(in, out)` and HWIO/WIO, as trax's.
  Conv1D `padding='causal'` (stride 1) is `CausalConv`. Dilations and groups refuse.
- Pooling: trax's strides default to 1, so Keras' are always passed. 'same' average
  pooling averages only in-bounds elements in both.
- LayerNormalization: Keras' epsilon (default 1e-3) is passed; trax's default is 1e-6.
  Keras `center=False` still subtracts the mean (it only drops beta), so it maps to trax
  `LayerNorm` with a zero bias; `RMSNormalization` maps to trax's `center=False` (no
  mean subtracted). The deprecated `rms_scaling=True` refuses: it divides by the standard
  deviation without centering.
- BatchNormalization: `momentum` means the same in both (weight of the old running
  average). Trax debiases its running averages in eval by the batch count `n`
  (dividing by `1 - momentum**n`); the count is set to 2**30, where that factor is exactly
  1 in float32, so inference uses Keras' moving mean and variance as they are, and
  training in trax continues the averages without a spurious correction.
- Embedding: trax clips ids into `[0, vocab)`; Keras fails on ids outside. Equal on valid
  ids. `mask_zero` refuses (trax has no Keras masks).
- Recurrent and attention layers: see `keras_recurrent`.
"""

import dataclasses
from typing import Any, Callable

import numpy as np

import trax.layers as tl

# Layers built here say they were created where this module was called
# (trax.layers.errors.BUILDS_LAYERS_FOR_CALLER).
_TRAX_BUILDS_LAYERS_FOR_CALLER = True


class Unsupported(Exception):
  """A Keras layer (or a setting of one) with no exact trax counterpart."""


@dataclasses.dataclass
class Call:
  """How a Keras layer was called in the model."""
  args: tuple
  kwargs: dict
  tensors: list  # the input tensors, flattened in argument order
  mode: str      # the trax mode to build ('train' or 'eval')

  @property
  def input_shapes(self) -> list:
    return [tuple(t.shape) for t in self.tensors]


@dataclasses.dataclass
class Mapped:
  """Trax layers standing for one Keras layer, with its weights rearranged."""
  layers: list
  weights: list = dataclasses.field(default_factory=list)
  state: list = dataclasses.field(default_factory=list)
  inputs: 'list | None' = None  # Keras tensors onto the stack, top first; default: call's.


_ACTIVATIONS: dict[str, Callable[[], list]] = {
    'linear': lambda: [], 'relu': lambda: [tl.Relu()], 'sigmoid': lambda: [tl.Sigmoid()],
    'tanh': lambda: [tl.Tanh()], 'softmax': lambda: [tl.Softmax()],
    'log_softmax': lambda: [tl.LogSoftmax()], 'elu': lambda: [tl.Elu()],
    'selu': lambda: [tl.Selu()], 'softplus': lambda: [tl.Softplus()],
    'swish': lambda: [tl.Swish()], 'silu': lambda: [tl.Swish()],
    'gelu': lambda: [tl.Gelu()],  # Keras' default is the exact (erf) form, as trax Gelu.
    'exponential': lambda: [tl.Exp()], 'leaky_relu': lambda: [tl.LeakyRelu(0.2)],
    'hard_tanh': lambda: [tl.HardTanh()], 'glu': lambda: [tl.Glu()],
}


def activation(name: Any) -> list:
  """Trax layers computing the Keras activation `name` (as in a layer's config)."""
  if isinstance(name, str) and name in _ACTIVATIONS:
    return _ACTIVATIONS[name]()
  raise Unsupported(f'activation {name!r} has no exact trax layer (supported: '
                    f'{", ".join(sorted(_ACTIVATIONS))})')


def numpy(variable: Any) -> np.ndarray:
  import keras  # pylint: disable=g-import-not-at-top
  return np.asarray(keras.ops.convert_to_numpy(variable))


def _require(config: dict, **expected: Any) -> None:
  for key, value in expected.items():
    if key in config and config[key] != value:
      raise Unsupported(f'{key}={config[key]!r} (only {value!r} maps exactly)')


def dense(layer, call: Call) -> Mapped:
  config = layer.get_config()
  if getattr(layer, 'lora_rank', None):
    raise Unsupported('LoRA weights')
  weights = [numpy(layer.kernel)] + ([numpy(layer.bias)] if config['use_bias'] else [])
  return Mapped([tl.Dense(config['units'], use_bias=config['use_bias']),
                 *activation(config['activation'])], weights)


def embedding(layer, call: Call) -> Mapped:
  config = layer.get_config()
  _require(config, mask_zero=False)
  return Mapped([tl.Embedding(config['input_dim'], config['output_dim'])],
                [numpy(layer.embeddings)])


def conv(layer, call: Call) -> Mapped:
  config = layer.get_config()
  _require(config, data_format='channels_last', groups=1)
  n = len(config['kernel_size'])
  if tuple(config['dilation_rate']) != (1,) * n:
    raise Unsupported(f'dilation_rate={config["dilation_rate"]}')
  filters, kernel, strides = config['filters'], tuple(config['kernel_size']), tuple(
      config['strides'])
  use_bias = config['use_bias']
  if config['padding'] == 'causal':
    if strides != (1,):
      raise Unsupported('causal padding with strides')
    trax_conv = tl.CausalConv(filters, kernel_width=kernel[0], use_bias=use_bias)
  elif n == 1:
    trax_conv = tl.Conv1d(filters, kernel[0], stride=strides[0],
                          padding=config['padding'].upper(), use_bias=use_bias)
  else:
    trax_conv = tl.Conv(filters, kernel, strides=strides, padding=config['padding'].upper(),
                        use_bias=use_bias)
  weights = [numpy(layer.kernel)] + ([numpy(layer.bias)] if use_bias else [])
  return Mapped([trax_conv, *activation(config['activation'])], weights)


def pooling(kind: Callable) -> Callable:
  def mapping(layer, call: Call) -> Mapped:
    config = layer.get_config()
    _require(config, data_format='channels_last')
    pool_size = tuple(config['pool_size'])
    strides = tuple(config['strides'] or pool_size)
    return Mapped([kind(pool_size, strides=strides, padding=config['padding'].upper())])
  return mapping


def global_pooling(kind: Callable) -> Callable:
  def mapping(layer, call: Call) -> Mapped:
    config = layer.get_config()
    _require(config, data_format='channels_last')
    rank = len(call.input_shapes[0])
    return Mapped([kind(axis=tuple(range(1, rank - 1)), keepdims=config['keepdims'])])
  return mapping


def flatten(layer, call: Call) -> Mapped:
  _require(layer.get_config(), data_format='channels_last')
  return Mapped([tl.Flatten()])


def dropout(layer, call: Call) -> Mapped:
  if call.mode != 'train':
    return Mapped([])  # Dropout is the identity in inference.
  config = layer.get_config()
  if config.get('noise_shape') is not None:
    raise Unsupported('noise_shape in train mode')
  return Mapped([tl.Dropout(config['rate'], mode='train')])


def identity(layer, call: Call) -> Mapped:
  return Mapped([])


def activation_layer(layer, call: Call) -> Mapped:
  return Mapped(activation(layer.get_config()['activation']))


def relu(layer, call: Call) -> Mapped:
  config = layer.get_config()
  if config.get('max_value') is not None or config.get('threshold', 0.) != 0.:
    raise Unsupported('max_value or threshold')
  slope = config.get('negative_slope', 0.)
  return Mapped([tl.LeakyRelu(slope) if slope else tl.Relu()])


def leaky_relu(layer, call: Call) -> Mapped:
  return Mapped([tl.LeakyRelu(layer.get_config()['negative_slope'])])


def elu(layer, call: Call) -> Mapped:
  return Mapped([tl.Elu(layer.get_config()['alpha'])])


def softmax(layer, call: Call) -> Mapped:
  axis = layer.get_config()['axis']
  if not isinstance(axis, int):
    if len(axis) != 1:
      raise Unsupported(f'softmax over several axes {axis}')
    axis = axis[0]
  return Mapped([tl.Softmax(axis=axis)])


def layer_norm(layer, call: Call) -> Mapped:
  config = layer.get_config()
  if config.get('rms_scaling'):
    raise Unsupported('rms_scaling=True (deprecated in Keras: it divides by the standard '
                      'deviation without centering, which no trax layer computes; use '
                      'RMSNormalization)')
  _check_last_axis(config['axis'], call)
  d = call.input_shapes[0][-1]
  gamma = numpy(layer.gamma) if config['scale'] else np.ones(d, np.float32)
  beta = numpy(layer.beta) if config['center'] else np.zeros(d, np.float32)
  return Mapped([tl.LayerNorm(epsilon=config['epsilon'])], [gamma, beta])


def rms_norm(layer, call: Call) -> Mapped:
  config = layer.get_config()
  _check_last_axis(config['axis'], call)
  scale = numpy(layer.scale)
  return Mapped([tl.LayerNorm(center=False, epsilon=config['epsilon'])],
                [scale, np.zeros_like(scale)])


def _check_last_axis(axis: Any, call: Call) -> None:
  rank = len(call.input_shapes[0])
  axes = [a % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
  if axes != [rank - 1]:
    raise Unsupported(f'axis={axis} (trax normalizes the last axis only)')


BATCH_NORM_COUNT = 2**30


def batch_norm(layer, call: Call) -> Mapped:
  config = layer.get_config()
  if config.get('renorm') or config.get('synchronized'):
    raise Unsupported('renorm or synchronized batch normalization')
  momentum = config['momentum']
  if np.power(np.float32(momentum), BATCH_NORM_COUNT) != 0.:
    raise Unsupported(f'momentum={momentum} (too close to 1 for an exact mapping)')
  shape = call.input_shapes[0]
  rank = len(shape)
  axis = config['axis']
  kept = {a % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])}
  normalized = tuple(i for i in range(rank) if i not in kept)
  stats_shape = tuple(1 if i in normalized else shape[i] for i in range(rank))
  weights = ([numpy(layer.beta)] if config['center'] else []) + (
      [numpy(layer.gamma)] if config['scale'] else [])
  state = [numpy(layer.moving_mean).reshape(stats_shape),
           numpy(layer.moving_variance).reshape(stats_shape),
           np.asarray(BATCH_NORM_COUNT, np.int32)]
  norm = tl.BatchNorm(axis=normalized, epsilon=config['epsilon'], center=config['center'],
                      scale=config['scale'], momentum=momentum, mode=call.mode)
  return Mapped([norm], weights, state)


def merge(kind: Callable, reverse: bool = False) -> Callable:
  """Add/Multiply of n inputs as n-1 binary layers; Subtract needs its operands swapped."""
  def mapping(layer, call: Call) -> Mapped:
    n = len(call.tensors)
    inputs = call.tensors[::-1] if reverse else call.tensors
    return Mapped([kind() for _ in range(n - 1)], inputs=inputs)
  return mapping


def concatenate(layer, call: Call) -> Mapped:
  return Mapped([tl.Concatenate(n_items=len(call.tensors),
                                axis=layer.get_config()['axis'])])


def table() -> dict:
  """`{Keras layer class: mapping}` (exact classes: a subclass may compute otherwise)."""
  import keras  # pylint: disable=g-import-not-at-top
  from converters import keras_recurrent  # pylint: disable=g-import-not-at-top
  layers = keras.layers
  mappings = {
      layers.Dense: dense, layers.Embedding: embedding,
      layers.Conv1D: conv, layers.Conv2D: conv,
      layers.MaxPooling1D: pooling(tl.MaxPool), layers.MaxPooling2D: pooling(tl.MaxPool),
      layers.AveragePooling1D: pooling(tl.AvgPool),
      layers.AveragePooling2D: pooling(tl.AvgPool),
      layers.GlobalAveragePooling1D: global_pooling(tl.Mean),
      layers.GlobalAveragePooling2D: global_pooling(tl.Mean),
      layers.GlobalMaxPooling1D: global_pooling(tl.Max),
      layers.GlobalMaxPooling2D: global_pooling(tl.Max),
      layers.Flatten: flatten, layers.Dropout: dropout, layers.Identity: identity,
      layers.Activation: activation_layer, layers.ReLU: relu,
      layers.LeakyReLU: leaky_relu, layers.ELU: elu, layers.Softmax: softmax,
      layers.LayerNormalization: layer_norm, layers.BatchNormalization: batch_norm,
      layers.Add: merge(tl.Add), layers.Multiply: merge(tl.Multiply),
      layers.Subtract: merge(tl.SubtractTop, reverse=True),
      layers.Concatenate: concatenate,
      **keras_recurrent.table(),
  }
  if hasattr(layers, 'RMSNormalization'):
    mappings[layers.RMSNormalization] = rms_norm
  return mappings
