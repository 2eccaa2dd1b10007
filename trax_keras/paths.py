"""Readable names for the flat weights and state of a trax layer: `serial/2/dense/w`.

A trax layer's weights are a nested tuple mirroring its sublayer tree, flattened depth
first (Trax 1.x order). `weight_paths` names every flat entry by where it sits: the layer's
own name, then for each level the sublayer's index and name, then the entry's name inside
the leaf layer::

    Serial(Dense(32), Relu(), Dense(1))  ->  serial/0/dense/w, serial/0/dense/b,
                                             serial/2/dense/w, serial/2/dense/b

Names are snake case, without Trax's size suffixes (`Dense_32` -> `dense`). Entries of a
leaf layer have the names its class declares (`Layer.weight_names` / `state_names`: `w`,
`b`, `scale`, ...); a lone array is `w` (weights) or `state`, and anything else is named by
its index in the tree.
"""

import re
from typing import Any

import trax.layers as tl
from trax import fastmath
from trax.layers import base


def weight_paths(layer: tl.Layer, weights: Any, state: Any) -> tuple[list[str], list[str]]:
  """Names of the flat weights and flat state of `layer` (`tl.flatten_weights_and_state`).

  Args:
    layer: the trax layer.
    weights: its weights tree (arrays or `ShapeDtype`s).
    state: its state tree.

  Returns:
    `(weight_names, state_names)`: '/'-separated paths, unique, in flat Trax order.
  """
  root = [layer_name(layer)]
  weight_names = _walk(layer, weights, root, 'weight_names', 'w')
  state_names = _walk(layer, state, root, 'state_names', 'state')
  return _deduplicated(weight_names), _deduplicated(state_names)


def layer_name(layer: tl.Layer) -> str:
  """`Dense_32` -> `dense`, `LayerNorm` -> `layer_norm`, `LSTMCell` -> `lstm_cell`."""
  name = re.sub(r'(_\d+)+$', '', layer.name) or type(layer).__name__
  name = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
  name = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name).lower()
  return re.sub(r'[^a-z0-9_.-]+', '_', name).strip('_') or 'layer'


def _walk(layer: tl.Layer, tree: Any, prefix: list[str], names: str, lone_name: str) -> list[str]:
  """Paths of `tree`'s leaves; `names`: the attribute with a leaf layer's entry names.

  Not `Layer.walk`: this follows the weights tree alongside the layers, which a combinator
  whose weights do not mirror its sublayers (or a shared layer's cache marker) ends."""
  if base.is_cache_marker(tree):  # A shared layer's second use owns no entries.
    return []
  sublayers = layer.sublayers
  if sublayers and isinstance(tree, (tuple, list)) and len(tree) == len(sublayers):
    paths = []
    for i, (sublayer, subtree) in enumerate(zip(sublayers, tree)):
      paths += _walk(sublayer, subtree, [*prefix, str(i), layer_name(sublayer)], names, lone_name)
    return paths
  if not isinstance(tree, (tuple, list, dict)):
    return ['/'.join([*prefix, lone_name])]
  known = getattr(layer, names) if not sublayers else ()
  return _tree_paths(tree, prefix, known)


def _tree_paths(tree: Any, prefix: list[str], known: tuple[str, ...]) -> list[str]:
  """Paths of the leaves of a plain tree: known names at the top level, else indices."""
  if isinstance(tree, dict):
    items = [(str(key), tree[key]) for key in sorted(tree)]
  elif isinstance(tree, (tuple, list)):
    use_known = len(known) == len(tree)
    items = [(known[i] if use_known else str(i), x) for i, x in enumerate(tree)]
  else:
    return ['/'.join(prefix)]
  paths = []
  for key, subtree in items:
    if fastmath.tree_flatten(subtree):
      paths += _tree_paths(subtree, [*prefix, key], ())
  return paths


def _deduplicated(paths: list[str]) -> list[str]:
  seen: dict[str, int] = {}
  unique = []
  for path in paths:
    count = seen.get(path, 0)
    seen[path] = count + 1
    unique.append(path if count == 0 else f'{path}_{count}')
  return unique
