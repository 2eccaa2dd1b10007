"""Keras LSTM, GRU and MultiHeadAttention as trax layers, weights rearranged exactly.

- LSTM: Keras orders the gate columns of `kernel`, `recurrent_kernel` and `bias` as
  (input, forget, candidate, output); trax's `LSTMCell` as (input `i`, candidate `j`,
  forget `f`, output `o`) and stacks the input and recurrent kernels into one `w`. So
  `w = [kernel; recurrent_kernel]` with column blocks reordered (0, 2, 1, 3). Only the
  standard activations (tanh, sigmoid) map. `return_sequences=False` takes `h` from the
  final state `[c, h]`.
- GRU: Keras' update gate `z` is trax's `u` (gate columns z, r, h). With
  `reset_after=False` the candidate is `tanh(x W_h + (r * h) U_h + b_h)`, exactly trax's
  `GRUCell`. Keras' default `reset_after=True` computes `tanh(x W_h + b_in + r * (h U_h +
  b_rec))`, which no trax cell does; `KerasGRU` builds that cell from trax layers.
- MultiHeadAttention: the q/k/v kernels `(d, heads, key_dim)` flatten to trax's
  `(d, heads * key_dim)` (heads split the same way), the output kernel `(heads,
  value_dim, d_out)` to `(heads * value_dim, d_out)`; both scale queries by
  `1/sqrt(key_dim)`. Exact when `value_dim == key_dim` and the output width is
  `heads * key_dim`. Causal self-attention is trax's `CausalAttention`; other unmasked
  attention is `KerasAttention`. Attention masks, gates and sliding windows refuse.

`KerasGRU` and `KerasAttention` are registered factories (so `config()` describes models
that use them); rebuilding such a config needs `converters` imported.
"""

from typing import Any

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
import trax.layers as tl
from trax.layers import attention
from converters.keras_mappings import Call
from converters.keras_mappings import Mapped
from converters.keras_mappings import numpy
from converters.keras_mappings import Unsupported

# Layers built here say they were created where this module was called
# (trax.layers.errors.BUILDS_LAYERS_FOR_CALLER).
_TRAX_BUILDS_LAYERS_FOR_CALLER = True


def _zero_state(depth: int) -> tl.Layer:
  """Zeros `(batch, depth)` for inputs `(batch, length, d)`."""
  return tl.Fn('ZeroState', lambda x: jnp.zeros((fastmath.shape(x)[0], depth), x.dtype))


def _GRUResetAfterCell(n_units: int) -> tl.Layer:  # pylint: disable=invalid-name
  """`(x, h) -> (h', h')` of Keras' GRU with `reset_after=True`."""
  return tl.Serial(                                               # x h
      tl.Select([0, 1, 1]),                                       # x h h
      tl.Parallel(tl.Dense(3 * n_units), tl.Dense(3 * n_units)),  # gx gh h
      tl.Parallel(tl.Split(3), tl.Split(3)),                      # xz xr xh hz hr hh h
      tl.Select([0, 3, 1, 4, 2, 5, 6]),                           # xz hz xr hr xh hh h
      tl.Parallel([tl.Add(), tl.Sigmoid()], [tl.Add(), tl.Sigmoid()]),  # z r xh hh h
      tl.Select([0, 1, 3, 2, 4]),                                 # z r hh xh h
      tl.Parallel(None, [tl.Multiply(), tl.Add(), tl.Tanh()]),    # z candidate h
      tl.Select([2, 0, 1]),                                       # h z candidate
      tl.Gate(),                                                  # h' = z h + (1-z) cand
      tl.Dup(),                                                   # h' h'
      name='GRUResetAfterCell')


@tl.register
def KerasGRU(n_units: int, reset_after: bool = True, return_sequences: bool = False,
             mode: str = 'train') -> tl.Layer:
  """Keras' GRU over `(batch, length, d)` from a zero state.

  Weights: with `reset_after`, `(kernel, input bias)` and `(recurrent_kernel, recurrent
  bias)` as two `Dense(3 * n_units)`; else those of trax's `GRUCell`.

  Args:
    n_units: size of the state.
    reset_after: Keras' `reset_after` (see the module docstring).
    return_sequences: output every step `(batch, length, n_units)`, else the last.
    mode: 'train', 'eval' or 'predict'.
  """
  cell = _GRUResetAfterCell(n_units) if reset_after else tl.GRUCell(n_units)
  return tl.Serial(
      tl.Branch(None, _zero_state(n_units)),                     # x h0
      tl.Scan(cell, axis=1, mode=mode),                          # ys h_final
      tl.Select([0] if return_sequences else [1], n_in=2),
      name=f'KerasGRU_{n_units}')


@tl.register
def KerasAttention(n_heads: int, d_head: int, n_in: int = 1, mode: str = 'train'
                   ) -> tl.Layer:
  """Keras' unmasked multi-head attention: `query [value [key]] -> activations`.

  As Keras' `MultiHeadAttention(n_heads, d_head)` called on `(query, value, key)` (key
  defaults to value, value to query): projections to `n_heads * d_head`, scaled dot
  product attention per head, output projection. Weights: q, k, v, output `(w, b)`.

  Args:
    n_heads: number of heads.
    d_head: Keras' `key_dim` (and `value_dim`).
    n_in: 1 (self-attention), 2 (query, value) or 3 (query, value, key).
    mode: accepted for config compatibility (Keras' attention dropout is off in eval).
  """
  del mode
  if n_in not in (1, 2, 3):
    raise ValueError(f'KerasAttention takes 1 to 3 inputs, got n_in={n_in}.')
  d_feature = n_heads * d_head
  to_q_k_v = {1: [0, 0, 0], 2: [0, 1, 1], 3: [0, 2, 1]}[n_in]

  def attend(q, k, v):
    heads = [attention.split_heads(x, n_heads, merged_batch_and_head=False)
             for x in (q, k, v)]
    activations, _ = attention.DotProductAttention(*heads, None, 0., 'eval', None)
    return attention.merge_heads(activations, n_heads, merged_batch_and_head=False)
  return tl.Serial(
      tl.Select(to_q_k_v, n_in=n_in),                             # q k v
      tl.Parallel(tl.Dense(d_feature), tl.Dense(d_feature), tl.Dense(d_feature)),
      tl.Fn('DotProductAttention', attend),                       # (B, Tq, H*D)
      tl.Dense(d_feature),
      name='KerasAttention')


def lstm(layer, call: Call) -> Mapped:
  config = _recurrent_config(layer)
  n = config['units']
  kernel, recurrent = numpy(layer.cell.kernel), numpy(layer.cell.recurrent_kernel)
  bias = numpy(layer.cell.bias) if config['use_bias'] else np.zeros(4 * n, kernel.dtype)
  order = np.concatenate([np.arange(n) + block * n for block in (0, 2, 1, 3)])
  w = np.concatenate([kernel, recurrent], axis=0)[:, order]
  if config['return_sequences']:
    return Mapped([tl.LSTM(n, mode=call.mode)], [w, bias[order]])
  last_h = [tl.Select([1], n_in=2), tl.Split(2), tl.Select([1], n_in=2)]  # state -> h
  return Mapped([tl.LSTM(n, mode=call.mode, return_state=True), *last_h], [w, bias[order]])


def gru(layer, call: Call) -> Mapped:
  config = _recurrent_config(layer)
  n = config['units']
  kernel, recurrent = numpy(layer.cell.kernel), numpy(layer.cell.recurrent_kernel)
  reset_after = config['reset_after']
  if config['use_bias']:
    bias = numpy(layer.cell.bias)
  else:
    bias = np.zeros((2, 3 * n) if reset_after else (3 * n,), kernel.dtype)
  if reset_after:
    weights = [kernel, bias[0], recurrent, bias[1]]
  else:
    w = np.concatenate([kernel, recurrent], axis=0)
    weights = [w[:, :2 * n], bias[:2 * n], w[:, 2 * n:], bias[2 * n:]]
  return Mapped([KerasGRU(n, reset_after, config['return_sequences'], mode=call.mode)],
                weights)


def multi_head_attention(layer, call: Call) -> Mapped:
  config = layer.get_config()
  for key, value in (('use_gate', False), ('sliding_window', None)):
    if config.get(key, value) != value:
      raise Unsupported(f'{key}={config[key]!r}')
  if (call.kwargs.get('attention_mask') is not None
      or call.kwargs.get('return_attention_scores')):
    raise Unsupported('attention_mask or return_attention_scores')
  heads, d_head = config['num_heads'], config['key_dim']
  query = call.args[0] if call.args else call.kwargs['query']
  value = call.args[1] if len(call.args) > 1 else call.kwargs['value']
  key = call.args[2] if len(call.args) > 2 else call.kwargs.get('key')
  key = value if key is None else key
  output_width = config['output_shape'] or query.shape[-1]
  if (config['value_dim'] or d_head) != d_head or output_width != heads * d_head:
    raise Unsupported(f'value_dim {config["value_dim"]} or output width {output_width} '
                      f'differ from num_heads * key_dim = {heads * d_head}')
  if tuple(config['attention_axes'] or (1,)) != (1,) or len(query.shape) != 3:
    raise Unsupported('attention over axes other than 1 of (batch, length, d) inputs')
  flat = lambda variable, shape: numpy(variable).reshape(shape)
  use_bias = config['use_bias']
  weights = []
  for projection in (layer.query_dense, layer.key_dense, layer.value_dense):
    d_in = projection.kernel.shape[0]
    weights += [flat(projection.kernel, (d_in, heads * d_head)),
                flat(projection.bias, (heads * d_head,)) if use_bias else None]
  out = layer.output_dense
  weights += [flat(out.kernel, (heads * d_head, output_width)),
              numpy(out.bias) if use_bias else None]
  weights = _zero_biases(weights)
  causal = bool(call.kwargs.get('use_causal_mask'))
  if query is value and value is key:
    layer_ = (tl.CausalAttention(heads * d_head, n_heads=heads, mode=call.mode) if causal
              else KerasAttention(heads, d_head, 1, mode=call.mode))
    return Mapped([layer_], weights, inputs=[query])
  if causal:
    raise Unsupported('a causal mask in cross-attention')
  inputs = [query, value] if key is value else [query, value, key]
  return Mapped([KerasAttention(heads, d_head, len(inputs), mode=call.mode)], weights,
                inputs=inputs)


def _zero_biases(weights: list) -> list:
  """Biases left out by `use_bias=False` as zeros (trax's Dense here always has one)."""
  return [np.zeros(weights[i - 1].shape[-1], np.float32) if w is None else w
          for i, w in enumerate(weights)]


def _recurrent_config(layer: Any) -> dict:
  config = layer.get_config()
  for key, value in (('activation', 'tanh'), ('recurrent_activation', 'sigmoid'),
                     ('return_state', False), ('go_backwards', False), ('stateful', False)):
    if config.get(key, value) != value:
      raise Unsupported(f'{key}={config[key]!r} (only {value!r} maps exactly)')
  return config


def table() -> dict:
  import keras  # pylint: disable=g-import-not-at-top
  return {keras.layers.LSTM: lstm, keras.layers.GRU: gru,
          keras.layers.MultiHeadAttention: multi_head_attention}
