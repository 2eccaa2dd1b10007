"""Nested-structure utilities with Trax 1.x semantics: trax's one tree API.

Trees are nested tuples (namedtuples keep their type), lists and dicts; everything else is
a leaf. Dicts are walked in sorted key order. This order defines the flat weight order of
Trax 1.x checkpoints, which is why these are plain Python rather than `jax.tree_util`
(which also descends into registered pytree classes).
"""

from typing import Any
from collections.abc import Callable

import numpy as np


def tree_flatten(tree: Any) -> list:
  """Returns the leaves of `tree`, depth first, left to right."""
  if isinstance(tree, (list, tuple)):
    return [leaf for subtree in tree for leaf in tree_flatten(subtree)]
  if isinstance(tree, dict):
    return [leaf for key in sorted(tree) for leaf in tree_flatten(tree[key])]
  return [tree]


def tree_leaves(tree: Any, ignore_nones: bool = True) -> list:
  """Like `tree_flatten`, optionally dropping `None` leaves."""
  return [x for x in tree_flatten(tree) if not (ignore_nones and x is None)]


def tree_unflatten(
  flat: 'list | tuple', tree: Any, copy_from_tree: 'list | None' = None, ignore_nones: bool = False
) -> tuple[Any, list]:
  """Fills the structure of `tree` with leaves taken from the front of `flat`.

  Args:
    flat: leaves, in `tree_flatten` order.
    tree: the structure to fill; its own leaves are only placeholders.
    copy_from_tree: subtrees of `tree` equal to one of these are kept as they are and take
      no leaves from `flat` (Trax 1.x uses this for cache markers).
    ignore_nones: `None`s in `tree` stay `None` and take no leaves (the inverse of
      `tree_leaves`); otherwise they are leaves like any other (of `tree_flatten`).

  Returns:
    `(new_tree, rest)`: the filled structure and the leaves left over.
  """
  if (
    copy_from_tree is not None
    and isinstance(tree, (list, tuple, dict))
    and any(tree == c for c in copy_from_tree)
  ):
    return tree, list(flat)
  if tree is None and ignore_nones:
    return None, list(flat)
  if isinstance(tree, (list, tuple)):
    new_tree, rest = [], list(flat)
    for subtree in tree:
      new_subtree, rest = tree_unflatten(rest, subtree, copy_from_tree, ignore_nones)
      new_tree.append(new_subtree)
    return (_like(tree, new_tree) if isinstance(tree, tuple) else new_tree), rest
  if isinstance(tree, dict):
    new_tree, rest = {}, list(flat)
    for key in sorted(tree):
      new_tree[key], rest = tree_unflatten(rest, tree[key], copy_from_tree, ignore_nones)
    return new_tree, rest
  if not flat:
    raise ValueError('tree_unflatten: ran out of leaves while filling the tree.')
  return flat[0], list(flat[1:])


def nested_map(f: Callable, obj: Any, level: int = 0, ignore_nones: bool = True) -> Any:
  """Maps `f` over the leaves of `obj` (or over subtrees `level` levels above the leaves).

  Tuples (and namedtuples) stay tuples, lists stay lists, dicts stay dicts; `None` stays
  `None` when `ignore_nones` is set.
  """
  if obj is None and ignore_nones:
    return None
  if _tree_depth(obj) <= level:
    return f(obj)
  if isinstance(obj, list):
    return [nested_map(f, x, level, ignore_nones) for x in obj]
  if isinstance(obj, tuple):
    return _like(obj, [nested_map(f, x, level, ignore_nones) for x in obj])
  if isinstance(obj, dict):
    return {k: nested_map(f, v, level, ignore_nones) for k, v in obj.items()}
  return f(obj)


def nested_map_multiarg(f: Callable, *objs: Any, ignore_nones: bool = True) -> Any:
  """Maps `f` over matching leaves of several trees of the same structure."""
  first = objs[0]
  if isinstance(first, (list, tuple)):
    mapped = [nested_map_multiarg(f, *xs, ignore_nones=ignore_nones) for xs in zip(*objs)]
    return mapped if isinstance(first, list) else _like(first, mapped)
  if isinstance(first, dict):
    return {
      k: nested_map_multiarg(f, *(o[k] for o in objs), ignore_nones=ignore_nones) for k in first
    }
  return None if (first is None and ignore_nones) else f(*objs)


def nested_zip(objs: 'list | tuple') -> Any:
  """One tree of the structure of each of `objs`, its leaves tuples of their leaves.

  >>> nested_zip([{'a': 1, 'b': (2,)}, {'a': 3, 'b': (4,)}])
  {'a': (1, 3), 'b': ((2, 4),)}
  """
  if not isinstance(objs, (list, tuple)) or not objs:
    raise ValueError(f'nested_zip takes a non-empty list of trees, got {objs!r:.100}.')
  first = objs[0]
  if isinstance(first, (list, tuple)):
    zipped = [nested_zip([obj[i] for obj in objs]) for i in range(len(first))]
    return zipped if isinstance(first, list) else tuple(zipped)
  if isinstance(first, dict):
    return {k: nested_zip([obj[k] for obj in objs]) for k in first}
  return tuple(objs)


def nested_stack(objs: 'list | tuple', axis: int = 0, np_module: Any = np) -> Any:
  """One tree of the structure of each of `objs`, its leaves their leaves stacked.

  `np_module` does the stacking (numpy by default; e.g. `fastmath.numpy`). `None` leaves
  stay `None`.
  """

  def stack(leaves):
    if all(leaf is None for leaf in leaves):
      return None
    return np_module.stack(leaves, axis=axis)

  def walk(zipped, first):
    if isinstance(first, (list, tuple)):
      walked = [walk(z, f) for z, f in zip(zipped, first)]
      return walked if isinstance(first, list) else tuple(walked)
    if isinstance(first, dict):
      return {k: walk(zipped[k], first[k]) for k in first}
    return stack(zipped)

  return walk(nested_zip(objs), objs[0])


def _tree_depth(obj: Any) -> int:
  """Leaves have depth 0; a container is one deeper than its deepest child."""
  if isinstance(obj, (list, tuple)):
    return 1 + max((_tree_depth(x) for x in obj), default=0)
  if isinstance(obj, dict):
    return 1 + max((_tree_depth(x) for x in obj.values()), default=0)
  return 0


def _like(like: tuple, items: list) -> tuple:
  """`items` as a tuple of the type of `like` (a namedtuple stays one)."""
  return type(like)(*items) if hasattr(like, '_fields') else tuple(items)
