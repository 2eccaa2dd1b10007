"""`trax.atomic_files`: writers never follow a planted link; leftovers of dead writers go."""

import os
import subprocess
import sys

import numpy as np
import pytest

from trax import atomic_files
from trax import shapes
import trax.layers as tl
from trax.checkpoint_files import checkpoints


@pytest.fixture
def predictable_names(monkeypatch):
  """The first temporary names a writer tries, made predictable as an attacker guesses."""
  tokens = iter(['0000000a', '0000000b', '0000000c', '0000000d'])
  monkeypatch.setattr(atomic_files.secrets, 'token_hex', lambda n: next(tokens))
  host = atomic_files._HOST
  return lambda path, token: f'{path}.tmp-{host}-{os.getpid()}-{token}'


def _dead_pid() -> int:
  child = subprocess.Popen([sys.executable, '-c', 'pass'])
  child.wait()
  return child.pid


def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_path, predictable_names):
  victim = tmp_path / 'victim'
  victim.write_text('precious')
  target = tmp_path / 'model.npz'
  planted = predictable_names(str(target), '0000000a')
  os.symlink(victim, planted)
  layer = tl.Serial(tl.Dense(2))
  layer.init(shapes.ShapeDtype((1, 3)))
  layer.save_to_file(str(target))
  assert victim.read_text() == 'precious' and os.path.islink(planted)
  np.testing.assert_array_equal(checkpoints.read(str(target)).flat_weights[0], layer.weights[0][0])


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path):
  victim = tmp_path / 'victim'
  victim.write_text('precious')
  target = tmp_path / 'model.tflite'
  os.symlink(victim, target)
  with atomic_files.atomic_write(str(target)) as f:
    f.write(b'new')
  assert victim.read_text() == 'precious'
  assert not os.path.islink(target) and target.read_bytes() == b'new'


def test_directories_are_made_fresh_and_renamed(tmp_path, predictable_names):
  victim = tmp_path / 'elsewhere'
  victim.mkdir()
  final = tmp_path / 'serving' / '1'
  os.makedirs(final.parent)
  os.symlink(victim, predictable_names(str(final), '0000000a'))
  with atomic_files.atomic_directory(str(final)) as work:
    (open(os.path.join(work, 'saved_model.pb'), 'wb')).close()
  assert os.listdir(victim) == [] and os.listdir(final) == ['saved_model.pb']
  with pytest.raises(ZeroDivisionError):
    with atomic_files.atomic_directory(str(tmp_path / 'serving' / '2')):
      raise ZeroDivisionError
  assert sorted(os.listdir(final.parent)) == [
    '1',
    os.path.basename(predictable_names(str(final), '0000000a')),
  ]


def test_failed_writes_leave_the_old_file(tmp_path):
  target = tmp_path / 'model.npz'
  target.write_bytes(b'old')
  with pytest.raises(RuntimeError):
    with atomic_files.atomic_write(str(target)) as f:
      f.write(b'half')
      raise RuntimeError
  assert target.read_bytes() == b'old' and os.listdir(tmp_path) == ['model.npz']


def test_remove_stale_takes_only_dead_writers_of_this_host(tmp_path):
  dead, alive = _dead_pid(), os.getppid()
  host = atomic_files._HOST
  names = {
    f'model.npz.tmp-{host}-{dead}-0123abcd': True,
    f'model.npz.tmp-{dead}': True,  # The name older trax versions used.
    f'3.tmp-{host}-{dead}-89abcdef': True,  # An export's version directory.
    f'model.npz.tmp-{host}-{alive}-0123abcd': False,
    f'model.npz.tmp-{host}-{os.getpid()}-0123abcd': False,
    f'model.npz.tmp-otherhost-{dead}-0123abcd': False,
    'model.npz': False,
    'notes.tmp-12': False,
  }
  for name in names:
    if name.startswith('3.'):
      (tmp_path / name).mkdir()
      (tmp_path / name / 'saved_model.pb').write_bytes(b'x')
    else:
      (tmp_path / name).write_bytes(b'x')
  removed = atomic_files.remove_stale(str(tmp_path))
  assert sorted(os.path.basename(p) for p in removed) == sorted(
    name for name, stale in names.items() if stale
  )
  assert sorted(os.listdir(tmp_path)) == sorted(name for name, stale in names.items() if not stale)


def test_scratch_directories_of_dead_processes_are_removed():
  dead = _dead_pid()
  host = atomic_files._HOST
  import tempfile

  stale = os.path.join(tempfile.gettempdir(), f'trax-verify-{host}-{dead}-abc')
  os.makedirs(stale)
  with atomic_files.scratch_directory('verify') as mine:
    removed = atomic_files.remove_stale_scratch()
    assert stale in removed and not os.path.exists(stale) and os.path.isdir(mine)
  assert not os.path.exists(mine)
