"""Files on local disk or on any file system TensorFlow knows (`gs://`, `ram://`, ...).

Paths with a URL scheme (`scheme://...`) go through `tf.io.gfile`, imported only then, so
`import trax` and local files never load TensorFlow. Everything else uses the standard
library. Checkpoints, vocabularies and the trainer's output directory read and write
through these functions.
"""

import contextlib
import os
import re
import shutil
import tempfile
from typing import IO, Any
from collections.abc import Iterator

_SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')


def is_remote(path: Any) -> bool:
  """Whether `path` names a file system other than the local one (`gs://...`)."""
  return isinstance(path, str) and bool(_SCHEME.match(path))


def _gfile() -> Any:
  try:
    import tensorflow as tf
  except ImportError as e:
    raise ImportError(
      'Paths such as gs://... are read and written with TensorFlow\'s '
      'tf.io.gfile; install tensorflow to use them.'
    ) from e
  return tf.io.gfile


def open_file(path: str, mode: str = 'r') -> IO[Any]:
  """Opens a local or remote file (`mode` as for `open`: 'r', 'rb', 'w', 'wb')."""
  if is_remote(path):
    return _gfile().GFile(path, mode)
  return open(path, mode)


def exists(path: str) -> bool:
  return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def isfile(path: str) -> bool:
  if is_remote(path):
    gfile = _gfile()
    return gfile.exists(path) and not gfile.isdir(path)
  return os.path.isfile(path)


def makedirs(path: str) -> None:
  """Creates directory `path` and its parents; nothing if it exists."""
  if is_remote(path):
    _gfile().makedirs(path)
  elif path:
    os.makedirs(path, exist_ok=True)


def replace(source: str, target: str) -> None:
  """Renames `source` to `target`, replacing it (atomic on local disk)."""
  if is_remote(source) or is_remote(target):
    _gfile().rename(source, target, overwrite=True)
  else:
    os.replace(source, target)


def remove(path: str) -> None:
  if is_remote(path):
    _gfile().remove(path)
  else:
    os.remove(path)


def listdir(path: str) -> list:
  return _gfile().listdir(path) if is_remote(path) else os.listdir(path)


def copy(source: str, target: str) -> None:
  """Copies a file, replacing `target`."""
  if is_remote(source) or is_remote(target):
    _gfile().copy(source, target, overwrite=True)
  else:
    shutil.copyfile(source, target)


def abspath(path: str) -> str:
  """The absolute path of a local path; remote paths are returned as they are."""
  return path if is_remote(path) else os.path.abspath(path)


def expanduser(path: str) -> str:
  return path if is_remote(path) else os.path.expanduser(path)


@contextlib.contextmanager
def local_path_for_writing(path: str) -> Iterator[str]:
  """A local path to write `path`'s content to; remote files are uploaded on exit.

  Local paths are yielded as they are (the writer keeps its own atomic rename). A remote
  file is written to a local temporary file, copied next to `path` under a temporary name
  and renamed over `path`, so readers never see a partial file.
  """
  if not is_remote(path):
    yield path
    return
  with tempfile.TemporaryDirectory(prefix='trax-upload-') as directory:
    local = os.path.join(directory, os.path.basename(path))
    yield local
    staged = f'{path}.tmp-{os.getpid()}'
    copy(local, staged)
    replace(staged, path)


@contextlib.contextmanager
def local_copy(path: str, with_siblings: bool = False) -> Iterator[str]:
  """A local path holding `path`'s content (remote files are downloaded first).

  Args:
    path: the file.
    with_siblings: also download the files of the same directory whose names start with
      `path`'s name up to its first dot (side files such as `model.weights.npy.gz`).
  """
  if not is_remote(path):
    yield path
    return
  directory, name = path.rsplit('/', 1)
  names = [name]
  if with_siblings:
    stem = name.split('.', 1)[0] + '.'
    names += [n for n in listdir(directory) if n.startswith(stem) and n != name]
  with tempfile.TemporaryDirectory(prefix='trax-download-') as local_directory:
    for n in names:
      copy(f'{directory}/{n}', os.path.join(local_directory, n))
    yield os.path.join(local_directory, name)


def isdir(path: str) -> bool:
  return _gfile().isdir(path) if is_remote(path) else os.path.isdir(path)


def move_tree(local_dir: str, target_dir: str) -> None:
  """Moves local directory `local_dir` to `target_dir` (renamed locally, else uploaded).

  A remote upload is not atomic: files appear one by one under `target_dir`.
  """
  if not is_remote(target_dir):
    os.rename(local_dir, target_dir)
    return
  gfile = _gfile()
  for root, _, names in os.walk(local_dir):
    relative = os.path.relpath(root, local_dir)
    remote_root = target_dir if relative == '.' else f'{target_dir}/{relative}'
    gfile.makedirs(remote_root)
    for name in names:
      gfile.copy(os.path.join(root, name), f'{remote_root}/{name}', overwrite=True)
  shutil.rmtree(local_dir)
