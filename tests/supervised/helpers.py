"""Shared test data and models for the `trax.supervised` tests: small, deterministic."""

import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np

from trax import launch
import trax.layers as tl

TRUE_W = np.array([[1.0], [-2.0], [3.0]], np.float32)
TRUE_B = 0.5


def regression_stream(seed: int = 0, batch_size: int = 16) -> Iterator[tuple]:
  """Batches `(x, y, weights)` with `y = x @ TRUE_W + TRUE_B`; the same for a same seed."""
  rng = np.random.default_rng(seed)
  while True:
    x = rng.normal(size=(batch_size, 3)).astype(np.float32)
    y = x @ TRUE_W + TRUE_B
    yield x, y, np.ones_like(y)


def classification_stream(seed: int = 0, batch_size: int = 32) -> Iterator[tuple]:
  """Batches `(x, label, weights)`: label 1 where `x0 + x1 > 0`, else 0 (separable)."""
  rng = np.random.default_rng(seed)
  while True:
    x = rng.normal(size=(batch_size, 2)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    yield x, labels, np.ones(batch_size, np.float32)


def mlp(dropout: float = 0.0, mode: str = 'train') -> tl.Layer:
  """A small regression MLP (3 -> 16 -> 1), optionally with dropout."""
  return tl.Serial(tl.Dense(16), tl.Relu(), tl.Dropout(dropout, mode=mode), tl.Dense(1))


def flat_weights(layer: tl.Layer) -> list:
  """The layer's weights as numpy arrays, in Trax's flat order."""
  return [np.asarray(w) for w in tl.flatten_weights_and_state(layer.weights, ())[0]]


def run_on_eight_devices(script: str) -> None:
  """Runs `script` in a fresh Python with 8 forced CPU devices; it must print 'ok' last."""
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  environment = dict(
    os.environ,
    JAX_PLATFORMS='cpu',
    XLA_FLAGS=' '.join(
      [os.environ.get('XLA_FLAGS', ''), '--xla_force_host_platform_device_count=8']
    ),
  )
  environment['PYTHONPATH'] = root + os.pathsep + environment.get('PYTHONPATH', '')
  result = subprocess.run(
    [sys.executable, '-c', script],
    env=environment,
    capture_output=True,
    text=True,
    timeout=600,
    cwd=root,
  )
  assert result.returncode == 0 and result.stdout.strip().endswith('ok'), (
    result.stdout[-2000:] + result.stderr[-3000:]
  )


def run_processes(
  script: str, n_processes: int, local_devices: int, *args: str, timeout: float = 600
) -> int:
  """Runs the file `script` as `n_processes` jax.distributed processes; returns the code.

  Launched from this process (`trax.launch.launch_local`: no launcher interpreter to
  start); the processes' output goes to this process's stdout and stderr.
  """
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  env = {
    'PYTHONPATH': root + os.pathsep + os.environ.get('PYTHONPATH', ''),
    'TF_CPP_MIN_LOG_LEVEL': '3',
  }
  return launch.launch_local([script, *args], n_processes, local_devices, timeout=timeout, env=env)
