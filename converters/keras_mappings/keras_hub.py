"""keras_hub's embedding layers and transformer blocks (when keras_hub is installed).

- `PositionEmbedding`: the table's first `length` rows, broadcast to the input's shape
  (trax's `PositionalEncoding` added to zeros).
- `TokenAndPositionEmbedding`: `Embedding` then `PositionalEncoding` (the same sum).
- `TransformerEncoder`: self-attention and a feed-forward block, each added to its input,
  with the layer norm after the sum (or before the block with `normalize_first`), as in
  keras_hub's `call`. The attention is Keras' `MultiHeadAttention` mapping; keras_hub
  merges `padding_mask` `(batch, length)` and `attention_mask` `(batch, length, length)`
  into one attention mask, which trax computes the same way.
- `TransformerDecoder`: the same with the causal mask (`use_causal_mask`, on by default),
  and with an `encoder_sequence` a cross-attention block between the two.

A padding mask these layers would attach to a tensor or read off one (`mask_zero=True`,
an input carrying a Keras mask) is not in the graph that trax converts: such calls refuse
and run wrapped, and `from_keras` wraps the blocks a mask attached at run time reaches,
or refuses where it would be lost (`keras_runtime_masks`). keras_hub's
`ReversibleEmbedding` is Keras' own, subclassed without changes (`core`).
"""

import importlib
from typing import Any

import numpy as np

import trax.layers as tl
from converters.keras_mappings import attention
from converters.keras_mappings import core
from converters.keras_mappings import normalization
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import keras_mask
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported


def position_embedding(layer, call: Call) -> Mapped:
  """On (batch, length, d) inputs from position 0; not start_index or positions."""
  _check_from_position_zero(call)
  _check_rank_3(call.input_shapes[0], 'inputs')
  return Mapped(
    [tl.NumpyFn('zeros_like'), tl.PositionalEncoding(layer.sequence_length, mode=call.mode)],
    [numpy(layer.position_embeddings)],
  )


def token_and_position_embedding(layer, call: Call) -> Mapped:
  """Without mask_zero (its mask exists only at run time); from position 0."""
  _check_from_position_zero(call)
  if layer.token_embedding.mask_zero:
    raise Unsupported('mask_zero=True (the mask it attaches is not in the graph)')
  tokens = core.embedding(layer.token_embedding, call)
  return Mapped(
    [*tokens.layers, tl.PositionalEncoding(layer.sequence_length, mode=call.mode)],
    [*tokens.weights, numpy(layer.position_embedding.position_embeddings)],
  )


def transformer_encoder(layer, call: Call) -> Mapped:
  """Post- or pre-norm, any activation but sparsemax, padding_mask and attention_mask
  tensors; not inputs carrying a Keras mask, or returned attention scores."""
  if call.argument(4, 'return_attention_scores'):
    raise Unsupported('return_attention_scores=True')
  x = call.argument(0, 'inputs')
  self_masks = (call.argument(1, 'padding_mask'), call.argument(2, 'attention_mask'))
  return _transformer_block(layer, call, x, self_masks, causal=False)


def transformer_decoder(layer, call: Call) -> Mapped:
  """Causal or not, with or without cross-attention, the decoder's and encoder's padding
  and attention masks as tensors; not caches, or inputs carrying a Keras mask."""
  if any(call.kwargs.get(k) is not None for k in ('self_attention_cache', 'cross_attention_cache')):
    raise Unsupported('attention caches')
  x, encoder = call.argument(0, 'decoder_sequence'), call.argument(1, 'encoder_sequence')
  self_masks = (
    call.argument(2, 'decoder_padding_mask'),
    call.argument(3, 'decoder_attention_mask'),
  )
  cross = None
  if encoder is not None:
    masks = (call.argument(4, 'encoder_padding_mask'), call.argument(5, 'encoder_attention_mask'))
    cross = (encoder, masks)
  causal = bool(call.kwargs.get('use_causal_mask', True))
  return _transformer_block(layer, call, x, self_masks, causal, cross)


def _transformer_block(
  layer: Any, call: Call, x: Any, self_masks: tuple, causal: bool, cross: Any = None
) -> Mapped:
  """keras_hub's encoder or decoder block: self-attention, cross-attention over
  `cross = (encoder_sequence, its masks)` if given, and the feed-forward block, each added
  to its input and normalized after the sum or, with `normalize_first`, before the block.

  Takes the stack `x, self masks..., [encoder_sequence, its masks...]` (the masks given).
  """
  pre = layer.normalize_first
  norm_call = Call((x,), {}, [x], [], call.mode)

  def norm(keras_norm: Any) -> Mapped:
    return normalization.layer_norm(keras_norm, norm_call)

  self_attention = _attention_residual(
    layer._self_attention_layer, norm(layer._self_attention_layer_norm), pre, layer.dropout,
    call, x, None, self_masks, causal,
  )  # fmt: skip
  blocks = [self_attention]
  inputs = [x, *(m for m in self_masks if m is not None)]
  if cross is not None:
    encoder, cross_masks = cross
    cross_attention = _attention_residual(
      layer._cross_attention_layer, norm(layer._cross_attention_layer_norm), pre,
      layer.dropout, call, x, encoder, cross_masks, False,
    )  # fmt: skip
    blocks.append(cross_attention)
    inputs += [encoder, *(m for m in cross_masks if m is not None)]
  feed_forward = [
    *([norm(layer._feedforward_layer_norm)] if pre else []),
    core.dense(layer._feedforward_intermediate_dense, call),
    core.dense(layer._feedforward_output_dense, call),
    _dropout(layer.dropout, call.mode),
  ]
  blocks.append(_residual(feed_forward))
  if not pre:
    blocks.append(norm(layer._feedforward_layer_norm))
  return _joined(blocks, inputs=inputs)


def _attention_residual(
  keras_attention: Any,
  norm: Mapped,
  pre: bool,
  dropout: float,
  call: Call,
  x: Any,
  value: Any,
  masks: tuple,
  causal: bool,
) -> Mapped:
  """`norm(x + attention(x, value))`, or `x + attention(norm(x), value)` if `pre` (the value
  is `x` itself when None): takes the stack `x, [value], padding mask, attention mask`
  (those given), leaves the result.

  keras_hub merges a padding mask `(batch, key_length)` and an attention mask into one
  attention mask, true where attention is allowed; so does this block.
  """
  import keras

  for tensor in (x, value):
    if tensor is not None and keras_mask(tensor) is not None:
      raise Unsupported('inputs carrying a Keras mask (it reads it off the tensor)')
    if tensor is not None:
      _check_rank_3(tuple(tensor.shape), 'inputs')
  padding, attention_mask = (_integer_or_bool(m) for m in masks)
  given = [m for m in (padding, attention_mask) if m is not None]
  # The attention as Keras' MultiHeadAttention maps: queries (and values) without a Keras
  # mask, and one attention mask standing for the merged one.
  query = keras.KerasTensor(x.shape, x.dtype)
  key_value = query if value is None else keras.KerasTensor(value.shape, value.dtype)
  merged = keras.KerasTensor((x.shape[0], 1, key_value.shape[1]), 'bool') if given else None
  inner = Call(
    (query, key_value),
    {'attention_mask': merged, 'use_causal_mask': causal},
    [query] if value is None else [query, key_value],
    call.outputs,
    call.mode,
  )
  below_x = [None] * (1 if value is None else 2)  # x [value]
  merge = []  # x [value] padding attention  ->  x [value] mask
  if padding is not None:
    merge.append(tl.Parallel(*below_x, tl.NumpyFn('expand_dims', axis=1)))  # (batch, 1, keys)
    if attention_mask is not None:
      merge.append(tl.Parallel(*below_x, tl.NumpyFn('logical_and', n_in=2)))
  n_args = len(below_x) + len(given[:1])
  copy = Mapped([*merge, tl.Select([*range(n_args), 0], n_in=n_args)])  # x [value] [mask] x
  blocks = [copy, *([norm] if pre else [])]
  blocks += [attention.multi_head_attention(keras_attention, inner)]
  blocks += [_dropout(dropout, call.mode), Mapped([tl.Add()]), *([] if pre else [norm])]
  return _joined(blocks)


def _residual(blocks: list) -> Mapped:
  joined = _joined(blocks)
  return Mapped([tl.Residual(*joined.layers)], joined.weights, joined.state)


def _joined(blocks: list, inputs: 'list | None' = None) -> Mapped:
  """The blocks run in sequence, their weights and state in that order."""
  return Mapped(
    [l for b in blocks for l in b.layers],
    [w for b in blocks for w in b.weights],
    [s for b in blocks for s in b.state],
    inputs=inputs,
  )


def _dropout(rate: float, mode: str) -> Mapped:
  """A Dropout layer of `rate` in 'train' mode (its rate as its state), else nothing."""
  if mode != 'train' or not rate:
    return Mapped([])
  return Mapped([tl.Dropout(rate, mode='train')], state=[np.asarray(rate, np.float32)])


def _integer_or_bool(mask: Any) -> Any:
  if mask is not None and not (str(mask.dtype) == 'bool' or 'int' in str(mask.dtype)):
    raise Unsupported(f'a {mask.dtype} mask (keras_hub casts it to int32)')
  return mask


def _check_from_position_zero(call: Call) -> None:
  if call.kwargs.get('start_index', 0) != 0 or call.kwargs.get('positions') is not None:
    raise Unsupported('start_index or positions (positions other than 0, 1, ...)')


def _check_rank_3(shape: tuple, name: str) -> None:
  if len(shape) != 3:
    raise Unsupported(f'{name} of shape {shape} (needs batch, length, features)')


def table() -> dict:
  """The mappings of keras_hub's layers, if keras_hub is installed."""
  try:
    layers = importlib.import_module('keras_hub').layers
  except ImportError:
    return {}
  return {
    layers.PositionEmbedding: position_embedding,
    layers.ReversibleEmbedding: core.reversible_embedding,  # Keras' own, re-exported.
    layers.TokenAndPositionEmbedding: token_and_position_embedding,
    layers.TransformerEncoder: transformer_encoder,
    layers.TransformerDecoder: transformer_decoder,
  }
