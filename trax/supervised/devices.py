"""Data-parallel placement over a `jax.sharding.Mesh`: one code path for 1 or N devices.

The mesh has a single axis, `'batch'`. Batches are split along their first dimension over
it; weights, state and optimizer slots are replicated on every device. Written this way, a
jitted step computes exactly what it computes on one device (means over the batch are
global means, gradients are summed across devices by XLA), so results agree with a
single-device run up to float rounding.

Multi-host: after `jax.distributed.initialize()`, every process drives its own local
devices, and the mesh holds the first `n_devices` local devices of every process. Each
process feeds its own slice of the global batch (its local batch); the global batch is the
concatenation of the processes' local batches, in process order
(`jax.make_array_from_process_local_data`). Only process 0 (the chief) writes files.
"""

from typing import Any

import jax
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec
import numpy as np

BATCH_AXIS = 'batch'


class DataParallel:
  """Places batches (sharded) and weights (replicated) on a mesh of devices.

  Args:
    n_devices: how many local devices of each process to use; all of them if `None`.

  Raises:
    ValueError: `n_devices` is not between 1 and the number of local devices.
  """

  def __init__(self, n_devices: 'int | None' = None):
    n_local = jax.local_device_count()
    n_devices = n_local if n_devices is None else n_devices
    if not 1 <= n_devices <= n_local:
      raise ValueError(f'n_devices must be between 1 and the {n_local} local device(s) of '
                       f'this process ({jax.local_devices()}), got {n_devices}.')
    devices = [d for p in range(jax.process_count())
               for d in [d for d in jax.devices() if d.process_index == p][:n_devices]]
    self._n_devices = n_devices
    self.mesh = Mesh(np.array(devices), (BATCH_AXIS,))
    self.replicated = NamedSharding(self.mesh, PartitionSpec())
    self.batch_sharded = NamedSharding(self.mesh, PartitionSpec(BATCH_AXIS))

  @property
  def n_devices(self) -> int:
    """Devices used by this process."""
    return self._n_devices

  @property
  def is_chief(self) -> bool:
    """Whether this is process 0, the one that writes checkpoints and summaries."""
    return jax.process_index() == 0

  def replicate(self, tree: Any) -> Any:
    """Copies of the arrays of `tree` on every device of the mesh.

    The copies are fresh buffers (so a jitted step may donate them without deleting arrays
    the caller still holds) and never weakly typed (so the first step's outputs have the
    same types as its inputs and the step compiles once).
    """
    def place(x):
      host = np.asarray(x)
      return jax.device_put(host, self.replicated)
    return jax.tree.map(place, tree)

  def shard_batch(self, batch: Any) -> Any:
    """The arrays of `batch` (this process's local batch) split over the mesh.

    Raises:
      ValueError: an array's first dimension is not a multiple of the local device count.
    """
    def place(x):
      x = np.asarray(x)
      if x.ndim == 0 or x.shape[0] % self._n_devices:
        raise ValueError(
            f'Cannot split a batch array of shape {x.shape} over {self._n_devices} devices: '
            f'its first (batch) dimension must be a multiple of {self._n_devices}. Change '
            'the batch size or pass n_devices to the Loop.')
      if jax.process_count() == 1:
        return jax.device_put(x, self.batch_sharded)
      return jax.make_array_from_process_local_data(self.batch_sharded, x)
    return jax.tree.map(place, batch)

  def to_host(self, tree: Any) -> Any:
    """numpy copies of the replicated arrays of `tree` (one transfer for the whole tree)."""
    if jax.process_count() == 1:
      return jax.device_get(tree)
    return jax.tree.map(lambda x: np.asarray(x.addressable_data(0)), tree)


def same_seed_on_all_hosts(seed: int) -> int:
  """Process 0's `seed`, on every process (so all hosts initialize the same weights)."""
  if jax.process_count() == 1:
    return seed
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return int(multihost_utils.broadcast_one_to_all(np.int64(seed)))
