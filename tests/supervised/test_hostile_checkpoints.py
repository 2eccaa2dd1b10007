"""Hostile checkpoint files: every loader refuses them cleanly, naming the file.

The corpus (`hostile_corpus.py`) runs in a separate process, so a crash (the object arrays
a permissive unpickler would build crash on access) fails this test instead of killing
pytest.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.supervised import hostile_corpus

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def results(tmp_path_factory):
  directory = tmp_path_factory.mktemp('corpus')
  environment = dict(os.environ, JAX_PLATFORMS='cpu')
  environment['PYTHONPATH'] = REPO + os.pathsep + environment.get('PYTHONPATH', '')
  run = subprocess.run(
    [sys.executable, '-m', 'tests.supervised.hostile_corpus', str(directory)],
    capture_output=True,
    text=True,
    timeout=600,
    cwd=REPO,
    env=environment,
  )
  last_case = (run.stderr.strip().splitlines() or ['(none)'])[-1]
  assert run.returncode == 0, (
    f'The corpus run died (status {run.returncode}) at {last_case}:\n{run.stderr[-3000:]}'
  )
  return [json.loads(line) for line in run.stdout.splitlines()]


def _names_its_file(result: dict) -> bool:
  base = os.path.basename(result['path']).split('.')[0]
  return result['path'] in result['message'] or base in result['message']


def test_every_loader_sees_every_case(results):
  cases = {r['case'] for r in results}
  assert set(hostile_corpus.PAYLOADS) <= cases
  assert len(results) == len(cases) * len(hostile_corpus.LOADERS)


def test_crafted_payloads_are_refused_with_the_file_named(results):
  for result in results:
    if result['must_load']:
      continue
    if result['case'] in hostile_corpus.PAYLOADS or result['case'].startswith(
      (
        'bomb',
        'side_',
        'npz_metadata',
        'npz_deflated',
        'npz_header',
        'npz_object',
        'npz_missing',
        'npz_not',
        'gzip_declares',
        'pickle_truncated',
        'gzip_truncated',
        'npz_truncated',
      )
    ):
      assert result['outcome'] == 'error', result
      assert result['checkpoint_error'] and _names_its_file(result), result


def test_corruptions_load_or_fail_cleanly(results):
  for result in results:
    if result['outcome'] == 'error':
      assert result['checkpoint_error'] and _names_its_file(result), result


def test_no_class_or_admitted_object_changes(results):
  assert not [(r['case'], r['loader'], r['changed']) for r in results if r['changed']]


def test_valid_files_load_at_every_protocol(results):
  valid = [r for r in results if r['must_load']]
  protocols = {r['case'] for r in valid if r['case'].startswith('valid_protocol_')}
  assert len(protocols) == 6  # Protocols 0-5; numpy writes 0-2 through _codecs.encode.
  assert all(r['outcome'] == 'ok' for r in valid), [r for r in valid if r['outcome'] != 'ok']


def test_object_dtype_payloads_are_refused_for_what_they_are(results):
  by_case = {(r['case'], r['loader']): r for r in results}
  assert 'refusing dtype' in by_case[('object_array_by_reduce', 'read_any')]['message']
  for case in ('object_field_by_dtype_build', 'object_field_in_float_dtype'):
    assert 'refusing dtype' in by_case[(case, 'read_any')]['message']
  assert 'Refusing to load os.system' in by_case[('os_system', 'read_any')]['message']
  message = by_case[('bomb_with_a_lying_trailer', 'read_any')]['message']
  assert f'more than {hostile_corpus.READ_LIMIT:,} bytes uncompressed' in message


def test_bombs_stop_at_the_limit_without_expanding(tmp_path):
  """In this process too: a lying gzip trailer does not get a bomb decompressed."""
  from trax import checkpoint_reading
  from trax.checkpoint_files import trax1_checkpoints
  import gzip
  import struct
  import resource

  payload = hostile_corpus.checkpoint_around(b'\x8e' + struct.pack('<Q', 2**30) + bytes(2**24))
  path = tmp_path / 'bomb.pkl.gz'
  path.write_bytes(gzip.compress(payload)[:-4] + struct.pack('<I', 100))
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  with checkpoint_reading.read_limit(2**22):
    with pytest.raises(checkpoint_reading.CheckpointError, match='bomb.pkl.gz holds more than'):
      trax1_checkpoints.read(str(path))
  with pytest.raises(checkpoint_reading.CheckpointError, match='bomb.pkl.gz'):
    trax1_checkpoints.read(str(path))  # Under the default limit: read, and found truncated.
  assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 2**20  # KiB: < 1 GiB.
  assert checkpoint_reading.max_bytes() == checkpoint_reading.DEFAULT_MAX_BYTES


def test_bounded_reader_counts_every_way_of_reading(tmp_path):
  import gzip
  from trax import checkpoint_reading

  path, lying = tmp_path / 'data.gz', tmp_path / 'lying.gz'
  path.write_bytes(gzip.compress(b'line\n' * 40))  # 200 bytes.
  lying.write_bytes(path.read_bytes()[:-4] + b'\x0a\x00\x00\x00')  # Says 10 bytes.
  with checkpoint_reading.read_limit(100):
    with pytest.raises(checkpoint_reading.CheckpointError, match='declares 200 bytes'):
      with checkpoint_reading.open_gzip(str(path)):
        pass
    for read in (
      lambda f: f.read(),
      lambda f: f.read(101),
      lambda f: [f.readline() for _ in range(21)],
      lambda f: f.readinto(bytearray(150)),
    ):
      with checkpoint_reading.open_gzip(str(lying)) as f:
        with pytest.raises(checkpoint_reading.CheckpointError, match='more than 100 bytes'):
          read(f)
  with checkpoint_reading.read_limit(200):
    with checkpoint_reading.open_gzip(str(path)) as f:
      assert f.read() == b'line\n' * 40 and f.n_read == 200
