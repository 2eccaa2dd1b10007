"""The improved Neural GPU (Freivalds & Liepins 2017, arXiv:1702.08727), as in Trax 1.x.

Tokens `(batch, 1, length)` are embedded to a `(batch, 1, length, d_feature)` memory that
one convolutional GRU cell with diagonal gates updates `steps` times (the same weights at
every step), and a dense layer reads the logits `(batch, 1, length, vocab_size)`.
"""

from typing import Any

import trax.layers as tl
from trax.layers.config import register
from trax.fastmath import numpy as jnp

__all__ = ['NeuralGPU', 'DiagonalGate', 'ConvDiagonalGRU', 'SaturationCost']


def SaturationCost(x: Any, limit: float = 0.9) -> Any:
  """`min(0, |x| - limit)`: how far saturated gates are past `limit` (a function)."""
  return jnp.minimum(0, jnp.abs(x) - limit)


@register
def DiagonalGate() -> tl.Layer:
  """Shifts the first third of the channels one step left along the length, the last
  third one step right (zeros come in); `(batch, 1, length, depth)`, depth divisible by 3."""

  def diagonal_gate(x):
    depth = x.shape[-1] // 3
    if 3 * depth != x.shape[-1]:
      raise ValueError(f'DiagonalGate needs a depth divisible by 3, got shape {x.shape}.')
    x = jnp.pad(x, [(0, 0), (0, 0), (1, 1), (0, 0)])
    return jnp.concatenate(
      [x[:, :, :-2, :depth], x[:, :, 1:-1, depth : 2 * depth], x[:, :, 2:, 2 * depth :]], axis=3
    )

  return tl.Fn('DiagonalGate', diagonal_gate)


@register
def ConvDiagonalGRU(units: int, kernel_size: tuple = (3, 3), mode: str = 'train') -> tl.Layer:
  """A convolutional GRU cell with hard gates and a diagonal memory transform."""

  def conv():
    return tl.Conv(filters=units, kernel_size=kernel_size, padding='SAME')

  return tl.GeneralGRUCell(
    candidate_transform=conv,
    memory_transform_fn=DiagonalGate,
    gate_nonlinearity=tl.HardSigmoid,
    candidate_nonlinearity=tl.HardTanh,
    mode=mode,
  )


@register
def NeuralGPU(
  d_feature: int = 96, steps: int = 16, vocab_size: int = 2, mode: str = 'train'
) -> tl.Layer:
  """The Neural GPU: an embedding, `steps` applications of one `ConvDiagonalGRU`, a dense.

  `mode` sets the GRU's candidate dropout (Trax 1.4 dropped out in every mode).

  >>> NeuralGPU(d_feature=6, steps=2, mode='eval')(np.zeros((2, 1, 5), np.int32)).shape
  (2, 1, 5, 2)
  """
  core = ConvDiagonalGRU(units=d_feature, mode=mode)
  return tl.Serial(
    tl.Embedding(vocab_size=vocab_size, d_feature=d_feature), [core] * steps, tl.Dense(vocab_size)
  )
