"""TensorBoard event files, written without TensorFlow.

An event file is a sequence of TFRecords, each holding one serialized `tensorflow.Event`
protocol buffer: the first names the format version, each later one holds one scalar
summary. The record framing and the handful of protobuf fields a scalar needs are encoded
here directly, so a JAX-only install writes files that TensorBoard (and TensorFlow's
`tf.compat.v1.train.summary_iterator`) read.
"""

import itertools
import os
import socket
import struct
import time
from typing import IO

from trax import file_io

_FILE_VERSION = b'brain.Event:2'
_DT_FLOAT = 1  # tensorflow.DataType
_DATA_CLASS_SCALAR = 1  # tensorflow.DataClass
_writer_ids = itertools.count()


def _crc32c_table() -> list[int]:
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)  # Castagnoli, reflected
    table.append(crc)
  return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
  """The CRC-32C (Castagnoli) checksum of `data`, as TFRecords use it."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> bytes:
  crc = crc32c(data)
  return struct.pack('<I', (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def tf_record(data: bytes) -> bytes:
  """`data` framed as one TFRecord: length, its checksum, the data, its checksum."""
  length = struct.pack('<Q', len(data))
  return length + _masked_crc(length) + data + _masked_crc(data)


# Protocol buffer wire format: a field is a varint key (number << 3 | wire type), then
# a varint (type 0), 8 bytes (type 1), or a varint length and that many bytes (type 2).
def _varint(n: int) -> bytes:
  out = bytearray()
  while True:
    byte, n = n & 0x7F, n >> 7
    out.append(byte | (0x80 if n else 0))
    if not n:
      return bytes(out)


def _int_field(number: int, value: int) -> bytes:
  return _varint(number << 3) + _varint(value)


def _double_field(number: int, value: float) -> bytes:
  return _varint(number << 3 | 1) + struct.pack('<d', value)


def _bytes_field(number: int, value: bytes) -> bytes:
  return _varint(number << 3 | 2) + _varint(len(value)) + value


def _event(wall_time: float, step: int, payload: bytes) -> bytes:
  """An `Event` (wall_time = 1, step = 2) followed by `payload`, its one other field."""
  return _double_field(1, wall_time) + _int_field(2, step) + payload


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> bytes:
  """A serialized `Event` holding `Summary{value: [{tag, metadata, tensor}]}`: a float32
  scalar tensor tagged for TensorBoard's scalars plugin, as `tf.summary.scalar` writes it."""
  plugin_data = _bytes_field(1, b'scalars')  # PluginData.plugin_name
  metadata = _bytes_field(1, plugin_data) + _int_field(4, _DATA_CLASS_SCALAR)
  tensor = (
    _int_field(1, _DT_FLOAT)
    + _bytes_field(2, b'')  # dtype, shape: a scalar
    + _bytes_field(5, struct.pack('<f', value))
  )  # float_val
  summary_value = (
    _bytes_field(1, tag.encode()) + _bytes_field(9, metadata) + _bytes_field(8, tensor)
  )
  summary = _bytes_field(1, summary_value)
  return _event(wall_time, step, _bytes_field(5, summary))


class EventFileWriter:
  """Appends scalar summaries to a new event file in `log_dir` (created on first write).

  Args:
    log_dir: the directory; local, or any `tf.io.gfile` path when TensorFlow is installed.
  """

  def __init__(self, log_dir: str):
    self._log_dir = log_dir
    self._file: IO[bytes] | None = None

  @property
  def log_dir(self) -> str:
    return self._log_dir

  def _open(self) -> IO[bytes]:
    file_io.makedirs(self._log_dir)
    name = (
      f'events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.'
      f'{os.getpid()}.{next(_writer_ids)}.v2'
    )
    handle = file_io.open_file(os.path.join(self._log_dir, name), 'wb')
    handle.write(tf_record(_event(time.time(), 0, _bytes_field(3, _FILE_VERSION))))
    return handle

  def scalar(self, tag: str, value: float, step: int) -> None:
    """Records `value` under `tag` at `step`, and flushes it to the file."""
    if self._file is None:
      self._file = self._open()
    self._file.write(tf_record(scalar_event(tag, float(value), int(step), time.time())))
    self._file.flush()

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
      self._file = None
