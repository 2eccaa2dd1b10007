"""`python -m trax.launch`: arguments, process environments, and stopping on failure.

Training through it is tested in tests/supervised/test_distributed.py.
"""

import os
import sys
import time

import pytest

from trax import launch


def test_local_processes_get_forced_cpu_devices():
  environment = launch.process_environment(
    4, {'XLA_FLAGS': '--xla_force_host_platform_device_count=8 --xla_foo=1', 'A': 'b'}
  )
  assert environment['XLA_FLAGS'] == '--xla_foo=1 --xla_force_host_platform_device_count=4'
  assert environment['JAX_PLATFORMS'] == 'cpu' and environment['A'] == 'b'
  assert launch.process_environment(None, {'A': 'b'}) == {'A': 'b'}  # A real cluster.


def test_bad_arguments_are_refused(capsys):
  with pytest.raises(SystemExit):
    launch.main(['--processes', '0', 'train.py'])
  assert '--processes must be at least 1' in capsys.readouterr().err
  with pytest.raises(SystemExit):
    launch.main(['--processes', '2', '--process-id', '1', 'train.py'])
  assert '--process-id needs --coordinator' in capsys.readouterr().err
  with pytest.raises(ValueError, match=r'process_id must be in \[0, 2\); got 2'):
    launch.initialize('127.0.0.1:1234', 2, 2)


@pytest.mark.slow  # Two jax processes: ~5 s of CPU.
def test_a_failing_process_stops_the_others(tmp_path):
  script = tmp_path / 'fail.py'
  script.write_text(
    'import sys, time, jax\nif jax.process_index() == 1:\n  sys.exit(3)\ntime.sleep(600)\n'
  )
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  start = time.monotonic()
  code = launch.launch_local(
    [str(script)],
    2,
    local_devices=1,
    timeout=300,
    env={'PYTHONPATH': root + os.pathsep + ':'.join(sys.path)},
  )
  assert code == 3 and time.monotonic() - start < 120
