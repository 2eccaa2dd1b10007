"""Composing input pipelines: `Serial`, `Shuffle`, `Log` and `debug_pipeline`.

A pipeline stage is a function `generator -> generator`; `Serial` chains stages, and the
first stage is called with `None`, so it is usually a data source. See `trax.data.inputs`
for an example pipeline.

Randomness: `Shuffle` takes a `seed`; each call of the stage makes its own
`numpy.random.Generator` from that seed, so rebuilding a pipeline replays the same order.
`seed=None` draws fresh entropy from the operating system. Nothing here reads or changes
numpy's global random state.
"""

import functools
import logging
from typing import Any
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from trax import shapes

StreamFn = Callable[..., Iterator[Any]]  # f(generator=None): the input stream, if any.

_log = logging.getLogger(__name__)


def Serial(*fns: Any) -> StreamFn:
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
      raise TypeError(
        f'Serial stage {i} is {stage!r} of type {type(stage).__name__}; '
        'expected a function from a generator to a generator.'
      )

  def composed(generator: Any = None) -> Iterator[Any]:
    for stage in stages:
      generator = stage(generator)
    return generator

  return composed


def Shuffle(queue_size: int = 1024, seed: 'int | None' = None) -> StreamFn:
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


def shuffle(
  samples: Iterable[Any], queue_size: int, rng: 'np.random.Generator | None' = None
) -> Iterator[Any]:
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


def Log(n_steps_per_example: int = 1, only_shapes: bool = True) -> StreamFn:
  """Returns a stream function that passes examples through and prints some of them.

  Args:
    n_steps_per_example: print one example out of this many (the first, then every n-th).
    only_shapes: if True print the shapes and dtypes of the arrays, else the arrays.
  """
  if n_steps_per_example < 1:
    raise ValueError(f'Log n_steps_per_example must be at least 1; got {n_steps_per_example}.')

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


def debug_pipeline(
  f: Callable[..., Iterator[Any]],
  debug: bool = False,
  method: str = 'pow',
  log_prefix: 'str | None' = None,
) -> Callable:
  """Wraps a generator function to log the examples it yields (for debugging pipelines).

  Args:
    f: the generator function.
    debug: if False, `f` is returned unchanged.
    method: `'pow'` logs examples 1, 2, 4, 8, ...; `'every'` logs all.
    log_prefix: the log line's prefix; default `f`'s name.
  """
  if not debug:
    return f
  if method not in ('pow', 'every'):
    raise ValueError(f"debug_pipeline method must be 'pow' or 'every'; got {method!r}.")

  @functools.wraps(f)
  def logged(*args: Any, **kwargs: Any) -> Iterator[Any]:
    prefix = log_prefix or f.__name__
    for count, example in enumerate(f(*args, **kwargs), start=1):
      if method == 'every' or count & (count - 1) == 0:
        _log.info('%s example[%d] = %r', prefix, count, example)
      yield example

  return logged
