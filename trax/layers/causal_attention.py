"""Causal self-attention, with fast incremental decoding in 'predict' mode.

Causal attention lets position `t` attend to positions `<= t` only, so a language model
trained with it predicts each token from the ones before it.

In 'predict' mode the layer decodes incrementally: its state holds key and value caches of
shape `(batch * n_heads, max_inference_length, d_head)` and the number of positions filled.
Each call with a chunk of `T >= 1` new positions (a prompt, then one token at a time) writes
their keys and values into the caches and attends over the caches, hiding the unfilled
positions: O(max_inference_length) work per token, and the prefix is never recomputed.
Any split of a sequence into chunks gives the outputs of one 'eval' pass over it.

`CausalAttention` attends with `CausalAttentionCore`, which keeps the heads in place
(einsums on `(batch, length, n_heads, d_head)`) in 'train' and 'eval' mode and decodes
with Trax 1.x's per-head layer `DotProductCausalAttention` (heads split into the batch
axis, caches `(batch * n_heads, max_inference_length, d_head)`), which also serves models
built from parts (`ConfigurableAttention`). Neither has weights: Trax 1.x checkpoints load.
"""

from typing import Any

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import attention
from trax.layers import attention_heads
from trax.layers import base
from trax.layers import checks
from trax.layers import combinators as cb
from trax.layers import convolution
from trax.layers import core
from trax.layers.config import register

__all__ = [
  'CausalAttention',
  'CausalAttentionCore',
  'DotProductCausalAttention',
]


@register
def CausalAttention(
  d_feature: int,
  n_heads: int = 1,
  dropout: float = 0.0,
  max_inference_length: int = 2048,
  use_dconv: bool = False,
  mode: str = 'train',
) -> base.Layer:
  """Multi-head causal self-attention: `(batch, length, d) -> (batch, length, d_feature)`.

  Queries, keys and values are `Dense(d_feature)` projections of the input, attended in
  `n_heads` heads by `CausalAttentionCore`; the result goes through an output
  `Dense(d_feature)`. Weights (Trax 1.x order, 8 arrays flat): q `(w, b)`, k `(w, b)`,
  v `(w, b)`, output `(w, b)`.

  Args:
    d_feature: width of the projections and of the output.
    n_heads: number of heads; must divide `d_feature`.
    dropout: attention-weight dropout rate ('train' mode only).
    max_inference_length: longest sequence 'predict' mode can decode (the cache length).
    use_dconv: follow each of the q, k, v projections with a causal depthwise convolution
      of width 3 (as in Primer, So et al., 2021); adds one `(3, d_feature)` weight each.
    mode: 'train', 'eval' or 'predict' (incremental decoding; see the module docstring).

  >>> layer = CausalAttention(8, n_heads=2)
  >>> y = layer(np.ones((2, 5, 8), np.float32))  # y.shape == (2, 5, 8)
  """
  attention.check_heads('CausalAttention', d_feature, n_heads)

  def qkv_layer():
    if not use_dconv:
      return core.Dense(d_feature)
    if mode == 'predict':
      return cb.Serial(core.Dense(d_feature), _DecodingCausalDepthwiseConv())
    return cb.Serial(core.Dense(d_feature), convolution.CausalDepthwiseConv())

  # Unnamed (its name is 'Serial'), as in Trax 1.4: user code walks layer names.
  return cb.Serial(
    cb.Branch(qkv_layer(), qkv_layer(), qkv_layer()),  # q k v, (B, L, D) each
    CausalAttentionCore(
      n_heads, dropout=dropout, max_inference_length=max_inference_length, mode=mode
    ),  # (B, L, D)
    core.Dense(d_feature),
  )


class DotProductCausalAttention(base.Layer):
  """Per-head causal attention: `(q, k, v) -> activations`, position `t` sees `<= t`.

  Inputs of shape `(batch * n_heads, length, d_head)` (heads already split); output of the
  shape of `q`. No weights. State: none, except in 'predict' mode `(keys, values, position)`
  with caches of shape `(batch * n_heads, max_inference_length, d_head)` (Trax 1.4's layout),
  and in 'viz' mode the last call's attention weights `(batch * n_heads, length, length)`.

  In 'predict' mode, decoding beyond `max_inference_length` positions in total is not
  detected inside compiled code: `dynamic_update_slice` clamps and the outputs are wrong.
  """

  def __init__(self, dropout: float = 0.0, max_inference_length: int = 2048, mode: str = 'train'):
    super().__init__(n_in=3, n_out=1)
    attention.check_mode(type(self).__name__, mode)
    checks.check_fraction(type(self).__name__, 'dropout', dropout)
    self._dropout = dropout
    self._max_len = max_inference_length
    self._mode = mode

  @property
  def max_positions(self) -> 'int | None':
    """In predict mode, how many positions the key/value cache holds; else `None`
    (no limit)."""
    return self._max_len if self._mode == 'predict' else None

  def init_weights_and_state(self, input_signature: Any) -> None:
    if self._mode == 'predict':
      _, k, v = input_signature
      self.state = (
        jnp.zeros((k.shape[0], self._max_len, k.shape[-1]), k.dtype),
        jnp.zeros((v.shape[0], self._max_len, v.shape[-1]), v.dtype),
        jnp.zeros((), jnp.int32),
      )

  def forward(self, inputs: Any) -> Any:
    q, k, v = inputs
    if self._mode == 'predict':
      k, v, mask = self._extend_cache(k, v)
    else:
      mask = _causal_mask(fastmath.shape(q)[-2])
    activations, weights = attention.DotProductAttention(
      q, k, v, mask, self._dropout, self._mode, self.rng
    )
    if self._mode == 'viz':
      self.state = weights
    return activations

  def _extend_cache(self, k: Any, v: Any) -> tuple[Any, Any, Any]:
    """Writes new keys and values at the current position; returns caches and mask."""
    cached_k, cached_v, start = self.state
    length = k.shape[1]
    if length > self._max_len:
      raise ValueError(
        f'got a chunk of {length} positions, more than max_inference_length={self._max_len}.'
      )
    cached_k = fastmath.dynamic_update_slice_in_dim(cached_k, k, start, axis=1)
    cached_v = fastmath.dynamic_update_slice_in_dim(cached_v, v, start, axis=1)
    self.state = (cached_k, cached_v, start + length)
    query_positions = start + jnp.arange(length)
    mask = jnp.arange(self._max_len)[None, :] <= query_positions[:, None]  # (query, key)
    return cached_k, cached_v, mask


class CausalAttentionCore(DotProductCausalAttention):
  """Multi-head causal attention of projections: `(q, k, v) -> activations`, heads in place.

  Inputs of shape `(batch, length, n_heads * d_head)`; output of the shape of `q`. In
  'train' and 'eval' mode the heads are split and merged by reshapes and attended by
  `attention.attend_heads` (einsums: no transpose ops in a TensorFlow graph). No weights.
  State: the attention weights in 'viz' mode, as `DotProductCausalAttention`; none,
  except in 'predict' mode, which runs `DotProductCausalAttention` on split
  heads, with its state and caches `(batch * n_heads, max_inference_length, d_head)`:
  under XLA the per-token step reads those caches in place, where caches with the heads
  in place made it copy them (twice as slow a step, measured with bench/decode.py).

  In 'predict' mode, decoding beyond `max_inference_length` positions in total is not
  detected inside compiled code: `dynamic_update_slice` clamps and the outputs are wrong.
  """

  def __init__(
    self,
    n_heads: int = 1,
    dropout: float = 0.0,
    max_inference_length: int = 2048,
    mode: str = 'train',
  ):
    super().__init__(dropout=dropout, max_inference_length=max_inference_length, mode=mode)
    self._n_heads = n_heads

  def init_weights_and_state(self, input_signature: Any) -> None:
    super().init_weights_and_state(
      tuple(
        shapes.ShapeDtype(
          (x.shape[0] * self._n_heads, x.shape[1], x.shape[2] // self._n_heads), x.dtype
        )
        for x in input_signature
      )
    )

  def forward(self, inputs: Any) -> Any:
    if self._mode == 'predict':  # The new positions' few rows move, the caches stay.
      split = tuple(attention_heads.split_heads(x, self._n_heads) for x in inputs)
      return attention_heads.merge_heads(super().forward(split), self._n_heads)
    shape = fastmath.shape(inputs[0])  # One shape for q, k and v (dynamic under TF).
    q, k, v = (attention.heads_in_place(x, self._n_heads, shape) for x in inputs)
    activations, weights = attention.attend_heads(
      q, k, v, _causal_mask(shape[1]), self._dropout, self._mode, self.rng
    )
    if self._mode == 'viz':  # Trax 1.4's layout: (batch * n_heads, length, length).
      self.state = jnp.reshape(weights, (-1,) + tuple(weights.shape[2:]))
    return attention.heads_merged(activations, shape)


def _causal_mask(length: Any) -> Any:
  """`(length, length)` booleans: query `i` may attend to keys `<= i`."""
  positions = jnp.arange(length)
  # A reshape and a broadcast, not two index expressions: in a TF Lite file with a dynamic
  # length each `[:, None]` is a RESHAPE and a STRIDED_SLICE.
  return jnp.reshape(positions, (-1, 1)) >= positions


class _DecodingCausalDepthwiseConv(convolution.CausalDepthwiseConv):
  """`CausalDepthwiseConv` for 'predict' mode: the last `kernel_size - 1` inputs are state.

  Decoding chunk by chunk then gives the outputs of one pass over the whole sequence (Trax
  1.4 zero-padded every chunk, which is wrong after the first).
  """

  def init_weights_and_state(self, input_signature: Any) -> None:
    super().init_weights_and_state(input_signature)
    batch, _, d_feature = input_signature.shape
    self.state = jnp.zeros((batch, self._kernel_size - 1, d_feature), input_signature.dtype)

  def forward(self, x: Any) -> Any:
    history = self._kernel_size - 1
    extended = jnp.concatenate([self.state, x], axis=1)
    self.state = extended[:, extended.shape[1] - history :]
    # The first `history` outputs would read the zero padding instead of the state.
    return super().forward(extended)[:, history:]
