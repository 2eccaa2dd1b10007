"""Tokenization: text to integer arrays and back, with character or SentencePiece vocabularies.

Two vocabulary types, as `vocab_type`:

- `'char'`: the UTF-8 bytes of the text, so ids 0..255 and no vocabulary file (Trax 1.4's
  `ByteTextEncoder`). Any text round-trips.
- `'sentencepiece'`: a SentencePiece model file (`*.model`). `build_sentencepiece_vocab`
  trains one offline; its defaults reserve id 0 for padding and 1 for end-of-sequence,
  as T5 and Trax vocabularies do, so padded batches mask cleanly with `id_to_mask=0`.

`n_reserved_ids` shifts every id up so that 0 .. n_reserved_ids - 1 stay free (for
padding, EOS, ...); `detokenize` drops ids in that range. Vocabulary files are read from
disk only (nothing is downloaded): `vocab_file` is looked up in `vocab_dir` if given, else
as given and then among the files shipped in `trax/data/testdata`: `en_tiny.model` is a
512-piece SentencePiece model trained on `corpus.txt` there, with byte fallback, so any
text round-trips (see `testdata/README.md`).

Trax 1.4's default `vocab_type='subword'` (Tensor2Tensor subword files) is not supported;
the default here is `'char'`.
"""

import functools
import os
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]

TESTDATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'testdata')
VOCAB_TYPES = ('char', 'sentencepiece')

# Ids of the special symbols in models made by `build_sentencepiece_vocab`.
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


def Tokenize(keys: 'Sequence[Any] | None' = None, vocab_type: str = 'char',  # pylint: disable=invalid-name
             vocab_file: 'str | None' = None, vocab_dir: 'str | None' = None,
             n_reserved_ids: int = 0) -> StreamFn:
  """Returns a stream function mapping text to integer arrays; see `tokenize`."""
  _get_vocab(vocab_type, vocab_file, vocab_dir)  # Fail at construction on a bad vocab.
  return lambda g: tokenize(g, keys=keys, vocab_type=vocab_type, vocab_file=vocab_file,
                            vocab_dir=vocab_dir, n_reserved_ids=n_reserved_ids)


def tokenize(stream: Iterable[Any], keys: 'Sequence[Any] | None' = None,
             vocab_type: str = 'char', vocab_file: 'str | None' = None,
             vocab_dir: 'str | None' = None, n_reserved_ids: int = 0) -> Iterator[Any]:
  """Tokenizes the text in a stream of strings, tuples or dicts.

  Args:
    stream: yields strings (str or UTF-8 bytes, as TFDS gives), or tuples or dicts
      holding strings.
    keys: which positions (tuples) or keys (dicts) to tokenize; default all.
    vocab_type: `'char'` or `'sentencepiece'`.
    vocab_file: the SentencePiece model file.
    vocab_dir: the directory of `vocab_file`.
    n_reserved_ids: added to every id, keeping 0 .. n_reserved_ids - 1 free.

  Yields:
    The examples with each tokenized string replaced by a 1-D int32 array (Trax 1.4 gave
    int64).
  """
  vocab = _get_vocab(vocab_type, vocab_file, vocab_dir)

  def encode(text: Any) -> np.ndarray:
    return np.asarray(vocab.encode(text), np.int32) + np.int32(n_reserved_ids)

  for example in stream:
    if isinstance(example, (list, tuple)):
      yield tuple(encode(x) if keys is None or i in keys else x
                  for i, x in enumerate(example))
    elif isinstance(example, dict):
      yield {k: encode(x) if keys is None or k in keys else x for k, x in example.items()}
    else:
      yield encode(example)


def detokenize(x: Any, vocab_type: str = 'char', vocab_file: 'str | None' = None,
               vocab_dir: 'str | None' = None, n_reserved_ids: int = 0) -> str:
  """Maps integer ids back to text: the inverse of `tokenize`.

  Ids below `n_reserved_ids` (padding, EOS, ...) are dropped, as are SentencePiece control
  symbols; Trax 1.4 failed on them with character vocabularies. Character vocabularies
  and SentencePiece models built here (without extra normalization) invert `tokenize`
  exactly on text they cover.

  Args:
    x: a sequence or 1-D array of ids.
    vocab_type: `'char'` or `'sentencepiece'`.
    vocab_file: the SentencePiece model file.
    vocab_dir: the directory of `vocab_file`.
    n_reserved_ids: the offset `tokenize` added.

  Returns:
    The text.
  """
  vocab = _get_vocab(vocab_type, vocab_file, vocab_dir)
  ids = np.asarray(x, np.int64).reshape(-1) - n_reserved_ids
  return vocab.decode([int(i) for i in ids if i >= 0])


def vocab_size(vocab_type: str = 'char', vocab_file: 'str | None' = None,
               vocab_dir: 'str | None' = None, n_reserved_ids: int = 0) -> int:
  """The number of ids `tokenize` can produce, reserved ids included.

  A model predicting tokens needs an output layer at least this large.
  """
  return _get_vocab(vocab_type, vocab_file, vocab_dir).size + n_reserved_ids


def build_sentencepiece_vocab(text_files_or_iterator: 'str | Sequence[str] | Iterable[str]',
                              model_prefix: str, vocab_size: int,  # pylint: disable=redefined-outer-name
                              **trainer_options: Any) -> str:
  """Trains a SentencePiece model offline and writes `model_prefix.model` and `.vocab`.

  Defaults (each can be overridden through `trainer_options`): a unigram model, every
  character of the text covered, no Unicode normalization and whitespace kept as it is
  (so `detokenize` inverts `tokenize` exactly), padding id 0, EOS id 1, unknown id 2 and
  no BOS symbol.

  Args:
    text_files_or_iterator: a path, a list of paths, or an iterable of sentences.
    model_prefix: path prefix of the files to write.
    vocab_size: number of pieces, special symbols included. Training fails if the text
      is too small to fill this many.
    **trainer_options: further `sentencepiece.SentencePieceTrainer` options, e.g.
      `byte_fallback=True` or `model_type='bpe'`.

  Returns:
    The path of the written model file.
  """
  import sentencepiece  # pylint: disable=g-import-not-at-top

  options = dict(model_type='unigram', character_coverage=1.0,
                 normalization_rule_name='identity', remove_extra_whitespaces=False,
                 pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
                 num_threads=1, minloglevel=2)
  options.update(trainer_options)
  if isinstance(text_files_or_iterator, (str, os.PathLike)):
    options['input'] = os.fspath(text_files_or_iterator)
  elif isinstance(text_files_or_iterator, (list, tuple)):
    options['input'] = ','.join(os.fspath(p) for p in text_files_or_iterator)
  else:
    options['sentence_iterator'] = iter(text_files_or_iterator)
  directory = os.path.dirname(os.fspath(model_prefix))
  if directory:
    os.makedirs(directory, exist_ok=True)
  sentencepiece.SentencePieceTrainer.train(
      model_prefix=os.fspath(model_prefix), vocab_size=vocab_size, **options)
  return os.fspath(model_prefix) + '.model'


class _CharVocab:
  """UTF-8 bytes as ids; undecodable byte sequences decode to U+FFFD."""

  size = 256

  def encode(self, text: Any) -> list:
    return list(_as_bytes(text))

  def decode(self, ids: Sequence[int]) -> str:
    too_large = [i for i in ids if i >= self.size]
    if too_large:
      raise ValueError(f'Character (byte) ids must be below 256 after removing reserved '
                       f'ids; got {too_large[:5]}. Is n_reserved_ids right?')
    return bytes(ids).decode('utf-8', errors='replace')


class _SentencePieceVocab:
  """A SentencePiece model read from a file."""

  def __init__(self, path: str):
    import sentencepiece  # pylint: disable=g-import-not-at-top
    try:
      self._model = sentencepiece.SentencePieceProcessor(model_file=path)
    except (OSError, RuntimeError) as e:
      raise ValueError(f'{path} is not a SentencePiece model ({e}). vocab_type='
                       "'sentencepiece' needs a *.model file, e.g. from "
                       'trax.data.build_sentencepiece_vocab.') from e
    self.size = self._model.get_piece_size()
    self._path = path

  def encode(self, text: Any) -> list:
    return self._model.encode(_as_str(text))

  def decode(self, ids: Sequence[int]) -> str:
    too_large = [i for i in ids if i >= self.size]
    if too_large:
      raise ValueError(f'Ids {too_large[:5]} are outside the {self.size} pieces of '
                       f'{self._path}. Is n_reserved_ids right?')
    return self._model.decode(list(ids))


def _get_vocab(vocab_type: str, vocab_file: 'str | None', vocab_dir: 'str | None') -> Any:
  """The vocabulary object for the given arguments (cached per file)."""
  if vocab_type == 'char':
    if vocab_file is not None:
      raise ValueError(f"vocab_type='char' uses no vocabulary file, but got vocab_file="
                       f"{vocab_file!r}; did you mean vocab_type='sentencepiece'?")
    return _CharVocab()
  if vocab_type != 'sentencepiece':
    raise ValueError(f'vocab_type must be one of {VOCAB_TYPES}; got {vocab_type!r}.'
                     + (" Tensor2Tensor 'subword' vocabularies are not supported; "
                        'convert the text with a SentencePiece model instead.'
                        if vocab_type == 'subword' else ''))
  path = _find_vocab_file(vocab_file, vocab_dir)
  return _load_sentencepiece(path, os.path.getmtime(path))


@functools.lru_cache(maxsize=16)
def _load_sentencepiece(path: str, mtime: float) -> _SentencePieceVocab:
  del mtime  # Part of the cache key: a rewritten file is read again.
  return _SentencePieceVocab(path)


def _find_vocab_file(vocab_file: 'str | None', vocab_dir: 'str | None') -> str:
  if vocab_file is None:
    raise ValueError("vocab_type='sentencepiece' needs vocab_file (a *.model file).")
  candidates = ([os.path.join(vocab_dir, vocab_file)] if vocab_dir is not None
                else [vocab_file, os.path.join(TESTDATA_DIR, vocab_file)])
  for path in candidates:
    if os.path.isfile(path):
      return os.path.abspath(path)
  raise FileNotFoundError(
      f'Vocabulary file {vocab_file!r} not found; looked for {candidates}. Vocabularies are '
      'never downloaded: copy the file there or build one with build_sentencepiece_vocab.')


def _as_bytes(text: Any) -> bytes:
  text = text.item() if isinstance(text, np.ndarray) and text.ndim == 0 else text
  if isinstance(text, (bytes, np.bytes_)):
    return bytes(text)
  if isinstance(text, str):
    return text.encode('utf-8')
  raise TypeError(f'tokenize expects text (str or bytes); got {type(text).__name__} '
                  f'{text!r:.80}. Use keys= to pick the text fields of an example.')


def _as_str(text: Any) -> str:
  return _as_bytes(text).decode('utf-8')
