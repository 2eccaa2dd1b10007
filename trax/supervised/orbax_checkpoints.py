"""Sharded checkpoints: every process writes its own shards, with orbax-checkpoint.

When a `Loop`'s weights and optimizer slots are split over a mesh's model axis
(`trax.sharding`), no process holds them whole, and gathering them to one host to write an
`.npz` would need that host to hold the whole model. Such loops write a directory
`<name>.orbax` with orbax-checkpoint (the JAX ecosystem's checkpointer) instead: each
process writes the shards it holds, as tensorstore arrays, and process 0 the metadata.

The checkpoint holds the same arrays, under the same names (`weights/0`,
`task0/slots/3`, `rng`, ...), and the same JSON metadata as the `.npz` format
(`checkpoints.to_arrays`, `checkpoints.metadata_of`), plus each array's shape and dtype;
so either format restores into any layout: reading takes the layout (shape, dtype and
sharding of every array) of the loop that reads, and orbax reads each device's part of
every array from the shards on disk (arrays whose shapes differ from the layout's are
read onto the host, for the loop's checks to name them).

Atomicity: orbax writes a step into a temporary directory and renames it when complete;
`<name>.orbax/<step>/` keeps only the newest complete step, so a crash while saving leaves
the previous one readable.

orbax-checkpoint is imported only here, when a sharded checkpoint is written or read
(`pip install orbax-checkpoint`, or the `sharded` extra of trax).
"""

from typing import Any

import jax
import numpy as np

from trax import file_io
from trax.checkpoint_files import checkpoints

EXTENSION = '.orbax'


def is_checkpoint(path: str) -> bool:
  """Whether `path` is (by its name) a sharded checkpoint directory."""
  return path.endswith(EXTENSION)


def write(path: str, checkpoint: checkpoints.Checkpoint) -> None:
  """Writes `checkpoint` (whose arrays may be sharded jax arrays) as `path`'s newest step.

  Every process must call this with the same checkpoint: each writes its own shards.
  """
  ocp = _import_orbax()
  arrays = checkpoints.to_arrays(checkpoint)
  metadata = dict(checkpoints.metadata_of(checkpoint, arrays), special_dtypes={})
  metadata['arrays'] = {
    name: {'shape': list(np.shape(a)), 'dtype': np.dtype(a.dtype).name}
    for name, a in arrays.items()
  }
  manager = _manager(ocp, path, create=True)
  try:
    if checkpoint.step in manager.all_steps():  # Saved again at the same step.
      manager.delete(checkpoint.step)
    manager.save(
      checkpoint.step,
      args=ocp.args.Composite(
        arrays=ocp.args.StandardSave(_nested(arrays)), metadata=ocp.args.JsonSave(metadata)
      ),
    )
    manager.wait_until_finished()
  finally:
    manager.close()


def read(path: str, layout: dict) -> checkpoints.Checkpoint:
  """Reads the newest step of `path`, each array laid out as its namesake in `layout`.

  Args:
    path: the checkpoint directory.
    layout: arrays by name (`checkpoints.to_arrays` of the reading loop's state): each
      stored array is read with the shape, dtype and sharding of its namesake (jax arrays;
      numpy arrays are read whole onto the host).

  Returns:
    The checkpoint, its arrays laid out as `layout`'s where their shapes agree (else on
    the host, for the caller's checks to report).

  Raises:
    ValueError: `path` holds no complete trax checkpoint.
  """
  ocp = _import_orbax()
  manager = _manager(ocp, path, create=False)
  try:
    step = manager.latest_step()
    if step is None:
      raise ValueError(f'{path} holds no complete orbax checkpoint (no finished step).')
    try:
      metadata = manager.restore(step, args=ocp.args.Composite(metadata=ocp.args.JsonRestore()))[
        'metadata'
      ]
    except KeyError as e:
      raise ValueError(f'{path} is an orbax checkpoint but not a trax one: {e}') from None
    if metadata.get('format') != checkpoints.FORMAT or 'arrays' not in metadata:
      raise ValueError(
        f'{path} is an orbax checkpoint but not a trax one (its metadata '
        f'has format {metadata.get("format")!r}).'
      )
    targets = {
      name: _target(stored, layout.get(name)) for name, stored in metadata['arrays'].items()
    }
    restored = manager.restore(
      step, args=ocp.args.Composite(arrays=ocp.args.StandardRestore(_nested(targets)))
    )['arrays']
  finally:
    manager.close()
  return checkpoints.from_arrays(_flat(restored), metadata, path)


def _target(stored: dict, like: Any) -> Any:
  """What orbax restores an array into: the layout of `like`, if it has the stored shape.

  Arrays the reading loop lacks, or has in another shape, are read onto the host, where
  the loop's checks (`resume.restore`) name them (and skip a mismatched state, as for
  `.npz` files).
  """
  shape = tuple(stored['shape'])
  if isinstance(like, jax.Array) and like.shape == shape:
    return jax.ShapeDtypeStruct(shape, like.dtype, sharding=like.sharding)
  dtype = like.dtype if like is not None and np.shape(like) == shape else stored['dtype']
  return np.zeros(shape, jax.numpy.dtype(dtype))


def _nested(arrays: dict) -> dict:
  """`{'weights/0': a}` as `{'weights': {'0': a}}` (orbax keys are path components)."""
  tree = {}
  for name, array in arrays.items():
    *parents, leaf = name.split('/')
    node = tree
    for parent in parents:
      node = node.setdefault(parent, {})
    node[leaf] = array
  return tree


def _flat(tree: dict, prefix: str = '') -> dict:
  """Inverse of `_nested`."""
  arrays = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      arrays.update(_flat(value, f'{prefix}{key}/'))
    else:
      arrays[prefix + key] = value
  return arrays


def _manager(ocp: Any, path: str, create: bool) -> Any:
  options = ocp.CheckpointManagerOptions(
    max_to_keep=1, create=create, enable_async_checkpointing=False
  )
  return ocp.CheckpointManager(file_io.abspath(path), options=options)


def _import_orbax() -> Any:
  try:
    import orbax.checkpoint as ocp
  except ImportError as e:
    raise ImportError(
      'Checkpoints of weights split over a mesh\'s model axis are written '
      'with orbax-checkpoint, which is not installed: pip install '
      'orbax-checkpoint (or the trax[sharded] extra).'
    ) from e
  return ocp
