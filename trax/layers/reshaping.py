"""Layers that rearrange arrays without computing: Reshape, Transpose, RepeatVector, GetItem.

`Reshape` keeps the batch axis (axis 0) and reshapes the rest, as layers in a batched
model need; `Transpose` and `GetItem` index the whole array, batch axis included, as numpy
does. `GetItem` takes its index in a JSON-able form so that `config()` can describe it.
"""

from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.config import register

__all__ = [
  'Reshape',
  'Transpose',
  'RepeatVector',
  'GetItem',
  'index_spec',
]


@register
def Reshape(shape: Sequence[int]) -> base.Layer:
  """Reshapes each example: `(batch, ...) -> (batch, *shape)`; one entry may be -1.

  >>> Reshape((3, -1))(np.zeros((2, 6, 4))).shape
  (2, 3, 8)
  """
  shape = tuple(int(d) for d in shape)
  if sum(d == -1 for d in shape) > 1 or any(d < -1 for d in shape):
    raise ValueError(f'Reshape: shape {shape} may hold one -1 and otherwise sizes >= 0.')

  def reshape(x):
    return jnp.reshape(x, (fastmath.shape(x)[0], *shape))

  return base.Fn('Reshape', reshape)


@register
def Transpose(axes: Sequence[int]) -> base.Layer:
  """Permutes the axes of the input (numpy's `transpose`, batch axis included).

  >>> Transpose((0, 2, 1))(np.zeros((2, 3, 5))).shape
  (2, 5, 3)
  """
  axes = tuple(int(a) for a in axes)
  if sorted(axes) != list(range(len(axes))):
    raise ValueError(f'Transpose: axes {axes} must be a permutation of 0..{len(axes) - 1}.')

  def transpose(x):
    if len(x.shape) != len(axes):
      raise ValueError(
        f'Transpose{axes} expects inputs of rank {len(axes)}, got shape {tuple(x.shape)}.'
      )
    return jnp.transpose(x, axes)

  return base.Fn('Transpose', transpose)


@register
def RepeatVector(n: int) -> base.Layer:
  """Repeats vectors `n` times along a new axis 1: `(batch, d) -> (batch, n, d)`.

  >>> RepeatVector(3)(np.zeros((2, 4))).shape
  (2, 3, 4)
  """

  def repeat(x):
    if len(x.shape) != 2:
      raise ValueError(f'RepeatVector expects inputs (batch, d), got shape {tuple(x.shape)}.')
    return jnp.repeat(jnp.expand_dims(x, 1), n, axis=1)

  return base.Fn('RepeatVector', repeat)


@register
def GetItem(index: Sequence[Any]) -> base.Layer:
  """`x[index]` for a numpy basic index (ints, slices, None, Ellipsis).

  The index is given as a list with one entry per indexed axis, in a JSON-able form: an
  int, None (a new axis), '...' (Ellipsis) or `[start, stop, step]` (a slice, entries may
  be None). `index_spec(numpy_index)` converts a numpy index to this form.

  >>> GetItem([[None, None, None], 0])(np.zeros((2, 3, 4))).shape  # x[:, 0]
  (2, 4)

  Args:
    index: the index in the form above.
  """
  numpy_index = tuple(_from_spec(entry) for entry in index)

  def get_item(x):
    return x[numpy_index]

  return base.Fn('GetItem', get_item)


def index_spec(index: Any) -> list:
  """The JSON-able form `GetItem` takes of a numpy basic index.

  >>> index_spec((slice(None), 0, Ellipsis))
  [[None, None, None], 0, '...']

  Raises:
    ValueError: for advanced indices (arrays, lists of ints, booleans).
  """
  entries = index if isinstance(index, tuple) else (index,)
  spec = []
  for entry in entries:
    if isinstance(entry, slice):
      spec.append([_int_or_none(v) for v in (entry.start, entry.stop, entry.step)])
    elif entry is None:
      spec.append(None)
    elif entry is Ellipsis:
      spec.append('...')
    elif isinstance(entry, int) and not isinstance(entry, bool):
      spec.append(entry)
    else:
      raise ValueError(
        f'GetItem takes basic indices (ints, slices, None, ...), got {entry!r} in {index!r}.'
      )
  return spec


def _int_or_none(value: Any) -> 'int | None':
  if value is None or (isinstance(value, int) and not isinstance(value, bool)):
    return value
  raise ValueError(f'GetItem: slice bounds must be ints or None, got {value!r}.')


def _from_spec(entry: Any) -> Any:
  if entry == '...':
    return Ellipsis
  if isinstance(entry, (list, tuple)):
    return slice(*entry)
  if entry is None or isinstance(entry, int):
    return entry
  raise ValueError(
    f'GetItem: index entries are ints, None, "..." or [start, stop, step]; got {entry!r}.'
  )
