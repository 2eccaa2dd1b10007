"""The data stack: how a layer takes its inputs from it and puts its outputs back.

Inputs and outputs are packaged as in Trax 1.x: `n == 1` is one array (not wrapped), any
other number a tuple. A tuple or list handed to a combinator is a stack: the combinator
takes the top `n_in` items and leaves the rest in place, below its outputs, so
`Serial(Dense(4))((x, y, z))` returns `(dense(x), y, z)`. A leaf layer (no sublayers) with
`n_in > 1` must get exactly `n_in` items, as Trax's `PureLayer` required; a leaf with one
input takes what it is given as that input.
"""

from typing import Any

import numpy as np

__all__ = ['inputs_from_stack', 'outputs_onto_stack', 'to_list']


def inputs_from_stack(stack: Any, n: int) -> Any:
  """The inputs of a layer with `n` inputs: the top `n` items of `stack`.

  `stack` is a tuple or list of items, or a single item; the result is one item when
  `n == 1`, else a tuple (as Trax 1.x's function of this name).
  """
  return unwrapped(as_tuple(stack)[:n])


def outputs_onto_stack(outputs: Any, stack: Any, n: int) -> Any:
  """The stack after a layer took `n` items from `stack` and returned `outputs`.

  As Trax 1.x's function of this name: a tuple or list of outputs counts as several
  items, and a one-item result is returned unwrapped.
  """
  return unwrapped(as_tuple(outputs) + as_tuple(stack)[n:])


def as_tuple(xs: Any) -> tuple:
  """A tuple or list as a tuple of its items; anything else as a one-item tuple."""
  return tuple(xs) if isinstance(xs, (tuple, list)) else (xs,)


def unwrapped(items: tuple) -> Any:
  """One item as itself, any other number of items as a tuple."""
  return items[0] if len(items) == 1 else tuple(items)


def take(x: Any, n_in: int, takes_stack: bool, name: str) -> tuple[Any, tuple]:
  """`(inputs, rest)`: what a layer's forward gets from `x`, and the items it leaves.

  Raises:
    ValueError: too few items for a combinator, or not exactly `n_in` for a leaf layer.
  """
  if not takes_stack:
    if n_in > 1 and (not isinstance(x, (tuple, list)) or len(x) != n_in):
      got = f'{len(x)} items' if isinstance(x, (tuple, list)) else 'a single array'
      raise ValueError(
        f'{name} expects exactly {n_in} inputs (a tuple of {n_in} arrays), got {got}.'
      )
    return x, ()
  if not isinstance(x, (tuple, list)):
    if n_in > 1:
      raise ValueError(
        f'{name} expects {n_in} inputs (a tuple of at least {n_in} arrays), got a single array.'
      )
    return (x, ()) if n_in == 1 else ((), (x,))
  if len(x) < n_in:
    raise ValueError(f'{name} expects {n_in} inputs, got a stack of {len(x)} items.')
  inputs = x[0] if n_in == 1 else tuple(x[:n_in])
  return inputs, tuple(x[n_in:])


def put(outputs: Any, rest: tuple, n_out: int) -> Any:
  """A layer's `outputs` (`n_out` of them) on top of the items it left, `rest`."""
  if not rest:
    return outputs
  return unwrapped(((outputs,) if n_out == 1 else tuple(outputs)) + rest)


def to_list(outputs: Any) -> Any:
  """Layer outputs as (nested) Python lists, for equality tests (Trax 1.x's helper).

  >>> to_list((np.array([1, 2]), np.array([[3]])))
  [[1, 2], [[3]]]
  """
  if isinstance(outputs, (list, tuple)):
    return [to_list(y) for y in outputs]
  return np.asarray(outputs).tolist()
