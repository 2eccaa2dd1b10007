"""`import trax` sets glibc's malloc and jax's CPU dispatch so that runs reuse freed memory."""

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from trax import host_memory
from trax.supervised import trainer

glibc_only = pytest.mark.skipif(
  platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc', reason='needs glibc'
)

# A jitted function whose run needs an 80 MiB temporary (the product, multiplied again):
# the size of a training step's saved activations, which glibc would mmap afresh per run.
_FAULTS_PER_RUN = textwrap.dedent("""
    import json, resource
    {first}
    import jax, jax.numpy as jnp
    x = jnp.ones((10240, 8), jnp.float32)
    w = jnp.ones((8, 2048), jnp.float32)
    run = jax.jit(lambda x, w: jnp.sum(jnp.tanh(x @ w) @ w.T))
    for _ in range(3):
      run(x, w).block_until_ready()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
      run(x, w).block_until_ready()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    import trax
    from jax._src import xla_bridge
    asynchronous = xla_bridge._CPU_ENABLE_ASYNC_DISPATCH.value
    print(json.dumps([faults, trax.host_memory.STATUS, trax.host_memory.MISSED, asynchronous]))
""")
PAGES = 10240 * 2048 * 4 // 4096  # Of the temporary.


def _faults_per_run(first: str, **env: str) -> tuple:
  environment = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith('MALLOC_') and k != 'TRAX_KEEP_FREED_MEMORY'
  }
  result = subprocess.run(
    [sys.executable, '-c', _FAULTS_PER_RUN.format(first=first)],
    env={**environment, **env},
    capture_output=True,
    text=True,
    check=True,
  )
  import json

  return tuple(json.loads(result.stdout.strip().splitlines()[-1]))


@glibc_only
def test_runs_reuse_freed_memory_unless_turned_off_or_jax_started_first():
  faults, status, missed, asynchronous = _faults_per_run('import trax')
  assert faults < 0.05 * PAGES, (faults, status)
  assert status.startswith('freed memory is kept for reuse') and not missed
  assert not asynchronous  # jax runs the computation on the calling thread.
  # Off: each run faults the temporary in again, page by page.
  faults, status, missed, asynchronous = _faults_per_run('import trax', TRAX_KEEP_FREED_MEMORY='0')
  assert faults > 0.5 * PAGES, (faults, status)
  assert status == 'left to the C library: TRAX_KEEP_FREED_MEMORY=0' and not missed
  assert asynchronous
  # jax ran first: its client runs computations on worker threads, so nothing is set.
  faults, status, missed, asynchronous = _faults_per_run('import jax.numpy; jax.numpy.ones(1)')
  assert faults > 0.5 * PAGES, (faults, status)
  assert missed and 'import trax before running jax code' in status


def test_the_environment_own_malloc_setting_is_left_alone(monkeypatch):
  monkeypatch.setattr(host_memory, 'STATUS', host_memory.STATUS)
  monkeypatch.setattr(host_memory, 'MISSED', host_memory.MISSED)
  monkeypatch.setenv('MALLOC_ARENA_MAX', '4')
  assert not host_memory.keep_freed_memory()
  assert host_memory.STATUS == 'left to the C library: the environment sets it (MALLOC_ARENA_MAX)'
  assert not host_memory.MISSED


def test_a_cpu_loop_logs_the_setting_once_and_prints_it_when_jax_started_first(monkeypatch, capsys):
  monkeypatch.setattr(trainer, '_HOST_MEMORY_LOGGED', [])
  monkeypatch.setattr(host_memory, 'STATUS', 'left to the C library: jax ran before trax')
  monkeypatch.setattr(host_memory, 'MISSED', True)
  trainer._log_host_memory_once()
  trainer._log_host_memory_once()
  assert capsys.readouterr().out == 'Host memory: left to the C library: jax ran before trax.\n'
