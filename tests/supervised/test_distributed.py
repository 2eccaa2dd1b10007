"""Several jax.distributed processes train as one: 2 processes x 4 CPU devices on this machine.

Each test starts `distributed_worker.py` through `python -m trax.launch` (coordinator on
127.0.0.1, gloo collectives), every process feeding its own half of each global batch, and
holds the result to the same loop trained in this process on one device (and, in the slow
test, on 1 process x 8 devices): the oracle is the single-device run on the same global
batches.
"""

import json
import os

import numpy as np
import pytest

from trax.checkpoint_files import checkpoints
from tests.supervised import distributed_worker
from tests.supervised import helpers

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'distributed_worker.py')


def launch(n_processes, local_devices, output_dir, *args):
  """Runs the worker; returns the exit code and the results by process."""
  os.makedirs(output_dir, exist_ok=True)
  for name in os.listdir(output_dir):
    if name.startswith('result'):
      os.remove(os.path.join(output_dir, name))
  code = helpers.run_processes(WORKER, n_processes, local_devices, str(output_dir), *map(str, args))
  results = {}
  for process in range(n_processes):
    path = os.path.join(output_dir, f'result{process}.json')
    if os.path.exists(path):
      with open(path) as f:
        results[process] = json.load(f)
  return code, results


def one_device_weights(n_steps_list, with_eval=True):
  """The weights (and eval losses) of the 1-device loop after each number of steps."""
  loop = distributed_worker.build_loop(None, with_eval=with_eval)
  snapshots = []
  for n_steps in n_steps_list:
    loop.run(n_steps - loop.step)
    snapshots.append(helpers.flat_weights(loop.model))
  losses = [v for _, v in loop.history.get('eval', 'metrics/L2Loss')]
  return snapshots, losses


def assert_weights_close(found, expected, rtol=1e-5, atol=1e-6):
  assert len(found) == len(expected)
  for w, v in zip(found, expected):
    np.testing.assert_allclose(np.asarray(w), v, rtol=rtol, atol=atol)


def test_two_processes_train_like_one_device_and_only_the_chief_writes(tmp_path):
  code, results = launch(2, 4, tmp_path, 4, '--own-dir', '--no-eval')
  assert code == 0 and len(results) == 2, code
  (expected,), _ = one_device_weights([4], with_eval=False)
  for process in (0, 1):
    result = results[process]
    assert (result['n_processes'], result['n_devices'], result['step']) == (2, 8, 4)
    assert result['is_chief'] == (process == 0)
    assert_weights_close(result['weights'], expected)
  assert results[0]['weights'] == results[1]['weights']
  # Checkpoints at steps 1 and 3, by the chief alone.
  assert os.listdir(tmp_path / 'process0') == ['model.npz']
  assert os.listdir(tmp_path / 'process1') == []
  assert checkpoints.read(str(tmp_path / 'process0' / 'model.npz')).step == 3


@pytest.mark.slow  # Five processes, a kill and a restart: ~40 s of CPU.
def test_killed_processes_resume_like_one_and_eight_devices(tmp_path):
  code, results = launch(2, 4, tmp_path, 12, '--kill-at', 7)
  assert code != 0 and not results, code  # Killed at step 7, no results.
  saved = checkpoints.read(str(tmp_path / 'model.npz'))
  assert saved.step == 6  # Written and complete before any process reached step 7.

  code, results = launch(2, 4, tmp_path, 12, '--tf-data')
  assert code == 0 and len(results) == 2, code
  code, eight = launch(1, 8, tmp_path / 'eight', 12)
  assert code == 0 and eight[0]['n_devices'] == 8, code
  (expected,), losses = one_device_weights([12])
  for result in results.values():
    assert result['loaded_step'] == 6 and result['step'] == 12
    assert_weights_close(result['loaded'], saved.flat_weights, rtol=0, atol=0)
    assert result['weights'] == results[0]['weights']  # Every process, the same.
    assert_weights_close(result['weights'], expected)
    assert_weights_close(result['weights'], eight[0]['weights'])
    # Evals at steps 1, 3, 6 (before the kill), then 9 and 12 after the restart.
    np.testing.assert_allclose(result['eval_losses'], losses, rtol=1e-5)
  # Summaries: one event file per directory and run (the killed one and the restart),
  # named by the writer's process id: the chief's.
  for kind in ('train', 'eval'):
    events = os.listdir(tmp_path / kind)
    assert len(events) == 2, events
    assert any(f'.{results[0]["pid"]}.' in e for e in events), (events, results[0]['pid'])
    assert not any(f'.{results[1]["pid"]}.' in e for e in events), events
  # from_tf_dataset gives each process its own elements, and together all of them.
  parts = [results[p]['tf_data'] for p in (0, 1)]
  assert not set(parts[0]) & set(parts[1]) and sorted(parts[0] + parts[1]) == list(range(10))


@pytest.mark.slow  # Four processes and orbax: ~35 s of CPU.
def test_sharded_checkpoints_move_between_two_processes_and_one_device(tmp_path):
  (at_6, at_9, at_12), losses = one_device_weights([6, 9, 12])
  # 2 processes, a (data=2, model=4) mesh: weights split over each process's devices.
  code, results = launch(2, 4, tmp_path, 6, '--mesh', 2, 4)
  assert code == 0 and len(results) == 2, code
  assert results[0]['weights'] == results[1]['weights']
  assert_weights_close(results[0]['weights'], at_6)
  assert os.path.isdir(tmp_path / 'model.orbax')

  # The sharded checkpoint restores into one device, which trains on and writes an npz...
  loop = distributed_worker.build_loop(str(tmp_path))
  assert loop.step == 6
  assert_weights_close(helpers.flat_weights(loop.model), results[0]['weights'], 0, 0)
  loop.run(3)
  assert_weights_close(helpers.flat_weights(loop.model), at_9)

  # ...which restores into the two processes' sharded layout.
  code, results = launch(2, 4, tmp_path, 12, '--mesh', 2, 4)
  assert code == 0 and len(results) == 2, code
  for result in results.values():
    assert result['loaded_step'] == 9
    assert_weights_close(result['loaded'], helpers.flat_weights(loop.model), 0, 0)
    assert_weights_close(result['weights'], at_12)
    # Evals at 1, 3, 6 (two processes), 9 (one device), 12 (two processes again).
    np.testing.assert_allclose(result['eval_losses'], losses, rtol=1e-5)
