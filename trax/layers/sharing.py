"""How a layer tree holds its weights and state, and marks the second use of a shared layer.

Leaf layers hold their own values. A layer with sublayers hands its weights (a tuple, one
entry per sublayer) down to them and keeps only marks: `None` where a sublayer holds the
entry, a cache marker where the entry is the second use of a shared layer
(`GET_WEIGHTS_FROM_CACHE`/`GET_STATE_FROM_CACHE`, as in Trax 1.x: they flatten to nothing,
which keeps Trax's flat weight order). Reading the weights gathers them back.
"""

from collections.abc import Sequence
from typing import Any

EMPTY_WEIGHTS = ()
EMPTY_STATE = ()
GET_WEIGHTS_FROM_CACHE = {'__marker_for_cached_weights_': ()}
GET_STATE_FROM_CACHE = {'__marker_for_cached_state_': ()}


def is_cache_marker(x: Any) -> bool:
  return isinstance(x, dict) and (x == GET_WEIGHTS_FROM_CACHE or x == GET_STATE_FROM_CACHE)


def gather(own: Any, sublayers: Sequence[Any], attribute: str) -> Any:
  """A layer's `attribute` ('weights' or 'state'): its `own` value, or its sublayers'."""
  if not sublayers:
    return own
  return tuple(
    getattr(layer, attribute) if mark is None else mark for layer, mark in zip(sublayers, own)
  )


def distribute(
  values: Any, own: Any, sublayers: Sequence[Any], attribute: str, marker: dict, name: str
) -> Any:
  """Hands `values` to the `sublayers`; returns what the layer itself keeps.

  Args:
    values: the new weights or state of layer `name`: `marker` (keep `own`), a leaf's
      value, or a tuple with one entry per sublayer.
    own: what the layer keeps now.
    sublayers: the layer's sublayers.
    attribute: 'weights' or 'state'.
    marker: the cache marker of `attribute`.
    name: the layer's name, for errors.
  """
  if isinstance(values, dict) and values == marker:
    return own
  if not sublayers:
    return values
  if not isinstance(values, (tuple, list)) or len(values) != len(sublayers):
    got = f'{len(values)} entries' if isinstance(values, (tuple, list)) else repr(values)
    raise ValueError(
      f'{name} has {len(sublayers)} sublayers, so its {attribute} must be a tuple of '
      f'{len(sublayers)} entries; got {got:.200}.'
    )
  marks = []
  for layer, value in zip(sublayers, values):
    if isinstance(value, dict) and value == marker:
      marks.append(value)
    else:
      setattr(layer, attribute, value)
      marks.append(None)
  return tuple(marks)
