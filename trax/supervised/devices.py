"""Where `Loop`'s arrays live: batches over a mesh's data axis, weights over its model axis.

The mesh (`trax.sharding.make_mesh`) has a `'data'` and a `'model'` axis. Batches are
split along their first dimension over `'data'`; weights and optimizer slots are laid out
by `trax.sharding.weight_spec` (split over `'model'` when it has more than one device,
else replicated); state, hyper-parameters and random keys are replicated. Written this
way, a jitted step computes exactly what it computes on one device (means over the batch
are global means, XLA sums gradients and gathers split weights where needed), so results
agree with a single-device run up to float rounding.

Multi-host: after `jax.distributed.initialize()`, every process drives its own local
devices, and the mesh holds the same number of devices of every process, each process a
contiguous block of the data axis. Each process feeds its own part of the global batch
(its local batch); the global batch is the concatenation of the processes' local
batches, in process order (`jax.make_array_from_process_local_data`). Only process 0 (the
chief) writes npz checkpoints and summaries; sharded checkpoints are written by every
process, each its own shards (`orbax_checkpoints`).
"""

from typing import Any

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec
import numpy as np

from trax import fastmath
from trax import sharding


class Placement:
  """Places batches (split over the data axis) and weights (by layout) on a mesh.

  Args:
    n_devices: how many local devices of each process to use, all on the data axis; all
      of them if `None`. Not together with `mesh`.
    mesh: a `(data, model)` mesh from `trax.sharding.make_mesh`.

  Raises:
    ValueError: `n_devices` is not between 1 and the number of local devices, both
      arguments are given, or `mesh` does not have trax's axes.
  """

  def __init__(self, n_devices: 'int | None' = None, mesh: 'jax.sharding.Mesh | None' = None):
    n_local = jax.local_device_count()
    if mesh is not None:
      if n_devices is not None:
        raise ValueError(
          f'Pass n_devices (got {n_devices}) or mesh, not both: a mesh says which devices to use.'
        )
      self.mesh = sharding.check_mesh(mesh)
    else:
      n_devices = n_local if n_devices is None else n_devices
      if not 1 <= n_devices <= n_local:
        raise ValueError(
          f'n_devices must be between 1 and the {n_local} local device(s) '
          f'of this process ({jax.local_devices()}), got {n_devices}.'
        )
      self.mesh = sharding.make_mesh(data=n_devices * jax.process_count())
    self.replicated = NamedSharding(self.mesh, PartitionSpec())
    self.batch_sharded = NamedSharding(self.mesh, PartitionSpec(sharding.DATA_AXIS))
    # Rows of the data axis fed by this process.
    self._local_data = self.mesh.shape[sharding.DATA_AXIS] // jax.process_count()

  @property
  def n_devices(self) -> int:
    """Devices used by this process."""
    return self.mesh.size // jax.process_count()

  @property
  def n_model(self) -> int:
    """Devices along the model axis: weights are split over this many (1: replicated)."""
    return self.mesh.shape[sharding.MODEL_AXIS]

  @property
  def is_chief(self) -> bool:
    """Whether this is process 0, the one that writes npz checkpoints and summaries."""
    return jax.process_index() == 0

  def replicate(self, tree: Any) -> Any:
    """Copies of the arrays of `tree` on every device of the mesh (fresh buffers)."""
    return fastmath.nested_map(lambda x: self._place(x, self.replicated), tree)

  def weight_shardings(self, tree: Any) -> Any:
    """The sharding of each weight (or slot) of `tree`, by its shape."""
    return fastmath.nested_map(lambda x: sharding.weight_sharding(self.mesh, np.shape(x)), tree)

  def place_weights(self, tree: Any) -> Any:
    """The arrays of `tree` laid out as weights (split over the model axis where they can).

    Like `replicate`, the arrays are fresh buffers (so a jitted step may donate them
    without deleting arrays the caller still holds).
    """
    return fastmath.nested_map_multiarg(self._place, tree, self.weight_shardings(tree))

  def shard_batch(self, batch: Any) -> Any:
    """The arrays of `batch` (this process's local batch) split over the data axis.

    Raises:
      ValueError: an array's first dimension is not a multiple of the data-axis devices
        of this process.
    """

    def place(x):
      x = np.asarray(x)
      if x.ndim == 0 or x.shape[0] % self._local_data:
        raise ValueError(
          f'Cannot split a batch array of shape {x.shape} over the {self._local_data} '
          f'devices of the data axis of this process (mesh {dict(self.mesh.shape)}): its '
          f'first (batch) dimension must be a multiple of {self._local_data}. Change the '
          'batch size, or pass n_devices (or a mesh) to the Loop.'
        )
      if jax.process_count() == 1:
        return jax.device_put(x, self.batch_sharded)
      return jax.make_array_from_process_local_data(self.batch_sharded, x)

    return fastmath.nested_map(place, batch)

  def to_host(self, tree: Any) -> Any:
    """numpy copies of the arrays of `tree`.

    Replicated arrays are copied from a local device; arrays split over the model axis
    are gathered (across processes, a collective every process must join).
    """
    if jax.process_count() == 1:
      return jax.device_get(tree)
    from jax.experimental import multihost_utils

    def get(x):
      if not isinstance(x, jax.Array) or x.is_fully_replicated:
        return np.asarray(x.addressable_data(0) if isinstance(x, jax.Array) else x)
      return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return fastmath.nested_map(get, tree)

  def wait_for_all(self, name: str) -> None:
    """Returns once every process has called it with `name` (a barrier)."""
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils

      multihost_utils.sync_global_devices(name)

  def _place(self, x: Any, target: NamedSharding) -> jax.Array:
    """`x` as a fresh array laid out as `target`, never weakly typed.

    Fresh, so a step may donate it; not weakly typed, so the first step's outputs have
    the types of its inputs and the step compiles once. Arrays spanning several processes
    are moved by a compiled copy, others by a copying `device_put`; host values (the same
    on every process) are cut into the shards each device needs.
    """
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return jax.jit(lambda a: a.copy(), out_shardings=target)(x)
    if isinstance(x, jax.Array) and not x.weak_type:
      return jax.device_put(x, target, may_alias=False)
    host = np.asarray(x)
    if jax.process_count() == 1:
      return jax.device_put(host, target)
    return jax.make_array_from_callback(host.shape, target, lambda index: host[index])


def same_seed_on_all_hosts(seed: int) -> int:
  """Process 0's `seed`, on every process (so all hosts initialize the same weights)."""
  if jax.process_count() == 1:
    return seed
  from jax.experimental import multihost_utils

  return int(multihost_utils.broadcast_one_to_all(np.int64(seed)))
