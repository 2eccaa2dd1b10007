"""Input pipelines: functions from a stream of examples to a stream of examples.

A pipeline stage is a function `generator -> generator`; `Serial` chains stages, and the
first stage is called with `None`, so it is usually a data source::

  from trax import data

  pipeline = data.Serial(
      data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
      data.Tokenize(vocab_type='sentencepiece', vocab_file='spm.model', keys=[0]),
      data.Shuffle(seed=0),
      data.FilterByLength(max_length=2048, length_keys=[0]),
      data.BucketByLength(boundaries=[32, 128, 512, 2048],
                          batch_sizes=[128, 32, 8, 2, 1],
                          length_keys=[0]),
      data.AddLossWeights(),
      data.Prefetch(),
  )
  batches = pipeline()  # A generator of (inputs, targets, weights) numpy batches.

Examples are tuples of numpy arrays (or single arrays); plain Python `map` and `filter` are
pipeline stages too (`lambda g: map(f, g)`).

Randomness: only `Shuffle` (and the synthetic tasks) draw random numbers. Each takes a
`seed`; each call of the stage makes its own `numpy.random.Generator` from that seed, so
rebuilding a pipeline replays the same order. `seed=None` draws fresh entropy from the
operating system. Nothing here reads or changes numpy's global random state.

This module is also the Trax 1.4 `trax.data.inputs` namespace: it re-exports the batching,
transformation, prefetching and synthetic-task functions defined in sibling modules.
"""

import logging
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from trax import shapes
from trax.data.batching import Batch
from trax.data.batching import batch
from trax.data.batching import BucketByLength
from trax.data.batching import bucket_by_length
from trax.data.batching import pad_to_max_dims
from trax.data.batching import UnBatch
from trax.data.prefetch import Prefetch
from trax.data.prefetch import prefetch
from trax.data.synthetic import addition_inputs
from trax.data.synthetic import Inputs
from trax.data.synthetic import random_inputs
from trax.data.synthetic import sequence_copy_inputs
from trax.data.synthetic import simple_sequence_copy_inputs
from trax.data.transforms import add_loss_weights
from trax.data.transforms import AddLossWeights
from trax.data.transforms import CastTo
from trax.data.transforms import ConcatenateToLMInput
from trax.data.transforms import FilterByLength
from trax.data.transforms import FilterEmptyExamples
from trax.data.transforms import PadToLength
from trax.data.transforms import TruncateToLength

StreamFn = Callable[[Any], Iterator[Any]]

_log = logging.getLogger(__name__)


def Serial(*fns: Any) -> StreamFn:  # pylint: disable=invalid-name
  """Chains stream functions: the output stream of each is the input of the next.

  Args:
    *fns: stream functions (`generator -> generator`), possibly in nested lists or
      tuples, which are flattened in order.

  Returns:
    A stream function `f(generator=None)`; the first stage receives `generator`.
  """
  stages = _flatten(fns)
  for i, stage in enumerate(stages):
    if not callable(stage):
      raise TypeError(f'Serial stage {i} is {stage!r} of type {type(stage).__name__}; '
                      'expected a function from a generator to a generator.')

  def composed(generator: Any = None) -> Iterator[Any]:
    for stage in stages:
      generator = stage(generator)
    return generator
  return composed


def Parallel(*sources: Any, fns: 'Sequence[Any] | None' = None,  # pylint: disable=invalid-name
             counters: 'Sequence[int] | None' = None,
             reweight_by_minimum: bool = False) -> StreamFn:
  """Mixes several streams into one, taking from each in proportion to `counters`.

  Streams are visited in turn; stream `i` is skipped once it has given `counters[i]`
  examples in the current round, and a round ends when all have. With counters `(2, 1, 3)`
  the sources are read in the order 0, 1, 2, 0, 2, 2, then again from the start.

  Args:
    *sources: data sources: stream functions (called with the incoming generator, or
      with no argument when there is none) or iterators, which are used as they are. A
      single list or tuple of them is accepted too, as in Trax 1.4's `Parallel([a, b])`.
    fns: Trax 1.4's keyword for the list of sources; give either this or `sources`.
    counters: how many examples to take from each source per round; default one each.
      Sources with a zero counter are dropped.
    reweight_by_minimum: if True, divide every counter by the smallest one (rounding
      down), so counters (10000, 100000) become (1, 10): the sources are then interleaved
      finely instead of in long runs.

  Returns:
    A stream function yielding the mixed examples; it stops when a source runs out.
  """
  if fns is not None and sources:
    raise ValueError('Parallel got sources both positionally and as fns=; give one.')
  sources = _flatten(fns if fns is not None else sources)
  if not sources:
    raise ValueError('Parallel needs at least one data source; got none.')
  if counters is None:
    counters = [1] * len(sources)
  counters = [int(c) for c in counters]
  if len(counters) != len(sources):
    raise ValueError(f'Parallel got {len(sources)} sources but {len(counters)} counters '
                     f'{counters}; give one counter per source.')
  if any(c < 0 for c in counters) or not any(counters):
    raise ValueError(f'Parallel counters must be non-negative and not all zero; '
                     f'got {counters}.')
  kept = [(s, c) for s, c in zip(sources, counters) if c > 0]
  sources, counters = [s for s, _ in kept], [c for _, c in kept]
  if reweight_by_minimum:
    counters = [c // min(counters) for c in counters]

  def mixed(generator: Any = None) -> Iterator[Any]:
    streams = [_open_source(source, generator) for source in sources]
    while True:
      taken = [0] * len(streams)
      while taken != counters:
        for i, stream in enumerate(streams):
          if taken[i] < counters[i]:
            taken[i] += 1
            try:
              yield next(stream)
            except StopIteration:
              return
  return mixed


def Shuffle(queue_size: int = 1024, seed: 'int | None' = None) -> StreamFn:  # pylint: disable=invalid-name
  """Returns a stream function that shuffles examples; see `shuffle`.

  Args:
    queue_size: number of examples held and drawn from at random.
    seed: seed of the shuffle (an extension of Trax 1.4, which used numpy's global random
      state). Each call of the returned function starts from this seed, so the same
      input stream is always shuffled the same way; None draws fresh entropy.
  """
  if queue_size < 1:
    raise ValueError(f'Shuffle queue_size must be at least 1; got {queue_size}.')
  return lambda g: shuffle(g, queue_size, rng=np.random.default_rng(seed))


def shuffle(samples: Iterable[Any], queue_size: int,
            rng: 'np.random.Generator | None' = None) -> Iterator[Any]:
  """Shuffles a stream with a queue: yield a random queued sample, refill its slot.

  The first sample out comes after `queue_size` samples have been read (or the stream
  ended), and a sample moves at most about `queue_size` places on average, so the queue
  should be large compared with any ordering in the source one wants to remove.

  Args:
    samples: the stream to shuffle.
    queue_size: number of samples held in the queue.
    rng: the random generator to draw positions from; None makes a fresh one.

  Yields:
    The samples of `samples`, each exactly once, in shuffled order.
  """
  if queue_size < 1:
    raise ValueError(f'shuffle queue_size must be at least 1; got {queue_size}.')
  rng = np.random.default_rng() if rng is None else rng
  samples = iter(samples)
  queue = []
  for sample in samples:
    queue.append(sample)
    if len(queue) == queue_size:
      break
  for sample in samples:
    i = rng.integers(queue_size)
    yield queue[i]
    queue[i] = sample
  for i in rng.permutation(len(queue)):
    yield queue[i]


def Log(n_steps_per_example: int = 1, only_shapes: bool = True) -> StreamFn:  # pylint: disable=invalid-name
  """Returns a stream function that passes examples through and prints some of them.

  Args:
    n_steps_per_example: print one example out of this many (the first, then every n-th).
    only_shapes: if True print the shapes and dtypes of the arrays, else the arrays.
  """
  if n_steps_per_example < 1:
    raise ValueError(f'Log n_steps_per_example must be at least 1; '
                     f'got {n_steps_per_example}.')

  def log(stream: Iterable[Any]) -> Iterator[Any]:
    for i, example in enumerate(stream):
      if i % n_steps_per_example == 0:
        shown = shapes.signature(example) if only_shapes else example
        _log.info('example %d: %s', i, shown)
        print(shown)
      yield example
  return log


def _flatten(fns: Any) -> list:
  """Flattens nested lists and tuples of pipeline stages, in order."""
  flat = []
  for fn in fns:
    flat.extend(_flatten(fn) if isinstance(fn, (list, tuple)) else [fn])
  return flat


def _open_source(source: Any, generator: Any) -> Iterator[Any]:
  """An iterator from a data source: a stream function or an iterable."""
  if callable(source):
    return iter(source() if generator is None else source(generator))
  return iter(source)


__all__ = [
    'AddLossWeights', 'Batch', 'BucketByLength', 'CastTo', 'ConcatenateToLMInput',
    'FilterByLength', 'FilterEmptyExamples', 'Inputs', 'Log', 'PadToLength', 'Parallel',
    'Prefetch', 'Serial', 'Shuffle', 'TruncateToLength', 'UnBatch', 'add_loss_weights',
    'addition_inputs', 'batch', 'bucket_by_length', 'pad_to_max_dims', 'prefetch',
    'random_inputs', 'sequence_copy_inputs', 'shuffle', 'simple_sequence_copy_inputs',
]
