"""Runs a training script as N `jax.distributed` processes: `python -m trax.launch`.

On one machine (for testing: each process gets its own forced CPU devices)::

  python -m trax.launch --processes 2 --local-devices 4 train.py --my-flag

starts 2 processes of `train.py --my-flag`, each seeing 4 CPU devices, joined through a
coordinator on 127.0.0.1 at a free port, and waits for them (if one fails, the others are
stopped). On a cluster, run one process per host, all naming the same coordinator (a
reachable address of the host of process 0)::

  python -m trax.launch --processes 4 --process-id 2 --coordinator host0:1234 train.py

In every process, before the script runs, `initialize` calls `jax.distributed.initialize`
and selects gloo collectives for CPU devices; the script then sees all processes' devices
in `jax.devices()`, and `training.Loop` trains on all of them, each process feeding its
own part of every batch. A script run without the launcher runs as one process.
"""

import argparse
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence

_POLL_SECONDS = 0.1
TIMEOUT_EXIT_CODE = 124  # As the `timeout` command.


def initialize(coordinator: str, n_processes: int, process_id: int) -> None:
  """Joins this process to the others: `jax.distributed.initialize` with CPU collectives.

  Call it before any other use of jax (it fixes the devices jax sees).

  Args:
    coordinator: `host:port` of the coordinator, which process 0 serves.
    n_processes: how many processes take part.
    process_id: this process's index, from 0.

  Raises:
    ValueError: `process_id` is not in `[0, n_processes)`.
  """
  if not 0 <= process_id < n_processes:
    raise ValueError(f'process_id must be in [0, {n_processes}); got {process_id}.')
  import jax

  # CPU devices of several processes exchange data through gloo (TCP); without it, XLA
  # on CPU has no cross-process collectives.
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(
    coordinator_address=coordinator, num_processes=n_processes, process_id=process_id
  )


def free_port() -> int:
  """A TCP port on 127.0.0.1 that nothing listens on now."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def process_environment(local_devices: 'int | None', base: 'dict | None' = None) -> dict:
  """Environment of a launched process: `local_devices` forced CPU devices, if given."""
  environment = dict(os.environ if base is None else base)
  if local_devices is not None:
    flags = [
      f
      for f in environment.get('XLA_FLAGS', '').split()
      if not f.startswith('--xla_force_host_platform_device_count')
    ]
    environment['XLA_FLAGS'] = ' '.join(
      flags + [f'--xla_force_host_platform_device_count={local_devices}']
    )
    environment['JAX_PLATFORMS'] = 'cpu'
  return environment


def launch_local(
  script_and_args: Sequence[str],
  n_processes: int,
  local_devices: 'int | None' = None,
  port: 'int | None' = None,
  timeout: 'float | None' = None,
  env: 'dict | None' = None,
) -> int:
  """Runs `n_processes` processes of a script on this machine; returns their exit code.

  The code is 0 if all succeed, else the first failing process's (a process killed by a
  signal gives minus the signal's number), or `TIMEOUT_EXIT_CODE` after `timeout`
  seconds; the other processes are then stopped. Works from any Python program (tests
  call it directly); while it runs, SIGTERM stops the processes too. `env` adds
  environment variables of the processes.
  """
  coordinator = f'127.0.0.1:{port or free_port()}'
  commands = [
    [
      sys.executable,
      '-m',
      'trax.launch',
      '--processes',
      str(n_processes),
      '--process-id',
      str(i),
      '--coordinator',
      coordinator,
      *script_and_args,
    ]
    for i in range(n_processes)
  ]
  environment = process_environment(local_devices, {**os.environ, **(env or {})})
  deadline = None if timeout is None else time.monotonic() + timeout
  previous_handler = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
  processes = []
  try:
    processes = [subprocess.Popen(command, env=environment) for command in commands]
    while True:
      codes = [p.poll() for p in processes]
      failed = [c for c in codes if c not in (None, 0)]
      if failed or all(c == 0 for c in codes):
        return failed[0] if failed else 0
      if deadline is not None and time.monotonic() > deadline:
        print(f'trax.launch: stopping the processes after {timeout} s.', file=sys.stderr)
        return TIMEOUT_EXIT_CODE
      time.sleep(_POLL_SECONDS)
  finally:
    for p in processes:
      if p.poll() is None:
        p.kill()
        p.wait()
    signal.signal(signal.SIGTERM, previous_handler)


def main(argv: 'Sequence[str] | None' = None) -> int:
  parser = argparse.ArgumentParser(
    prog='python -m trax.launch',
    description=(__doc__ or '').split('\n\n')[0],
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  parser.add_argument('--processes', type=int, required=True, help='how many processes take part')
  parser.add_argument(
    '--process-id',
    type=int,
    help='run as this one process (on a cluster); without it, all processes start on this machine',
  )
  parser.add_argument(
    '--coordinator',
    help='host:port of the coordinator (process 0); local runs pick 127.0.0.1 and a free port',
  )
  parser.add_argument(
    '--local-devices', type=int, help='force this many CPU devices in each local process (testing)'
  )
  parser.add_argument('--port', type=int, help='coordinator port of a local run')
  parser.add_argument(
    '--timeout', type=float, help='seconds after which a local run stops its processes'
  )
  parser.add_argument('script', help='the Python script every process runs')
  parser.add_argument('args', nargs=argparse.REMAINDER, help="the script's arguments")
  options = parser.parse_args(argv)
  if options.processes < 1:
    parser.error(f'--processes must be at least 1; got {options.processes}.')
  if options.process_id is None:
    return launch_local(
      [options.script, *options.args],
      options.processes,
      options.local_devices,
      options.port,
      options.timeout,
    )
  if options.coordinator is None:
    parser.error('--process-id needs --coordinator host:port (the host of process 0).')
  if options.local_devices is not None:  # Before jax starts: it reads these once.
    os.environ.update(process_environment(options.local_devices))
  initialize(options.coordinator, options.processes, options.process_id)
  sys.argv = [options.script, *options.args]
  sys.path.insert(0, os.path.dirname(os.path.abspath(options.script)))
  try:
    runpy.run_path(options.script, run_name='__main__')
  except SystemExit as e:
    if e.code in (None, 0):
      raise
    if not isinstance(e.code, int):
      print(e.code, file=sys.stderr)
    _exit_now(e.code if isinstance(e.code, int) else 1)
  except BaseException:
    traceback.print_exc()
    _exit_now(1)
  return 0


def _exit_now(code: int) -> None:
  """Exits at once with `code`, skipping jax's exit-time barrier.

  At exit, a `jax.distributed` process waits for all the others to exit too; a failed
  process would wait for processes that wait for it (in a collective). Exiting at once
  lets the launcher see the failure and stop the others.
  """
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)


if __name__ == '__main__':
  sys.exit(main())
