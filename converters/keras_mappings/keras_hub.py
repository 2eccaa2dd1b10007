"""keras_hub's embedding and transformer-encoder layers (when keras_hub is installed).

- `PositionEmbedding`: the table's first `length` rows, broadcast to the input's shape
  (trax's `PositionalEncoding` added to zeros).
- `TokenAndPositionEmbedding`: `Embedding` then `PositionalEncoding` (the same sum).
- `TransformerEncoder`: self-attention and a feed-forward block, each added to its input,
  with the layer norm after the sum (or before the block with `normalize_first`), as in
  keras_hub's `call`. The attention is Keras' `MultiHeadAttention` mapping; keras_hub
  merges `padding_mask` `(batch, length)` and `attention_mask` `(batch, length, length)`
  into one attention mask, which trax computes the same way.
- `TransformerDecoder` without cross-attention (GPT-2's block): the same, with the causal
  mask (`use_causal_mask`, on by default) and the decoder's masks.

A padding mask these layers would attach to a tensor or read off one (`mask_zero=True`,
an input carrying a Keras mask) is not in the graph that trax converts: such calls refuse
and run wrapped, where `from_keras` checks that the mask still arrives
(`keras_runtime_masks`). keras_hub's `ReversibleEmbedding` is Keras' own, subclassed
without changes (`core`).
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
  return _transformer_block(
    layer,
    call,
    call.argument(0, 'inputs'),
    call.argument(1, 'padding_mask'),
    call.argument(2, 'attention_mask'),
    causal=False,
  )


def transformer_decoder(layer, call: Call) -> Mapped:
  """Without cross-attention (decoder only, as GPT-2), causal or not, decoder_padding_mask
  and decoder_attention_mask tensors; not caches, or inputs carrying a Keras mask."""
  if call.argument(1, 'encoder_sequence') is not None:
    raise Unsupported('cross-attention (an encoder_sequence)')
  if any(call.kwargs.get(k) is not None for k in ('self_attention_cache', 'cross_attention_cache')):
    raise Unsupported('attention caches')
  return _transformer_block(
    layer,
    call,
    call.argument(0, 'decoder_sequence'),
    call.argument(2, 'decoder_padding_mask'),
    call.argument(3, 'decoder_attention_mask'),
    causal=bool(call.kwargs.get('use_causal_mask', True)),
  )


def _transformer_block(
  layer: Any, call: Call, x: Any, padding: Any, attention_mask: Any, causal: bool
) -> Mapped:
  """keras_hub's self-attention and feed-forward block (the encoder's, or the decoder's
  without cross-attention), each added to its input and normalized after the sum or, with
  `normalize_first`, before the block."""
  import keras

  if keras_mask(x) is not None:
    raise Unsupported('inputs carrying a Keras mask (it reads it off the tensor)')
  _check_rank_3(tuple(x.shape), 'inputs')
  padding = _integer_or_bool(padding, 'padding mask')
  attention_mask = _integer_or_bool(attention_mask, 'attention mask')
  masks = [m for m in (padding, attention_mask) if m is not None]
  # The attention as Keras' MultiHeadAttention maps: a query without a Keras mask, and
  # one attention mask standing for the merged one computed here.
  query = keras.KerasTensor(x.shape, x.dtype)
  merged = keras.KerasTensor((x.shape[0], 1, x.shape[1]), 'bool') if masks else None
  inner_kwargs = {'attention_mask': merged, 'use_causal_mask': causal}
  inner = Call((query, query), inner_kwargs, [query], call.outputs, call.mode)
  self_attention = attention.multi_head_attention(layer._self_attention_layer, inner)
  norm_call = Call((x,), {}, [x], [], call.mode)
  norm_1 = normalization.layer_norm(layer._self_attention_layer_norm, norm_call)
  norm_2 = normalization.layer_norm(layer._feedforward_layer_norm, norm_call)
  attention_dropout, feed_forward_dropout = (_dropout(layer.dropout, call.mode) for _ in 'ab')
  feed_forward = [
    core.dense(layer._feedforward_intermediate_dense, call),
    core.dense(layer._feedforward_output_dense, call),
    feed_forward_dropout,
  ]
  if layer.normalize_first:  # x + attention(norm(x)), then + feed_forward(norm(.))
    blocks = [norm_1, self_attention, attention_dropout, Mapped([tl.Add()])]
    blocks.append(_residual([norm_2, *feed_forward]))
  else:  # norm(x + attention(x)), then norm(. + feed_forward(.))
    blocks = [self_attention, attention_dropout, Mapped([tl.Add()]), norm_1]
    blocks += [_residual(feed_forward), norm_2]
  # Stack: x padding attention  ->  x mask  ->  x mask x  ->  (blocks)  ->  y
  copy = tl.Select([0, 1, 0], n_in=2) if masks else tl.Select([0, 0])
  return Mapped(
    [*_merge_masks(padding, attention_mask), copy, *(l for b in blocks for l in b.layers)],
    [w for b in blocks for w in b.weights],
    [s for b in blocks for s in b.state],
    inputs=[x, *masks],
  )


def _merge_masks(padding: Any, attention_mask: Any) -> list:
  """Layers turning the masks below x into keras_hub's merged attention mask."""
  if padding is None:
    return []
  expand = tl.Parallel(None, tl.NumpyFn('expand_dims', axis=1))  # (batch, 1, length)
  if attention_mask is None:
    return [expand]
  return [expand, tl.Parallel(None, tl.NumpyFn('logical_and', n_in=2))]


def _residual(blocks: list) -> Mapped:
  return Mapped(
    [tl.Residual(*(l for b in blocks for l in b.layers))],
    [w for b in blocks for w in b.weights],
    [s for b in blocks for s in b.state],
  )


def _dropout(rate: float, mode: str) -> Mapped:
  """A Dropout layer of `rate` in 'train' mode (its rate as its state), else nothing."""
  if mode != 'train' or not rate:
    return Mapped([])
  return Mapped([tl.Dropout(rate, mode='train')], state=[np.asarray(rate, np.float32)])


def _integer_or_bool(mask: Any, name: str) -> Any:
  if mask is not None and not (str(mask.dtype) == 'bool' or 'int' in str(mask.dtype)):
    raise Unsupported(f'a {mask.dtype} {name} (keras_hub casts it to int32)')
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
