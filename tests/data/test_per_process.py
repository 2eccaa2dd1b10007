"""Each jax.distributed process its own part of the data (trax.data.per_process).

Several processes are imitated by patching `jax.process_index` / `jax.process_count`; the
real two-process run is in tests/supervised/test_distributed.py.
"""

import itertools
import sys
import types

import jax
import numpy as np
import pytest

from trax import data
from trax.data import per_process


def as_process(monkeypatch, index, count):
  monkeypatch.setattr(jax, 'process_index', lambda: index)
  monkeypatch.setattr(jax, 'process_count', lambda: count)


def test_parts_are_disjoint_and_cover_the_stream():
  parts = [list(data.ShardForProcess(index=i, count=3)(iter(range(10)))) for i in range(3)]
  assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
  assert list(data.shard_for_process(iter(range(4)))) == [0, 1, 2, 3]  # One process.
  with pytest.raises(ValueError, match=r'in \[0, 2\); got 2'):
    per_process.process_index_and_count(2, 2)


def test_the_stage_asks_jax_which_process_this_is(monkeypatch):
  as_process(monkeypatch, 1, 2)
  assert list(data.Serial(lambda _: iter(range(6)), data.ShardForProcess())()) == [1, 3, 5]


def test_from_tf_dataset_gives_each_process_its_elements(monkeypatch):
  tf = pytest.importorskip('tensorflow')
  dataset = tf.data.Dataset.range(10)
  parts = []
  for index in range(3):
    as_process(monkeypatch, index, 3)
    parts.append([int(x) for x in data.from_tf_dataset(dataset)])
    assert [int(x) for x in data.from_tf_dataset(dataset, shard_for_process=False)] == list(
      range(10)
    )
  assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]


def test_tfds_shards_the_eval_split_by_host(monkeypatch, tmp_path):
  tf = pytest.importorskip('tensorflow')

  class Builder:
    data_dir = str(tmp_path)
    info = types.SimpleNamespace(
      splits={
        'train': types.SimpleNamespace(num_examples=8),
        'test': types.SimpleNamespace(num_examples=6),
      }
    )

    def as_dataset(self, split, shuffle_files):
      del shuffle_files
      return tf.data.Dataset.from_tensor_slices({'i': list(range(6)), 'split': [split] * 6})

  monkeypatch.setitem(
    sys.modules,
    'tensorflow_datasets',
    types.SimpleNamespace(builder=lambda name, data_dir: Builder()),
  )
  (tmp_path / 'dataset_info.json').write_text('{}')
  parts = []
  for host in range(2):
    stream = data.TFDS('fake', keys=('i', 'split'), train=False, host_id=host, n_hosts=2)()
    parts.append([(int(i), split.decode()) for i, split in itertools.islice(stream, 3)])
  assert parts == [[(0, 'test'), (2, 'test'), (4, 'test')], [(1, 'test'), (3, 'test'), (5, 'test')]]


def test_synthetic_streams_differ_between_processes(monkeypatch):
  def first_batch():
    return next(data.random_inputs((2, 3), output_shape=(2,), seed=0).train_stream(1))[0]

  alone = first_batch()
  as_process(monkeypatch, 0, 2)
  process0 = first_batch()
  as_process(monkeypatch, 1, 2)
  process1 = first_batch()
  np.testing.assert_array_equal(first_batch(), process1)  # Still seeded.
  assert not np.array_equal(process0, process1) and not np.array_equal(alone, process1)
