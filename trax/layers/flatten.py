"""Flat lists of weights and state: the Trax 1.x checkpoint order, and files of arrays.

Weights and state trees flatten depth first, left to right; empty entries and the cache
markers of repeated (shared) layers contribute nothing, so a shared layer's weights appear
once, where it is first used.
"""

import gzip
import os
from typing import Any

import numpy as np

from trax import checkpoint_reading
from trax import fastmath
from trax.layers.sharing import EMPTY_STATE
from trax.layers.sharing import EMPTY_WEIGHTS
from trax.layers.sharing import GET_STATE_FROM_CACHE
from trax.layers.sharing import GET_WEIGHTS_FROM_CACHE

__all__ = ['flatten_weights_and_state', 'unflatten_weights_and_state', 'np_to_file', 'np_from_file']


def flatten_weights_and_state(weights: Any, state: Any) -> tuple[list, list]:
  """Flat lists of weights and state (Trax 1.x order; shared and empty entries dropped)."""
  return fastmath.tree_flatten(weights), fastmath.tree_flatten(state)


def unflatten_weights_and_state(
  flat_weights: list,
  flat_state: list,
  weights_and_state_signature: tuple[Any, Any],
  weights_only: bool = False,
) -> tuple[Any, Any]:
  """Inverse of `flatten_weights_and_state` given the trees' signature (or example)."""
  weights_tree, state_tree = weights_and_state_signature
  weights, rest = fastmath.tree_unflatten(
    flat_weights, weights_tree, copy_from_tree=[EMPTY_WEIGHTS, GET_WEIGHTS_FROM_CACHE]
  )
  if rest:
    raise ValueError(f'{len(rest)} weights left over after filling the weights tree.')
  if weights_only:
    return weights, None
  state, rest = fastmath.tree_unflatten(
    flat_state, state_tree, copy_from_tree=[EMPTY_STATE, GET_STATE_FROM_CACHE]
  )
  if rest:
    raise ValueError(f'{len(rest)} state entries left over after filling the state tree.')
  return weights, state


def np_to_file(list_of_nparrays: list, file_path: str, compresslevel: int) -> None:
  """Writes arrays to a gzip file of consecutive `np.save` records (Trax 1.4's `.npy.gz`
  side files), through a temporary file renamed when complete."""
  tmp_path = file_path + '._tmp_'
  with gzip.open(tmp_path, 'wb', compresslevel=compresslevel) as f:
    for x in list_of_nparrays:
      np.save(f, np.asarray(x), allow_pickle=False)
  os.replace(tmp_path, file_path)


def np_from_file(file_path: str, compresslevel: int = 2) -> list:
  """The arrays `np_to_file` wrote (`compresslevel` is Trax's argument; gzip needs none)."""
  del compresslevel
  if not os.path.exists(file_path):
    raise FileNotFoundError(file_path)
  return checkpoint_reading.read_npy_records(file_path)
