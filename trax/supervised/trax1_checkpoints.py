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

`pickle.load` on such a file would run whatever the file says. Here a `pickle.Unpickler`
subclass admits only the names these files need: numpy array and dtype reconstruction,
`ml_dtypes` scalar types, `trax.shapes.ShapeDtype`, `trax.supervised.history.History`,
`collections.OrderedDict`/`defaultdict`, a few plain builtin containers, and jax's array
reconstruction (mapped to a numpy-only one). Anything else is refused, naming it.
"""

import builtins
import collections
import gzip
import os
import pickle
from typing import Any

import ml_dtypes
import numpy as np

from trax import fastmath
from trax import shapes
from trax.supervised import checkpoints
from trax.supervised import history as history_lib


class UnsafeCheckpointError(pickle.UnpicklingError):
  """A Trax 1.x checkpoint referred to a name the restricted unpickler does not admit."""


def _reconstruct_jax_array(fun, args, arr_state, aval_state=None):
  """jax's `_reconstruct_array`, building a numpy array (fun is an admitted numpy name)."""
  del aval_state
  array = fun(*args)
  array.__setstate__(arr_state)
  return array


_NUMPY_NAMES = {
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
}
for _module in ('numpy.core', 'numpy._core'):
  _NUMPY_NAMES[(f'{_module}.multiarray', '_reconstruct')] = np._core.multiarray._reconstruct  # pylint: disable=protected-access
  _NUMPY_NAMES[(f'{_module}.multiarray', 'scalar')] = np._core.multiarray.scalar  # pylint: disable=protected-access
  _NUMPY_NAMES[(f'{_module}.numeric', '_frombuffer')] = np._core.numeric._frombuffer  # pylint: disable=protected-access

_ADMITTED = {
    **_NUMPY_NAMES,
    ('trax.shapes', 'ShapeDtype'): shapes.ShapeDtype,
    ('trax.supervised.history', 'History'): history_lib.History,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('collections', 'defaultdict'): collections.defaultdict,
    ('jax._src.array', '_reconstruct_array'): _reconstruct_jax_array,
    ('jax._src.device_array', 'reconstruct_device_array'): _reconstruct_jax_array,
    **{('builtins', name): getattr(builtins, name)
       for name in ('list', 'dict', 'tuple', 'set', 'frozenset', 'int', 'float', 'complex',
                    'bool', 'str', 'bytes', 'bytearray')},
}


class RestrictedUnpickler(pickle.Unpickler):
  """Unpickles only numpy arrays, plain containers and the few trax classes of checkpoints.

  Raises:
    UnsafeCheckpointError: on any other `module.name` in the pickle.
  """

  def __init__(self, file: Any, source: str = 'the checkpoint'):
    super().__init__(file)
    self._source = source

  def find_class(self, module: str, name: str) -> Any:
    if (module, name) in _ADMITTED:
      return _ADMITTED[(module, name)]
    if module == 'numpy' and _is_numpy_scalar_type(name):
      return getattr(np, name)
    if module == 'ml_dtypes' and isinstance(getattr(ml_dtypes, name, None), type):
      return getattr(ml_dtypes, name)
    raise UnsafeCheckpointError(
        f'Refusing to load {module}.{name} from {self._source}: a Trax 1.x checkpoint '
        'should hold only numpy arrays, ShapeDtype and History, and loading other objects '
        'could run arbitrary code. If you trust the file, convert it with Trax 1.x itself.')

  def persistent_load(self, pid: Any) -> Any:
    raise UnsafeCheckpointError(f'Refusing persistent id {pid!r:.80} in {self._source}.')


def load_pickle(path: str) -> Any:
  """The object in the gzipped pickle at `path`, through `RestrictedUnpickler`."""
  with gzip.open(path, 'rb') as f:
    return RestrictedUnpickler(f, source=path).load()


def read_npy_records(path: str) -> list:
  """The arrays of a Trax 1.x `.npy.gz` side file (consecutive `np.save` records)."""
  arrays = []
  with gzip.open(path, 'rb') as f:
    # format.read_array reads forward only; np.load would seek back, which a gzip stream
    # does by decompressing again from the start.
    while f.peek(1):
      arrays.append(np.lib.format.read_array(f, allow_pickle=False))
  return arrays


def read(path: str) -> checkpoints.Checkpoint:
  """Reads a Trax 1.x checkpoint (either layout) into a `checkpoints.Checkpoint`.

  Raises:
    UnsafeCheckpointError: the pickle refers to a name outside the admitted set.
    ValueError: the file is not a Trax 1.x checkpoint dict, or a side file is missing.
  """
  d = load_pickle(path)
  if not isinstance(d, dict) or 'flat_weights' not in d:
    raise ValueError(f'{path} is not a Trax 1.x checkpoint: expected a pickled dict with '
                     f'"flat_weights", got {type(d).__name__}'
                     f'{" with keys " + str(sorted(d)) if isinstance(d, dict) else ""}.')
  base = path[:-len('.pkl.gz')] if path.endswith('.pkl.gz') else path
  if isinstance(d['flat_weights'], int):
    flat_weights = _from_bits(read_npy_records(_weights_side_file(path, base)))
    source_format = 'trax1-loop-2021'
  else:
    flat_weights = _arrays(d['flat_weights'])
    source_format = 'trax1-trainer-2020'
  tasks = []
  if isinstance(d.get('slots_per_task'), int):
    i = 0
    while os.path.exists(f'{base}.opt_slots{i}.npy.gz'):
      tasks.append(checkpoints.TaskCheckpoint(
          flat_slots=_from_bits(read_npy_records(f'{base}.opt_slots{i}.npy.gz'))))
      i += 1
  elif 'slots_per_task' in d:
    tasks = [checkpoints.TaskCheckpoint(flat_slots=_arrays(s)) for s in d['slots_per_task']]
  elif 'slots' in d:
    tasks = [checkpoints.TaskCheckpoint(flat_slots=_arrays(d['slots']),
                                        opt_params=_opt_params(d.get('opt_params')))]
  flat_state = d.get('flat_state')
  return checkpoints.Checkpoint(
      flat_weights=flat_weights,
      flat_state=None if flat_state is None else _arrays(flat_state),
      step=int(d.get('step', 0)),
      history=_history(d.get('history')),
      input_signature=d.get('input_signature'),
      tasks=tasks,
      source_format=source_format)


def describe(path: str) -> dict:
  """What a checkpoint (ours or Trax 1.x) holds, without building a model.

  Returns:
    A dict: `format`, `step`, `weights` and `state` (lists of `(shape, dtype name)`),
    `slots_per_task` (number of slot arrays of each train task), `opt_params` (names per
    task), `history` (`{mode: [metric names]}`), `input_signature` and `model_config`.
  """
  checkpoint = checkpoints.read_any(path)
  shapes_of = lambda arrays: [(tuple(a.shape), np.dtype(a.dtype).name) for a in arrays]
  return {
      'format': checkpoint.source_format,
      'step': checkpoint.step,
      'weights': shapes_of(checkpoint.flat_weights),
      'state': None if checkpoint.flat_state is None else shapes_of(checkpoint.flat_state),
      'slots_per_task': [len(task.flat_slots) for task in checkpoint.tasks],
      'opt_params': [sorted(task.opt_params) for task in checkpoint.tasks],
      'history': {mode: checkpoint.history.metrics_for_mode(mode)
                  for mode in checkpoint.history.modes},
      'input_signature': checkpoint.input_signature,
      'model_config': checkpoint.model_config,
  }


def convert(trax1_path: str, output_path: str) -> checkpoints.Checkpoint:
  """Converts a Trax 1.x checkpoint to our format; returns what was written.

  The result loads with `Layer.init_from_file` and resumes a `Loop` (whose optimizer must
  have the same slots per weight as the one that wrote the file).
  """
  checkpoint = read(trax1_path)
  checkpoints.write(output_path, checkpoint)
  return checkpoint


def _weights_side_file(path: str, base: str) -> str:
  candidates = [base + '.weights.npy.gz', path + '.npy']  # Trax 1.4's two names for it.
  for candidate in candidates:
    if os.path.exists(candidate):
      return candidate
  raise ValueError(f'{path} keeps its weights in a side file, but none of {candidates} '
                   'exists. Copy the .weights.npy.gz file next to it.')


def _arrays(tree: Any) -> list:
  """Flat numpy arrays of a (nested) Trax 1.x structure, `None` and `()` entries dropped."""
  return [np.asarray(x) for x in fastmath.tree_flatten(tree) if x is not None]


def _from_bits(arrays: list) -> list:
  # Trax 1.4 bit-cast bfloat16 to uint16 for np.save, and had no other uint16 arrays.
  return [a.view(ml_dtypes.bfloat16) if a.dtype == np.uint16 else a for a in arrays]


def _opt_params(opt_params: Any) -> dict:
  if not isinstance(opt_params, dict):
    return {}
  return {str(k): np.asarray(v) for k, v in opt_params.items()}


def _history(history: Any) -> history_lib.History:
  if history is None:
    return history_lib.History()
  if isinstance(history, history_lib.History):  # Unpickled: its `_values` set as pickled.
    history = {'_values': history.__dict__.get('_values', {})}
  return history_lib.History.from_dict(history)


def _is_numpy_scalar_type(name: str) -> bool:
  value = getattr(np, name, None)
  return isinstance(value, type) and issubclass(value, np.generic)
