"""What an inverse mapping receives and returns, and the helpers the modules share.

An inverse mapping is a function `(builder, layer, arguments, inputs) -> outputs`: given
the trax leaf layer (initialized), the arguments of the factory or class that built it
(defaults filled in), and the Keras tensors it takes from the stack, it returns the Keras
tensors it puts back. Keras layers are made through `builder.keras_layer(layer, make,
values)`, which makes one Keras layer per trax instance (so shared weights stay shared)
and sets `values` as its weights once the model is built. It raises `Unmapped` (saying
why) when the layer, or a setting of it, has no native Keras counterpart.
"""

import inspect
from typing import Any, overload
from collections.abc import Callable, Sequence

import numpy as np

from trax import fastmath
import trax.layers as tl

InverseMapping = Callable[[Any, Any, dict, list], list]


class Unmapped(Exception):
  """A trax layer (or a setting of one) with no native Keras counterpart."""


def built_by(layer: Any) -> tuple['str | None', dict]:
  """Name of the trax factory or class that built `layer`, and its bound arguments
  (defaults filled in); `(None, {})` for layers built otherwise."""
  record = tl.build_record(layer)  # What `config()` describes.
  if record is None:
    return None, {}
  factory, args, kwargs = record
  if not getattr(factory, '__module__', '').startswith('trax.'):
    return None, {}
  try:
    bound = inspect.signature(factory).bind(*args, **kwargs)
  except (TypeError, ValueError):
    return None, {}
  bound.apply_defaults()
  return factory.__name__, dict(bound.arguments)


def keras():
  import keras as keras_module

  return keras_module


def simple(make: Callable[[dict], Any]) -> InverseMapping:
  """A weightless one-input Keras layer made from the trax layer's arguments."""

  def mapping(builder, layer, arguments, inputs):
    return [builder.keras_layer(layer, lambda: make(arguments), [])(inputs[0])]

  return mapping


def flat_weights(layer: Any) -> list:
  """The layer's weights as a flat list of numpy arrays (trax's order)."""
  return [np.asarray(w) for w in fastmath.tree_flatten(layer.weights)]


def spatial_class(prefix: str, n_spatial: int, suffix: str = 'D') -> str:
  """The Keras class name for `n_spatial` spatial axes (`Conv2D`, `ZeroPadding1D`, ...),
  or Unmapped when Keras has none."""
  name = f'{prefix}{n_spatial}{suffix}'
  if not hasattr(keras().layers, name):
    raise Unmapped(f'Keras has no {name}')
  return name


@overload
def axes_of(axis: None, rank: int) -> None: ...
@overload
def axes_of(axis: 'int | Sequence[int]', rank: int) -> tuple[int, ...]: ...
def axes_of(axis: 'int | Sequence[int] | None', rank: int) -> 'tuple[int, ...] | None':
  """`axis` (an int or several) as sorted non-negative axes of a rank-`rank` tensor."""
  if axis is None:
    return None
  return tuple(sorted(a % rank for a in (axis if isinstance(axis, Sequence) else (axis,))))
