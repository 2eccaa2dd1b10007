"""Trax 1.4's head-splitting API (batch and head axes merged) and `ConfigurableAttention`.

The attention layers of `attention.py` keep heads in place instead; these functions and
layers are for models written against Trax 1.4's layout.
"""

from typing import Any

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers.config import register

__all__ = [
  'SplitIntoHeads',
  'MergeHeads',
  'ConfigurableAttention',
]


def split_heads(x: Any, n_heads: int, merged_batch_and_head: bool = True) -> Any:
  """`(batch, length, d)` -> `(batch * n_heads, length, d / n_heads)`.

  Without `merged_batch_and_head`, the result is `(batch, n_heads, length, d / n_heads)`.
  """
  d_feature = x.shape[-1]
  if len(x.shape) != 3 or d_feature % n_heads != 0:
    raise ValueError(
      f'expected an input (batch, length, d_feature) with d_feature a '
      f'multiple of n_heads={n_heads}; got shape {tuple(x.shape)}.'
    )
  length = fastmath.shape(x)[1]
  x = jnp.reshape(x, (-1, length, n_heads, d_feature // n_heads))
  x = jnp.transpose(x, (0, 2, 1, 3))
  if merged_batch_and_head:
    x = jnp.reshape(x, (-1, length, d_feature // n_heads))
  return x


def merge_heads(x: Any, n_heads: int, merged_batch_and_head: bool = True) -> Any:
  """Inverse of `split_heads`: back to `(batch, length, n_heads * d_head)`."""
  expected_rank = 3 if merged_batch_and_head else 4
  if len(x.shape) != expected_rank:
    layout = (
      '(batch * n_heads, length, d_head)'
      if merged_batch_and_head
      else '(batch, n_heads, length, d_head)'
    )
    raise ValueError(f'expected an input {layout}; got shape {tuple(x.shape)}.')
  length, d_head = fastmath.shape(x)[-2], x.shape[-1]
  if merged_batch_and_head:
    if x.shape[0] is not None and x.shape[0] % n_heads != 0:
      raise ValueError(
        f'the leading dimension {x.shape[0]} (batch * n_heads) is not a '
        f'multiple of n_heads={n_heads}.'
      )
    x = jnp.reshape(x, (-1, n_heads, length, d_head))
  x = jnp.transpose(x, (0, 2, 1, 3))
  return jnp.reshape(x, (-1, length, n_heads * d_head))


@register
def SplitIntoHeads(n_heads: int, merged_batch_and_head: bool = True) -> base.Layer:
  """Layer: `(batch, length, d)` -> `(batch * n_heads, length, d / n_heads)`.

  With `merged_batch_and_head=False` the output is `(batch, n_heads, length, d / n_heads)`.
  """
  return base.Fn('SplitIntoHeads', lambda x: split_heads(x, n_heads, merged_batch_and_head))


@register
def MergeHeads(n_heads: int, merged_batch_and_head: bool = True) -> base.Layer:
  """Layer undoing `SplitIntoHeads`: back to `(batch, length, n_heads * d_head)`."""
  return base.Fn('MergeHeads', lambda x: merge_heads(x, n_heads, merged_batch_and_head))


@register
def ConfigurableAttention(
  q_layer: base.Layer,
  k_layer: base.Layer,
  v_layer: base.Layer,
  final_layer: base.Layer,
  qkv_attention_layer: base.Layer,
  n_heads: int = 1,
) -> base.Layer:
  """Self-attention from parts: `x -> final_layer(merge(attend(q(x), k(x), v(x))))`.

  `q_layer`, `k_layer` and `v_layer` map `x` of shape `(batch, length, d)` to queries, keys
  and values, which are split into `n_heads` heads (batch and head axes merged);
  `qkv_attention_layer` (e.g. `DotProductCausalAttention`) maps the three to per-head
  activations, which are merged and passed through `final_layer`.
  """
  return configurable_attention(
    q_layer,
    k_layer,
    v_layer,
    final_layer,
    qkv_attention_layer,
    n_heads,
    name='ConfigurableAttention',
  )


def configurable_attention(
  q_layer, k_layer, v_layer, final_layer, qkv_attention_layer, n_heads, name
):
  """`ConfigurableAttention` under another name (for layers built from it)."""
  return cb.Serial(
    cb.Branch(
      cb.Serial(q_layer, SplitIntoHeads(n_heads)),
      cb.Serial(k_layer, SplitIntoHeads(n_heads)),
      cb.Serial(v_layer, SplitIntoHeads(n_heads)),
    ),  # q k v, (B*H, L, D/H) each
    qkv_attention_layer,  # (B*H, L, D/H)
    MergeHeads(n_heads),  # (B, L, D)
    final_layer,
    name=name,
  )
