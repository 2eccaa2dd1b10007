"""`kill -9` an export mid-way: its verify process dies too, the next export cleans up."""

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import converters
from trax import shapes
import trax.layers as tl
from tests.converters import helpers

# Exports a small model and stops where a kill hurts most: the SavedModel written to its
# temporary directory and the verify process running (or the .tflite file written and
# being checked). Prints what it is waiting in, then sleeps.
_EXPORT = """
import os, sys, time
import numpy as np
import converters
from converters import tflite, verify
from trax import shapes
import trax.layers as tl

def wait_here(*args, **kwargs):
  print('waiting', os.getpid(), getattr(args[0], 'pid', 0), flush=True)
  time.sleep(1000)
verify._finish_child = wait_here
tflite._verify = wait_here
model = tl.Serial(tl.Dense(3))
model.init(shapes.ShapeDtype((1, 4)))
if sys.argv[1] == 'saved-model':
  converters.to_saved_model(model, sys.argv[2], shapes.ShapeDtype((None, 4)))
else:
  converters.to_tflite(model, sys.argv[2], shapes.ShapeDtype((None, 4)))
"""


def _alive(pid: int) -> bool:
  try:
    with open(f'/proc/{pid}/stat', encoding='ascii') as f:
      return f.read().rsplit(')', 1)[-1].split()[0] != 'Z'
  except OSError:
    return False


def _killed_midway(kind: str, target: str) -> tuple[int, int]:
  """Runs the export in a process, kills it with SIGKILL; returns its and its child's pid."""
  environment = dict(os.environ, JAX_PLATFORMS='cpu')
  environment['PYTHONPATH'] = str(helpers.REPO) + os.pathsep + environment.get('PYTHONPATH', '')
  run = subprocess.Popen(
    [sys.executable, '-c', _EXPORT, kind, target],
    env=environment,
    cwd=str(helpers.REPO),
    stdout=subprocess.PIPE,
    text=True,
  )
  for line in run.stdout:
    if line.startswith('waiting'):
      break
  else:
    raise AssertionError(f'the export ended (status {run.wait()}) before the kill')
  _, pid, child = line.split()
  os.kill(run.pid, signal.SIGKILL)
  run.wait()
  run.stdout.close()
  return int(pid), int(child)


def _scratch(pid: int) -> list:
  return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith('trax-') and f'-{pid}-' in n]


@pytest.mark.slow  # Two exporting processes, killed, and two exports after them.
def test_killed_exports_leave_nothing_behind_the_next_export(tmp_path):
  serving = tmp_path / 'serving'
  pid, verifier = _killed_midway('saved-model', str(serving))
  deadline = time.time() + 10
  while _alive(verifier) and time.time() < deadline:
    time.sleep(0.1)
  assert not _alive(verifier), 'the verify process outlived its parent'
  assert [n for n in os.listdir(serving) if '.tmp-' in n] and _scratch(pid)  # Leftovers.
  model = tl.Serial(tl.Dense(3))
  model.init(shapes.ShapeDtype((1, 4)), rng=helpers.RNG)
  converters.to_saved_model(model, serving, shapes.ShapeDtype((None, 4)), verify=False)
  assert os.listdir(serving) == ['1'] and not _scratch(pid)

  lite = tmp_path / 'lite' / 'model.tflite'
  pid, _ = _killed_midway('tflite', str(lite))
  assert [n for n in os.listdir(lite.parent) if '.tmp-' in n]  # Killed while checking.
  converters.to_tflite(model, str(lite), shapes.ShapeDtype((None, 4)), verify=False)
  assert os.listdir(lite.parent) == ['model.tflite'] and not _scratch(pid)
