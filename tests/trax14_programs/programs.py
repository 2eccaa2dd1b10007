"""Stand-ins for what Trax 1.4's README and notebooks download, made small and offline.

- `prepare_tfds(data_dir, name)`: a tiny prepared copy of a TFDS dataset under its real
  name, built by TFDS's own builder class of that dataset (same features, config and
  version) with the download step replaced by synthetic examples. `trax.data.TFDS(name)`
  then reads it unchanged. The examples carry a learnable signal: reviews say "wonderful"
  or "terrible" as their label says; an image's label is its brightest row band.
- `write_words_vocab(path, words)`: a Tensor2Tensor subword vocabulary whose subtokens are
  whole words, one id per line (the swap for Trax's pretrained translation vocabularies).
- `copy_checkpoint(path)`: the project's Trax 1.x-format checkpoint of an encoder-decoder
  copy model (tests/supervised/testdata), saved with a `(1, 1)` input signature as Trax's
  pretrained translation checkpoint was, so `init_from_file(..., weights_only=True)` builds
  a batch-1 decoding state. The swap for `ende_wmt32k.pkl.gz`.
"""

import gzip
import os
import pathlib
import pickle

import numpy as np

from trax import shapes
from trax.data import tokenizers

CORPUS = pathlib.Path(tokenizers.TESTDATA_DIR) / 'corpus.txt'
COPY_CHECKPOINT = (
  pathlib.Path(__file__).resolve().parents[1]
  / 'supervised'
  / 'testdata'
  / 'transformer_copy.pkl.gz'
)
# The architecture of COPY_CHECKPOINT (ids 1..12 are copied; 1 doubles as EOS).
COPY_MODEL = dict(
  input_vocab_size=13,
  d_model=64,
  d_ff=128,
  n_heads=2,
  n_encoder_layers=2,
  n_decoder_layers=2,
  max_len=256,
)
# Words whose ids (their line numbers) are the copy model's tokens: `please` is id 1, the
# end of sequence, so a sentence ending "... please" decodes to itself and stops.
COPY_WORDS = [
  '<pad>',
  'please',
  'be',
  'to',
  'nice',
  'learn',
  'new',
  'want',
  'today',
  'things',
  'it',
  'is',
  'we',
]

_SENTENCES = [line.strip() for line in CORPUS.read_text().splitlines() if line.strip()]


def review(i: int, label: int) -> str:
  """A short review whose sentiment (`label` 1 good, 0 bad) its last word gives away."""
  return f'{_SENTENCES[i % len(_SENTENCES)]} It was {"wonderful" if label else "terrible"}.'


def _reviews(seed: int, n: int):
  rng = np.random.default_rng(seed)
  for i in range(n):
    label = int(rng.integers(2))
    yield i, {'text': review(int(rng.integers(len(_SENTENCES))), label), 'label': label}


def _images(shape: tuple, n_classes: int, with_id: bool = False):
  def examples(seed: int, n: int):
    rng = np.random.default_rng(seed)
    rows_per_class = shape[0] / n_classes
    for i in range(n):
      label = int(rng.integers(n_classes))
      image = rng.integers(0, 80, shape).astype(np.uint8)
      image[int(label * rows_per_class)] = 255
      example = {'image': image, 'label': label}
      yield i, dict(example, id=f'{seed}_{i:05d}') if with_id else example

  return examples


# name: (builder config, example generator); the splits are 'train' (48) and 'test' (32).
_DATASETS = {
  'imdb_reviews': ('plain_text', _reviews),
  'fashion_mnist': (None, _images((28, 28, 1), 10)),
  'mnist': (None, _images((28, 28, 1), 10)),
  'cifar10': (None, _images((32, 32, 3), 10, with_id=True)),
}


def prepare_tfds(data_dir: str, name: str) -> None:
  """Prepares the tiny `name` in `data_dir` (once), with TFDS's builder of `name`."""
  import tensorflow_datasets as tfds

  config, examples = _DATASETS[name]

  class Offline(tfds.builder_cls(name), skip_registration=True):
    def _split_generators(self, dl_manager):
      del dl_manager
      return {'train': examples(0, 48), 'test': examples(1, 32)}

  Offline.name = name
  builder = Offline(data_dir=data_dir, config=config)
  if not os.path.exists(os.path.join(builder.data_dir, 'dataset_info.json')):
    builder.download_and_prepare()


def write_words_vocab(path: str, words: list) -> None:
  """A subword vocabulary file with one subtoken per word (`word_`): id = line number."""
  with open(path, 'w', encoding='utf-8') as f:
    f.writelines(f"'{word}_'\n" for word in words)


def copy_checkpoint(path: str) -> None:
  """COPY_CHECKPOINT with the `(1, 1)` input signature of a decoding checkpoint."""
  with gzip.open(COPY_CHECKPOINT, 'rb') as f:
    checkpoint = pickle.load(f)  # The project's own file, written by make_transformer_copy.
  s11 = shapes.ShapeDtype((1, 1), np.int32)
  checkpoint['input_signature'] = (s11, s11)
  with gzip.open(path, 'wb') as f:
    pickle.dump(checkpoint, f)
