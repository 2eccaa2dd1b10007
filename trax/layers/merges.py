"""Layers that merge several inputs into one: Maximum, Minimum, Average, BatchDot.

(`Add`, `Multiply`, `SubtractTop` and `Concatenate` are combinators, in combinators.py.)
Elementwise merges broadcast their inputs against each other, as numpy does.
"""

from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.config import register

__all__ = [
  'Maximum',
  'Minimum',
  'Average',
  'BatchDot',
]


@register
def Maximum() -> base.Layer:
  """`x0, x1 -> maximum(x0, x1)`, elementwise."""
  return base.Fn('Maximum', lambda x0, x1: jnp.maximum(x0, x1))


@register
def Minimum() -> base.Layer:
  """`x0, x1 -> minimum(x0, x1)`, elementwise."""
  return base.Fn('Minimum', lambda x0, x1: jnp.minimum(x0, x1))


class Average(base.Layer):
  """The mean of `n_items` inputs: `(x0 + x1 + ... ) / n_items`, summed left to right.

  >>> Average(4)((np.ones(2), np.zeros(2), np.ones(2), np.ones(2))).tolist()
  [0.75, 0.75]

  Args:
    n_items: how many inputs to average (at least 2).
  """

  def __init__(self, n_items: int = 2):
    if n_items < 2:
      raise ValueError(f'Average needs n_items >= 2, got {n_items}.')
    super().__init__(n_in=n_items, name=f'Average_{n_items}')

  def forward(self, xs):
    total = xs[0]
    for x in xs[1:]:
      total = total + x
    return total / self.n_in


@register
def BatchDot(
  axes: Sequence[int] = (-1, -1), normalize: bool = False, epsilon: float = 1e-7
) -> base.Layer:
  """Per-example dot products of two batched inputs along one axis of each.

  For `x0` of shape `(batch, *a)` and `x1` of shape `(batch, *b)`, contracts axis
  `axes[0]` of `x0` with axis `axes[1]` of `x1` (neither the batch axis) and gives
  `(batch, *a', *b')`, the remaining axes of `x0` then those of `x1`; a result with only
  the batch axis becomes `(batch, 1)`. With `normalize`, both inputs are first divided by
  their Euclidean norm along the contracted axis (never by less than `epsilon`), so the
  result holds cosine similarities.

  >>> BatchDot((1, 1))((np.ones((2, 3)), np.ones((2, 3)))).tolist()
  [[3.0], [3.0]]

  Args:
    axes: the contracted axis of `x0` and of `x1`.
    normalize: compute cosine similarities.
    epsilon: the smallest norm divided by, with `normalize`.
  """

  def dot(x0, x1):
    a0, a1 = axes[0] % len(x0.shape), axes[1] % len(x1.shape)
    if 0 in (a0, a1):
      raise ValueError(
        f'BatchDot cannot contract the batch axis: axes={tuple(axes)} for '
        f'shapes {tuple(x0.shape)} and {tuple(x1.shape)}.'
      )
    if normalize:
      x0, x1 = _unit(x0, a0, epsilon), _unit(x1, a1, epsilon)
    letters = iter('cdefghijklmnopqrstuvwxyz')
    left = ['b'] + [next(letters) for _ in x0.shape[1:]]
    right = ['b'] + [next(letters) for _ in x1.shape[1:]]
    right[a1] = left[a0]
    out = [c for i, c in enumerate(left) if i != a0] + [
      c for i, c in enumerate(right[1:], 1) if i != a1
    ]
    y = jnp.einsum(f'{"".join(left)},{"".join(right)}->{"".join(out)}', x0, x1)
    return jnp.reshape(y, (fastmath.shape(y)[0], 1)) if len(out) == 1 else y

  return base.Fn('BatchDot', dot)


def _unit(x, axis: int, epsilon: float):
  squares = jnp.sum(x * x, axis=axis, keepdims=True)
  return x * jnp.minimum(1.0 / jnp.sqrt(squares), 1.0 / epsilon)
