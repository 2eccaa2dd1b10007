"""Event files written without TensorFlow read back in TensorFlow and TensorBoard."""

import struct

import numpy as np
import pytest

from trax.supervised import event_files


def test_crc32c_is_castagnolis_checksum():
  # The check value of CRC-32C (RFC 3720, B.4) and one of its test vectors.
  assert event_files.crc32c(b'123456789') == 0xE3069283
  assert event_files.crc32c(bytes(32)) == 0x8A9136AA


def test_a_record_frames_its_length_and_data():
  record = event_files.tf_record(b'abc')
  assert struct.unpack('<Q', record[:8]) == (3,) and record[12:15] == b'abc'
  assert len(record) == 8 + 4 + 3 + 4


def _write(log_dir, values):
  writer = event_files.EventFileWriter(str(log_dir))
  for step, (tag, value) in enumerate(values):
    writer.scalar(tag, value, step)
  writer.close()
  files = list(log_dir.glob('events.out.tfevents.*'))
  assert len(files) == 1
  return files[0]


VALUES = [('loss', 2.5), ('metrics/accuracy', 0.125), ('loss', -1e-3), ('loss', np.float32(7))]


def test_tensorflow_reads_every_scalar_with_its_step(tmp_path):
  tf = pytest.importorskip('tensorflow')
  path = _write(tmp_path, VALUES)
  events = list(tf.compat.v1.train.summary_iterator(str(path)))
  assert events[0].file_version == 'brain.Event:2'
  read = [
    (e.step, v.tag, float(tf.make_ndarray(v.tensor)), v.metadata.plugin_data.plugin_name)
    for e in events[1:]
    for v in e.summary.value
  ]
  assert read == [
    (i, tag, pytest.approx(float(value)), 'scalars') for i, (tag, value) in enumerate(VALUES)
  ]


def test_tensorboard_shows_the_scalars(tmp_path):
  accumulator_lib = pytest.importorskip('tensorboard.backend.event_processing.event_accumulator')
  from tensorboard.util import tensor_util

  _write(tmp_path, VALUES)
  accumulator = accumulator_lib.EventAccumulator(
    str(tmp_path), size_guidance={accumulator_lib.TENSORS: 0}
  )
  accumulator.Reload()
  assert sorted(accumulator.Tags()['tensors']) == ['loss', 'metrics/accuracy']
  losses = [
    (e.step, float(np.asarray(tensor_util.make_ndarray(e.tensor_proto))))
    for e in accumulator.Tensors('loss')
  ]
  assert losses == [(0, 2.5), (2, pytest.approx(-1e-3)), (3, 7.0)]
