"""Writes files as Trax 1.4's `training.Loop` wrote them, for tests that read them back.

`write_loop_checkpoint` mirrors Trax 1.4's `Loop.save_checkpoint` (version 'Mar-10-2021'):
a gzipped pickle `<basename>.pkl.gz` of a dict, with the weights and each task's optimizer
slots in side files `<basename>.weights.npy.gz` and `<basename>.opt_slots<i>.npy.gz`, each a
gzip stream (level 2) of consecutive `np.save(..., allow_pickle=False)` records, bfloat16
bit-cast to uint16. `write_data_counters` mirrors `trax.data.inputs.save_data_counters`.
"""

import collections
import gzip
import os
import pickle

import ml_dtypes
import numpy as np

from trax.checkpoint_files import checkpoints


def write_loop_checkpoint(
  directory: str, basename: str, checkpoint: checkpoints.Checkpoint
) -> None:
  """Writes `checkpoint` (read from one of our files) in Trax 1.4's Loop layout."""
  base = os.path.join(directory, basename)
  for i, task in enumerate(checkpoint.tasks):
    _write_npy_records(f'{base}.opt_slots{i}.npy.gz', task.flat_slots)
  _write_npy_records(f'{base}.weights.npy.gz', checkpoint.flat_weights)
  values = {mode: collections.defaultdict(list) for mode in checkpoint.history.modes}
  for mode in checkpoint.history.modes:
    for metric in checkpoint.history.metrics_for_mode(mode):
      values[mode][metric] = [
        (step, np.float64(value)) for step, value in checkpoint.history.get(mode, metric)
      ]
  d = {
    'step': checkpoint.step,
    'flat_weights': 2,  # The gzip level of the side file.
    'flat_state': [np.asarray(x) for x in checkpoint.flat_state],
    'flat_eval_state': [np.asarray(x) for x in checkpoint.flat_state],
    'history': {'_values': values},
    'slots_per_task': 2,
    'input_signature': checkpoint.input_signature,
    'version_timestamp': 'Mar-10-2021',
  }
  with gzip.open(base + '.pkl.gz', 'wb', compresslevel=2) as f:
    pickle.dump(d, f, protocol=pickle.HIGHEST_PROTOCOL)


def write_data_counters(directory: str, counters: dict, host_id: int = 0) -> None:
  with open(os.path.join(directory, f'data_counters{host_id}.pkl'), 'wb') as f:
    pickle.dump(dict(counters), f)


def _write_npy_records(path: str, arrays: list) -> None:
  with gzip.open(path, 'wb', compresslevel=2) as f:
    for x in arrays:
      x = np.asarray(x)
      np.save(f, x.view(np.uint16) if x.dtype == ml_dtypes.bfloat16 else x, allow_pickle=False)
