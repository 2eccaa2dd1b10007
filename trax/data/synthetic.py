"""Synthetic tasks: infinite streams of random numpy batches for tests and demos.

Each task returns an `Inputs` bundle, as in Trax 1.4: `inputs.train_stream(n_devices)`
and `inputs.eval_stream(n_devices)` make new generators of batches. Randomness comes from
the `seed` argument (an extension of Trax 1.4, which used numpy's and Python's global
random state): every call of `train_stream` restarts the same sequence of batches, eval
batches come from an independent sequence, and `seed=None` draws fresh entropy per call.
With several `jax.distributed` processes, each draws its own sequence from the seed.

The copy and addition tasks are laid out for language models (inputs equal targets, the
loss weights select the part to predict), so a `TransformerLM` learns them directly.
"""

import math
from typing import Any
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from trax.data import per_process

Batches = Iterator[tuple]

_TRAIN, _EVAL = 0, 1


class Inputs:
  """A bundle of train and eval streams, with the shapes of their batches.

  Attributes:
    input_shape: shape of an input batch without the batch axis.
    input_dtype: dtype of the inputs.
    target_shape: shape of the last array of a batch (targets, or weights when present,
      as in Trax 1.4) without the batch axis.
    target_dtype: its dtype.
    example_shape_dtype: the shapes and dtypes of every array in a batch.
  """

  def __init__(
    self,
    train_stream: Callable[[int], Batches],
    eval_stream: 'Callable[[int], Batches] | None' = None,
    train_eval_stream: 'Callable[[int], Batches] | None' = None,
  ):
    """Makes the bundle and reads one training batch to learn the shapes.

    Args:
      train_stream: maps `n_devices` to a generator of training batches.
      eval_stream: the same for evaluation batches; default `train_stream`.
      train_eval_stream: the same for training data used in evaluation; default
        `train_stream`.
    """
    if not callable(train_stream):
      raise ValueError(
        f'Inputs takes functions from n_devices to generators; got '
        f'train_stream={train_stream!r}. If your stream does not depend on '
        'n_devices, pass `lambda _: stream`.'
      )
    self._train_stream = train_stream
    self._eval_stream = eval_stream or train_stream
    self._train_eval_stream = train_eval_stream or train_stream
    example = next(iter(train_stream(1)))
    self.input_shape = tuple(example[0].shape)[1:]
    self.input_dtype = example[0].dtype
    self.target_shape = tuple(example[-1].shape)[1:]
    self.target_dtype = example[-1].dtype
    self.example_shape_dtype = ([x.shape for x in example], [x.dtype for x in example])

  def train_stream(self, n_devices: int) -> Batches:
    """A new generator of training batches."""
    return self._train_stream(n_devices)

  def eval_stream(self, n_devices: int) -> Batches:
    """A new generator of evaluation batches."""
    return self._eval_stream(n_devices)

  def train_eval_stream(self, n_devices: int) -> Batches:
    """A new generator of training batches meant for evaluation.

    Trax 1.4 returned `train_stream` here, ignoring its `train_eval_stream` argument.
    """
    return self._train_eval_stream(n_devices)


def random_inputs(
  input_shape: Sequence[int],
  input_dtype: Any = np.int32,
  input_range: tuple = (0, 255),
  output_shape: 'Sequence[int] | None' = None,
  output_dtype: Any = np.int32,
  output_range: tuple = (0, 9),
  seed: 'int | None' = None,
) -> Inputs:
  """Random batches `(inputs, targets)` for debugging, e.g. of input pipelines.

  Integer values are drawn uniformly from the closed interval `[low, high]` of their
  range, float values from the half-open `[low, high)`.

  Args:
    input_shape: shape of an input batch, including the batch axis.
    input_dtype: dtype of the inputs.
    input_range: `(low, high)` of the input values.
    output_shape: shape of a target batch, including the batch axis (required).
    output_dtype: dtype of the targets.
    output_range: `(low, high)` of the target values.
    seed: seed of the random batches.

  Returns:
    An `Inputs` whose train and eval streams yield `(inputs, targets)`.
  """
  if output_shape is None:
    raise ValueError(
      'random_inputs needs output_shape, the shape of a target batch '
      '(batch axis included), e.g. output_shape=(8,).'
    )

  def draw(
    rng: np.random.Generator, shape: Sequence[int], dtype: Any, value_range: tuple
  ) -> np.ndarray:
    low, high = value_range
    if np.issubdtype(np.dtype(dtype), np.floating):
      return rng.uniform(low, high, shape).astype(dtype)
    return rng.integers(low, high, shape, endpoint=True).astype(dtype)

  def stream(which: int, n_devices: int) -> Batches:
    batch_size = input_shape[0] if len(input_shape) else 1
    if batch_size % n_devices:
      raise ValueError(
        f'random_inputs batch size {batch_size} (input_shape[0]) is not '
        f'divisible by n_devices={n_devices}.'
      )
    rng = _rng(seed, which)
    while True:
      yield (
        draw(rng, input_shape, input_dtype, input_range),
        draw(rng, output_shape, output_dtype, output_range),
      )

  return Inputs(lambda n: stream(_TRAIN, n), lambda n: stream(_EVAL, n))


def sequence_copy_inputs(
  vocab_size: int,
  batch_size: int,
  train_length: int,
  eval_min_length: int,
  eval_max_length: int,
  reverse: bool = False,
  pad_to_multiple: int = 32,
  seed: 'int | None' = None,
) -> Inputs:
  """The copy task for language models: sequences `0 w 0 w` with weights on the copy.

  Each batch is `(x, x, weights)` with rows `x = [0, w, 0, w]` (`w` reversed in the second
  half if `reverse`), `w` uniform over symbols `1 .. vocab_size - 1`, then zeros up to a
  multiple of `pad_to_multiple`; `weights` is 1 on the second `w` only. A language model
  sees `0 w 0` before each weighted position, so it can reach full accuracy. All rows of
  a batch share one length of `w`: from 1 to `train_length - 1` for training, and from
  `eval_min_length` to `eval_max_length - 1` for evaluation (Trax 1.4's ranges: the max
  lengths bound `0 w`, a half of the sequence).

  Fixes Trax 1.4, which never used the symbol `vocab_size - 1` that its docstring promised.

  Args:
    vocab_size: number of symbols, including the separator 0.
    batch_size: rows per batch.
    train_length: bound on the length of `0 w` in training.
    eval_min_length: shortest `w` in evaluation.
    eval_max_length: bound on the length of `0 w` in evaluation.
    reverse: copy `w` reversed.
    pad_to_multiple: pad the sequence length to a multiple of this.
    seed: seed of the random batches.

  Returns:
    An `Inputs` with int32 `x` and float32 weights.
  """
  _check_vocab(vocab_size, 2, 'sequence_copy_inputs')
  train_w_lengths = _lengths(1, train_length - 1, 'train_length', train_length)
  eval_w_lengths = _lengths(
    eval_min_length, eval_max_length - 1, 'eval lengths', (eval_min_length, eval_max_length)
  )

  def stream(which: int, w_lengths: list) -> Batches:
    rng = _rng(seed, which)
    while True:
      w_length = int(rng.choice(w_lengths))
      w = rng.integers(1, vocab_size, (batch_size, w_length), dtype=np.int32)
      zero = np.zeros((batch_size, 1), np.int32)
      x = np.concatenate([zero, w, zero, w[:, ::-1] if reverse else w], axis=1)
      weights = np.concatenate(
        [
          np.zeros((batch_size, w_length + 2), np.float32),
          np.ones((batch_size, w_length), np.float32),
        ],
        axis=1,
      )
      x = _pad_to_multiple_of(x, pad_to_multiple)
      yield (x, x, _pad_to_multiple_of(weights, pad_to_multiple))

  return Inputs(lambda _: stream(_TRAIN, train_w_lengths), lambda _: stream(_EVAL, eval_w_lengths))


def simple_sequence_copy_inputs(
  vocab_size: int,
  batch_size: int,
  train_length: int,
  eval_min_length: int,
  eval_max_length: int,
  reverse: bool = False,
  pad_to_multiple: int = 32,
  seed: 'int | None' = None,
) -> Inputs:
  """The copy task for sequence-to-sequence models: `(w, w, weights)`.

  Rows of `w` are uniform over symbols `1 .. vocab_size - 1`, zero-padded to a multiple of
  `pad_to_multiple`; weights are 1 on `w`. The length of `w` (shared by a batch) is from 1
  to `train_length` in training and from `eval_min_length` to `eval_max_length` in
  evaluation. Not learnable by a causal language model (use `sequence_copy_inputs`).

  `reverse` (not in Trax 1.4) makes the targets `w` reversed. Fixes Trax 1.4, which never
  used the symbol `vocab_size - 1`.

  Args:
    vocab_size: number of symbols, including padding 0.
    batch_size: rows per batch.
    train_length: longest `w` in training.
    eval_min_length: shortest `w` in evaluation.
    eval_max_length: longest `w` in evaluation.
    reverse: targets are `w` reversed.
    pad_to_multiple: pad the sequence length to a multiple of this.
    seed: seed of the random batches.

  Returns:
    An `Inputs` with int32 inputs and targets and float32 weights.
  """
  _check_vocab(vocab_size, 2, 'simple_sequence_copy_inputs')
  train_lengths = _lengths(1, train_length, 'train_length', train_length)
  eval_lengths = _lengths(
    eval_min_length, eval_max_length, 'eval lengths', (eval_min_length, eval_max_length)
  )

  def stream(which: int, lengths: list) -> Batches:
    rng = _rng(seed, which)
    while True:
      length = int(rng.choice(lengths))
      w = rng.integers(1, vocab_size, (batch_size, length), dtype=np.int32)
      targets = w[:, ::-1] if reverse else w
      weights = np.ones((batch_size, length), np.float32)
      yield tuple(_pad_to_multiple_of(a, pad_to_multiple) for a in (w, targets, weights))

  return Inputs(lambda _: stream(_TRAIN, train_lengths), lambda _: stream(_EVAL, eval_lengths))


def sine_inputs(
  batch_size: int,
  length: int,
  max_phase: float = 2 * math.pi,
  min_period: float = 0.1,
  max_period: float = 10.0,
  seed: 'int | None' = None,
) -> Inputs:
  """Sinusoids of random phase and period, as Trax 1.4's series-prediction demo data.

  Each row is `sin((t - phase) / period)` for `t = 0 .. length - 1`, with `phase` uniform
  in `[0, max_phase)` and `period` log-uniform in `[min_period, max_period)`. A batch is
  `(series, actions, series, mask)`: float64 series, int32 zero actions, float64 ones.

  Args:
    batch_size: rows per batch.
    length: points per series.
    max_phase: largest phase.
    min_period: smallest period.
    max_period: largest period.
    seed: seed of the random batches (Trax 1.4 used numpy's global random state).

  Returns:
    An `Inputs` whose train and eval streams yield such batches.
  """

  def stream(which: int) -> Batches:
    rng = _rng(seed, which)
    t = np.arange(length)
    while True:
      phase = rng.uniform(0, max_phase, (batch_size, 1))
      period = np.exp(rng.uniform(np.log(min_period), np.log(max_period), (batch_size, 1)))
      series = np.sin((t - phase) / period)
      yield (series, np.zeros_like(series, np.int32), series, np.ones_like(series))

  return Inputs(lambda _: stream(_TRAIN), lambda _: stream(_EVAL))


def _rng(seed: 'int | None', which: int) -> np.random.Generator:
  """The generator of one stream: train and eval (and processes) draw independent ones."""
  if seed is None:
    return np.random.default_rng()
  return np.random.default_rng(per_process.seed_for_process(which, seed))


def _lengths(low: int, high: int, name: str, given: Any) -> list:
  if high < low or low < 1:
    raise ValueError(f'{name}={given} gives no valid lengths (need 1 <= {low} <= {high}).')
  return list(range(low, high + 1))


def _check_vocab(vocab_size: int, minimum: int, where: str) -> None:
  if vocab_size < minimum:
    raise ValueError(f'{where} needs vocab_size >= {minimum}; got {vocab_size}.')


def _pad_to_multiple_of(x: np.ndarray, multiple: int) -> np.ndarray:
  """Zero-pads axis 1 (length) of `x` to a multiple of `multiple`."""
  length = x.shape[1]
  return np.pad(x, [(0, 0), (0, -length % multiple)])
