"""Text stream stages of Trax 1.4's `tf_inputs`: unicode conversion, SentencePiece, BERT inputs.

These are numpy stream functions (no TensorFlow): `ConvertToUnicode` turns the bytes TFDS
yields into str, `SentencePieceTokenize` tokenizes with a `*.model` file, `CreateBertInputs`
adds BERT's `[CLS]`/`[SEP]` ids and segment ids, and `mask_random_tokens` makes BERT's
masked-language-model examples.
"""

import os
from typing import Any
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from trax.data import tokenizers

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]


def ConvertToUnicode(keys: 'Iterable[Any] | None' = None) -> StreamFn:
  """Returns a stream function decoding UTF-8 bytes to str (invalid bytes dropped).

  Args:
    keys: positions (tuples) or keys (dicts) to convert; default all.
  """
  keys = None if keys is None else list(keys)

  def to_unicode(x: Any) -> str:
    return str(x, encoding='utf-8', errors='ignore')

  def convert(stream: Iterable[Any]) -> Iterator[Any]:
    for example in stream:
      if isinstance(example, (list, tuple)):
        yield tuple(
          to_unicode(x) if keys is None or i in keys else x for i, x in enumerate(example)
        )
      elif isinstance(example, dict):
        yield {k: to_unicode(x) if keys is None or k in keys else x for k, x in example.items()}
      else:
        yield to_unicode(example)

  return convert


def sentencepiece_tokenize(
  stream: Iterable[Any], spm_path: 'str | None' = None, extra_ids: int = 0
) -> Iterator[np.ndarray]:
  """Tokenizes texts (or 1-tuples of text) with the SentencePiece model at `spm_path`.

  `extra_ids` (T5's sentinel ids above the model's pieces) do not change the ids of text.
  Trax 1.4's default model was T5's, fetched from the cloud; here `spm_path` is required.
  """
  del extra_ids
  if spm_path is None:
    raise ValueError(
      'sentencepiece_tokenize needs spm_path, a SentencePiece *.model file '
      "(Trax 1.4's default, T5's model, is not downloaded)."
    )
  directory, name = os.path.split(spm_path)
  for example in stream:
    text = example[0] if isinstance(example, tuple) else example
    yield next(
      tokenizers.tokenize(
        iter([text]), vocab_type='sentencepiece', vocab_file=name, vocab_dir=directory or None
      )
    )


def SentencePieceTokenize(spm_path: 'str | None' = None, extra_ids: int = 0) -> StreamFn:
  """Returns a stream function tokenizing with SentencePiece; see `sentencepiece_tokenize`."""
  return lambda g: sentencepiece_tokenize(g, spm_path=spm_path, extra_ids=extra_ids)


def CreateBertInputs(
  double_sentence: bool = True, labeled: bool = True, cls_id: int = 101, sep_id: int = 102
) -> StreamFn:
  """Returns a stream function making BERT inputs from tokenized sentences.

  A labeled pair `(s1, s2, label)` becomes `([CLS] s1 [SEP] s2 [SEP], segments, segments,
  label, 1)` with segment ids 0 up to the first `[SEP]` and 1 after it; a single sentence
  `(s1, label)` becomes `([CLS] s1 [SEP], zeros, zeros, label, 1)`. Unlabeled examples
  give only the first three arrays.

  Args:
    double_sentence: examples hold two sentences.
    labeled: examples end with a label.
    cls_id: id of `[CLS]`.
    sep_id: id of `[SEP]`.
  """

  def bert_inputs(stream: Iterable[Any]) -> Iterator[tuple]:
    for example in stream:
      sentences = example[:-1] if labeled else example
      if len(sentences) != (2 if double_sentence else 1):
        raise ValueError(
          f'CreateBertInputs(double_sentence={double_sentence}, labeled='
          f'{labeled}) got an example of {len(example)} arrays.'
        )
      ids = [cls_id]
      for sentence in sentences:
        ids.extend(list(sentence) + [sep_id])
      segments = np.zeros(len(ids), np.int32)
      segments[len(sentences[0]) + 2 :] = 1
      ids = np.asarray(ids)
      yield (
        (ids, segments, segments, example[-1], np.int32(1))
        if labeled
        else (ids, segments, segments)
      )

  return bert_inputs


def mask_random_tokens(
  batch: Iterable[Any],
  explicit_vocab_size: int = 30522,
  masking_prob: float = 0.15,
  cls_id: int = 101,
  sep_id: int = 102,
  mask_id: int = 103,
  vocab_start_id: int = 999,
  rng: 'np.random.Generator | None' = None,
) -> Iterator[tuple]:
  """BERT's masked-language-model examples: `(ids, *rest)` -> `(masked, *rest, ids, weights)`.

  `round(masking_prob * n)` of the `n` tokens that are not `[CLS]`, `[SEP]` or padding are
  chosen; each becomes `mask_id` with probability 0.8, a random id in
  `[vocab_start_id, explicit_vocab_size)` with 0.1, and stays with 0.1. The weights are
  `1 / chosen` on the chosen tokens. Rows with nothing to choose are dropped.

  Args:
    batch: stream of tuples whose first item is a 1-D array of token ids.
    explicit_vocab_size: the vocabulary size.
    masking_prob: fraction of tokens chosen.
    cls_id: id of `[CLS]`.
    sep_id: id of `[SEP]`.
    mask_id: id of `[MASK]`.
    vocab_start_id: first id of an ordinary token.
    rng: the random generator (Trax 1.4 used numpy's global random state).
  """
  rng = np.random.default_rng() if rng is None else rng
  for token_ids, *rest in batch:
    original = np.asarray(token_ids)
    token_ids = original.copy()
    special = (token_ids == cls_id) | (token_ids == sep_id) | (token_ids == 0)
    viable = np.flatnonzero(~special)
    n_chosen = round(masking_prob * len(viable))
    if n_chosen == 0:
      continue
    chosen = rng.choice(viable, n_chosen, replace=False)
    weights = np.zeros(token_ids.shape)
    weights[chosen] = 1 / n_chosen
    scores = rng.random(n_chosen)
    token_ids[chosen[scores < 0.8]] = mask_id
    randomized = chosen[(scores >= 0.8) & (scores < 0.9)]
    token_ids[randomized] = rng.integers(vocab_start_id, explicit_vocab_size, len(randomized))
    yield (token_ids, *rest, original, weights)
