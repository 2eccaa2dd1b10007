"""Writing files that never follow a planted link, and removing what killed writers left.

Every file trax writes (checkpoints, TF Lite models, SavedModel version directories) is
first created under a fresh temporary name next to its target, exclusively: `os.open`
with `O_CREAT | O_EXCL | O_NOFOLLOW` for a file, `os.mkdir` for a directory. Neither
follows a symbolic link someone planted at that name; a name that exists is never
reused. When complete, the file is flushed to disk and renamed over the target (atomic on
POSIX; a link at the target is replaced, not followed), so a crash leaves the previous
version intact.

Temporary names are `<target>.tmp-<host>-<pid>-<random>`. A writer killed with `kill -9`
cannot clean up, so `remove_stale(directory)` deletes the temporaries of processes of
this host that no longer exist (and the `<target>.tmp-<pid>` names older trax versions
used); `Loop` and the exporters call it when they start. Temporaries of live processes,
and of other hosts sharing the directory, are left alone. Scratch directories in the
system's temporary directory (`scratch_directory`) are named the same way.
"""

import contextlib
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
from typing import BinaryIO, TypeVar
from collections.abc import Callable, Iterator

from trax import file_io

_HOST = re.sub(r'[^A-Za-z0-9]', '', socket.gethostname())[:24]
_TEMPORARY = re.compile(r'\.tmp-(?P<host>[A-Za-z0-9]*)-(?P<pid>\d+)-[0-9a-f]{8}$')
_LEGACY_TEMPORARY = re.compile(r'\.(npz|tflite|pkl)\.tmp-(?P<pid>\d+)$')  # Older names.
_SCRATCH = re.compile(r'^trax-[a-z]+-(?P<host>[A-Za-z0-9]*)-(?P<pid>\d+)-')
_T = TypeVar('_T')
_FLAGS = (
  os.O_WRONLY
  | os.O_CREAT
  | os.O_EXCL
  | getattr(os, 'O_NOFOLLOW', 0)
  | getattr(os, 'O_CLOEXEC', 0)
  | getattr(os, 'O_BINARY', 0)
)
_ATTEMPTS = 100


def temporary_name(path: str) -> str:
  """A fresh temporary name next to `path` (see the module docstring)."""
  return f'{path}.tmp-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}'


@contextlib.contextmanager
def atomic_write(path: str) -> Iterator[BinaryIO]:
  """Yields a binary file to write `path`'s contents to; renames it to `path` at the end.

  If the block raises, the temporary file is removed and `path` is left as it was. A
  remote `path` (`gs://...`) is written locally, then uploaded (`trax.file_io`).
  """
  if file_io.is_remote(path):
    with file_io.local_path_for_writing(path) as local_path:
      with atomic_write(local_path) as f:
        yield f
    return
  path = os.path.abspath(os.fspath(path))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp_path, fd = _create(path, lambda name: os.open(name, _FLAGS, 0o666))
  try:
    with os.fdopen(fd, 'wb') as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp_path, path)
  except BaseException:
    _remove(tmp_path)
    raise
  _sync_directory(os.path.dirname(path))


@contextlib.contextmanager
def atomic_directory(path: str) -> Iterator[str]:
  """Yields a new empty directory to fill; renames it to `path` (which must not exist).

  If the block raises, the directory is removed. A remote `path` is filled locally, then
  uploaded (not atomically: files appear one by one).

  Raises:
    FileExistsError: `path` exists (or is a link) when the directory is complete.
  """
  if file_io.is_remote(path):
    with scratch_directory('upload') as scratch:
      yield scratch
      file_io.move_tree(scratch, path)
    return
  path = os.path.abspath(os.fspath(path))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp_path, _ = _create(path, lambda name: os.mkdir(name, 0o777))
  try:
    yield tmp_path
    if os.path.lexists(path):
      raise FileExistsError(f'{path} appeared while it was being written.')
    os.rename(tmp_path, path)
  except BaseException:
    shutil.rmtree(tmp_path, ignore_errors=True)
    raise
  _sync_directory(os.path.dirname(path))


@contextlib.contextmanager
def scratch_directory(kind: str) -> Iterator[str]:
  """A private directory `trax-<kind>-<host>-<pid>-*` in the system's temporary directory.

  Removed at the end of the block; if the process is killed first, `remove_stale_scratch`
  removes it later.
  """
  path = tempfile.mkdtemp(prefix=f'trax-{kind}-{_HOST}-{os.getpid()}-')
  try:
    yield path
  finally:
    shutil.rmtree(path, ignore_errors=True)


def make_directory(directory: str) -> None:
  """Creates `directory` if needed (`trax.file_io`); removes what killed writers left there.

  Remote directories (`gs://...`) are created only: their writers keep no temporaries.
  """
  file_io.makedirs(directory)
  if not file_io.is_remote(directory):
    remove_stale(directory)


def remove_stale(directory: str) -> list[str]:
  """Removes the temporaries in `directory` of dead writers of this host; returns them."""
  if file_io.is_remote(directory):
    return []
  removed = []
  for name in _listdir(directory):
    match = _TEMPORARY.search(name) or _LEGACY_TEMPORARY.search(name)
    if match and match.groupdict().get('host', _HOST) == _HOST and _dead(int(match['pid'])):
      path = os.path.join(directory, name)
      _remove(path)
      removed.append(path)
  return removed


def remove_stale_scratch() -> list[str]:
  """Removes the `scratch_directory`s of dead processes of this host; returns them."""
  directory = tempfile.gettempdir()
  removed = []
  for name in _listdir(directory):
    match = _SCRATCH.match(name)
    if match and match['host'] == _HOST and _dead(int(match['pid'])):
      path = os.path.join(directory, name)
      _remove(path)
      removed.append(path)
  return removed


def _create(path: str, make: Callable[[str], _T]) -> tuple[str, _T]:
  """Makes a fresh temporary next to `path` with `make(name)`; returns (name, result)."""
  for _ in range(_ATTEMPTS):
    name = temporary_name(path)
    try:
      return name, make(name)
    except FileExistsError:  # Taken, possibly by a planted link: try another name.
      continue
  raise FileExistsError(
    f'Could not create a temporary file next to {path}: {_ATTEMPTS} fresh names were all taken.'
  )


def _dead(pid: int) -> bool:
  """Whether no process `pid` runs on this host (a zombie counts as dead)."""
  if pid == os.getpid():
    return False
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return True
  except PermissionError:  # Someone else's process.
    return False
  except OSError:
    return False
  try:
    with open(f'/proc/{pid}/stat', encoding='ascii', errors='replace') as f:
      return f.read().rsplit(')', 1)[-1].split()[0] == 'Z'
  except OSError:
    return False


def _remove(path: str) -> None:
  try:
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      os.remove(path)
  except OSError:
    pass


def _listdir(directory: str) -> list[str]:
  try:
    return os.listdir(directory)
  except OSError:
    return []


def _sync_directory(directory: str) -> None:
  """Makes a rename in `directory` durable (POSIX; a no-op where directories cannot open)."""
  if sys.platform == 'win32':
    return
  try:
    fd = os.open(directory, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)
