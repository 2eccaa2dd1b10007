"""SentencePiece vocabularies: reading a `*.model` (local or remote) and training one offline.

Trax 1.4 read SentencePiece models through T5's `SentencePieceVocabulary`, which encodes
with the model's own ids (`EncodeAsIds`); the ids here are the same.
"""

import os
from typing import Any
from collections.abc import Iterable, Sequence

from trax import file_io
from trax.data.text_encoder import to_text

# Ids of the special symbols in models made by `build_sentencepiece_vocab`.
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


class SentencePieceVocab:
  """A SentencePiece model read from a file (any `tf.io.gfile` path too).

  Args:
    path: the `*.model` file.
  """

  def __init__(self, path: str):
    import sentencepiece

    with file_io.open_file(path, 'rb') as f:
      proto = f.read()
    try:
      self._model = sentencepiece.SentencePieceProcessor(model_proto=proto)
    except (OSError, RuntimeError, TypeError) as e:
      raise ValueError(
        f'{path} is not a SentencePiece model ({e}). vocab_type='
        "'sentencepiece' needs a *.model file, e.g. from "
        'trax.data.build_sentencepiece_vocab.'
      ) from e
    self.vocab_size = self._model.get_piece_size()
    self._path = path

  def encode(self, text: Any) -> list:
    return self._model.encode(to_text(text))

  def decode(self, ids: Sequence[int]) -> str:
    too_large = [i for i in ids if i >= self.vocab_size]
    if too_large:
      raise ValueError(
        f'Ids {too_large[:5]} are outside the {self.vocab_size} pieces of '
        f'{self._path}. Is n_reserved_ids right?'
      )
    return self._model.decode([int(i) for i in ids])


def build_sentencepiece_vocab(
  text_files_or_iterator: 'str | Sequence[str] | Iterable[str]',
  model_prefix: str,
  vocab_size: int,
  **trainer_options: Any,
) -> str:
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
  import sentencepiece

  options: dict[str, Any] = dict(
    model_type='unigram',
    character_coverage=1.0,
    normalization_rule_name='identity',
    remove_extra_whitespaces=False,
    pad_id=PAD_ID,
    eos_id=EOS_ID,
    unk_id=UNK_ID,
    bos_id=-1,
    num_threads=1,
    minloglevel=2,
  )
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
    model_prefix=os.fspath(model_prefix), vocab_size=vocab_size, **options
  )
  return os.fspath(model_prefix) + '.model'
