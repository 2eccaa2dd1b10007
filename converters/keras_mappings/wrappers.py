"""Keras wrappers: Bidirectional (over LSTM, GRU, SimpleRNN) and TimeDistributed.

- Bidirectional: the forward layer, and the backward one (its own weights, `go_backwards`)
  on copies of the inputs; with `return_sequences` the backward outputs are flipped back
  in time; then merged ('concat', 'sum', 'ave', 'mul', or both kept for None). With a
  mask, Keras outputs zeros at masked steps of the sequences (`zero_output_for_mask`).
  States come after the output, the forward layer's first.
- TimeDistributed: the inner layer maps as it would on inputs without axis 1, and runs
  with the batch and time axes folded into one (`BatchLeadingAxes`).
"""

import trax.layers as tl
from converters.keras_mappings import recurrent
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import takes_mask
from converters.keras_mappings.base import Unsupported

_MERGES = {
  'concat': lambda: tl.Concatenate(axis=-1),
  'sum': tl.Add,
  'mul': tl.Multiply,
  'ave': lambda: tl.Average(2),
}


def bidirectional(layer, call: Call) -> Mapped:
  """Over LSTM, GRU or SimpleRNN; any merge_mode; masks; not initial_state."""
  if recurrent.initial_state_of(call):
    raise Unsupported('initial_state')
  forward, backward = layer.forward_layer, layer.backward_layer
  sequences = forward.get_config()['return_sequences']
  f_layers, f_weights, inputs = recurrent.rnn_layers(
    forward, call, forward.get_config()['go_backwards'], sequences, []
  )
  b_layers, b_weights, _ = recurrent.rnn_layers(
    backward, call, backward.get_config()['go_backwards'], sequences, []
  )
  n_states = len(call.outputs) - (2 if layer.merge_mode is None else 1)
  n_each = n_states // 2
  if sequences:
    b_layers.append(tl.Parallel(tl.Flip(1)))
  layers = [tl.Branch(tl.Serial(f_layers), tl.Serial(b_layers))]
  # y_f s_f... y_b s_b...  ->  y_f y_b s_f... s_b...
  order = [0, 1 + n_each] + list(range(1, 1 + n_each)) + list(range(2 + n_each, 2 + 2 * n_each))
  if n_each:
    layers.append(tl.Select(order, n_in=len(order)))
  if layer.merge_mode is not None:
    if layer.merge_mode not in _MERGES:
      raise Unsupported(f'merge_mode={layer.merge_mode!r}')
    layers.append(_MERGES[layer.merge_mode]())
  return Mapped(layers, f_weights + b_weights, inputs=inputs)


def time_distributed(layer, call: Call) -> Mapped:
  """Over any layer that maps exactly on one input without a mask."""
  import keras

  if call.kwargs.get('mask') is not None and takes_mask(layer.layer):
    raise Unsupported('a mask for the inner layer')
  (x,) = call.data
  if len(x.shape) < 3:
    raise Unsupported(f'input of rank {len(x.shape)} (needs batch, time and features)')
  if call.convert is None:
    raise ValueError(
      f'{layer.name}: mapping TimeDistributed needs Call.convert to map its inner layer.'
    )
  step = keras.KerasTensor((x.shape[0], *x.shape[2:]), dtype=x.dtype)
  step_output = keras.KerasTensor(
    (x.shape[0], *call.outputs[0].shape[2:]), dtype=call.outputs[0].dtype
  )
  inner = call.convert(
    layer.layer, Call((step,), {}, [step], [step_output], call.mode, call.convert)
  )
  if inner.inputs is not None and [id(t) for t in inner.inputs] != [id(step)]:
    raise Unsupported(f'inner layer {layer.layer.name} takes other inputs than the steps')
  folded = tl.BatchLeadingAxes(tl.Serial(inner.layers), n_last_axes_to_keep=len(x.shape) - 2)
  return Mapped([folded], inner.weights, inner.state, inputs=[x])


def table() -> dict:
  import keras

  layers = keras.layers
  return {layers.Bidirectional: bidirectional, layers.TimeDistributed: time_distributed}
