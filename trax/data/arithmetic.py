"""The addition task: `<S> x + y <S> (x + y)`, and Trax 1.4's lower-endian number helpers.

Numbers are lists of digits, least significant first ("lower endian"). Randomness comes
from the `seed` argument (numpy's global random state is never used), as in
`trax.data.synthetic`.
"""

from collections.abc import Sequence

import numpy as np

from trax.data.batching import pad_to_max_dims
from trax.data.synthetic import _check_vocab
from trax.data.synthetic import _EVAL
from trax.data.synthetic import _rng
from trax.data.synthetic import _TRAIN
from trax.data.synthetic import Batches
from trax.data.synthetic import Inputs


def addition_inputs(
  vocab_size: int,
  batch_size: int,
  train_length: int,
  eval_min_length: int,
  eval_max_length: int,
  pad_to_multiple: int = 32,
  encdec: bool = False,
  seed: 'int | None' = None,
) -> Inputs:
  """The addition task: `<S> x + y <S> (x + y)` with numbers in base `vocab_size - 3`.

  Numbers are digit sequences, least significant digit first. Digit `d` is token `d + 1`,
  '+' is `vocab_size - 2`, `<S>` is `vocab_size - 1` and 0 is padding. A language-model
  batch is `(s, s, weights)` with weights 1 on the digits of the sum; with `encdec` it is
  `(x + y, sum, weights)` without separators. Arrays are zero-padded on every axis to a
  multiple of `pad_to_multiple`.

  Args:
    vocab_size: number of tokens, at least 5 (base 2).
    batch_size: rows per batch.
    train_length: bound on the length of `x + y` in training (shortest is 3).
    eval_min_length: shortest `x + y` in evaluation, at least 3.
    eval_max_length: bound on the length of `x + y` in evaluation, at least 3.
    pad_to_multiple: pad lengths to a multiple of this.
    encdec: give encoder-decoder pairs instead of language-model sequences.
    seed: seed of the random batches.

  Returns:
    An `Inputs` with int32 tokens and float32 weights.
  """
  _check_vocab(vocab_size, 5, 'addition_inputs')
  return Inputs(
    lambda _: addition_input_stream(
      vocab_size, batch_size, 3, train_length, pad_to_multiple, encdec, seed=seed, which=_TRAIN
    ),
    lambda _: addition_input_stream(
      vocab_size,
      batch_size,
      eval_min_length,
      eval_max_length,
      pad_to_multiple,
      encdec,
      seed=seed,
      which=_EVAL,
    ),
  )


def addition_input_stream(
  vocab_size: int,
  batch_size: int,
  min_length: int,
  max_length: int,
  pad_to_multiple: int = 32,
  encdec: bool = False,
  seed: 'int | None' = None,
  which: int = _TRAIN,
) -> Batches:
  """A generator of addition batches whose `x + y` has `min_length` to `max_length` tokens.

  See `addition_inputs` for the layout. `which` picks an independent random sequence for
  the same seed (training and evaluation use different ones).

  Raises:
    ValueError: (on the first batch) a length below 3, as Trax 1.4.
  """
  _check_vocab(vocab_size, 5, 'addition_input_stream')
  base = vocab_size - 3
  plus, separator = base + 1, base + 2

  def example(rng: np.random.Generator) -> tuple:
    while True:
      add_length = (min_length - 1) // 2
      l1 = int(rng.integers((max_length - add_length + 1) // 2)) + add_length
      l2 = int(rng.integers(max_length - l1 - 1)) + 1
      n1 = random_number_lower_endian(l1, base, rng)
      n2 = random_number_lower_endian(l2, base, rng)
      total = lower_endian_to_number(n1, base) + lower_endian_to_number(n2, base)
      question = [d + 1 for d in n1] + [plus] + [d + 1 for d in n2]
      answer = [d + 1 for d in number_to_lower_endian(total, base)]
      if not encdec:
        x = [separator] + question + [separator] + answer
        return x, x, [0] * (len(question) + 2) + [1] * len(answer)
      if max(len(question), len(answer)) <= max_length:  # Else draw again, as Trax.
        return question, answer, [1] * len(answer)

  if min_length < 3 or max_length < 3:
    raise ValueError(
      f'addition lengths must be at least 3; got min_length={min_length}, max_length={max_length}.'
    )
  rng = _rng(seed, which)
  while True:
    rows = [example(rng) for _ in range(batch_size)]
    yield tuple(
      pad_to_max_dims([np.asarray(r, dtype) for r in column], pad_to_multiple, True)
      for column, dtype in zip(zip(*rows), (np.int32, np.int32, np.float32))
    )


def lower_endian_to_number(digits: Sequence[int], base: int) -> int:
  """The number whose digits in `base` are `digits`, least significant first."""
  return sum(int(d) * base**i for i, d in enumerate(digits))


def number_to_lower_endian(n: int, base: int) -> list:
  """The digits of `n` in `base`, least significant first (`[0]` for 0)."""
  digits = [n % base]
  while n >= base:
    n //= base
    digits.append(n % base)
  return digits


def random_number_lower_endian(
  length: int, base: int, rng: 'np.random.Generator | None' = None
) -> list:
  """A random number of `length` digits, least significant first, no leading zero.

  Args:
    length: number of digits.
    base: the base.
    rng: the generator to draw from; a fresh one if None (Trax 1.4 used numpy's global
      random state).
  """
  rng = np.random.default_rng() if rng is None else rng
  if length == 1:  # A lone digit may be 0.
    return [int(rng.integers(base))]
  return [int(d) for d in rng.integers(base, size=length - 1)] + [int(rng.integers(1, base))]
