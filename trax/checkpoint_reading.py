"""Reading checkpoint files defensively: a size limit, bounded streams, plain arrays only.

A checkpoint may come from anywhere, so reading one must neither run its code (see
`restricted_unpickler`) nor let a small file claim unbounded memory or time:

- A gzip stream (Trax 1.x's `.pkl.gz` and `.npy.gz` files) can expand about a thousandfold.
  `open_gzip` first checks the size the file declares in its trailer, then counts what is
  decompressed and stops at a limit: `DEFAULT_MAX_BYTES`, or what `read_limit(...)` sets
  for the code it encloses (e.g. a `Loop` resuming from a very large Trax 1.x checkpoint).
- An `.npy` record declares its shape in its header; `read_npy` checks that the shape fits
  the bytes the record can hold before allocating anything, reads plain numeric arrays
  only (no object, structured or string dtypes), and with `arrays=False` returns the
  `ShapeDtype` without the data (`trax-convert inspect` reads headers only).

Every failure is a `CheckpointError` naming the file.
"""

import contextlib
import contextvars
import gzip
import math
import os
import struct
from typing import Any
from collections.abc import Iterator

import numpy as np

from trax import shapes

DEFAULT_MAX_BYTES = 8 * 2**30
_MAX_BYTES = contextvars.ContextVar('trax_checkpoint_max_bytes', default=DEFAULT_MAX_BYTES)
_SKIP_CHUNK = 2**20
NUMERIC_KINDS = shapes.NUMERIC_KINDS


class CheckpointError(ValueError):
  """A checkpoint file cannot be read: corrupt, truncated, too large, or not a checkpoint.

  The message names the file and says what was wrong with it.
  """


@contextlib.contextmanager
def read_limit(max_bytes: int) -> Iterator[None]:
  """Lets checkpoint reads in the enclosed code decompress up to `max_bytes` per file.

  >>> with read_limit(64 * 2**30):  # a 40 GB Trax 1.x checkpoint
  ...   layer.init_from_file('model.pkl.gz')  # doctest: +SKIP
  """
  if not isinstance(max_bytes, int) or max_bytes <= 0:
    raise ValueError(f'read_limit: max_bytes must be a positive int, got {max_bytes!r}.')
  token = _MAX_BYTES.set(max_bytes)
  try:
    yield
  finally:
    _MAX_BYTES.reset(token)


def max_bytes() -> int:
  """The number of uncompressed bytes a checkpoint read may take (see `read_limit`)."""
  return _MAX_BYTES.get()


class BoundedReader:
  """A read-only stream over `stream` that fails once more than `limit` bytes are asked for.

  Requests are checked before they are read, so a record claiming a huge size fails at
  once instead of after decompressing it.
  """

  def __init__(self, stream: Any, limit: int, path: str):  # A buffered binary file.
    self._stream, self._limit, self._path = stream, limit, path
    self.n_read = 0

  def _take(self, n: int) -> None:
    if self.n_read + n > self._limit:
      raise CheckpointError(
        f'{self._path} holds more than {self._limit:,} bytes uncompressed (a '
        'decompression bomb, or a larger checkpoint than the limit): if you trust the '
        'file, raise the limit with trax.checkpoint_reading.read_limit(...) '
        '(--max-bytes on the command line).'
      )

  def read(self, n: int = -1) -> bytes:
    if n is None or n < 0:  # Everything: up to one byte past the limit, to notice it.
      data = self._stream.read(self._limit - self.n_read + 1)
      self._take(len(data))
    else:
      self._take(n)
      data = self._stream.read(n)
    self.n_read += len(data)
    return data

  def readinto(self, buffer: Any) -> int:
    view = memoryview(buffer)
    self._take(view.nbytes)
    n = self._stream.readinto(view)
    self.n_read += n
    return n

  def readline(self, size: int = -1) -> bytes:
    budget = self._limit - self.n_read + 1
    line = self._stream.readline(budget if size is None or size < 0 else min(size, budget))
    self._take(len(line))
    self.n_read += len(line)
    return line

  def peek(self, n: int = 1) -> bytes:
    return self._stream.peek(n)


@contextlib.contextmanager
def open_gzip(path: str) -> Iterator[BoundedReader]:
  """`path` opened as a gzip stream, bounded by `max_bytes()` (see the module docstring).

  Raises:
    CheckpointError: the file declares more uncompressed bytes than the limit.
  """
  limit = max_bytes()
  declared = _declared_gzip_size(path)
  if declared is not None and declared > limit:
    raise CheckpointError(
      f'{path} declares {declared:,} bytes uncompressed, more than the limit of '
      f'{limit:,}: if you trust the file, raise the limit with '
      'trax.checkpoint_reading.read_limit(...) (--max-bytes on the command '
      'line).'
    )
  with gzip.open(path, 'rb') as f:
    yield BoundedReader(f, limit, path)


def read_npy(
  stream: Any, path: str, what: str, size: 'int | None' = None, arrays: bool = True
) -> 'np.ndarray | shapes.ShapeDtype':
  """Reads one `.npy` record from `stream` (plain numeric arrays only).

  Args:
    stream: positioned at the record's magic string.
    path: the file, for messages.
    what: the record's name, for messages.
    size: the record's size in bytes if known (a zip member's, read from a stream with
      `tell()`); the shape in its header must account for exactly that many bytes.
    arrays: if False, skip the data and return a `ShapeDtype`.

  Raises:
    CheckpointError: a malformed header, a non-numeric dtype, or a size that does not fit.
  """
  try:
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0), (3, 0)):
      raise ValueError(f'unknown .npy version {version}')
    header_reader = (
      np.lib.format.read_array_header_1_0
      if version == (1, 0)
      else np.lib.format.read_array_header_2_0
    )
    shape, fortran_order, dtype = header_reader(stream)
  except (ValueError, EOFError, SyntaxError, struct.error, TypeError) as e:
    raise CheckpointError(f'{path}: {what} is not a valid .npy record: {e}') from None
  if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields:
    raise CheckpointError(
      f'{path}: {what} has dtype {dtype}, but checkpoints hold plain numeric arrays only.'
    )
  n_bytes = math.prod(shape) * dtype.itemsize
  if size is not None and n_bytes != size - stream.tell():
    raise CheckpointError(
      f'{path}: {what} declares shape {shape} ({n_bytes:,} bytes of '
      f'{dtype}), but its record holds {size - stream.tell():,} bytes '
      'of data.'
    )
  if not arrays:
    _skip(stream, n_bytes, path, what)
    return shapes.ShapeDtype(shape, dtype)
  data = stream.read(n_bytes)
  if len(data) != n_bytes:
    raise CheckpointError(
      f'{path}: {what} is truncated: {len(data):,} of {n_bytes:,} bytes of array data.'
    )
  array = np.frombuffer(data, dtype=dtype).reshape(shape, order='F' if fortran_order else 'C')
  return array.astype(dtype.newbyteorder('='), order='C')  # A native, writable copy.


def read_npy_records(path: str, arrays: bool = True) -> list:
  """The arrays of a Trax 1.x `.npy.gz` side file (consecutive `np.save` records).

  With `arrays=False`, their `ShapeDtype`s (the data is skipped, not kept).

  Raises:
    CheckpointError: the file is corrupt, truncated, over the size limit, or holds a
      record that is not a plain numeric array.
  """
  records = []
  try:
    with open_gzip(path) as f:
      # Read forward only: seeking back in a gzip stream decompresses it again.
      while f.peek(1):
        records.append(read_npy(f, path, f'record {len(records)}', arrays=arrays))
  except CheckpointError:
    raise
  except FileNotFoundError:
    raise
  except Exception as e:  # gzip/zlib errors, EOF.
    raise CheckpointError(
      f'{path} is not a readable Trax 1.x side file (after {len(records)} records): '
      f'{type(e).__name__}: {str(e)[:300]}'
    ) from None
  return records


def _skip(stream: Any, n_bytes: int, path: str, what: str) -> None:
  left = n_bytes
  while left:
    chunk = stream.read(min(left, _SKIP_CHUNK))
    if not chunk:
      raise CheckpointError(
        f'{path}: {what} is truncated ({n_bytes - left:,} of {n_bytes:,} bytes of array data).'
      )
    left -= len(chunk)


def _declared_gzip_size(path: str) -> 'int | None':
  """The uncompressed size in the trailer of a gzip file (modulo 2**32), if it has one."""
  try:
    with open(path, 'rb') as f:
      f.seek(0, os.SEEK_END)
      if f.tell() < 18:
        return None
      f.seek(-4, os.SEEK_END)
      return struct.unpack('<I', f.read(4))[0]
  except OSError:
    return None
