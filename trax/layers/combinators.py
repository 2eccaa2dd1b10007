"""Combinators: layers built from layers, moving data on a stack.

Data flows through a model as a stack of arrays. A layer with `n_in` inputs takes the top
`n_in` items and puts its `n_out` outputs back in their place (`stack.py`); a combinator
called on a longer stack leaves the items below its inputs in place, as Trax 1.x's did:
`Serial(Dense(4))((x, y, z))` returns `(dense(x), y, z)`.

- `Serial(a, b, c)` applies its sublayers in turn to the stack.
- `Parallel(a, b)` gives each sublayer its own slice of the stack (a's inputs on top).
- `Branch(a, b)` gives each sublayer a copy of the top items.
- `Residual(f)` computes `x + f(x)`.
- `Select`, `Dup`, `Drop`, `Swap` rearrange the stack.
- `SerialWithSideOutputs` runs layers in series, setting some outputs of each aside.

A combinator's weights and state are tuples with one entry per sublayer (a layer used twice
shares its weights; see `base.py`). Each sublayer gets its own rng, split from the
combinator's. Loops and branches over a layer (`Scan`, `Cond`, `Cache`) are in
`control_flow.py`; wrappers that reshape the inputs around a layer in `wrappers.py`.
"""

from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.config import register
from trax.layers.stack import inputs_from_stack
from trax.layers.stack import outputs_onto_stack

__all__ = [
  'Serial',
  'Parallel',
  'Branch',
  'Residual',
  'Select',
  'Dup',
  'Drop',
  'Swap',
  'Add',
  'SubtractTop',
  'Multiply',
  'Gate',
  'Concatenate',
  'Split',
  'SerialWithSideOutputs',
  'FlattenList',
  'inputs_from_stack',
  'outputs_onto_stack',
]


class Serial(base.Layer):
  """Applies sublayers one after another, each to the top of the data stack.

  `n_in` and `n_out` follow from the sublayers: `Serial(Dense(8), Relu())` maps 1 input to
  1 output; `Serial(Add(), Dense(8))` takes 2 inputs. Lists among the arguments are
  flattened and `None`s dropped, so model code can splice in lists of blocks.

  >>> mlp = Serial(Dense(16), Relu(), [Dense(16), Relu()], Dense(2))
  >>> y = mlp(np.ones((8, 3)))  # y.shape == (8, 2)
  """

  def __init__(
    self, *sublayers: Any, name: 'str | None' = None, sublayers_to_print: 'list | None' = None
  ):
    super().__init__(name=name or 'Serial', sublayers_to_print=sublayers_to_print)
    self._sublayers = _ensure_flat(sublayers)
    if self._sublayers:
      self._n_in, self._n_out = _serial_n_in_n_out(self._sublayers)
    self._weights = self._state = (None,) * len(self._sublayers)

  def _takes_stack(self) -> bool:
    return True  # Even without sublayers: `Serial()` passes the whole stack through.

  def init_weights_and_state(self, input_signature: Any) -> None:
    stack = as_stack(input_signature, self._n_in, self)
    weights, states = [], []
    for layer, rng in zip(self._sublayers, split_rngs(self.rng, len(self._sublayers))):
      inputs = inputs_from_stack(stack, layer.n_in)
      layer_weights, layer_state = layer.init(inputs, rng=rng, use_cache=True)
      stack = replace_top(stack, layer.n_in, layer.output_signature(inputs), layer.n_out)
      weights.append(layer_weights)
      states.append(layer_state)
    self.weights, self.state = tuple(weights), tuple(states)

  def forward(self, xs: Any) -> Any:
    stack = as_stack(xs, self._n_in, self)
    states = []
    rngs = split_rngs(call_rng(self), len(self._sublayers))
    for layer, w, s, rng in zip(self._sublayers, self.weights, self.state, rngs):
      inputs = inputs_from_stack(stack, layer.n_in)
      outputs, new_s = layer.pure_fn(inputs, w, s, rng, use_cache=True)
      stack = replace_top(stack, layer.n_in, outputs, layer.n_out)
      states.append(s if base.is_cache_marker(s) else new_s)
    self.state = tuple(states)
    return _from_stack(stack, self._n_out)


class Parallel(base.Layer):
  """Applies each sublayer to its own slice of the stack, in parallel.

  With sublayers `a` (n_in 2) and `b` (n_in 1), `a` takes the top two items and `b` the
  third; the outputs of `a` end up above those of `b`. Each argument is one branch: `None`
  or `[]` is an identity on one item, and a list of layers runs as a `Serial`.

  >>> y0, y1 = Parallel(Dense(4), None)((np.ones((2, 3)), np.ones((2, 5))))  # (2, 4), (2, 5)
  """

  def __init__(self, *sublayers: Any, name: 'str | None' = None):
    super().__init__(name=name or 'Parallel')
    self._sublayers = tuple(_as_branch(layer) for layer in sublayers)
    self._n_in = sum(layer.n_in for layer in self._sublayers)
    self._n_out = sum(layer.n_out for layer in self._sublayers)
    self._weights = self._state = (None,) * len(self._sublayers)

  def _allot(self, stack: tuple) -> list:
    inputs, start = [], 0
    for layer in self._sublayers:
      inputs.append(inputs_from_stack(stack[start:], layer.n_in))
      start += layer.n_in
    return inputs

  def init_weights_and_state(self, input_signature: Any) -> None:
    stack = as_stack(input_signature, self._n_in, self)
    weights, states = [], []
    rngs = split_rngs(self.rng, len(self._sublayers))
    for layer, inputs, rng in zip(self._sublayers, self._allot(stack), rngs):
      layer_weights, layer_state = layer.init(inputs, rng=rng, use_cache=True)
      weights.append(layer_weights)
      states.append(layer_state)
    self.weights, self.state = tuple(weights), tuple(states)

  def forward(self, xs: Any) -> Any:
    stack = as_stack(xs, self._n_in, self)
    outputs, states = [], []
    rngs = split_rngs(call_rng(self), len(self._sublayers))
    for layer, inputs, w, s, rng in zip(
      self._sublayers, self._allot(stack), self.weights, self.state, rngs
    ):
      layer_outputs, new_s = layer.pure_fn(inputs, w, s, rng, use_cache=True)
      outputs.extend(as_stack(layer_outputs, layer.n_out))
      states.append(s if base.is_cache_marker(s) else new_s)
    self.state = tuple(states)
    return _from_stack(tuple(outputs), self._n_out)


@register
def Branch(*layers: Any, name: str = 'Branch') -> base.Layer:
  """Applies each layer to a copy of the top of the stack; outputs are stacked in order.

  `Branch(a, b)` on `x` gives `a(x), b(x)` (a's outputs on top). As in `Parallel`, `None`
  or `[]` is an identity (a copy of the top item) and a list of layers runs as a `Serial`.

  >>> x = np.ones((2, 3))
  >>> dense_x, x_again = Branch(Dense(4), None)(x)
  """
  if len(layers) == 1:
    return _as_branch(layers[0])
  parallel = Parallel(*layers)
  indices = [i for layer in parallel.sublayers for i in range(layer.n_in)]
  return Serial(Select(indices), parallel, name=name, sublayers_to_print=list(parallel.sublayers))


@register
def Residual(*layers: Any, shortcut: 'base.Layer | None' = None) -> base.Layer:
  """Computes `shortcut(x) + f(x)`, where `f` is `Serial(*layers)`; by default `x + f(x)`.

  >>> y = Residual(Dense(3), Relu())(np.ones((2, 3)))  # x + relu(dense(x))
  """
  layers = _ensure_flat(layers)
  body = layers[0] if len(layers) == 1 else Serial(layers)
  return Serial(
    Branch(shortcut, body),
    Add(),
    name='Residual',
    sublayers_to_print=[body] if shortcut is None else [shortcut, body],
  )


@register
def Select(
  indices: Sequence[int], n_in: 'int | None' = None, name: 'str | None' = None
) -> base.Layer:
  """Copies, reorders or drops stack items: outputs are `inputs[i] for i in indices`.

  `Select([0, 0])` duplicates the top item; `Select([1, 0])` swaps the top two;
  `Select([0], n_in=2)` drops the second item. `n_in` defaults to `max(indices) + 1`.
  """
  indices = list(indices)
  n_in = max(indices) + 1 if n_in is None else n_in
  name = name or f'Select{indices}'.replace(' ', '')

  def select(xs):
    xs = xs if n_in != 1 else (xs,)
    return xs[indices[0]] if len(indices) == 1 else tuple(xs[i] for i in indices)

  return base.PureLayer(select, n_in=n_in, n_out=len(indices), name=name)


@register
def Dup() -> base.Layer:
  """Duplicates the top item: `x -> x, x`."""
  return base.Fn('Dup', lambda x: (x, x), n_out=2)


@register
def Drop() -> base.Layer:
  """Removes the top item from the stack."""
  return base.Fn('Drop', lambda x: (), n_out=0)


@register
def Swap() -> base.Layer:
  """Swaps the top two items: `x0, x1 -> x1, x0`."""
  return base.Fn('Swap', lambda x0, x1: (x1, x0), n_out=2)


@register
def Add() -> base.Layer:
  """`x0, x1 -> x0 + x1`."""
  return base.Fn('Add', lambda x0, x1: x0 + x1)


@register
def SubtractTop() -> base.Layer:
  """`x0, x1 -> x1 - x0`: subtracts the top item from the one below it."""
  return base.Fn('SubtractTop', lambda x0, x1: x1 - x0)


@register
def Multiply() -> base.Layer:
  """`x0, x1 -> x0 * x1`, elementwise."""
  return base.Fn('Multiply', lambda x0, x1: x0 * x1)


@register
def Gate() -> base.Layer:
  """`x, gate, candidate -> gate * x + (1 - gate) * candidate`."""
  return base.Fn('Gate', lambda x, gate, candidate: gate * x + (1.0 - gate) * candidate)


@register
def Concatenate(n_items: int = 2, axis: int = -1) -> base.Layer:
  """Concatenates the top `n_items` arrays along `axis`."""
  if n_items < 2:
    raise ValueError(f'Concatenate needs n_items >= 2, got {n_items}.')
  return base.PureLayer(
    lambda xs: jnp.concatenate(xs, axis),
    n_in=n_items,
    name='Concatenate' if axis == -1 else f'Concatenate_axis{axis}',
  )


@register
def Split(n_items: int = 2, axis: int = -1) -> base.Layer:
  """Splits the top array into `n_items` equal parts along `axis`."""
  return base.Fn('Split', lambda x: tuple(jnp.split(x, n_items, axis)), n_out=n_items)


@register
def SerialWithSideOutputs(
  layers: Sequence[base.Layer], n_side_outputs: 'int | Sequence[int]' = 1
) -> base.Layer:
  """Runs `layers` in series, moving the last `n_side_outputs` outputs of each aside.

  With one-input, two-output layers and `n_side_outputs=1` this computes::

      side_outputs = []
      for layer in layers:
        x, side = layer(x)
        side_outputs.append(side)
      return (x, *side_outputs)

  In general, after each layer its last `n_side_outputs[i]` outputs go to the bottom of
  the stack (below what the following layers use), in the order the layers ran.

  Args:
    layers: the layers to run in series.
    n_side_outputs: how many outputs of each layer to set aside (one int for all).
  """
  layers = list(layers)
  if isinstance(n_side_outputs, int):
    n_side_outputs = [n_side_outputs] * len(layers)
  # The n_in of the whole: the deepest the layers reach, counting only kept outputs.
  depth = reach = 0
  for layer, n_side in zip(layers, n_side_outputs):
    reach = max(reach, depth + layer.n_in)
    depth += layer.n_in - (layer.n_out - n_side)
  stack_size = reach
  serial = []
  for layer, n_side in zip(layers, n_side_outputs):
    stack_size += layer.n_out - layer.n_in
    n_kept = layer.n_out - n_side
    # Kept outputs stay on top, the rest of the stack follows, the side outputs go last.
    order = (
      list(range(n_kept)) + list(range(layer.n_out, stack_size)) + list(range(n_kept, layer.n_out))
    )
    serial += [layer, Select(order)]
  return Serial(serial, name='SerialWithSideOutputs')


@register
def FlattenList() -> base.Layer:
  """Flattens one stack item made of nested lists/tuples into a flat tuple of arrays."""
  return base.Fn('FlattenList', lambda x: tuple(_deep_flatten(x)))


# Stack helpers (a stack is a tuple here; see `stack.py` for Trax 1.x's public ones).


def replace_top(stack: tuple, n_in: int, outputs: Any, n_out: int) -> tuple:
  """The stack after a layer replaced its `n_in` inputs by its `n_out` `outputs`."""
  return as_stack(outputs, n_out) + tuple(stack[n_in:])


def as_stack(xs: Any, n: int, layer: 'base.Layer | None' = None) -> tuple:
  """`n` items as a tuple (one item is any value, even a tuple or dict)."""
  if n == 1:
    return (xs,)
  if not isinstance(xs, (tuple, list)) or len(xs) < n:
    got = f'{len(xs)} items' if isinstance(xs, (tuple, list)) else 'a single array'
    where = f'{layer.name} ' if layer is not None else ''
    raise ValueError(f'{where}expects {n} inputs (a tuple of {n} arrays), got {got}.')
  return tuple(xs)


def _from_stack(stack: tuple, n_out: int) -> Any:
  return stack[0] if n_out == 1 else tuple(stack[:n_out])


def split_rngs(rng: Any, n: int) -> list:
  """`n` independent keys from `rng`, `split(rng, n)` (for one sublayer too, as Trax 1.x
  did, so a model initialized from a key gets Trax's weights); `n` Nones for `rng=None`."""
  if n < 1:
    return []
  if rng is None:
    return [None] * n
  keys = fastmath.random.split(rng, n)
  return [keys[i] for i in range(n)]


def call_rng(layer: base.Layer) -> Any:
  """The key `layer.pure_fn` was given, `None` if none (`layer.rng` is then the default).

  A call without a key draws no randomness (eval mode; exports pass none), and forward
  passes hand their sublayers `None` rather than keys split from the default: that keeps
  random ops out of exported graphs (Trax 1.x passed `None` down the same way).
  """
  return layer._rng


def _serial_n_in_n_out(layers: Sequence[base.Layer]) -> tuple[int, int]:
  """The deepest the sublayers reach into the stack, and what they leave there."""
  running_max = running_total = 0
  for layer in layers:
    running_total += layer.n_in
    running_max = max(running_max, running_total)
    running_total -= layer.n_out
  return running_max, running_max - running_total


def _as_branch(layer: Any) -> base.Layer:
  """One argument of `Parallel`/`Branch` as a layer: identity, a layer, or a Serial."""
  if layer is None or (isinstance(layer, (list, tuple)) and not layer):
    return Serial()
  if isinstance(layer, (list, tuple)):
    return Serial(layer)
  return _ensure_flat([layer])[0]


def _deep_flatten(items: Any) -> list:
  if not isinstance(items, (list, tuple)):
    return [items]
  return [leaf for item in items for leaf in _deep_flatten(item)]


def _ensure_flat(layers: Any) -> tuple:
  """Flattens nested lists/tuples of layers, dropping `None`s and checking the rest."""
  flat = []
  for layer in layers:
    if isinstance(layer, (list, tuple)):
      flat.extend(_ensure_flat(layer))
    elif isinstance(layer, base.Layer):
      flat.append(layer)
    elif layer is not None:
      raise TypeError(
        f'Expected a trax layer, got {type(layer).__name__}: {layer!r:.100}. '
        '(Did you pass a layer class or factory without calling it?)'
      )
  return tuple(flat)
