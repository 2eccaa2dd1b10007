"""`kill -9` a checkpointing Loop, several times: the next run starts with no leftovers."""

import os
import signal
import subprocess
import sys
import time

import pytest

from trax.checkpoint_files import checkpoints

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Trains a 4 MB model, checkpointing every step; writing an array takes 0.3 s, so a kill
# lands mid-write. Prints 'started' once the Loop is built (it cleans up when built).
_RUN = """
import sys, time
import numpy as np
from trax import optimizers
import trax.layers as tl
from trax.supervised import training

write_array = np.lib.format.write_array
def slow_write_array(*args, **kwargs):
  time.sleep(0.3)
  return write_array(*args, **kwargs)
np.lib.format.write_array = slow_write_array

def batches():
  rng = np.random.default_rng(0)
  while True:
    x = rng.normal(size=(8, 1000)).astype(np.float32)
    yield x, x, np.ones_like(x)
task = training.TrainTask(batches(), tl.L2Loss(), optimizers.SGD(0.01),
                          n_steps_per_checkpoint=1)
loop = training.Loop(tl.Serial(tl.Dense(1000)), task, output_dir=sys.argv[1])
print('started', loop.step, flush=True)
loop.run(1000)
"""


def _start(output_dir: str) -> subprocess.Popen:
  environment = dict(os.environ, JAX_PLATFORMS='cpu')
  environment['PYTHONPATH'] = REPO + os.pathsep + environment.get('PYTHONPATH', '')
  return subprocess.Popen(
    [sys.executable, '-c', _RUN, output_dir],
    cwd=REPO,
    env=environment,
    stdout=subprocess.PIPE,
    text=True,
  )


def _started_at(run: subprocess.Popen) -> int:
  """The step the run started from (once its Loop is built); other output is skipped."""
  for line in run.stdout:
    if line.startswith('started'):
      return int(line.split()[1])
  raise AssertionError(f'the run ended (status {run.wait()}) before starting')


def _temporaries(directory) -> list:
  return sorted(name for name in os.listdir(directory) if '.tmp-' in name)


@pytest.mark.slow  # Four Python processes importing jax, killed mid-checkpoint.
def test_killed_loops_leave_nothing_behind_the_next_run(tmp_path):
  leftovers_seen = []
  for _ in range(3):
    run = _start(str(tmp_path))
    _started_at(run)
    assert not _temporaries(tmp_path), 'a new run kept what a killed one left'
    deadline = time.time() + 120
    while not (tmp_path / 'model.npz').exists() and time.time() < deadline:
      time.sleep(0.05)  # The first checkpoint is complete...
    while not _temporaries(tmp_path) and time.time() < deadline:
      time.sleep(0.05)  # ... and the next is being written.
    time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    run.stdout.close()
    leftovers_seen += _temporaries(tmp_path)
  assert leftovers_seen, 'no kill landed mid-write: the test proved nothing'
  final = _start(str(tmp_path))
  assert _started_at(final) > 0  # It resumed.
  assert not _temporaries(tmp_path)
  os.kill(final.pid, signal.SIGKILL)
  final.wait()
  final.stdout.close()
  assert checkpoints.read(str(tmp_path / 'model.npz')).step > 0  # Intact: never half-written.
