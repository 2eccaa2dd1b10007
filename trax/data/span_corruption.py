"""Span corruption (T5's masked-language-model objective) and prefix-LM chunking.

T5's denoising objective replaces random spans of a token sequence by sentinel ids and
asks the model for the removed spans:

  tokens  [10, 11, 12, 13, 14, 15]   noise mask [0, 1, 1, 0, 1, 0]   vocab_size 100
  inputs  [10, 99, 13, 98, 15]        (each noise span -> one sentinel, counting down)
  targets [99, 11, 12, 98, 14, 97]    (each kept span -> one sentinel)

`random_spans_noise_mask` draws the mask as Trax 1.4 (and T5) do: about
`noise_density * length` noise tokens in about `noise tokens / mean_noise_span_length`
spans, span lengths cut at random, the first span always kept. With `seed1`/`seed2`
the masks equal Trax 1.4's (numpy's `RandomState` shuffle); numpy's global random state
is never used.
"""

from typing import Any
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from trax.data.pipeline import Serial

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]


def random_spans_noise_mask(
  length: int,
  noise_density: float = 0.15,
  mean_noise_span_length: float = 3.0,
  seed1: 'int | None' = None,
  seed2: 'int | None' = None,
  example: Any = None,
) -> np.ndarray:
  """A boolean noise mask of `length` with random spans of noise (T5's span corruption).

  Args:
    length: length of the token sequence.
    noise_density: fraction of tokens that are noise (rounded, at least one, and at
      least one token kept).
    mean_noise_span_length: average length of a noise span.
    seed1: seed for cutting the noise tokens into spans; None draws fresh entropy.
    seed2: seed for cutting the kept tokens into spans.
    example: ignored (Trax 1.4 passed the example along for debugging).

  Returns:
    A bool array of shape `(length,)`, True at noise tokens.

  >>> random_spans_noise_mask(10, noise_density=0.3, mean_noise_span_length=3.0).tolist()
  [False, False, False, False, False, False, False, True, True, True]
  """
  del example
  padded_length = max(length, 2)  # A mask needs a noise and a kept token.
  n_noise = min(max(int(round(padded_length * noise_density)), 1), padded_length - 1)
  n_spans = max(int(round(n_noise / mean_noise_span_length)), 1)
  n_kept = padded_length - n_noise
  if n_kept < n_spans:
    raise ValueError(
      f'random_spans_noise_mask: {n_spans} noise spans need at least as '
      f'many kept tokens between them, but length {length} with '
      f'noise_density {noise_density} keeps only {n_kept}.'
    )
  noise_lengths = _random_segment_lengths(n_noise, n_spans, seed1)
  kept_lengths = _random_segment_lengths(n_kept, n_spans, seed2)
  # Spans alternate kept, noise, kept, noise, ...
  interleaved = np.stack([kept_lengths, noise_lengths], axis=1).reshape(-1)
  span_starts = np.zeros(padded_length, np.int64)
  span_starts[np.cumsum(interleaved)[:-1]] = 1
  is_noise = np.cumsum(span_starts) % 2 == 1
  return is_noise[:length]


def _random_segment_lengths(n_items: int, n_segments: int, seed: 'int | None') -> np.ndarray:
  """Lengths of `n_segments` non-empty pieces of `n_items`, cut at random places."""
  cuts = np.arange(n_items - 1) < n_segments - 1
  np.random.RandomState(seed).shuffle(cuts)  # Trax 1.4's draw for a given seed.
  segment_ids = np.cumsum(np.pad(cuts, (1, 0)))
  return np.bincount(segment_ids, minlength=n_segments)


def generate_random_noise_mask(
  noise_density: float = 0.15,
  mean_noise_span_length: float = 3.0,
  seed1: 'int | None' = None,
  seed2: 'int | None' = None,
) -> StreamFn:
  """Returns a stream function mapping token sequences `x` to `(x, noise_mask)`.

  See `random_spans_noise_mask` for the arguments.
  """

  def add_mask(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      yield (
        example,
        random_spans_noise_mask(len(example), noise_density, mean_noise_span_length, seed1, seed2),
      )

  return add_mask


def consume_noise_mask(vocab_size: int = 32100) -> StreamFn:
  """Returns a stream function mapping `(tokens, noise_mask)` to `(inputs, targets)`.

  Each noise span of the inputs, and each kept span of the targets, becomes one sentinel:
  `vocab_size - 1`, `vocab_size - 2`, ... in order (see the module docstring).

  Args:
    vocab_size: the vocabulary size; sentinels count down from `vocab_size - 1` (T5's
      extra ids sit at the top of its vocabulary).
  """

  def spans_to_sentinels(tokens: np.ndarray, noise_mask: np.ndarray) -> np.ndarray:
    previous_is_noise = np.pad(noise_mask[:-1], (1, 0))
    first_of_span = noise_mask & ~previous_is_noise
    tokens = np.where(first_of_span, vocab_size - np.cumsum(first_of_span), tokens)
    return tokens[~(noise_mask & previous_is_noise)]

  def consume(generator: Iterable[Any]) -> Iterator[Any]:
    for tokens, noise_mask in generator:
      tokens, noise_mask = np.asarray(tokens), np.asarray(noise_mask, bool)
      yield (spans_to_sentinels(tokens, noise_mask), spans_to_sentinels(tokens, ~noise_mask))

  return consume


def generate_sequential_chunks(max_length: int) -> StreamFn:
  """Returns a stream function cutting sequences into consecutive chunks of `max_length`.

  The last chunk of a sequence may be shorter. Trax 1.4 also yielded a sequence no longer
  than `max_length` a second time; here every token comes out once.
  """
  if max_length is None or max_length < 1:
    raise ValueError(f'generate_sequential_chunks needs max_length >= 1; got {max_length}.')

  def chunks(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      for start in range(0, len(example), max_length):
        yield example[start : start + max_length]

  return chunks


def MLM(
  vocab_size: 'int | None' = None,
  max_length: 'int | None' = None,
  noise_density: float = 0.15,
  mean_noise_span_length: float = 3.0,
) -> StreamFn:
  """Returns a pipeline turning token sequences into span-corruption `(inputs, targets)`.

  Chunks of `max_length` tokens, a random noise mask each, then `consume_noise_mask`.

  Args:
    vocab_size: vocabulary size; sentinels count down from `vocab_size - 1`.
    max_length: chunk length.
    noise_density: fraction of noise tokens.
    mean_noise_span_length: average length of a noise span.
  """
  if vocab_size is None:
    raise ValueError('MLM needs vocab_size: the sentinel ids count down from it.')
  if max_length is None:
    raise ValueError('MLM needs max_length: the length of the chunks it corrupts.')
  return Serial(
    generate_sequential_chunks(max_length),
    generate_random_noise_mask(noise_density, mean_noise_span_length),
    consume_noise_mask(vocab_size),
  )


def PrefixLM(input_length: int = 128, output_length: int = 512) -> StreamFn:
  """Returns a stream function cutting sequences into `(prefix, continuation)` pairs.

  A sequence is read from the start as `input_length` tokens of prefix followed by up to
  `output_length` tokens of continuation, again and again; a last piece with no
  continuation is dropped. `[1, 2, 3, 4, 5, 6, 7, 8]` with lengths (2, 3) gives
  `([1, 2], [3, 4, 5])` and `([6, 7], [8])`.

  Args:
    input_length: length of each prefix.
    output_length: longest continuation.
  """

  def prefix_lm(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      start = 0
      while start + input_length < len(example):
        middle = start + input_length
        end = min(middle + output_length, len(example))
        yield example[start:middle], example[middle:end]
        start = end

  return prefix_lm
