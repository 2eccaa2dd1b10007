"""Tokenization: text to integer arrays and back, with Trax 1.4's vocabulary types.

`vocab_type` (Trax's default is `'subword'`):

- `'subword'`: a Tensor2Tensor `SubwordTextEncoder` file (`*.subwords`, Trax's pretrained
  translation models and most of its notebooks); see `trax.data.text_encoder`.
  `build_subword_vocab` makes one from a corpus.
- `'sentencepiece'`: a SentencePiece model file (`*.model`). `build_sentencepiece_vocab`
  trains one offline; its defaults reserve id 0 for padding and 1 for end-of-sequence.
- `'bert'` / `'bert-lowercase'`: a BERT WordPiece `vocab.txt` (see `trax.data.bert_encoder`).
- `'char'`: the UTF-8 bytes of the text, ids 0..255, no vocabulary file.

Ids are those Trax 1.4's encoders give for the same file and text, as int64 arrays (Trax's
dtype). `n_reserved_ids` shifts every id up so that 0 .. n_reserved_ids - 1 stay free;
`detokenize` drops ids in that range. Vocabulary files are never downloaded: `vocab_file`
is looked up in `vocab_dir` if given (local or any `tf.io.gfile` path such as `gs://`),
else as given and then among the files shipped in `trax/data/testdata` (`en_tiny.model`,
`en_tiny.subwords`; see `testdata/README.md`).
"""

import functools
import os
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from trax import file_io
from trax.data import bert_encoder
from trax.data import sentencepiece_vocab
from trax.data import text_encoder

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]

TESTDATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'testdata')
VOCAB_TYPES = ('subword', 'sentencepiece', 'char', 'bert', 'bert-lowercase')


def Tokenize(
  keys: 'Sequence[Any] | None' = None,
  vocab_type: str = 'subword',
  vocab_file: 'str | None' = None,
  vocab_dir: 'str | None' = None,
  n_reserved_ids: int = 0,
) -> StreamFn:
  """Returns a stream function mapping text to integer arrays; see `tokenize`."""
  _get_vocab(vocab_type, vocab_file, vocab_dir)  # Fail at construction on a bad vocab.
  return lambda g: tokenize(
    g,
    keys=keys,
    vocab_type=vocab_type,
    vocab_file=vocab_file,
    vocab_dir=vocab_dir,
    n_reserved_ids=n_reserved_ids,
  )


def tokenize(
  stream: Iterable[Any],
  keys: 'Sequence[Any] | None' = None,
  vocab_type: str = 'subword',
  vocab_file: 'str | None' = None,
  vocab_dir: 'str | None' = None,
  n_reserved_ids: int = 0,
) -> Iterator[Any]:
  """Tokenizes the text in a stream of strings, tuples or dicts.

  Args:
    stream: yields strings (str or UTF-8 bytes, as TFDS gives), or tuples or dicts
      holding strings.
    keys: which positions (tuples) or keys (dicts) to tokenize; default all.
    vocab_type: `'subword'`, `'sentencepiece'`, `'bert'`, `'bert-lowercase'` or `'char'`.
    vocab_file: the vocabulary file (none for `'char'`).
    vocab_dir: the directory of `vocab_file`.
    n_reserved_ids: added to every id, keeping 0 .. n_reserved_ids - 1 free.

  Yields:
    The examples with each tokenized string replaced by a 1-D int64 array, as Trax 1.4.
  """
  vocab = _get_vocab(vocab_type, vocab_file, vocab_dir)

  def encode(text: Any) -> np.ndarray:
    return np.asarray(vocab.encode(text), np.int64) + n_reserved_ids

  for example in stream:
    if isinstance(example, (list, tuple)):
      yield tuple(encode(x) if keys is None or i in keys else x for i, x in enumerate(example))
    elif isinstance(example, dict):
      yield {k: encode(x) if keys is None or k in keys else x for k, x in example.items()}
    else:
      yield encode(example)


def detokenize(
  x: Any,
  vocab_type: str = 'subword',
  vocab_file: 'str | None' = None,
  vocab_dir: 'str | None' = None,
  n_reserved_ids: int = 0,
) -> str:
  """Maps integer ids back to text: the inverse of `tokenize`.

  Ids below `n_reserved_ids` (padding, EOS, ...) are dropped, as are SentencePiece control
  symbols; Trax 1.4 failed on them with character vocabularies. Character vocabularies
  and SentencePiece models built here (without extra normalization) invert `tokenize`
  exactly on text they cover.

  Args:
    x: a sequence or 1-D array of ids.
    vocab_type: `'subword'`, `'sentencepiece'`, `'bert'`, `'bert-lowercase'` or `'char'`.
    vocab_file: the vocabulary file (none for `'char'`).
    vocab_dir: the directory of `vocab_file`.
    n_reserved_ids: the offset `tokenize` added.

  Returns:
    The text.
  """
  vocab = _get_vocab(vocab_type, vocab_file, vocab_dir)
  ids = np.asarray(x, np.int64).reshape(-1) - n_reserved_ids
  return vocab.decode([int(i) for i in ids if i >= 0])


def vocab_size(
  vocab_type: str = 'subword',
  vocab_file: 'str | None' = None,
  vocab_dir: 'str | None' = None,
  n_reserved_ids: int = 0,
) -> int:
  """The number of ids `tokenize` can produce, reserved ids included.

  A model predicting tokens needs an output layer at least this large.
  """
  return _get_vocab(vocab_type, vocab_file, vocab_dir).vocab_size + n_reserved_ids


def _get_vocab(vocab_type: str, vocab_file: 'str | None', vocab_dir: 'str | None') -> Any:
  """The vocabulary object for the given arguments (cached per file)."""
  if vocab_type not in VOCAB_TYPES:
    raise ValueError(f'vocab_type must be one of {VOCAB_TYPES}; got {vocab_type!r}.')
  if vocab_type == 'char':
    if vocab_file is not None:
      raise ValueError(
        f"vocab_type='char' uses no vocabulary file, but got vocab_file="
        f"{vocab_file!r}; did you mean vocab_type="
        f"'{_guess_vocab_type(vocab_file)}'?"
      )
    return text_encoder.ByteTextEncoder(num_reserved_ids=0)
  path = _find_vocab_file(vocab_type, vocab_file, vocab_dir)
  mtime = None if file_io.is_remote(path) else os.path.getmtime(path)
  return _load_vocab(vocab_type, path, mtime)


@functools.lru_cache(maxsize=16)
def _load_vocab(vocab_type: str, path: str, mtime: 'float | None') -> Any:
  del mtime  # Part of the cache key: a rewritten file is read again.
  if vocab_type == 'subword':
    if path.endswith('.model'):
      raise ValueError(
        f"{path} looks like a SentencePiece model, but vocab_type='subword'"
        " (Trax's default) reads Tensor2Tensor subword files; pass "
        "vocab_type='sentencepiece'."
      )
    return text_encoder.SubwordTextEncoder(path)
  if vocab_type in ('bert', 'bert-lowercase'):
    return bert_encoder.BertEncoder(path, do_lower_case=vocab_type == 'bert-lowercase')
  return sentencepiece_vocab.SentencePieceVocab(path)


def _find_vocab_file(vocab_type: str, vocab_file: 'str | None', vocab_dir: 'str | None') -> str:
  if vocab_file is None:
    raise ValueError(f'vocab_type={vocab_type!r} needs vocab_file (the vocabulary file).')
  candidates = (
    [os.path.join(vocab_dir, vocab_file)]
    if vocab_dir is not None
    else [vocab_file, os.path.join(TESTDATA_DIR, vocab_file)]
  )
  for path in candidates:
    if file_io.isfile(path):
      return file_io.abspath(path)
  raise FileNotFoundError(
    f'Vocabulary file {vocab_file!r} not found; looked for {candidates}. Vocabularies are '
    'never downloaded: copy the file there, or build one with build_subword_vocab or '
    'build_sentencepiece_vocab.'
  )


def _guess_vocab_type(vocab_file: str) -> str:
  if vocab_file.endswith('.model'):
    return 'sentencepiece'
  return 'bert' if vocab_file.endswith('.txt') else 'subword'
