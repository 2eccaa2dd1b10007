"""`to_keras`: a trax model as a native Keras model, or else one wrapping `TraxLayer`.

When every layer of the trax model has an exact Keras counterpart, the result is made of
Keras' own layers only: its `.keras` file loads and runs with neither JAX nor trax
installed. The trax model is run symbolically on Keras tensors: combinators (`Serial`,
`Parallel`, `Branch`, `Residual`, `Select`, ...) move Keras tensors on a stack as they
would arrays, and each leaf layer becomes a Keras layer with its weights. Mappings are the
inverses of `from_keras`' (see `keras_mappings`), with two more steps:

- BatchNorm: trax's eval statistics are the debiased running averages (see
  `tl.BatchNorm`); they become the Keras layer's moving mean and variance.
- GRU: trax's cell is Keras' `GRU(reset_after=False)`.

Layers without a Keras counterpart (positional encodings, attention, ...) make the whole
model a `trax_keras.to_keras_model` (one `TraxLayer`), or an error with
`allow_wrapping=False`. A leaf layer is recognized by the registered trax factory or class
that built it (the record `config()` is made from).
"""

import inspect
import logging
from typing import Any, Callable

import numpy as np

from trax import fastmath
import trax.layers as tl
from converters import signatures
from converters.errors import UnsupportedLayerError

log = logging.getLogger('converters')

_ACTIVATIONS = {'Relu': 'relu', 'Sigmoid': 'sigmoid', 'Tanh': 'tanh', 'Gelu': 'gelu',
                'Selu': 'selu', 'Softplus': 'softplus', 'Swish': 'silu', 'Exp': 'exponential',
                'HardTanh': 'hard_tanh', 'Glu': 'glu'}


class _Unmapped(Exception):
  pass


def to_keras(layer: tl.Layer, input_signature: Any, *, allow_wrapping: bool = True,
             name: 'str | None' = None) -> Any:
  """A Keras model computing `layer` (in eval mode) with its weights.

  >>> model = to_keras(trained_mlp, ShapeDtype((None, 4)))
  >>> model.save('mlp.keras')  # loads without trax or JAX if every layer mapped

  Args:
    layer: the trax layer (initialized or not; uninitialized layers are initialized).
    input_signature: `ShapeDtype` (or tuple of them, one per input), batch dimension
      included; `None` for dynamic dimensions.
    allow_wrapping: when some layer has no Keras counterpart, return a model wrapping
      the whole trax layer in `trax_keras.TraxLayer` instead of raising.
    name: the Keras model's name (default: the trax layer's).

  Returns:
    A `keras.Model`: native Keras layers, or one `TraxLayer`.

  Raises:
    UnsupportedLayerError: with `allow_wrapping=False`, naming the layers that do not map.
  """
  import keras  # pylint: disable=g-import-not-at-top
  flat_signature = signatures.with_dynamic_batch(signatures.leaves(input_signature))
  if not layer.has_weights and not layer.state:
    layer.init(signatures.structure(
        signatures.concrete(flat_signature, *signatures.PROBE_SIZE), layer.n_in))
  names = signatures.input_names(flat_signature, None)
  inputs = [keras.Input(shape=s.shape[1:], dtype=np.dtype(s.dtype).name, name=n)
            for s, n in zip(flat_signature, names)]
  builder = _Builder()
  stack = builder.apply(layer, list(inputs))
  model_name = name or _model_name(layer)
  if not builder.unmapped:
    outputs = stack[0] if layer.n_out == 1 else stack[:layer.n_out]
    model = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=model_name)
    for keras_layer, values in builder.weights:
      keras_layer.set_weights(values)
    return model
  listing = '; '.join(f'{path} ({why})' for path, why in builder.unmapped)
  if not allow_wrapping:
    raise UnsupportedLayerError(
        f'{layer.name} has layers without a native Keras counterpart: {listing}. Pass '
        'allow_wrapping=True for a model wrapping trax_keras.TraxLayer.',
        [(path, why) for path, why in builder.unmapped])
  log.info('to_keras: wrapping %s in a TraxLayer; no native Keras layer for: %s',
           layer.name, listing)
  from trax_keras import to_keras_model  # pylint: disable=g-import-not-at-top
  signature = flat_signature[0] if len(flat_signature) == 1 else tuple(flat_signature)
  return to_keras_model(layer, signature, name=model_name)


def _model_name(layer: tl.Layer) -> str:
  from trax_keras import paths  # pylint: disable=g-import-not-at-top
  return paths.layer_name(layer)


class _Builder:
  """Runs a trax layer tree on Keras tensors, collecting Keras layers and weights."""

  def __init__(self):
    self.unmapped: list[tuple[str, str]] = []
    self.weights: list[tuple[Any, list]] = []  # (Keras layer, values), set once built
    self._shared: dict[int, Any] = {}

  def apply(self, layer: tl.Layer, stack: list, path: str = '') -> list:
    path = f'{path}/{layer.name}' if path else layer.name
    factory, arguments = _record(layer)
    mapping = _LEAVES.get(factory)
    if mapping is None and isinstance(layer, tl.Serial):
      for i, sublayer in enumerate(layer.sublayers):
        stack = self.apply(sublayer, stack, f'{path}/{i}')
      return stack
    if mapping is None and isinstance(layer, tl.Parallel):
      outputs, start = [], 0
      for i, sublayer in enumerate(layer.sublayers):
        part = stack[start:start + sublayer.n_in]
        outputs += self.apply(sublayer, part, f'{path}/{i}')[:sublayer.n_out]
        start += sublayer.n_in
      return outputs + stack[start:]
    inputs, rest = stack[:layer.n_in], stack[layer.n_in:]
    try:
      if mapping is None:
        raise _Unmapped(f'no Keras counterpart for {factory or type(layer).__name__}')
      outputs = mapping(self, layer, arguments, inputs)
    except _Unmapped as e:
      self.unmapped.append((path, str(e)))
      return inputs[:1] * layer.n_out + rest  # Placeholders: keep the walk going.
    return list(outputs) + rest

  def keras_layer(self, layer: tl.Layer, make: Callable, values: list) -> Any:
    """The Keras layer for `layer` (one per trax instance: sharing is kept)."""
    if id(layer) not in self._shared:
      keras_layer = make()
      self._shared[id(layer)] = keras_layer
      self.weights.append((keras_layer, [np.asarray(v) for v in values]))
    return self._shared[id(layer)]


def _record(layer: tl.Layer) -> tuple['str | None', dict]:
  """Name of the trax factory or class that built `layer`, and its bound arguments."""
  record = getattr(layer, '_build_record', None)  # What config() describes.
  if record is None:
    return None, {}
  factory, args, kwargs = record
  if not getattr(factory, '__module__', '').startswith('trax.'):
    return None, {}
  try:
    bound = inspect.signature(factory).bind(*args, **kwargs)
  except (TypeError, ValueError):
    return None, {}
  bound.apply_defaults()
  return factory.__name__, dict(bound.arguments)


def _keras():
  import keras  # pylint: disable=g-import-not-at-top
  return keras


def _dense(builder, layer, arguments, inputs):
  if arguments['use_bfloat16']:
    raise _Unmapped('bfloat16 weights')
  values = list(layer.weights) if arguments['use_bias'] else [layer.weights]
  dense = builder.keras_layer(layer, lambda: _keras().layers.Dense(
      arguments['n_units'], use_bias=arguments['use_bias']), values)
  return [dense(inputs[0])]


def _embedding(builder, layer, arguments, inputs):
  if arguments['use_bfloat16']:
    raise _Unmapped('bfloat16 weights')
  embedding = builder.keras_layer(layer, lambda: _keras().layers.Embedding(
      arguments['vocab_size'], arguments['d_feature']), [layer.weights])
  return [embedding(inputs[0])]


def _conv(builder, layer, arguments, inputs):
  factory = type(layer).__name__
  if factory == 'CausalConv':
    kernel, strides, padding = (arguments['kernel_width'],), (1,), 'causal'
  elif 'dimension_numbers' not in arguments:  # Conv1d
    kernel, strides = (arguments['kernel_size'],), (arguments['stride'],)
    padding = arguments['padding'].lower()
  else:
    if tuple(arguments['dimension_numbers']) not in (('NHWC', 'HWIO', 'NHWC'),
                                                     ('NWC', 'WIO', 'NWC')):
      raise _Unmapped(f'layout {arguments["dimension_numbers"]}')
    kernel = tuple(arguments['kernel_size'])
    strides = tuple(arguments['strides'] or (1,) * len(kernel))
    padding = arguments['padding'].lower()
  if len(inputs[0].shape) != len(kernel) + 2:
    raise _Unmapped('extra batch axes')
  use_bias = arguments['use_bias']
  values = list(layer.weights) if use_bias else [layer.weights]
  conv_class = {1: 'Conv1D', 2: 'Conv2D', 3: 'Conv3D'}[len(kernel)]
  conv = builder.keras_layer(layer, lambda: getattr(_keras().layers, conv_class)(
      values[0].shape[-1], kernel, strides=strides, padding=padding, use_bias=use_bias),
      values)
  return [conv(inputs[0])]


def _pooling(kind: str) -> Callable:
  def mapping(builder, layer, arguments, inputs):
    pool_size = tuple(arguments['pool_size'])
    strides = tuple(arguments['strides'] or (1,) * len(pool_size))
    class_name = f'{kind}{len(pool_size)}D'
    pool = builder.keras_layer(layer, lambda: getattr(_keras().layers, class_name)(
        pool_size, strides=strides, padding=arguments['padding'].lower()), [])
    return [pool(inputs[0])]
  return mapping


def _global_pooling(kind: str) -> Callable:
  def mapping(builder, layer, arguments, inputs):
    rank = len(inputs[0].shape)
    axis = arguments['axis']
    axes = tuple(a % rank for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if rank not in (3, 4) or axes != tuple(range(1, rank - 1)):
      raise _Unmapped(f'{kind} over axis {axis} of rank-{rank} inputs')
    class_name = f'Global{kind}Pooling{rank - 2}D'
    pool = builder.keras_layer(layer, lambda: getattr(_keras().layers, class_name)(
        keepdims=arguments['keepdims']), [])
    return [pool(inputs[0])]
  return mapping


def _layer_norm(builder, layer, arguments, inputs):
  scale, bias = layer.weights
  if arguments['center']:
    make = lambda: _keras().layers.LayerNormalization(epsilon=arguments['epsilon'])
    values = [scale, bias]
  else:
    make = lambda: _keras().layers.RMSNormalization(epsilon=arguments['epsilon'])
    values = [scale]
  return [builder.keras_layer(layer, make, values)(inputs[0])]


def _batch_norm(builder, layer, arguments, inputs):
  rank = len(inputs[0].shape)
  normalized = {a % rank for a in (arguments['axis'] if isinstance(
      arguments['axis'], (tuple, list)) else (arguments['axis'],))}
  kept = [i for i in range(rank) if i not in normalized]
  beta, gamma = layer.weights
  running_mean, running_var, n_batches = (np.asarray(s) for s in layer.state)
  momentum = np.float32(arguments['momentum'])
  start = np.power(momentum, n_batches) if n_batches > 0 else np.float32(0.)
  mean = running_mean / (1. - start)  # As trax's eval mode debiases them.
  var = np.maximum((running_var - start) / (1. - start), 0.)
  params_shape = tuple(inputs[0].shape[i] for i in kept)
  values = ([np.asarray(gamma)] if arguments['scale'] else []) + (
      [np.asarray(beta)] if arguments['center'] else []) + [
          mean.reshape(params_shape), var.reshape(params_shape)]
  norm = builder.keras_layer(layer, lambda: _keras().layers.BatchNormalization(
      axis=kept if len(kept) > 1 else kept[0], momentum=float(momentum),
      epsilon=arguments['epsilon'], center=arguments['center'],
      scale=arguments['scale']), values)
  return [norm(inputs[0])]


def _simple(make: Callable[[dict], Any]) -> Callable:
  """A weightless one-input Keras layer made from the trax layer's arguments."""
  def mapping(builder, layer, arguments, inputs):
    return [builder.keras_layer(layer, lambda: make(arguments), [])(inputs[0])]
  return mapping


def _merge(class_name: str, reverse: bool = False) -> Callable:
  def mapping(builder, layer, arguments, inputs):
    merge = builder.keras_layer(layer, lambda: getattr(_keras().layers, class_name)(), [])
    return [merge(inputs[::-1] if reverse else inputs)]
  return mapping


def _concatenate(builder, layer, arguments, inputs):
  concatenate = builder.keras_layer(layer, lambda: _keras().layers.Concatenate(
      axis=arguments['axis']), [])
  return [concatenate(list(inputs))]


def _select(builder, layer, arguments, inputs):
  return [inputs[i] for i in arguments['indices']]


def _dropout(builder, layer, arguments, inputs):
  shared = set(arguments['shared_axes'] or ())
  rank = len(inputs[0].shape)
  noise = None if not shared else tuple(
      1 if (i in shared or i - rank in shared) else None for i in range(rank))
  dropout = builder.keras_layer(layer, lambda: _keras().layers.Dropout(
      arguments['rate'], noise_shape=noise), [])
  return [dropout(inputs[0])]


def _lstm(builder, layer, arguments, inputs):
  if arguments['return_state'] or arguments['initial_state']:
    raise _Unmapped('return_state or initial_state')
  w, b = _only_weights(layer)
  n, d_in = arguments['n_units'], inputs[0].shape[-1]
  order = np.concatenate([np.arange(n) + block * n for block in (0, 2, 1, 3)])
  w, b = np.asarray(w)[:, order], np.asarray(b)[order]  # The permutation is its inverse.
  lstm = builder.keras_layer(layer, lambda: _keras().layers.LSTM(
      n, return_sequences=True), [w[:d_in], w[d_in:], b])
  return [lstm(inputs[0])]


def _gru(builder, layer, arguments, inputs):
  w1, b1, w2, b2 = (np.asarray(w) for w in _only_weights(layer))
  n, d_in = arguments['n_units'], inputs[0].shape[-1]
  kernel = np.concatenate([w1[:d_in], w2[:d_in]], axis=1)
  recurrent = np.concatenate([w1[d_in:], w2[d_in:]], axis=1)
  gru = builder.keras_layer(layer, lambda: _keras().layers.GRU(
      n, reset_after=False, return_sequences=True), [kernel, recurrent,
                                                     np.concatenate([b1, b2])])
  return [gru(inputs[0])]


def _only_weights(layer: tl.Layer) -> list:
  return fastmath.tree_flatten(layer.weights)


def _flatten(builder, layer, arguments, inputs):
  if arguments['n_axes_to_keep'] != 1:
    raise _Unmapped(f'Flatten keeping {arguments["n_axes_to_keep"]} axes')
  return [builder.keras_layer(layer, lambda: _keras().layers.Flatten(), [])(inputs[0])]


def _log_softmax(builder, layer, arguments, inputs):
  if arguments['axis'] not in (-1, len(inputs[0].shape) - 1):
    raise _Unmapped(f'LogSoftmax over axis {arguments["axis"]}')
  return [builder.keras_layer(layer, lambda: _keras().layers.Activation('log_softmax'),
                              [])(inputs[0])]


def _activation(name: str) -> Callable:
  return _simple(lambda arguments: _keras().layers.Activation(name))


_LEAVES: dict[str, Callable] = {
    'Dense': _dense, 'Embedding': _embedding, 'Conv': _conv, 'Conv1d': _conv,
    'CausalConv': _conv, 'MaxPool': _pooling('MaxPooling'),
    'AvgPool': _pooling('AveragePooling'), 'Mean': _global_pooling('Average'),
    'Max': _global_pooling('Max'), 'LayerNorm': _layer_norm, 'BatchNorm': _batch_norm,
    'Flatten': _flatten,
    'Dropout': _dropout,
    'LeakyRelu': _simple(lambda a: _keras().layers.LeakyReLU(negative_slope=a['a'])),
    'Elu': _simple(lambda a: _keras().layers.ELU(alpha=a['a'])),
    'Softmax': _simple(lambda a: _keras().layers.Softmax(axis=a['axis'])),
    'LogSoftmax': _log_softmax,
    **{name: _activation(keras_name) for name, keras_name in _ACTIVATIONS.items()},
    'Add': _merge('Add'), 'Multiply': _merge('Multiply'),
    'SubtractTop': _merge('Subtract', reverse=True), 'Concatenate': _concatenate,
    'Select': _select, 'Dup': lambda b, l, a, x: [x[0], x[0]],
    'Drop': lambda b, l, a, x: [], 'Swap': lambda b, l, a, x: [x[1], x[0]],
    'LSTM': _lstm, 'GRU': _gru,
}
