"""Reading Trax 1.x checkpoints safely: a restricted unpickler, no code from the file runs.

Trax 1.x wrote gzipped pickles in two layouts:

- 2020, `trainer_lib` (and `Layer.save_to_file`): one dict holding everything:
  `flat_weights`, `flat_state` (lists of arrays), `slots` (one entry per flat weight, e.g.
  Adam's `(m, v)`), `opt_params`, `history` (a `History`), `input_signature`, `step`.
- 2021, `training.Loop` (`version_timestamp` 'Mar-10-2021'): the dict holds `flat_state`,
  `flat_eval_state`, `history` (as `History.to_dict()`), `input_signature` and `step`, while
  `flat_weights` and `slots_per_task` are ints (gzip levels) saying that the arrays live in
  side files: `<base>.weights.npy.gz` and `<base>.opt_slots<i>.npy.gz` (one per task), each
  a gzip stream of consecutive `np.save(..., allow_pickle=False)` records. bfloat16 arrays
  were bit-cast to uint16 there (Trax 1.4 had no other uint16 arrays).

`pickle.load` on such a file would run whatever the file says; here the pickle is read by
`restricted_unpickler.RestrictedUnpickler`, which builds numpy arrays of plain numeric
dtypes, `ShapeDtype`, `History` and plain containers only, and refuses anything else
naming it. Gzip streams are read within `checkpoint_reading`'s size limit. Any file that
cannot be read raises a `checkpoint_reading.CheckpointError` naming it.
"""

import os
from typing import Any

import ml_dtypes
import numpy as np

from trax import fastmath
from trax import shapes
from trax import checkpoint_reading
from trax.checkpoint_reading import read_npy_records
from trax.checkpoint_files import contents
from trax import history as history_lib
from trax.checkpoint_files.restricted_unpickler import RestrictedUnpickler
from trax.checkpoint_files.restricted_unpickler import UnsafeCheckpointError

__all__ = [
  'RestrictedUnpickler',
  'UnsafeCheckpointError',
  'load_pickle',
  'read_npy_records',
  'read',
]


def load_pickle(path: str, arrays: bool = True) -> Any:
  """The object in the gzipped pickle at `path`, through `RestrictedUnpickler`.

  Args:
    path: a `.pkl.gz` file.
    arrays: if False, arrays come back as their `ShapeDtype`s (headers only).

  Raises:
    UnsafeCheckpointError: the pickle names or builds something outside the admitted set.
    CheckpointError: the file is corrupt, truncated or over the size limit.
  """
  try:
    with checkpoint_reading.open_gzip(path) as f:
      return RestrictedUnpickler(f, source=path, arrays=arrays).load()
  except checkpoint_reading.CheckpointError as e:
    if path in str(e):
      raise
    raise type(e)(f'{path}: {e}') from None
  except FileNotFoundError:
    raise
  except Exception as e:  # Nothing from the file ran.
    raise checkpoint_reading.CheckpointError(
      f'{path} is not a readable Trax 1.x checkpoint: {type(e).__name__}: {str(e)[:300]}'
    ) from None


def read(path: str, arrays: bool = True) -> contents.Checkpoint:
  """Reads a Trax 1.x checkpoint (either layout) into a `contents.Checkpoint`.

  Args:
    path: the `.pkl.gz` file (a 2021 `Loop` checkpoint's side files are read from beside
      it).
    arrays: if False, the checkpoint's arrays are `ShapeDtype`s (headers only).

  Raises:
    UnsafeCheckpointError: the pickle names or builds something outside the admitted set.
    CheckpointError: the file is corrupt, truncated, over the size limit, not a Trax 1.x
      checkpoint dict, or a side file is missing.
  """
  d = load_pickle(path, arrays)
  if not isinstance(d, dict) or 'flat_weights' not in d:
    raise checkpoint_reading.CheckpointError(
      f'{path} is not a Trax 1.x checkpoint: expected a pickled dict with "flat_weights", '
      f'got {type(d).__name__}'
      f'{" with keys " + str(sorted(map(str, d))) if isinstance(d, dict) else ""}.'
    )
  base = path[: -len('.pkl.gz')] if path.endswith('.pkl.gz') else path
  if isinstance(d['flat_weights'], int):
    flat_weights = _from_bits(read_npy_records(_weights_side_file(path, base), arrays))
    source_format = 'trax1-loop-2021'
  else:
    flat_weights = _arrays(d['flat_weights'], path, 'flat_weights')
    source_format = 'trax1-trainer-2020'
  tasks = []
  if isinstance(d.get('slots_per_task'), int):
    i = 0
    while os.path.exists(f'{base}.opt_slots{i}.npy.gz'):
      tasks.append(
        contents.TaskCheckpoint(
          flat_slots=_from_bits(read_npy_records(f'{base}.opt_slots{i}.npy.gz', arrays))
        )
      )
      i += 1
  elif 'slots_per_task' in d:
    tasks = [
      contents.TaskCheckpoint(flat_slots=_arrays(s, path, 'slots_per_task'))
      for s in _sequence(d['slots_per_task'], path, 'slots_per_task')
    ]
  elif 'slots' in d:
    tasks = [
      contents.TaskCheckpoint(
        flat_slots=_arrays(d['slots'], path, 'slots'),
        opt_params=_opt_params(d.get('opt_params'), path),
      )
    ]
  flat_state = d.get('flat_state')
  return contents.Checkpoint(
    flat_weights=flat_weights,
    flat_state=None if flat_state is None else _arrays(flat_state, path, 'flat_state'),
    step=_step(d.get('step', 0), path),
    history=_history(d.get('history'), path),
    input_signature=_signature(d.get('input_signature'), path),
    tasks=tasks,
    source_format=source_format,
  )


def _weights_side_file(path: str, base: str) -> str:
  candidates = [base + '.weights.npy.gz', path + '.npy']  # Trax 1.4's two names for it.
  for candidate in candidates:
    if os.path.exists(candidate):
      return candidate
  raise checkpoint_reading.CheckpointError(
    f'{path} keeps its weights in a side file, but none of {candidates} exists. Copy the '
    '.weights.npy.gz file next to it.'
  )


def _arrays(tree: Any, path: str, what: str) -> list:
  """Flat arrays (or `ShapeDtype`s) of a nested Trax 1.x structure, `None`s dropped."""
  flat = []
  for x in fastmath.tree_flatten(tree):
    if x is None or isinstance(x, shapes.ShapeDtype):
      flat += [] if x is None else [x]
      continue
    if not isinstance(x, (np.ndarray, np.generic, int, float, bool)):
      raise checkpoint_reading.CheckpointError(
        f'{path}: {what} holds a {type(x).__name__} ({x!r:.60}) where arrays were expected.'
      )
    flat.append(np.asarray(x))
  return flat


def _sequence(value: Any, path: str, what: str) -> list:
  if not isinstance(value, (list, tuple)):
    raise checkpoint_reading.CheckpointError(
      f'{path}: {what} is a {type(value).__name__}, expected a list.'
    )
  return list(value)


def _from_bits(arrays: list) -> list:
  # Trax 1.4 bit-cast bfloat16 to uint16 for np.save, and had no other uint16 arrays.
  bfloat16 = np.dtype(ml_dtypes.bfloat16)
  return [
    (shapes.ShapeDtype(a.shape, bfloat16) if isinstance(a, shapes.ShapeDtype) else a.view(bfloat16))
    if a.dtype == np.uint16
    else a
    for a in arrays
  ]


def _opt_params(opt_params: Any, path: str) -> dict:
  if not isinstance(opt_params, dict):
    return {}
  params = {str(k): _arrays(v, path, f'opt_params[{k!r}]') for k, v in opt_params.items()}
  return {k: v[0] for k, v in params.items() if len(v) == 1}


def _step(step: Any, path: str) -> int:
  if type(step) is not int and not (
    isinstance(step, (np.ndarray, np.integer)) and np.shape(step) == () and step.dtype.kind in 'iu'
  ):
    raise checkpoint_reading.CheckpointError(f'{path}: step is {step!r:.60}, expected an int.')
  return int(step)


def _history(history: Any, path: str) -> history_lib.History:
  if history is None:
    return history_lib.History()
  if isinstance(history, history_lib.History):
    return history
  try:
    return history_lib.History.from_dict(history)
  except (ValueError, TypeError, AttributeError) as e:
    raise checkpoint_reading.CheckpointError(f'{path}: its history is malformed: {e}') from None


def _signature(signature: Any, path: str) -> Any:
  """The recorded input signature: `ShapeDtype`s in tuples/lists/dicts, or `None`."""
  leaves = [signature]
  while leaves:
    leaf = leaves.pop()
    if isinstance(leaf, (tuple, list)):
      leaves.extend(leaf)
    elif isinstance(leaf, dict):
      leaves.extend(leaf.values())
    elif leaf is not None and not isinstance(leaf, shapes.ShapeDtype):
      raise checkpoint_reading.CheckpointError(
        f'{path}: its input_signature holds a {type(leaf).__name__} ({leaf!r:.60}), '
        'expected ShapeDtypes.'
      )
  return signature
