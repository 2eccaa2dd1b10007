r"""`MultiHeadAttention`: attention with its own projections, key and value widths, masks.

`Attention`/`AttentionQKV` (attention.py) follow Trax 1.x: one width `d_feature` for
queries, keys, values and output, and one mask input. `MultiHeadAttention` is the layer as
Keras and the Transformer paper describe it (Vaswani et al. 2017,
https://arxiv.org/abs/1706.03762):

.. math::
    \mathrm{head}_h = \mathrm{softmax}\Big(\frac{(q W^Q_h)(k W^K_h)^\top}{\sqrt{d_k}}
        + \text{mask}\Big)(v W^V_h), \qquad
    y = [\mathrm{head}_1, \ldots, \mathrm{head}_H] W^O

with separate widths for keys (`d_key`) and values (`d_value`) per head and for the output
(`d_out`, by default the query's width). Inputs are `query`, then `value` and `key` when
given (the value defaults to the query, the key to the value: self-attention), then the
masks named in `masks`, in that order:

- 'query' `(batch, query_length)`: queries that are padding (their rows stay unmasked
  only where it is true);
- 'value', 'key' `(batch, key_length)`: keys that may be attended to;
- 'attention' `(batch, query_length, key_length)`: any pattern.

All are boolean, true where attention is allowed; they are combined with a logical and
(as Keras does with the masks of its inputs), and with the causal mask when `causal`. A
masked score becomes -1e9 before the softmax, so a query with no allowed key attends
evenly to all keys; with `zero_masked`, masked attention weights are exactly zero and
such a query attends to nothing (Keras' masked softmax, which its MultiHeadAttention uses
when it has attention dropout).
"""

from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import attention
from trax.layers import base
from trax.layers import initializers as init

__all__ = ['MultiHeadAttention']

_MASK_NAMES = ('query', 'value', 'key', 'attention')


class MultiHeadAttention(base.Layer):
  """Multi-head attention with projections (see the module docstring).

  Weights: `(wq, bq, wk, bk, wv, bv, wo, bo)` (the biases left out when `use_bias=False`),
  `wq` of shape `(d_query, n_heads * d_key)`, `wk` `(d_key_input, n_heads * d_key)`, `wv`
  `(d_value_input, n_heads * d_value)`, `wo` `(n_heads * d_value, d_out)`; heads are
  consecutive column blocks.

  >>> layer = MultiHeadAttention(n_heads=2, d_key=3, n_sequences=2)
  >>> layer((np.ones((2, 5, 4), np.float32), np.ones((2, 7, 6), np.float32))).shape
  (2, 5, 4)

  Args:
    n_heads: number of heads.
    d_key: width of queries and keys per head.
    d_value: width of values per head (`d_key` by default).
    d_out: output width (the query's by default).
    n_sequences: 1 (self-attention), 2 (query, value) or 3 (query, value, key): the
      inputs before the masks.
    masks: the mask inputs that follow, named from 'query', 'value', 'key', 'attention'.
    causal: also forbid queries to attend to later keys (`key <= query` position).
    use_bias: whether the projections add biases.
    dropout: rate at which attention weights are dropped in 'train' mode.
    zero_masked: give masked keys weight zero even in queries with no allowed key.
    mode: 'train', 'eval' or 'predict'.
  """

  def __init__(
    self,
    n_heads: int,
    d_key: int,
    d_value: 'int | None' = None,
    d_out: 'int | None' = None,
    n_sequences: int = 1,
    masks: Sequence[str] = (),
    causal: bool = False,
    use_bias: bool = True,
    dropout: float = 0.0,
    zero_masked: bool = False,
    mode: str = 'train',
  ):
    masks = tuple(masks)
    if any(m not in _MASK_NAMES for m in masks) or len(set(masks)) != len(masks):
      raise ValueError(
        f'MultiHeadAttention: masks {masks} must be distinct names from {_MASK_NAMES}.'
      )
    if not 1 <= n_sequences <= 3:
      raise ValueError(
        f'MultiHeadAttention takes 1 to 3 of query, value, key; got n_sequences={n_sequences}.'
      )
    super().__init__(n_in=n_sequences + len(masks), name='MultiHeadAttention')
    self._n_heads, self._d_key = n_heads, d_key
    self._d_value, self._d_out = d_value or d_key, d_out
    self._masks, self._causal = masks, causal
    self._use_bias, self._dropout, self._mode = use_bias, dropout, mode
    self._zero_masked = zero_masked

  def init_weights_and_state(self, input_signature: Any) -> None:
    query, value, key, _ = self._split(input_signature)
    d_out = self._d_out or query.shape[-1]
    shapes = [
      (query.shape[-1], self._n_heads * self._d_key),
      (key.shape[-1], self._n_heads * self._d_key),
      (value.shape[-1], self._n_heads * self._d_value),
      (self._n_heads * self._d_value, d_out),
    ]
    rngs = fastmath.random.split(self.rng, len(shapes))
    weights = []
    for shape, rng in zip(shapes, rngs):
      weights.append(init.GlorotUniformInitializer()(shape, rng))
      if self._use_bias:
        weights.append(jnp.zeros(shape[-1:], query.dtype))
    self.weights = tuple(weights)

  def forward(self, inputs: Any) -> Any:
    query, value, key, masks = self._split(inputs)
    w = list(self.weights)
    per_projection = 2 if self._use_bias else 1
    projections = [w[i : i + per_projection] for i in range(0, len(w), per_projection)]

    def project(x, weights):
      y = jnp.dot(x, weights[0])
      return y + weights[1] if self._use_bias else y

    query_shape, key_shape = fastmath.shape(query), fastmath.shape(key)
    q, k, v = (
      attention.heads_in_place(project(x, p), self._n_heads, shape)
      for x, p, shape in zip(
        (query, key, value), projections[:3], (query_shape, key_shape, key_shape)
      )
    )
    mask = self._mask(masks, query_shape[1], key_shape[1])
    activations, probabilities = attention.attend_heads(
      q, k, v, mask, self._dropout, self._mode, self.rng
    )
    if self._zero_masked and mask is not None:
      kept = jnp.where(mask, probabilities, jnp.zeros_like(probabilities))
      activations = attention.mix_heads(kept, v)
    return project(attention.heads_merged(activations, query_shape), projections[3])

  def _split(self, inputs: Any) -> tuple:
    stack: tuple[Any, ...] = tuple(inputs) if self.n_in > 1 else (inputs,)
    n_qkv = self.n_in - len(self._masks)
    query = stack[0]
    value = stack[1] if n_qkv > 1 else query
    key = stack[2] if n_qkv > 2 else value
    return query, value, key, dict(zip(self._masks, stack[n_qkv:]))

  def _mask(self, masks: dict, query_length: Any, key_length: Any) -> Any:
    """The combined `(batch, 1, query_length, key_length)` mask, or None."""
    # Axes inserted with expand_dims: TF Lite's STRIDED_SLICE takes no new axes of bools.
    parts = []
    if 'query' in masks:
      parts.append(jnp.expand_dims(masks['query'], (1, 3)))
    for name in ('value', 'key'):
      if name in masks:
        parts.append(jnp.expand_dims(masks[name], (1, 2)))
    if 'attention' in masks:
      parts.append(jnp.expand_dims(masks['attention'], 1))
    if self._causal:
      rows = jnp.arange(query_length)[:, None]
      columns = jnp.arange(key_length)[None, :]
      parts.append(rows >= columns)
    if not parts:
      return None
    mask = jnp.astype(parts[0], bool)
    for part in parts[1:]:
      mask = jnp.logical_and(mask, jnp.astype(part, bool))
    return mask
