"""Keras LSTM, GRU and SimpleRNN as trax's `RNN` over a cell, weights rearranged exactly.

All run as trax's `RNN` (masks, `go_backwards`, `return_sequences`, `return_state`,
`initial_state` with Keras' semantics). Cells:

- LSTM: Keras orders the gate columns of `kernel`, `recurrent_kernel` and `bias` as
  (input, forget, candidate, output); trax's `LSTMCell` as (input `i`, candidate `j`,
  forget `f`, output `o`) and stacks the input and recurrent kernels into one `w`. So
  `w = [kernel; recurrent_kernel]` with column blocks reordered (0, 2, 1, 3). trax's
  state is `[c, h]` in one array, Keras' the list `[h, c]`: initial and returned states
  are rearranged. Only the standard activations (tanh, sigmoid) map.
- GRU: Keras' update gate `z` is trax's `u` (gate columns z, r, h). With
  `reset_after=False` the cell is trax's `GRUCell`; with Keras' default `reset_after=True`
  it is `ResetAfterGRUCell`.
- SimpleRNN: `SimpleRNNCell` with `w = [kernel; recurrent_kernel]`, any activation.

Dropout and recurrent dropout act in training only; 'train' mode refuses them, as it
refuses `stateful` layers.
"""

from typing import Any

import numpy as np

import trax.layers as tl
from converters.keras_mappings.activations import activation
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported


_CELLS = {'LSTMCell': 'LSTM', 'GRUCell': 'GRU', 'SimpleRNNCell': 'SimpleRNN'}


def cell(layer: Any, mode: str) -> tuple[tl.Layer, int, list, bool]:
  """`(trax cell, state depth, weights, state is LSTM's [c, h])` of a Keras RNN layer."""
  if layer.get_config().get('stateful'):
    raise Unsupported('stateful=True')
  keras_cell = layer.cell
  kind = _CELLS.get(type(keras_cell).__name__)
  if kind is None or not type(keras_cell).__module__.startswith('keras.'):
    raise Unsupported(
      f'cell {type(keras_cell).__name__} (built-in LSTM, GRU and SimpleRNN cells map)'
    )
  config = keras_cell.get_config()
  if mode == 'train' and (config.get('dropout') or config.get('recurrent_dropout')):
    raise Unsupported('dropout or recurrent_dropout in train mode')
  n = config['units']
  kernel, recurrent = numpy(keras_cell.kernel), numpy(keras_cell.recurrent_kernel)
  if kind in ('LSTM', 'GRU'):
    for key, value in (('activation', 'tanh'), ('recurrent_activation', 'sigmoid')):
      if config.get(key, value) != value:
        raise Unsupported(f'{key}={config[key]!r} (only {value!r} maps exactly)')
  if kind == 'LSTM':
    bias = numpy(keras_cell.bias) if config['use_bias'] else np.zeros(4 * n, kernel.dtype)
    order = np.concatenate([np.arange(n) + block * n for block in (0, 2, 1, 3)])
    w = np.concatenate([kernel, recurrent], axis=0)[:, order]
    return tl.LSTMCell(n), 2 * n, [w, bias[order]], True
  if kind == 'GRU':
    reset_after = config['reset_after']
    if config['use_bias']:
      bias = numpy(keras_cell.bias)
    else:
      bias = np.zeros((2, 3 * n) if reset_after else (3 * n,), kernel.dtype)
    if reset_after:
      return tl.ResetAfterGRUCell(n), n, [kernel, bias[0], recurrent, bias[1]], False
    w = np.concatenate([kernel, recurrent], axis=0)
    return tl.GRUCell(n), n, [w[:, : 2 * n], bias[: 2 * n], w[:, 2 * n :], bias[2 * n :]], False
  if kind == 'SimpleRNN':
    bias = numpy(keras_cell.bias) if config['use_bias'] else np.zeros(n, kernel.dtype)
    simple = tl.SimpleRNNCell(n, tl.Serial(activation(config['activation'])))
    return simple, n, [np.concatenate([kernel, recurrent], axis=0), bias], False
  raise AssertionError(kind)


def rnn_layers(
  layer: Any, call: Call, go_backwards: bool, zero_output_for_mask: bool, initial_state: list
) -> tuple[list, list, list]:
  """`(trax layers, weights, stack inputs)` for one Keras RNN layer called as `call`.

  Stack in: sequences, [mask], [initial state tensors, Keras' order]. Stack out: the
  output, then (with `return_state`) the final states in Keras' order.
  """
  config = layer.get_config()
  trax_cell, depth, weights, lstm_state = cell(layer, call.mode)
  units = layer.cell.get_config()['units']
  mask = call.kwargs.get('mask')
  mask = mask[0] if isinstance(mask, (list, tuple)) else mask
  n_before = 2 if mask is not None else 1
  layers = []
  if initial_state and lstm_state:  # Keras' h, c -> trax's [c, h].
    layers.append(tl.Parallel(*[None] * n_before, [tl.Swap(), tl.Concatenate()]))
  layers.append(
    tl.RNN(
      trax_cell,
      units,
      depth,
      return_sequences=config['return_sequences'],
      return_state=config['return_state'],
      go_backwards=go_backwards,
      masked=mask is not None,
      zero_output_for_mask=zero_output_for_mask,
      initial_state=bool(initial_state),
      mode=call.mode,
    )
  )
  if config['return_state'] and lstm_state:  # trax's [c, h] -> Keras' h, c.
    layers += [tl.Parallel(None, tl.Split(2)), tl.Parallel(None, tl.Swap())]
  inputs = [call.data[0]] + ([mask] if mask is not None else []) + list(initial_state)
  return layers, weights, inputs


def recurrent(layer, call: Call) -> Mapped:
  """Masks, go_backwards, return_sequences, return_state, initial_state; LSTM and GRU
  with the standard activations; built-in cells; not stateful."""
  initial_state = initial_state_of(call)
  config = layer.get_config()
  layers, weights, inputs = rnn_layers(
    layer, call, config['go_backwards'], layer.zero_output_for_mask, initial_state
  )
  return Mapped(layers, weights, inputs=inputs)


def initial_state_of(call: Call) -> list:
  """The initial-state tensors a recurrent layer's call was given (none: `[]`)."""
  state = call.argument(1, 'initial_state')
  if state is None:
    return []
  return list(state) if isinstance(state, (list, tuple)) else [state]


def table() -> dict:
  import keras

  layers = keras.layers
  return {
    layers.LSTM: recurrent,
    layers.GRU: recurrent,
    layers.SimpleRNN: recurrent,
    layers.RNN: recurrent,
  }
