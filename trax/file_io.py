"""Files on local disk or on any file system TensorFlow knows (`gs://`, `ram://`, ...).

Paths with a URL scheme (`scheme://...`) go through `tf.io.gfile`, imported only then, so
`import trax` and local files never load TensorFlow. Everything else uses the standard
library. Checkpoints, vocabularies and the trainer's output directory read and write
through these functions.
"""

import os
import re
import shutil
from typing import IO, Any

_SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')


def is_remote(path: Any) -> bool:
  """Whether `path` names a file system other than the local one (`gs://...`)."""
  return isinstance(path, str) and bool(_SCHEME.match(path))


def _gfile() -> Any:
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError('Paths such as gs://... are read and written with TensorFlow\'s '
                      'tf.io.gfile; install tensorflow to use them.') from e
  return tf.io.gfile


def open_file(path: str, mode: str = 'r') -> IO[Any]:
  """Opens a local or remote file (`mode` as for `open`: 'r', 'rb', 'w', 'wb')."""
  if is_remote(path):
    return _gfile().GFile(path, mode)
  return open(path, mode)  # pylint: disable=unspecified-encoding


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
