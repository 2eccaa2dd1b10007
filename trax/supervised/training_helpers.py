"""Trax 1.4's module-level helpers of `trax.supervised.training`.

`pickle_to_file` / `unpickle_from_file` keep Trax's signatures, but reading goes through
the restricted unpickler of `trax1_checkpoints` (numpy arrays, plain containers and the
few trax classes of checkpoints): `pickle.load` on a file would run whatever it says.
"""

import gzip as gzip_lib
import os
import pickle
import random
from typing import Any

import jax
import numpy as np

from trax import fastmath


def pickle_to_file(obj: Any, file_path: str, gzip: bool = False) -> None:
  """Pickles `obj` to `file_path` (gzipped if `gzip`), through a temporary file."""
  tmp_path = file_path + '._tmp_'
  with gzip_lib.open(tmp_path, 'wb', compresslevel=2) if gzip else open(tmp_path, 'wb') as f:
    pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
  os.replace(tmp_path, file_path)


def unpickle_from_file(file_path: str, gzip: bool = False) -> Any:
  """The object pickled in `file_path`, if it holds only what checkpoints hold.

  Raises:
    trax1_checkpoints.UnsafeCheckpointError: the pickle names anything else.
  """
  from trax.checkpoint_files import trax1_checkpoints

  with gzip_lib.open(file_path, 'rb') if gzip else open(file_path, 'rb') as f:
    return trax1_checkpoints.RestrictedUnpickler(f, source=file_path).load()


def init_host_and_devices(
  n_devices: 'int | None' = None, random_seed: 'int | None' = None
) -> tuple[bool, int, int, Any]:
  """`(is_chief, host_count, n_devices, rng)` for this process, as Trax 1.4 returned.

  Seeds Python's and numpy's global generators with `random_seed` (a random one if None),
  as Trax did (it also seeded TensorFlow's), and returns a key made from it.

  Raises:
    ValueError: `n_devices` exceeds this host's devices.
  """
  host_count = jax.process_count()
  local = jax.local_device_count()
  n_devices = n_devices or local
  if n_devices > local:
    raise ValueError(f'n_devices={n_devices}, but this host has {local} devices.')
  random.seed(random_seed)
  if random_seed is None:
    random_seed = random.randint(0, 2**31 - 1)
  np.random.seed(random_seed)
  with fastmath.use_backend('jax'):
    rng = fastmath.random.get_prng(random_seed)
  return jax.process_index() == 0, host_count, n_devices, rng
