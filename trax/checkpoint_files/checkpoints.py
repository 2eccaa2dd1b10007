"""Checkpoints: safe to load, written atomically, enough to resume training exactly.

A checkpoint is ONE file, a zip archive readable by `numpy.load` as an `.npz`:

- `metadata.json`: format name and version, step, training history, input signature, the
  model's `config()` when it can be described, and how many arrays of each kind follow;
- one `.npy` member per array: `weights/<i>` and `state/<i>` (the model's flat weights
  and state, in Trax 1.x's flattening order), and per train task `t`
  `task<t>/slots/<i>`, `task<t>/opt_params/<name>`, `task<t>/loss_weights/<i>`,
  `task<t>/loss_state/<i>`; plus `rng`, the loop's random key.

Nothing is unpickled: arrays are plain numeric `.npy` records and the rest is JSON, so a
checkpoint from an untrusted source cannot run code; `checkpoint_archive` checks every
size and type in the file before using it, and a file it cannot read raises a
`CheckpointError` naming it. Dtypes numpy lacks (bfloat16 and the other `ml_dtypes`) are
stored as unsigned integers of the same width, their real dtype recorded in the metadata.

Files are written under a fresh temporary name in the same directory (never following a
link planted there), flushed to disk, and renamed over the final name (atomic on POSIX),
so a crash while saving leaves the previous checkpoint intact (`trax.atomic_files`).
Paths are local files.

`read_any` also reads Trax 1.x checkpoints (see `trax1_checkpoints`); `trax.layers.files`
saves and loads a layer's weights with these.
"""

from typing import Any

import numpy as np

from trax import file_io
from trax import shapes
from trax.checkpoint_files import checkpoint_archive
from trax.checkpoint_files import contents
from trax.checkpoint_files import trax1_checkpoints
from trax import checkpoint_reading
from trax import history as history_lib

FORMAT = checkpoint_archive.FORMAT
VERSION = checkpoint_archive.VERSION
CheckpointError = checkpoint_reading.CheckpointError
Checkpoint = contents.Checkpoint
TaskCheckpoint = contents.TaskCheckpoint


def write(path: str, checkpoint: Checkpoint) -> None:
  """Writes `checkpoint` to `path` atomically (see the module docstring)."""
  arrays = {name: np.asarray(value) for name, value in to_arrays(checkpoint).items()}
  checkpoint_archive.write(path, arrays, metadata_of(checkpoint, arrays))


def read(path: str, arrays: bool = True) -> Checkpoint:
  """Reads a checkpoint written by `write` (no code from the file runs).

  With `arrays=False`, the arrays are `ShapeDtype`s read from their headers.

  Raises:
    CheckpointError: the file is not a well-formed trax checkpoint, or of a later version.
  """
  found, metadata = checkpoint_archive.read(path, arrays)
  return from_arrays(found, metadata, path)


def to_arrays(checkpoint: Checkpoint) -> dict:
  """The arrays of `checkpoint` by name (`weights/0`, `task0/slots/3`, `rng`, ...)."""
  arrays = {}
  _add_list(arrays, 'weights', checkpoint.flat_weights)
  if checkpoint.flat_state is not None:
    _add_list(arrays, 'state', checkpoint.flat_state)
  for t, task in enumerate(checkpoint.tasks):
    _add_list(arrays, f'task{t}/slots', task.flat_slots)
    _add_list(arrays, f'task{t}/loss_weights', task.flat_loss_weights)
    _add_list(arrays, f'task{t}/loss_state', task.flat_loss_state)
    for name, value in task.opt_params.items():
      arrays[f'task{t}/opt_params/{name}'] = value
  if checkpoint.rng is not None:
    arrays['rng'] = checkpoint.rng
  return arrays


def metadata_of(checkpoint: Checkpoint, arrays: dict) -> dict:
  """The JSON-able metadata of `checkpoint`, whose arrays by name are `arrays`."""
  return {
    'format': FORMAT,
    'version': VERSION,
    'step': int(checkpoint.step),
    'n_weights': len(checkpoint.flat_weights),
    'n_state': None if checkpoint.flat_state is None else len(checkpoint.flat_state),
    'tasks': [
      {
        'n_slots': len(task.flat_slots),
        'opt_params': sorted(task.opt_params),
        'n_loss_weights': len(task.flat_loss_weights),
        'n_loss_state': len(task.flat_loss_state),
        'n_batches': task.n_batches,
      }
      for task in checkpoint.tasks
    ],
    'eval_n_batches': list(checkpoint.eval_n_batches),
    'history': checkpoint.history.to_dict(),
    'input_signature': shapes.signature_to_json(checkpoint.input_signature),
    'model_config': checkpoint.model_config,
    'special_dtypes': {
      name: np.dtype(a.dtype).name for name, a in arrays.items() if np.dtype(a.dtype).kind == 'V'
    },
  }


def from_arrays(arrays: dict, metadata: dict, source: str = 'checkpoint') -> Checkpoint:
  """The `Checkpoint` whose arrays by name are `arrays` and metadata `metadata`.

  Raises:
    CheckpointError: naming `source`, if the metadata lists an array `arrays` lacks or is
      malformed.
  """

  def get(name: str) -> Any:
    if name not in arrays:
      raise CheckpointError(f'{source}: its metadata lists {name}.npy, but the archive lacks it.')
    return arrays[name]

  get_list = lambda prefix, n: [get(f'{prefix}/{i}') for i in range(n)]
  tasks = []
  for t, task in enumerate(metadata['tasks']):
    tasks.append(
      TaskCheckpoint(
        flat_slots=get_list(f'task{t}/slots', task['n_slots']),
        opt_params={str(k): get(f'task{t}/opt_params/{k}') for k in task['opt_params']},
        flat_loss_weights=get_list(f'task{t}/loss_weights', task['n_loss_weights']),
        flat_loss_state=get_list(f'task{t}/loss_state', task['n_loss_state']),
        n_batches=task['n_batches'],
      )
    )
  n_state = metadata['n_state']
  try:
    history = history_lib.History.from_dict(metadata['history'])
    input_signature = shapes.signature_from_json(metadata['input_signature'])
    eval_n_batches = [int(n) for n in metadata['eval_n_batches']]
  except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
    raise CheckpointError(
      f'{source}: malformed {checkpoint_archive.METADATA}: {type(e).__name__}: {str(e)[:200]}'
    ) from None
  return Checkpoint(
    flat_weights=get_list('weights', metadata['n_weights']),
    flat_state=None if n_state is None else get_list('state', n_state),
    step=metadata['step'],
    history=history,
    input_signature=input_signature,
    model_config=metadata['model_config'],
    tasks=tasks,
    eval_n_batches=eval_n_batches,
    rng=arrays.get('rng'),
  )


def read_any(path: str, arrays: bool = True) -> Checkpoint:
  """Reads our checkpoints and Trax 1.x ones (told apart by their first bytes).

  With `arrays=False`, the arrays are `ShapeDtype`s (headers only, data skipped). `path`
  may be any `tf.io.gfile` path (`gs://...`); such files (and a Trax 1.x checkpoint's side
  files) are downloaded to a temporary directory first.

  Raises:
    CheckpointError: the file cannot be read (the message names it and says why).
  """
  with file_io.local_copy(path, with_siblings=True) as local_path:
    return _read_local(local_path, path, arrays)


def _read_local(path: str, name: str, arrays: bool) -> Checkpoint:
  """Reads the local file `path`, a copy of checkpoint `name`."""
  with open(path, 'rb') as f:
    magic = f.read(2)
  if magic == b'PK':
    return read(path, arrays)
  if magic == b'\x1f\x8b':
    return trax1_checkpoints.read(path, arrays)
  raise CheckpointError(
    f'{name} is neither a trax checkpoint (a zip/.npz file) nor a '
    f'Trax 1.x checkpoint (a gzipped pickle); its first bytes are '
    f'{magic!r}.'
  )


def match_arrays(found: list, expected: list, what: str, file_name: str) -> list:
  """`found` arrays checked against `expected` ones (arrays or `ShapeDtype`s), one to one.

  Shapes must agree up to leading dimensions of size 1 (Trax 1.x stored some weights with
  an extra leading 1); such arrays are reshaped to the expected shape. Dtypes are cast to
  the expected ones. Returns jax arrays (device arrays given stay where they are).

  Raises:
    ValueError: counts or shapes differ; the message names the file and the entries.
  """
  import jax.numpy as jnp

  if len(found) != len(expected):
    raise ValueError(
      f'{file_name} holds {len(found)} {what} arrays but the layer has {len(expected)}. '
      f'File: {_shapes_summary(found)}; layer: {_shapes_summary(expected)}.'
    )
  matched = []
  for i, (array, target) in enumerate(zip(found, expected)):
    array = array if hasattr(array, 'shape') else np.asarray(array)
    shape = tuple(target.shape)
    if tuple(array.shape) != shape:
      if _strip_leading_ones(array.shape) != _strip_leading_ones(shape):
        raise ValueError(
          f'{file_name}: {what} array {i} has shape {array.shape} but the '
          f'layer expects {shape} there. File: {_shapes_summary(found)}; '
          f'layer: {_shapes_summary(expected)}.'
        )
      array = np.asarray(array).reshape(shape)
    matched.append(jnp.asarray(array, dtype=target.dtype))
  return matched


def _add_list(arrays: dict, prefix: str, values: list) -> None:
  for i, value in enumerate(values):
    arrays[f'{prefix}/{i}'] = value


def _strip_leading_ones(shape: tuple) -> tuple:
  shape = tuple(shape)
  while shape and shape[0] == 1:
    shape = shape[1:]
  return shape


def _shapes_summary(arrays: list, limit: int = 8) -> str:
  described = [str(tuple(a.shape)) for a in arrays[:limit]]
  more = f' ... ({len(arrays)} in all)' if len(arrays) > limit else ''
  return '[' + ', '.join(described) + more + ']'


def describe(path: str) -> dict:
  """What a checkpoint (ours or Trax 1.x) holds, without building a model.

  Returns:
    A dict: `format`, `step`, `weights` and `state` (lists of `(shape, dtype name)`, read
    from the array headers: the data is skipped, not loaded),
    `slots_per_task` (number of slot arrays of each train task), `opt_params` (names per
    task), `history` (`{mode: [metric names]}`), `input_signature` and `model_config`.
  """
  checkpoint = read_any(path, arrays=False)
  shapes_of = lambda arrays: [(tuple(a.shape), np.dtype(a.dtype).name) for a in arrays]
  return {
    'format': checkpoint.source_format,
    'step': checkpoint.step,
    'weights': shapes_of(checkpoint.flat_weights),
    'state': None if checkpoint.flat_state is None else shapes_of(checkpoint.flat_state),
    'slots_per_task': [len(task.flat_slots) for task in checkpoint.tasks],
    'opt_params': [sorted(task.opt_params) for task in checkpoint.tasks],
    'history': {
      mode: checkpoint.history.metrics_for_mode(mode) for mode in checkpoint.history.modes
    },
    'input_signature': checkpoint.input_signature,
    'model_config': checkpoint.model_config,
  }


def convert_trax1(trax1_path: str, output_path: str) -> Checkpoint:
  """Converts a Trax 1.x checkpoint to our format; returns what was written.

  The result loads with `Layer.init_from_file` and resumes a `Loop` (whose optimizer must
  have the same slots per weight as the one that wrote the file).
  """
  checkpoint = trax1_checkpoints.read(trax1_path)
  write(output_path, checkpoint)
  return checkpoint
