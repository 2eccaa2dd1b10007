"""Tiny TFDS datasets written to a temporary directory (nothing downloads)."""

import numpy as np


def build_tiny_digits(data_dir: str, n_train: int = 64, n_test: int = 16) -> str:
  """Prepares 'tiny_digits': 8x8x1 uint8 images whose label is their brightest row // 2.

  Supervised keys ('image', 'label'), like mnist; returns the dataset name.
  """
  import tensorflow_datasets as tfds

  class TinyDigits(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
      return tfds.core.DatasetInfo(
        builder=self,
        supervised_keys=('image', 'label'),
        features=tfds.features.FeaturesDict(
          {
            'image': tfds.features.Image(shape=(8, 8, 1)),
            'label': tfds.features.ClassLabel(num_classes=4),
          }
        ),
      )

    def _split_generators(self, dl_manager):
      del dl_manager
      return {
        'train': self._generate_examples(0, n_train),
        'test': self._generate_examples(1000, n_test),
      }

    def _generate_examples(self, seed, n):
      rng = np.random.default_rng(seed)
      for i in range(n):
        row = int(rng.integers(8))
        image = rng.integers(0, 60, (8, 8, 1)).astype(np.uint8)
        image[row] = 255
        yield i, {'image': image, 'label': row // 2}

  TinyDigits(data_dir=data_dir).download_and_prepare()
  return 'tiny_digits'


def build_tiny_lm(data_dir: str, n_train: int = 64, n_test: int = 16) -> str:
  """Prepares 'tiny_lm': token sequences counting up from a random start, 4 to 12 long.

  One int64 feature 'targets', also both supervised keys (as Tensor2Tensor's language
  model problems); ids are 1..31. Returns the dataset name.
  """
  import tensorflow_datasets as tfds

  class TinyLm(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
      return tfds.core.DatasetInfo(
        builder=self,
        supervised_keys=('targets', 'targets'),
        features=tfds.features.FeaturesDict(
          {'targets': tfds.features.Tensor(shape=(None,), dtype=np.int64)}
        ),
      )

    def _split_generators(self, dl_manager):
      del dl_manager
      return {
        'train': self._generate_examples(0, n_train),
        'test': self._generate_examples(1000, n_test),
      }

    def _generate_examples(self, seed, n):
      rng = np.random.default_rng(seed)
      for i in range(n):
        start, length = int(rng.integers(1, 20)), int(rng.integers(4, 13))
        yield i, {'targets': np.arange(start, start + length, dtype=np.int64)}

  TinyLm(data_dir=data_dir).download_and_prepare()
  return 'tiny_lm'
