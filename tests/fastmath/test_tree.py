"""trax's tree functions (`fastmath.tree_*`, `nested_*`): Trax 1.x's order, types kept."""

import collections

import numpy as np
import pytest

from trax import fastmath
from trax.optimizers import adam

Pair = collections.namedtuple('Pair', ['m', 'v'])


def test_flatten_order_is_trax1s_dicts_by_sorted_key():
  tree = ({'b': 2, 'a': (1, [3])}, 4)
  assert fastmath.tree_flatten(tree) == [1, 3, 2, 4]
  assert fastmath.tree_unflatten([10, 30, 20, 40, 50], tree) == (
    ({'b': 20, 'a': (10, [30])}, 40),
    [50],
  )


def test_namedtuples_keep_their_type_through_map_zip_and_unflatten():
  tree = [Pair(np.ones(2), np.zeros(2)), (Pair(1, 2),)]
  doubled = fastmath.nested_map(lambda x: x * 2, tree)
  assert type(doubled[0]) is Pair and type(doubled[1][0]) is Pair
  assert doubled[1][0] == Pair(2, 4)
  summed = fastmath.nested_map_multiarg(lambda a, b: a + b, tree, doubled)
  assert summed[1][0] == Pair(3, 6)
  filled, rest = fastmath.tree_unflatten([5, 6, 7, 8], tree)
  assert type(filled[0]) is Pair and filled[1][0] == Pair(7, 8) and rest == []


def test_optimizer_slots_round_trip_with_their_types():
  weights = (np.ones((2, 3), np.float32), np.ones(3, np.float32))
  slots = adam.Adam().tree_init(weights)[0]
  leaves = fastmath.tree_leaves(slots)
  restored, _ = fastmath.tree_unflatten([x + 1 for x in leaves], slots)
  assert [type(s) for s in restored] == [type(s) for s in slots]
  np.testing.assert_array_equal(fastmath.tree_leaves(restored)[0], leaves[0] + 1)


def test_ignore_nones_makes_unflatten_the_inverse_of_tree_leaves():
  tree = [None, (np.ones(1), None), {'a': None, 'b': 2}]
  leaves = fastmath.tree_leaves(tree)
  assert len(leaves) == 2
  filled, rest = fastmath.tree_unflatten(['x', 'y'], tree, ignore_nones=True)
  assert filled == [None, ('x', None), {'a': None, 'b': 'y'}] and rest == []
  # Without it, a None is a leaf like any other (Trax 1.x's tree_unflatten).
  assert fastmath.tree_unflatten([1, 2, 3, 4, 5], tree)[0] == [1, (2, 3), {'a': 4, 'b': 5}]
  with pytest.raises(ValueError, match='ran out of leaves'):
    fastmath.tree_unflatten(['x'], tree, ignore_nones=True)
