"""Device meshes and where arrays live on them: the one place trax builds a `Mesh`.

A trax mesh has two axes, `'data'` and `'model'`:

- batches are split along their first dimension over `'data'` (data parallel);
- weights and optimizer slots are split over `'model'`, FSDP-style: each array along its
  largest dimension that the model axis divides (`weight_spec`); arrays with no such
  dimension (scalars, odd sizes) are replicated. With a model axis of 1 every weight is
  replicated, which is plain data parallelism.

XLA's SPMD partitioner derives the computation from these layouts (gathering a weight
where a product needs it whole, reducing partial sums), so a jitted training step
computes on any mesh what it computes on one device, up to float rounding.

Several processes (`jax.distributed`): `make_mesh` takes the same number of devices from
every process and lays them out so that each process holds a contiguous block of the data
axis and whole rows of the model axis. Model-axis traffic then stays inside a process,
and each process feeds its own part of every batch (see `trax.supervised.devices`).

This module imports jax: placing arrays on devices is jax's business, and only the jax
backend runs sharded.
"""

from typing import Any

import jax
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec
import numpy as np

from trax import fastmath

__all__ = [
  'DATA_AXIS',
  'MODEL_AXIS',
  'make_mesh',
  'check_mesh',
  'weight_spec',
  'bytes_per_device',
  'split_batch',
  'replicate',
]

DATA_AXIS = 'data'
MODEL_AXIS = 'model'


def make_mesh(data: 'int | None' = None, model: int = 1, local_only: bool = False) -> Mesh:
  """A `(data, model)` mesh over `data * model` devices, as many from every process.

  >>> mesh = make_mesh(model=1)  # All devices on the data axis: data parallel.
  >>> mesh.axis_names
  ('data', 'model')

  Args:
    data: size of the data axis; by default all the devices (of this process, with
      `local_only`) that `model` leaves.
    model: size of the model axis; it must divide the devices used in each process.
    local_only: use this process's devices only (a mesh for single-process work, such as
      `tl.Accelerate`, even in a multi-process run).

  Raises:
    ValueError: the mesh needs more devices than there are, or cannot be split evenly
      over the processes; the message gives the device counts.
  """
  n_processes = 1 if local_only else jax.process_count()
  n_local = jax.local_device_count()
  where = (
    f'{n_local} local device(s)'
    if n_processes == 1
    else f'{n_processes} processes x {n_local} local devices'
  )
  if model < 1 or (data is not None and data < 1):
    raise ValueError(f'Mesh axis sizes must be positive; got data={data}, model={model}.')
  if data is None:
    if (n_processes * n_local) % model:
      raise ValueError(f'A model axis of {model} does not divide the {where}.')
    data = n_processes * n_local // model
  size = data * model
  if size > n_processes * n_local:
    raise ValueError(
      f'A mesh of data={data} x model={model} = {size} devices is larger '
      f'than the {n_processes * n_local} devices there are ({where}). Use '
      'smaller axes, or force more CPU devices with XLA_FLAGS='
      '--xla_force_host_platform_device_count=N.'
    )
  per_process = size // n_processes
  if size % n_processes or per_process % model:
    raise ValueError(
      f'A mesh of data={data} x model={model} cannot be split evenly over {n_processes} '
      f'processes: each must hold whole rows of the model axis (data must be a multiple '
      f'of {n_processes}, and model must divide the {per_process} devices each process '
      'would give).'
    )
  if local_only:
    devices = jax.local_devices()[:size]
  else:
    devices = [
      d
      for p in range(n_processes)
      for d in [d for d in jax.devices() if d.process_index == p][:per_process]
    ]
  return Mesh(np.array(devices).reshape(data, model), (DATA_AXIS, MODEL_AXIS))


def check_mesh(mesh: Any) -> Mesh:
  """`mesh` if it is a `jax.sharding.Mesh` with trax's axes, else a clear ValueError."""
  if not isinstance(mesh, Mesh) or tuple(mesh.axis_names) != (DATA_AXIS, MODEL_AXIS):
    names = getattr(mesh, 'axis_names', None)
    raise ValueError(
      f'Expected a jax.sharding.Mesh with axes {(DATA_AXIS, MODEL_AXIS)} '
      f'(trax.sharding.make_mesh(data, model)); got {type(mesh).__name__} '
      f'with axes {names}.'
    )
  return mesh


def weight_spec(shape: tuple, n_model: int) -> PartitionSpec:
  """Where a weight of `shape` lives on a model axis of `n_model` devices (FSDP rule).

  The largest dimension that `n_model` divides (the first of equals) is split over the
  model axis; a weight without one is replicated.

  >>> tuple(weight_spec((256, 1024), 4))  # A jax.sharding.PartitionSpec.
  (None, 'model')
  >>> tuple(weight_spec((3,), 4))
  ()
  """
  candidates = [i for i, size in enumerate(shape) if size >= n_model and size % n_model == 0]
  if n_model == 1 or not candidates:
    return PartitionSpec()
  axis = max(candidates, key=lambda i: (shape[i], -i))
  return PartitionSpec(*[MODEL_AXIS if i == axis else None for i in range(axis + 1)])


def weight_sharding(mesh: Mesh, shape: tuple) -> NamedSharding:
  """The `NamedSharding` of a weight (or optimizer slot) of `shape` on `mesh`."""
  return NamedSharding(mesh, weight_spec(tuple(shape), mesh.shape[MODEL_AXIS]))


def split_batch(tree: Any, mesh: Mesh) -> Any:
  """`tree`'s arrays placed on `mesh`, each split along its leading (batch) axis over the
  data axis when that axis' size divides it, else replicated (scalars too)."""

  def place(x):
    x = x if isinstance(x, jax.Array) else np.asarray(x)
    split = x.ndim and x.shape[0] % mesh.shape[DATA_AXIS] == 0
    spec = PartitionSpec(DATA_AXIS) if split else PartitionSpec()  # Scalars take only P().
    return jax.device_put(x, NamedSharding(mesh, spec))

  return fastmath.nested_map(place, tree)


def replicate(tree: Any, mesh: Mesh) -> Any:
  """`tree`'s arrays copied to every device of `mesh`."""
  replicated = NamedSharding(mesh, PartitionSpec())
  return fastmath.nested_map(lambda x: jax.device_put(x, replicated), tree)


def bytes_per_device(tree: Any) -> dict:
  """Bytes that the arrays of `tree` occupy on each (addressable) device, by device."""
  used = {}
  for array in fastmath.tree_leaves(tree):
    for shard in array.addressable_shards:
      used[shard.device] = used.get(shard.device, 0) + shard.data.nbytes
  return used
