r"""Multi-head dot-product attention, heads, and attention masks.

Attention mixes the vectors of a sequence: every query position takes a weighted average of
value vectors, weighted by how well its query matches each key,

.. math::
    \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\big(Q K^T / \sqrt{d_{head}}\big)\, V,

computed separately for each of `n_heads` slices of the feature axis (Vaswani et al., 2017,
"Attention is all you need", https://arxiv.org/abs/1706.03762).

Masks are boolean, `True` where a query may attend to a key, and broadcast against the
attention weights of shape `(batch, n_heads, query_length, key_length)`: `PaddingMask` gives
`(batch, 1, 1, key_length)`, `EncoderDecoderMask` `(batch, 1, query_length, key_length)`.

Weights follow Trax 1.x, so its checkpoints load: `AttentionQKV` holds four `Dense` layers
(queries, keys, values, output) and the attention itself has none. Causal self-attention with
fast incremental decoding is in `causal_attention.py`.
"""

import math
from typing import Any


from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import checks
from trax.layers import combinators as cb
from trax.layers import control_flow
from trax.layers import core
from trax.layers.config import register

__all__ = [
  'Attention',
  'AttentionQKV',
  'PureAttention',
  'DotProductAttention',
  'PaddingMask',
  'EncoderDecoderMask',
]

# 'viz' computes as 'eval' and keeps each attention layer's weights in its state (as Trax
# 1.4's attention-visualization notebook reads them).
MODES = ('train', 'eval', 'predict', 'viz')
# Added to the scores of masked positions; exp() of it is 0 in float32 and bfloat16.
_MASKED_SCORE = -1e9


def check_mode(layer_name: str, mode: str) -> None:
  """Raises ValueError unless `mode` is one of `MODES`."""
  if mode not in MODES:
    raise ValueError(f'{layer_name}: mode must be one of {MODES}, got {mode!r}.')


def check_heads(layer_name: str, d_feature: int, n_heads: int) -> None:
  """Raises ValueError unless `n_heads` heads split `d_feature` features evenly."""
  if n_heads < 1 or d_feature % n_heads != 0:
    raise ValueError(
      f'{layer_name}: d_feature={d_feature} must be a multiple of n_heads={n_heads}.'
    )


def DotProductAttention(
  queries: Any, keys: Any, values: Any, mask: Any, dropout: float, mode: str, rng: Any
) -> tuple[Any, Any]:
  """Computes `softmax(q k^T / sqrt(d_head), hiding masked keys) v`, for each head.

  Args:
    queries: `(..., query_length, d_head)`.
    keys: `(..., key_length, d_head)`.
    values: `(..., key_length, d_value)`.
    mask: broadcastable to `(..., query_length, key_length)`, true (nonzero) where a query
      may attend to a key; or `None`.
    dropout: rate at which attention weights are zeroed (and the rest scaled up), in
      'train' mode only.
    mode: 'train', 'eval' or 'predict'.
    rng: random key for dropout.

  Returns:
    `(activations, attention_weights)` of shapes `(..., query_length, d_value)` and
    `(..., query_length, key_length)`. The softmax runs in float32 (or float64 for float64
    inputs); unlike Trax 1.4, activations keep the dtype of `values` instead of always
    being cast to float32.
  """
  scores = jnp.matmul(_scaled(queries), jnp.swapaxes(keys, -1, -2))
  weights = _attention_weights(scores, mask, dropout, mode, rng)
  return jnp.matmul(jnp.astype(weights, values.dtype), values), weights


def attend_heads(
  queries: Any, keys: Any, values: Any, mask: Any, dropout: float, mode: str, rng: Any
) -> tuple[Any, Any]:
  """`DotProductAttention` of every head, the heads kept in place.

  Splitting the features of `(batch, length, n_heads * d_head)` into heads is a free
  reshape to `(batch, length, n_heads, d_head)`; the contractions (`fastmath.contract`,
  einsums) then take the heads where they are, as Keras' MultiHeadAttention does, where
  moving them next to the batch (`split_heads`) costs a transpose op per input and one
  for the output in a TensorFlow graph (at batch 1, a quarter of a small LM's op time;
  bench/README.md). Under jax the transposes stay: XLA fuses them (`fastmath.contract`).

  Args:
    queries: `(batch, query_length, n_heads, d_head)`.
    keys: `(batch, key_length, n_heads, d_head)`.
    values: `(batch, key_length, n_heads, d_value)`.
    mask, dropout, mode, rng: as in `DotProductAttention`; `mask` broadcasts against
      `(batch, n_heads, query_length, key_length)`.

  Returns:
    `(activations, attention_weights)` of shapes `(batch, query_length, n_heads,
    d_value)` and `(batch, n_heads, query_length, key_length)`.
  """
  scores = fastmath.contract('bqhd,bkhd->bhqk', _scaled(queries), keys)
  weights = _attention_weights(scores, mask, dropout, mode, rng)
  return mix_heads(weights, values), weights


def mix_heads(weights: Any, values: Any) -> Any:
  """Attention weights `(batch, n_heads, query_length, key_length)` applied to values
  `(batch, key_length, n_heads, d)`: `(batch, query_length, n_heads, d)`."""
  return fastmath.contract('bhqk,bkhd->bqhd', jnp.astype(weights, values.dtype), values)


def _scaled(queries: Any) -> Any:
  # Scaling the queries costs length * d_head multiplies, the scores length * length.
  return queries * (1.0 / math.sqrt(queries.shape[-1]))


def _attention_weights(scores: Any, mask: Any, dropout: float, mode: str, rng: Any) -> Any:
  """Softmax over the keys (last axis) of the scores, masked; dropout in 'train' mode."""
  checks.check_fraction('DotProductAttention', 'dropout', dropout)
  if shapes.as_numpy_dtype(scores.dtype).itemsize < 4:  # Softmax in float32 at least.
    scores = jnp.astype(scores, jnp.float32)
  if mask is not None:
    scores = jnp.where(mask, scores, jnp.asarray(_MASKED_SCORE, scores.dtype))
  # Softmax is invariant to the shift, so its gradient need not flow through the max.
  shift = fastmath.stop_gradient(jnp.max(scores, axis=-1, keepdims=True))
  unnormalized = jnp.exp(scores - shift)
  weights = unnormalized / jnp.sum(unnormalized, axis=-1, keepdims=True)
  if mode == 'train' and dropout > 0.0:
    keep = core.keep_mask(rng, dropout, fastmath.shape(weights))
    weights = jnp.where(keep, weights / (1.0 - dropout), jnp.zeros_like(weights))
  return weights


def heads_in_place(x: Any, n_heads: int, batch_and_length: 'tuple | None' = None) -> Any:
  """`(batch, length, n_heads * d_head)` -> `(batch, length, n_heads, d_head)`, a reshape.

  `batch_and_length` (from `fastmath.shape` of an input of the same leading shape) lets
  several inputs share one shape computation where it is dynamic (TensorFlow).
  """
  d_feature = x.shape[-1]
  if len(x.shape) != 3 or d_feature % n_heads != 0:
    raise ValueError(
      f'expected an input (batch, length, d_feature) with d_feature a '
      f'multiple of n_heads={n_heads}; got shape {tuple(x.shape)}.'
    )
  length = (batch_and_length or fastmath.shape(x))[1]
  return jnp.reshape(x, (-1, length, n_heads, d_feature // n_heads))


def heads_merged(x: Any, batch_and_length: 'tuple | None' = None) -> Any:
  """`(batch, length, n_heads, d_head)` -> `(batch, length, n_heads * d_head)`."""
  length = (batch_and_length or fastmath.shape(x))[1]
  return jnp.reshape(x, (-1, length, x.shape[-2] * x.shape[-1]))


class PureAttention(base.Layer):
  """Multi-head attention without projections: `(q, k, v, mask) -> (activations, mask)`.

  `q` of shape `(batch, query_length, d_feature)`, `k` and `v` of shape
  `(batch, key_length, d_feature)` are split into `n_heads` heads of `d_feature / n_heads`
  features, attended per head (see `attend_heads`), and merged back: `activations` has
  shape `(batch, query_length, d_feature)`. The mask passes through. No weights; no state,
  except in 'viz' mode: the attention weights `(batch, n_heads, query_length, key_length)`
  of the last call.
  """

  def __init__(self, n_heads: int = 1, dropout: float = 0.0, mode: str = 'train'):
    super().__init__(n_in=4, n_out=2)
    check_mode('PureAttention', mode)
    checks.check_fraction('PureAttention', 'dropout', dropout)
    self._n_heads = n_heads
    self._dropout = dropout
    self._mode = mode

  def forward(self, inputs: Any) -> Any:
    q, k, v, mask = inputs
    query_shape, key_shape = fastmath.shape(q), fastmath.shape(k)
    activations, weights = attend_heads(
      heads_in_place(q, self._n_heads, query_shape),
      heads_in_place(k, self._n_heads, key_shape),
      heads_in_place(v, self._n_heads, key_shape),
      mask,
      self._dropout,
      self._mode,
      self.rng,
    )
    if self._mode == 'viz':
      self.state = weights
    return heads_merged(activations, query_shape), mask


@register
def AttentionQKV(
  d_feature: int,
  n_heads: int = 1,
  dropout: float = 0.0,
  mode: str = 'train',
  cache_KV_in_predict: bool = False,
  q_sparsity: 'str | None' = None,
  result_sparsity: 'str | None' = None,
) -> base.Layer:
  """Multi-head attention with projections: `(q, k, v, mask) -> (activations, mask)`.

  Queries, keys and values (which may come from different sources, as in encoder-decoder
  attention) each go through a `Dense(d_feature)`, then `PureAttention`, then an output
  `Dense(d_feature)`. Inputs `(batch, length, d)`; activations `(batch, query_length,
  d_feature)`. Weights (Trax 1.x order): `((q_w, q_b), (k_w, k_b), (v_w, v_b)), (),
  (out_w, out_b)`.

  Args:
    d_feature: width of the projections and of the output.
    n_heads: number of heads; must divide `d_feature`.
    dropout: attention-weight dropout rate ('train' mode only).
    mode: 'train', 'eval' or 'predict'.
    cache_KV_in_predict: in 'predict' mode, project keys and values on the first call only
      and reuse them afterwards (for encoder outputs, which stay fixed while decoding). The
      k and v weights then sit inside a `Cache`, one tuple deeper; the flat order is equal.
    q_sparsity: `None` for a `Dense` query projection, `'noop'` for none. (Trax's sparse
      variants are not available and raise ValueError.)
    result_sparsity: the same for the output projection.
  """
  if q_sparsity is None:  # Otherwise the query width is only known from the inputs.
    check_heads('AttentionQKV', d_feature, n_heads)

  def projection(sparsity, argument_name):
    if sparsity is None:
      return core.Dense(d_feature)
    if sparsity == 'noop':
      return cb.Serial()
    raise ValueError(
      f'AttentionQKV: {argument_name}={sparsity!r} is not supported; use None '
      "(a Dense projection) or 'noop' (no projection)."
    )

  def key_value_projection():
    if cache_KV_in_predict and mode == 'predict':
      return control_flow.Cache(core.Dense(d_feature))
    return core.Dense(d_feature)

  # Unnamed (its name is 'Serial'), as in Trax 1.4: user code walks layer names.
  return cb.Serial(
    cb.Parallel(
      projection(q_sparsity, 'q_sparsity'), key_value_projection(), key_value_projection()
    ),
    PureAttention(n_heads=n_heads, dropout=dropout, mode=mode),
    projection(result_sparsity, 'result_sparsity'),
  )


@register
def Attention(
  d_feature: int, n_heads: int = 1, dropout: float = 0.0, mode: str = 'train'
) -> base.Layer:
  """Multi-head self-attention: `(x, mask) -> (activations, mask)`.

  `x` of shape `(batch, length, d)` provides queries, keys and values; `mask` (e.g. from
  `PaddingMask`) hides padding. Output `(batch, length, d_feature)`. Same weights as
  `AttentionQKV`.

  >>> layer = Attention(8, n_heads=2)
  >>> y, mask = layer((np.ones((2, 5, 8), np.float32), np.ones((2, 1, 1, 5), bool)))
  """
  check_heads('Attention', d_feature, n_heads)
  # Unnamed (its name is 'Serial'), as in Trax 1.4: user code walks layer names.
  return cb.Serial(
    cb.Select([0, 0, 0]), AttentionQKV(d_feature, n_heads=n_heads, dropout=dropout, mode=mode)
  )


@register
def PaddingMask(pad: int = 0) -> base.Layer:
  """Layer: token ids `(batch, length)` -> mask `(batch, 1, 1, length)`, `ids != pad`."""

  def padding_mask(x):
    if len(x.shape) != 2:
      raise ValueError(f'expected token ids of shape (batch, length), got shape {tuple(x.shape)}.')
    return (x != pad)[:, None, None, :]

  return base.Fn(f'PaddingMask({pad})', padding_mask)


@register
def EncoderDecoderMask() -> base.Layer:
  """Layer: `(decoder_activations, encoder_mask) -> mask (batch, 1, decoder_length,
  encoder_length)`.

  `decoder_activations` has shape `(batch, decoder_length, d)`; `encoder_mask` (from
  `PaddingMask`) `(batch, 1, 1, encoder_length)`. Each decoder position may attend to the
  encoder's non-padding positions. The mask is boolean (Trax 1.4 returned float32).
  """

  def encoder_decoder_mask(decoder_activations, encoder_mask):
    if len(decoder_activations.shape) != 3:
      raise ValueError(
        f'expected decoder activations of shape (batch, length, d), got '
        f'shape {tuple(decoder_activations.shape)}.'
      )
    batch, decoder_length = fastmath.shape(decoder_activations)[:2]
    encoder_length = fastmath.shape(encoder_mask)[-1]
    encoder_mask = jnp.astype(jnp.reshape(encoder_mask, (-1, 1, 1, encoder_length)), bool)
    return jnp.broadcast_to(encoder_mask, (batch, 1, decoder_length, encoder_length))

  return base.Fn('EncoderDecoderMask', encoder_decoder_mask)
