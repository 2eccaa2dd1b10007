"""Trax 1.4's tf_inputs functions: tf.data preprocessing, text stream stages, data_streams."""

import numpy as np
import pytest

from trax import data
from tests.data import tfds_fixtures

tf = pytest.importorskip('tensorflow')


def _pairs(inputs, targets):
  features = {'inputs': tf.ragged.constant(inputs).to_tensor()}
  return tf.data.Dataset.from_tensor_slices((features, tf.constant(targets)))


def _as_lists(dataset):
  return [
    tuple(np.asarray(v).tolist() for v in (f['inputs'], t)) for f, t in dataset.as_numpy_iterator()
  ]


def test_length_filters_keep_examples_up_to_the_limit():
  dataset = tf.data.Dataset.from_generator(
    lambda: (({'inputs': np.arange(n)}, np.arange(m)) for n, m in [(2, 3), (4, 1), (1, 5)]),
    output_signature=({'inputs': tf.TensorSpec([None], tf.int64)}, tf.TensorSpec([None], tf.int64)),
  )
  lengths = lambda d: [(len(f['inputs']), len(t)) for f, t in d.as_numpy_iterator()]
  assert lengths(data.wmt_preprocess(dataset, True, max_length=3)) == [(2, 3)]
  assert lengths(data.wmt_preprocess(dataset, False, max_length=3)) == [(2, 3), (4, 1), (1, 5)]
  assert lengths(data.lm1b_preprocess(dataset, True, max_target_length=3)) == [(2, 3), (4, 1)]
  assert lengths(data.lm1b_preprocess(dataset, False, max_eval_target_length=1)) == [(4, 1)]


def test_wmt_concat_adds_a_separator_and_a_target_mask():
  dataset = tf.data.Dataset.from_tensors(({'inputs': tf.constant([5, 6])}, tf.constant([7, 8, 9])))
  features, targets = next(data.wmt_concat_preprocess(dataset, True).as_numpy_iterator())
  np.testing.assert_array_equal(targets, [5, 6, 0, 7, 8, 9])
  np.testing.assert_array_equal(features['inputs'], targets)
  np.testing.assert_array_equal(features['mask'], [0, 0, 0, 1, 1, 1])
  features, targets = next(data.concat_preprocess(dataset, True, pad_symbol=3).as_numpy_iterator())
  np.testing.assert_array_equal(targets, [3, 5, 6, 3, 7, 8, 9])


def test_feature_dict_functions():
  dataset = tf.data.Dataset.from_tensor_slices(
    {'inputs': [[1, 2, 3, 4], [5, 6, 7, 8]], 'targets': [[1, 1, 0, 0], [2, 2, 2, 2]]}
  )
  cut = data.truncate_dataset_on_len(dataset, True, {'inputs': 2})
  assert [x['inputs'].tolist() for x in cut.as_numpy_iterator()] == [[1, 2], [5, 6]]
  assert data.truncate_dataset_on_len(dataset, False, {'inputs': 2}) is dataset
  padded = data.pad_dataset_to_length(cut, True, {'inputs': 4})
  assert [x['inputs'].tolist() for x in padded.as_numpy_iterator()] == [[1, 2, 0, 0], [5, 6, 0, 0]]
  with_eos = data.add_eos_to_output_features(cut, True, ['inputs', 'targets'], eos=9)
  first = next(with_eos.as_numpy_iterator())
  assert first['inputs'].tolist() == [1, 2, 9] and first['targets'].tolist() == [1, 1, 0, 0, 9]
  ragged = tf.data.Dataset.from_generator(
    lambda: ({'inputs': np.arange(n)} for n in (1, 3, 6)),
    output_signature={'inputs': tf.TensorSpec([None], tf.int64)},
  )
  kept = data.filter_dataset_on_len(ragged, True, {'inputs': (2, 5)})
  assert [len(x['inputs']) for x in kept.as_numpy_iterator()] == [3]
  lm = data.lm_token_preprocessing(dataset.take(1), True)
  first = next(lm.as_numpy_iterator())
  assert first['targets'].tolist() == [1, 2, 3, 4, 0, 1, 1, 0, 0]
  assert first['mask'].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_image_functions():
  images = np.arange(2 * 32 * 32 * 3, dtype=np.uint8).reshape(2, 32, 32, 3)
  dataset = tf.data.Dataset.from_tensor_slices(({'image': images}, tf.constant([3, 4])))
  features, _ = next(data.cifar10_no_augmentation_preprocess(dataset, True).as_numpy_iterator())
  np.testing.assert_allclose(features['image'], images[0] / 255.0, rtol=1e-6)
  augmented, _ = next(data.cifar10_augmentation_preprocess(dataset, True).as_numpy_iterator())
  assert augmented['image'].shape == (32, 32, 3)
  features, flat = next(
    data.cifar10_augmentation_flatten_preprocess(dataset, False).as_numpy_iterator()
  )
  np.testing.assert_array_equal(flat, list(images[0].reshape(-1)) + [3])
  assert features['mask'].sum() == 1 and features['mask'][-1] == 1
  bare = data.downsampled_imagenet_flatten_bare_preprocess(
    tf.data.Dataset.from_tensor_slices({'image': images}), True
  )
  np.testing.assert_array_equal(next(bare.as_numpy_iterator())['image'], images[0].ravel())
  squeezed = data.squeeze_targets_preprocess(
    tf.data.Dataset.from_tensor_slices(({'x': [1]}, [[7]])), True
  )
  assert next(squeezed.as_numpy_iterator())[1] == 7


def test_text_stream_stages():
  converted = next(data.ConvertToUnicode(keys=[0])(iter([(b'caf\xc3\xa9\xff', b'x')])))
  assert converted == ('café', b'x')
  ids = next(
    data.SentencePieceTokenize(spm_path=data.tokenizers.TESTDATA_DIR + '/en_tiny.model')(
      iter([('the boat',)])
    )
  )
  assert data.detokenize(ids, 'sentencepiece', 'en_tiny.model') == 'the boat'
  bert = next(data.CreateBertInputs()(iter([(np.array([7, 8]), np.array([9]), 1)])))
  np.testing.assert_array_equal(bert[0], [101, 7, 8, 102, 9, 102])
  np.testing.assert_array_equal(bert[1], [0, 0, 0, 0, 1, 1])
  assert bert[3] == 1 and bert[4] == 1
  single = next(
    data.CreateBertInputs(double_sentence=False, labeled=False)(iter([(np.array([7, 8]),)]))
  )
  np.testing.assert_array_equal(single[0], [101, 7, 8, 102])


def test_mask_random_tokens_masks_the_chosen_fraction():
  ids = np.array([101] + list(range(1000, 1020)) + [102, 0, 0])
  masked, original, weights = next(
    data.mask_random_tokens(iter([(ids,)]), rng=np.random.default_rng(0))
  )
  np.testing.assert_array_equal(original, ids)
  chosen = np.flatnonzero(weights)
  assert len(chosen) == 3 and np.allclose(weights[chosen], 1 / 3)  # round(0.15 * 20).
  assert set(chosen) <= set(range(1, 21))
  unchanged = np.flatnonzero(masked == ids)
  assert set(range(24)) - set(chosen) <= set(unchanged)


def test_data_streams_reads_a_prepared_dataset(tmp_path):
  pytest.importorskip('tensorflow_datasets')
  name = tfds_fixtures.build_tiny_digits(str(tmp_path))
  train, evaluate = data.data_streams(
    name, data_dir=str(tmp_path), preprocess_fn=data.squeeze_targets_preprocess
  )
  image, label = next(train())
  assert image.shape == (8, 8, 1) and image.dtype == np.int32  # uint8 became int32.
  assert label == int(np.argmax(image[:, 0, 0])) // 2
  labels = {int(next(evaluate())[1]) for _ in range(3)}
  assert labels <= {0, 1, 2, 3}
  inputs = data.batcher(
    data_streams=(train, evaluate), batch_size=4, eval_batch_size=4, variable_shapes=False
  )
  x, y, w = next(inputs.train_stream(1))
  assert x.shape == (4, 8, 8, 1) and y.shape == (4,) and w.tolist() == [1, 1, 1, 1]
  with pytest.raises(ValueError, match='Tensor2Tensor'):
    data.data_streams('t2t_translate_ende_wmt32k')
