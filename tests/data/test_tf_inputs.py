"""The tf.data / TFDS adapter: TensorFlow datasets as numpy streams."""

import sys
import types

import numpy as np
import pytest

from trax import data

tf = pytest.importorskip('tensorflow')


def test_from_tf_dataset_yields_numpy_tuples():
  dataset = tf.data.Dataset.from_tensor_slices(
    (tf.constant([[1, 2], [3, 4], [5, 6]], tf.int32), tf.constant([0.5, 1.5, 2.5]))
  )
  examples = list(data.from_tf_dataset(dataset))
  assert len(examples) == 3
  x, y = examples[1]
  assert isinstance(x, np.ndarray) and x.dtype == np.int32
  np.testing.assert_array_equal(x, [3, 4])
  assert y == np.float32(1.5)


def test_from_tf_dataset_selects_keys_of_dict_elements():
  dataset = tf.data.Dataset.from_tensor_slices(
    {'text': ['a b', 'c'], 'label': [1, 0], 'image': tf.zeros((2, 4, 4))}
  )
  assert list(data.from_tf_dataset(dataset, keys=('text', 'label'))) == [(b'a b', 1), (b'c', 0)]
  whole = next(iter(data.from_tf_dataset(dataset)))
  assert sorted(whole) == ['image', 'label', 'text']
  with pytest.raises(KeyError, match='features'):
    data.from_tf_dataset(dataset, keys=('txt',))
  with pytest.raises(ValueError, match='dict elements'):
    data.from_tf_dataset(tf.data.Dataset.range(3), keys=('x',))


def test_a_tf_dataset_feeds_a_trax_pipeline():
  dataset = tf.data.Dataset.from_tensor_slices(
    {'text': ['hi', 'hello', 'hey', 'yo'], 'label': [1, 2, 3, 4]}
  )
  pipeline = data.Serial(
    lambda _: data.from_tf_dataset(dataset.repeat(), keys=('text', 'label')),
    data.Tokenize(keys=[0], vocab_type='char', n_reserved_ids=1),
    data.Batch(2),
    data.AddLossWeights(),
  )
  inputs, labels, weights = next(pipeline())
  np.testing.assert_array_equal(inputs, [[105, 106, 0, 0, 0], [105, 102, 109, 109, 112]])
  np.testing.assert_array_equal(labels, [1, 2])
  np.testing.assert_array_equal(weights, [1, 1])


def test_dataset_to_stream_reads_features_targets_and_mask():
  features = {'inputs': tf.constant([[1, 2]], tf.uint8), 'mask': tf.constant([[1.0, 0.0]])}
  dataset = tf.data.Dataset.from_tensor_slices((features, tf.constant([[7, 8]], tf.uint8)))
  ((inputs, targets, mask),) = list(data.tf_inputs.dataset_to_stream(dataset, 'inputs'))
  assert inputs.dtype == np.int32 and targets.dtype == np.int32
  np.testing.assert_array_equal(mask, [1.0, 0.0])
  with pytest.raises(KeyError, match='image'):
    next(data.tf_inputs.dataset_to_stream(dataset, 'image'))


def test_tfds_without_tensorflow_datasets_says_how_to_install(monkeypatch):
  monkeypatch.setitem(sys.modules, 'tensorflow_datasets', None)  # Import fails.
  with pytest.raises(ImportError, match='pip install tensorflow-datasets'):
    data.TFDS('mnist')


class _FakeBuilder:
  """Mimics the parts of a TFDS builder that TFDS() reads; records requested splits."""

  def __init__(self, data_dir, splits):
    self.data_dir = str(data_dir)
    self.info = types.SimpleNamespace(
      splits={k: types.SimpleNamespace(num_examples=n) for k, n in splits.items()}
    )

  def as_dataset(self, split, shuffle_files):
    return tf.data.Dataset.from_tensor_slices({'split': [split], 'shuffled': [shuffle_files]})


@pytest.fixture
def fake_tfds(monkeypatch, tmp_path):
  splits = {'train': 20, 'test': 5}
  module = types.SimpleNamespace(
    builder=lambda name, data_dir: _FakeBuilder(tmp_path / name, splits)
  )
  monkeypatch.setitem(sys.modules, 'tensorflow_datasets', module)
  (tmp_path / 'ready').mkdir()
  (tmp_path / 'ready' / 'dataset_info.json').write_text('{}')
  return splits


def _requested(**kwargs):
  split, shuffled = next(
    data.TFDS('ready', keys=('split', 'shuffled'), host_id=0, n_hosts=1, **kwargs)()
  )
  return split.decode(), bool(shuffled)


def test_tfds_split_choice(fake_tfds):
  assert _requested() == ('train', True)
  assert _requested(shuffle_train=False) == ('train', False)
  assert _requested(train=False) == ('test', False)
  fake_tfds['validation'] = 3
  assert _requested(train=False) == ('validation', False)


def test_tfds_eval_holdout_and_host_slices(fake_tfds):
  assert _requested(eval_holdout_size=0.25) == ('train[0:15]', True)
  assert _requested(eval_holdout_size=0.25, train=False) == ('train[-5:]', False)
  slices = [
    next(data.TFDS('ready', keys=('split',), host_id=h, n_hosts=3)())[0].decode() for h in range(3)
  ]
  assert slices == ['train[0:6]', 'train[6:13]', 'train[13:20]']


def test_tfds_streams_repeat_forever(fake_tfds):
  stream = data.TFDS('ready', keys=('split',), n_hosts=1, host_id=0)()
  assert len({next(stream)[0] for _ in range(5)}) == 1  # One example, read again.


def test_tfds_dataset_not_on_disk(fake_tfds, tmp_path):
  with pytest.raises(FileNotFoundError, match="'absent' is not prepared.*never downloads"):
    data.TFDS('absent', data_dir=str(tmp_path))


def test_tfds_without_an_eval_split(fake_tfds):
  del fake_tfds['test']
  with pytest.raises(ValueError, match='eval_holdout_size'):
    data.TFDS('ready', train=False, host_id=0, n_hosts=1)


def test_tfds_reads_a_real_prepared_dataset(tmp_path):
  tfds = pytest.importorskip('tensorflow_datasets')

  class TinyText(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
      features = tfds.features.FeaturesDict({'text': tfds.features.Text(), 'label': np.int64})
      return tfds.core.DatasetInfo(builder=self, features=features)

    def _split_generators(self, dl_manager):
      del dl_manager
      return {'train': self._generate_examples(0, 20), 'test': self._generate_examples(100, 5)}

    def _generate_examples(self, start, n):
      for i in range(start, start + n):
        yield i, {'text': f'example {i}', 'label': i}

  with pytest.raises(FileNotFoundError, match='not prepared'):
    data.TFDS('tiny_text', data_dir=str(tmp_path))
  TinyText(data_dir=str(tmp_path)).download_and_prepare()
  held_out = data.TFDS(
    'tiny_text', data_dir=str(tmp_path), keys=('label',), train=False, eval_holdout_size=0.25
  )()
  kept = data.TFDS(
    'tiny_text', data_dir=str(tmp_path), keys=('text', 'label'), eval_holdout_size=0.25
  )()
  eval_labels = {int(next(held_out)[0]) for _ in range(10)}
  train = [next(kept) for _ in range(30)]
  assert len(eval_labels) == 5 and len({int(y) for _, y in train}) == 15
  assert eval_labels.isdisjoint(int(y) for _, y in train)
  assert all(text == f'example {y}'.encode() for text, y in train)
