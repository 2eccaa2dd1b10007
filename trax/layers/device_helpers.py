"""Trax 1.x's device helpers from its `pmap` days, on `jax.sharding`.

Trax 1.4 ran data parallelism with `jax.pmap`: arrays carried a leading axis with one
slice per device, weights were replicated into such arrays and batches reshaped into them.
trax shards arrays over a `jax.sharding.Mesh` instead (`tl.Accelerate`, `Loop`), and XLA
moves the data. These functions keep Trax's signatures and results for code that calls
them; where a pmap-only notion has no meaning here, the error says what to use.

Like `acceleration.py`, this module imports jax: placing arrays is jax's business.
"""

from typing import Any
from collections.abc import Callable

import jax
from jax import sharding
import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp

__all__ = [
  'N_WEIGHTS_SHARDS',
  'shard',
  'unshard',
  'unshard_in_pmap',
  'jit_forward',
  'mean_or_pmean',
  'reshape_by_device',
  'for_n_devices',
  'on_cpu',
  'on_accelerator',
]

# Trax 1.4's global count of weight shards; trax shards weights by sharding, so it stays 1.
N_WEIGHTS_SHARDS = 1


def _mesh(n_devices: int) -> sharding.Mesh:
  devices = jax.local_devices()
  if not 1 <= n_devices <= len(devices):
    raise ValueError(f'n_devices={n_devices}, but this host has {len(devices)} devices.')
  return sharding.Mesh(np.array(devices[:n_devices]), ('devices',))


def _leading_axis_over_devices(x: Any, n_devices: int) -> Any:
  """`x` placed with its leading axis split over `n_devices` local devices."""
  spec = sharding.PartitionSpec('devices')
  return jax.device_put(x, sharding.NamedSharding(_mesh(n_devices), spec))


def _shard_axis(shape: tuple) -> int:
  """Trax 1.4's choice: split vectors and matrices on axis 0, bigger arrays on the last."""
  return 0 if len(shape) < 3 else -1


def shard(tensors: Any, n_shards: 'int | None' = None) -> Any:
  """Each array split into `n_shards` along one axis, one shard per local device.

  As Trax 1.4: the result has a leading axis of one entry per local device, device `i`
  holding shard `i % n_shards` (on axis 0 for arrays of rank < 3, else the last axis);
  here that axis is laid over the devices with `jax.sharding`.
  """
  n_shards = N_WEIGHTS_SHARDS if n_shards is None else n_shards
  n_devices = jax.local_device_count()

  def shard_one(x):
    axis = _shard_axis(np.shape(x))
    if np.shape(x)[axis] % n_shards:
      raise ValueError(
        f'Cannot split an array of shape {np.shape(x)} into {n_shards} shards along axis {axis}.'
      )
    pieces = np.split(np.asarray(x), n_shards, axis=axis)
    stacked = np.stack([pieces[i % n_shards] for i in range(n_devices)])
    return _leading_axis_over_devices(stacked, n_devices)

  return fastmath.nested_map(shard_one, tensors)


def unshard(tensors: Any, n_shards: 'int | None' = None) -> Any:
  """Inverse of `shard` for a leading axis of `n_shards` shards: whole numpy arrays."""
  n_shards = N_WEIGHTS_SHARDS if n_shards is None else n_shards

  def unshard_one(x):
    pieces = [np.squeeze(p, axis=0) for p in np.split(np.asarray(x), n_shards, axis=0)]
    return np.concatenate(pieces, axis=_shard_axis(pieces[0].shape))

  return fastmath.nested_map(unshard_one, tensors)


def unshard_in_pmap(tensors: Any, n_shards: int) -> Any:
  """Trax 1.4 gathered sharded weights inside `pmap`; there is no such step here.

  Raises:
    ValueError: always, saying what replaces it.
  """
  del tensors, n_shards
  raise ValueError(
    'unshard_in_pmap gathered pmap-sharded weights inside a pmap, which '
    'trax does not use: place weights with jax.sharding.NamedSharding (or '
    'use shard/unshard outside jit) and XLA gathers them where needed.'
  )


def reshape_by_device(x: Any, n_devices: int, pure_np: bool = False) -> Any:
  """Every array of `x` reshaped from `(batch, ...)` to `(n_devices, batch // n_devices, ...)`."""
  reshape = np.reshape if pure_np else jnp.reshape

  def reshape_one(y):
    batch = y.shape[0]
    if batch % n_devices:
      raise ValueError(
        f'Number of devices ({n_devices}) does not evenly divide batch size ({batch}).'
      )
    return reshape(y, (n_devices, batch // n_devices) + tuple(y.shape[1:]))

  return fastmath.nested_map(reshape_one, x)


def for_n_devices(x: Any, n_devices: int) -> Any:
  """Every array of `x` repeated along a new leading axis, one copy per device.

  With `n_devices > 1` on the jax backend the copies lie one on each device (as Trax 1.4's
  replicated arrays); `n_devices <= 1` returns `x` unchanged.
  """

  def replicate(y):
    if n_devices <= 1:
      return y
    copies = jnp.broadcast_to(y, (n_devices,) + tuple(jnp.shape(y)))
    if fastmath.is_backend('jax'):
      return _leading_axis_over_devices(copies, n_devices)
    return copies

  return fastmath.nested_map(replicate, x)


def mean_or_pmean(n_devices: int, x: Any, axis: 'int | None' = None) -> Any:
  """The mean of `x` (over `axis`); arrays spread over devices are global arrays here."""
  del n_devices
  return jnp.mean(x, axis=axis)


def jit_forward(forward: Callable, n_devices: int, do_mean: bool = True) -> Callable:
  """`forward(x, weights, state, rng) -> (outputs, state)` compiled, on `n_devices` devices.

  With `n_devices >= 2` the batch (leading axis of `x`) is split over the devices and
  weights, state and rng are replicated; with `do_mean`, the outputs are then averaged
  over the batch, as Trax 1.4 averaged them over its devices' results. `n_devices == 0`
  runs on the CPU, 1 on the default device.
  """
  if n_devices < 2:
    device = jax.devices('cpu')[0] if n_devices == 0 else None
    return jax.jit(forward, device=device) if device else jax.jit(forward)
  mesh = _mesh(n_devices)
  batch = sharding.NamedSharding(mesh, sharding.PartitionSpec('devices'))
  replicated = sharding.NamedSharding(mesh, sharding.PartitionSpec())
  compiled = jax.jit(forward, in_shardings=(batch, replicated, replicated, replicated))

  def forward_on_devices(x, weights, state, rng):
    outputs, state = compiled(x, weights, state, rng)
    if do_mean:
      outputs = fastmath.nested_map(lambda y: jnp.mean(y, axis=0), outputs)
    return outputs, state

  return forward_on_devices


def on_cpu(x: Any) -> Any:
  """`x` in CPU memory (on the jax backend; unchanged otherwise)."""
  if fastmath.is_backend('jax'):
    return jax.device_put(x, jax.devices('cpu')[0])
  return x


def on_accelerator(x: Any) -> Any:
  """`x` in the memory of the one GPU or TPU, if there is exactly one; else unchanged."""
  for kind in ('gpu', 'tpu'):
    try:
      accelerators = jax.devices(kind)
    except RuntimeError:
      continue
    return jax.device_put(x, accelerators[0]) if len(accelerators) == 1 else x
  return x
