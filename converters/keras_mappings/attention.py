"""Keras MultiHeadAttention as trax's `MultiHeadAttention`, weights flattened exactly.

The q/k/v kernels `(d, heads, key_dim)` flatten to trax's `(d, heads * key_dim)` (heads
are consecutive column blocks in both), their biases `(heads, key_dim)` likewise; the
output kernel `(heads, value_dim, d_out)` to `(heads * value_dim, d_out)`. Both scale
queries by `1/sqrt(key_dim)` and give masked scores -1e9. Masks: the query's Keras mask
(which Keras reads from the query tensor), `value_mask` and `key_mask` (which Keras takes
from the value's and key's masks), `attention_mask` and `use_causal_mask` all combine as
in Keras. Gates, sliding windows, attention over other axes than 1 and returned scores
refuse. With attention dropout Keras takes another path, whose masked softmax gives
queries without any allowed key zero output (`zero_masked`). Causal self-attention with
equal key, value and output widths and no other mask is trax's `CausalAttention`, which
also decodes step by step in 'predict' mode.
"""

import numpy as np

import trax.layers as tl
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import keras_mask
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported


def multi_head_attention(layer, call: Call) -> Mapped:
  """Self or cross attention on (batch, length, d) inputs, distinct query/value/key, key
  and value widths, output_shape, every mask; not gates, sliding windows or scores."""
  config = layer.get_config()
  for key, value in (('use_gate', False), ('sliding_window', None)):
    if config.get(key, value) != value:
      raise Unsupported(f'{key}={config[key]!r}')
  if call.kwargs.get('return_attention_scores'):
    raise Unsupported('return_attention_scores=True')
  query, value = call.argument(0, 'query'), call.argument(1, 'value')
  key = call.argument(2, 'key')
  if tuple(config['attention_axes'] or (1,)) not in ((1,), (-2,)) or len(query.shape) != 3:
    raise Unsupported('attention over axes other than 1 of (batch, length, d) inputs')
  sequences = [query]
  if value is not query or (key is not None and key is not value):
    sequences.append(value)
  if key is not None and key is not value:
    sequences.append(key)
  masks = {
    'query': keras_mask(query),
    'value': call.kwargs.get('value_mask'),
    'key': call.kwargs.get('key_mask'),
    'attention': call.kwargs.get('attention_mask'),
  }
  masks = {name: mask for name, mask in masks.items() if mask is not None}
  heads, key_dim = config['num_heads'], config['key_dim']
  value_dim = config['value_dim'] or key_dim
  output_shape = config['output_shape']
  if isinstance(output_shape, (list, tuple)):
    if len(output_shape) != 1:
      raise Unsupported(f'output_shape={output_shape}')
    output_shape = output_shape[0]
  d_out = output_shape or query.shape[-1]
  use_bias = config['use_bias']
  weights = []
  for projection, width in (
    (layer.query_dense, key_dim),
    (layer.key_dense, key_dim),
    (layer.value_dense, value_dim),
  ):
    kernel = numpy(projection.kernel)
    weights.append(kernel.reshape(kernel.shape[0], heads * width))
    if use_bias:
      weights.append(numpy(projection.bias).reshape(heads * width))
  weights.append(numpy(layer.output_dense.kernel).reshape(heads * value_dim, d_out))
  if use_bias:
    weights.append(numpy(layer.output_dense.bias))
  causal = bool(call.kwargs.get('use_causal_mask'))
  if (
    causal
    and len(sequences) == 1
    and not masks
    and value_dim == key_dim
    and d_out == heads * key_dim
  ):
    # trax's own causal self-attention also decodes incrementally (predict mode).
    if not use_bias:
      weights = _with_zero_biases(weights)
    return Mapped(
      [tl.CausalAttention(d_out, n_heads=heads, dropout=config['dropout'], mode=call.mode)],
      weights,
      inputs=sequences,
    )
  trax_layer = tl.MultiHeadAttention(
    heads,
    key_dim,
    value_dim,
    d_out,
    n_sequences=len(sequences),
    masks=tuple(masks),
    causal=causal,
    use_bias=use_bias,
    dropout=config['dropout'],
    zero_masked=config['dropout'] > 0,
    mode=call.mode,
  )
  return Mapped([trax_layer], weights, inputs=sequences + list(masks.values()))


def _with_zero_biases(kernels: list) -> list:
  """`[w1, 0, w2, 0, ...]`: biases of zeros after each kernel (for `use_bias=False`)."""
  return [a for w in kernels for a in (w, np.zeros(w.shape[-1], w.dtype))]


def table() -> dict:
  import keras

  return {keras.layers.MultiHeadAttention: multi_head_attention}
