"""Keras merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

n-ary merges become n - 1 binary trax layers applied left to right, as Keras folds them;
Subtract puts its operands on the stack in reverse order for `SubtractTop`. Inputs of
equal rank broadcast as in numpy (as Keras'); Keras' expansion of lower-rank inputs is
not mapped.
"""

from collections.abc import Callable

import trax.layers as tl
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import Unsupported


def _same_rank(call: Call) -> None:
  ranks = {len(s) for s in call.input_shapes}
  if len(ranks) > 1:
    raise Unsupported(f'inputs of different ranks {call.input_shapes}')


def fold(kind: Callable) -> Callable:
  """Add, Multiply, Maximum, Minimum of n inputs."""

  def mapping(layer, call: Call) -> Mapped:
    """Any number of inputs of one rank."""
    _same_rank(call)
    return Mapped([kind() for _ in range(len(call.data) - 1)])

  return mapping


def subtract(layer, call: Call) -> Mapped:
  """Two inputs of one rank."""
  _same_rank(call)
  return Mapped([tl.SubtractTop()], inputs=call.data[::-1])


def average(layer, call: Call) -> Mapped:
  """Any number of inputs of one rank."""
  _same_rank(call)
  return Mapped([tl.Average(len(call.data))])


def concatenate(layer, call: Call) -> Mapped:
  """Any axis."""
  return Mapped([tl.Concatenate(n_items=len(call.data), axis=layer.get_config()['axis'])])


def dot(layer, call: Call) -> Mapped:
  """Any axes (one per input), with or without normalize."""
  config = layer.get_config()
  axes = config['axes']
  axes = (axes, axes) if isinstance(axes, int) else tuple(axes)
  shapes = call.input_shapes
  if any(len(s) < 2 for s in shapes):
    raise Unsupported(f'inputs of rank < 2 {shapes}')
  axes = tuple(a % len(s) for a, s in zip(axes, shapes))
  return Mapped([tl.BatchDot(axes, normalize=config['normalize'])])


def table() -> dict:
  import keras

  layers = keras.layers
  return {
    layers.Add: fold(tl.Add),
    layers.Multiply: fold(tl.Multiply),
    layers.Maximum: fold(tl.Maximum),
    layers.Minimum: fold(tl.Minimum),
    layers.Subtract: subtract,
    layers.Average: average,
    layers.Concatenate: concatenate,
    layers.Dot: dot,
  }
