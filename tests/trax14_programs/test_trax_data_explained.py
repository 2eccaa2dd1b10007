"""Trax 1.4's `trax/examples/trax_data_Explained.ipynb`, run as written.

Swapped: the IMDB reviews (a tiny prepared `imdb_reviews`) and the vocabulary
(`gs://trax-ml/vocabs/en_8k.subword` becomes the shipped `en_tiny.subwords`); batch sizes
shrunk. Its `pad_to_max_dims` cell does not run: numpy 1.24 and later refuse to build the
ragged `np.array` it passes, before trax is called.
"""

import numpy as np
import pytest

import trax
from trax.data import tokenizers

VOCAB_DIR = tokenizers.TESTDATA_DIR


def test_log_shows_examples_or_their_shapes(tfds_data, capsys):
  tfds_data('imdb_reviews')
  capsys.readouterr()  # TFDS's messages.
  data_pipeline = trax.data.Serial(
    trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
    trax.data.Tokenize(vocab_dir=VOCAB_DIR, vocab_file='en_tiny.subwords', keys=[0]),
    trax.data.Log(only_shapes=False),
  )
  example = data_pipeline()
  tokens, label = next(example)
  assert capsys.readouterr().out.startswith('(array([')
  assert tokens.dtype == np.int64 and label in (0, 1)

  data_pipeline = trax.data.Serial(
    trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
    trax.data.Tokenize(vocab_dir=VOCAB_DIR, vocab_file='en_tiny.subwords', keys=[0]),
    trax.data.Log(only_shapes=True),
  )
  example = data_pipeline()
  tokens, _ = next(example)
  assert capsys.readouterr().out == (
    f'(ShapeDtype{{shape:{tokens.shape}, dtype:int64}}, ShapeDtype{{shape:(), dtype:int64}})\n'
  )


def test_shuffle():
  sentence = [
    'Sed ut perspiciatis unde omnis iste natus error sit voluptatem.',
    'But I must explain to you how all this mistaken idea was born.',
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit.',
    'At vero eos et accusamus et iusto odio dignissimos ducimus.',
  ]

  def sample_generator(x):
    for i in x:  # noqa: UP028 (the notebook's code)
      yield i

  example_shuffle = list(trax.data.inputs.shuffle(sample_generator(sentence), queue_size=2))
  assert sorted(example_shuffle) == sorted(sentence)


def test_pad_to_max_dims_cell_stops_in_numpy():
  with pytest.raises(ValueError, match='inhomogeneous'):
    tensors = np.array([(1.0, 2.0), ((3.0, 4.0), (5.0, 6.0))])
    trax.data.inputs.pad_to_max_dims(tensors=tensors, boundary=3)


def test_bucket_filter_and_add_loss_weights(tfds_data, capsys):
  tfds_data('imdb_reviews')
  capsys.readouterr()  # TFDS's messages.
  data_pipeline = trax.data.Serial(
    trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
    trax.data.Tokenize(vocab_dir=VOCAB_DIR, vocab_file='en_tiny.subwords', keys=[0]),
    trax.data.BucketByLength(
      boundaries=[32, 128, 512, 2048], batch_sizes=[16, 8, 4, 2, 1], length_keys=[0]
    ),
    trax.data.Log(only_shapes=True),
  )
  example = data_pipeline()
  tokens, labels = next(example)
  assert tokens.shape[0] == labels.shape[0] in (16, 8) and tokens.dtype == np.int64
  assert 'ShapeDtype{shape:' in capsys.readouterr().out

  filtered = trax.data.Serial(
    trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
    trax.data.Tokenize(vocab_dir=VOCAB_DIR, vocab_file='en_tiny.subwords', keys=[0]),
    trax.data.BucketByLength(
      boundaries=[32, 128, 512, 2048], batch_sizes=[16, 8, 4, 2, 1], length_keys=[0]
    ),
    trax.data.FilterByLength(max_length=2048, length_keys=[0]),
    trax.data.Log(only_shapes=True),
  )
  filtered_example = filtered()
  filtered_tokens, _ = next(filtered_example)
  np.testing.assert_array_equal(filtered_tokens, tokens)  # Nothing is longer than 2048.

  data_pipeline = trax.data.Serial(
    trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
    trax.data.Tokenize(vocab_dir=VOCAB_DIR, vocab_file='en_tiny.subwords', keys=[0]),
    trax.data.Shuffle(),
    trax.data.FilterByLength(max_length=2048, length_keys=[0]),
    trax.data.BucketByLength(
      boundaries=[32, 128, 512, 2048], batch_sizes=[16, 8, 4, 2, 1], length_keys=[0]
    ),
    trax.data.AddLossWeights(),
    trax.data.Log(only_shapes=True),
  )
  example = data_pipeline()
  tokens, labels, weights = next(example)
  np.testing.assert_array_equal(weights, np.ones(len(labels), np.float32))
  assert weights.dtype == np.float32
