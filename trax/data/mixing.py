"""Mixing several data streams into one: `Parallel`, with Trax 1.4's order of examples.

Two schedules, both exactly as Trax 1.4 interleaves (its tests fix the order):

- Counting (default): the sources are visited in turn and source `i` gives an example
  while it has given fewer than `counters[i]` since the last reset; the counts are reset
  as soon as their sum reaches the sum of `counters`, even in the middle of a pass. With
  counters (2, 1) that is `a b a b a a b a a b ...`, with (2, 1, 3) `a b c a c c a b c ...`.
- Gradual (`gradually_reweight=True`): the sources are sorted by counter and nested, so
  counters (1, 20, 40) for a, b, c give `(a (b c c)^20)^*`: each source's counter divided
  by the previous one says how often it repeats inside the previous one's example.
  `use_remainders` then adds what the divisions left over (counters 1, 20, 45 add five
  more examples of c per round).

Trax 1.4 raised a RuntimeError when a source ran out; here the mixed stream ends there.
"""

from typing import Any
from collections.abc import Callable, Iterator, Sequence

StreamFn = Callable[..., Iterator[Any]]


def Parallel(
  fns: 'Sequence[Any] | None' = None,
  counters: 'Sequence[int] | None' = None,
  reweight_by_minimum: bool = False,
  gradually_reweight: bool = False,
  use_remainders: bool = False,
) -> StreamFn:
  """Mixes several data sources into one stream, in proportion to `counters`.

  Args:
    fns: the data sources: stream functions (called with the incoming generator, or with
      no argument when there is none, as in Trax 1.4) or iterables, used as they are.
    counters: how many examples to take from each source per round; default one each.
      Sources with a zero counter are dropped.
    reweight_by_minimum: divide every counter by the smallest one (rounding down), so
      counters (10000, 100000) become (1, 10) and the sources interleave finely.
    gradually_reweight: nest the sources sorted by counter (see the module docstring).
    use_remainders: with `gradually_reweight`, also take what the divisions left over.

  Returns:
    A stream function `f(gen=None)` yielding the mixed examples; it ends when a source
    runs out.

  >>> mixed = Parallel([lambda: iter(range(10)), lambda: iter(range(10, 20))],
  ...                  counters=(2, 1))()
  >>> [next(mixed) for _ in range(7)]
  [0, 10, 1, 11, 2, 3, 12]
  """
  if fns is None or not list(fns):
    raise ValueError('Parallel needs a list of data sources as fns; got none.')
  fns = list(fns)
  if counters:
    counters = [int(c) for c in counters]
    if len(counters) != len(fns):
      raise ValueError(
        f'Parallel got {len(fns)} sources but {len(counters)} counters '
        f'{counters}; give one counter per source.'
      )
    if any(c < 0 for c in counters) or not any(counters):
      raise ValueError(f'Parallel counters must be non-negative and not all zero; got {counters}.')
    fns = [f for f, c in zip(fns, counters) if c]
    counters = [c for c in counters if c]
  else:
    counters = [1] * len(fns)
  if reweight_by_minimum:
    counters = [c // min(counters) for c in counters]

  def parallel_generator(gen: Any = None) -> Iterator[Any]:
    streams = [_open_source(f, gen) for f in fns]
    schedule = _gradual(counters, use_remainders) if gradually_reweight else _counting(counters)
    for i in schedule:
      try:
        yield next(streams[i])
      except StopIteration:
        return

  return parallel_generator


def _counting(counters: Sequence[int]) -> Iterator[int]:
  """Source indices in Trax 1.4's counting order (reset when the counts sum up)."""
  current = [0] * len(counters)
  while True:
    for i, counter in enumerate(counters):
      if current[i] < counter:
        current[i] += 1
        if sum(current) == sum(counters):
          current = [0] * len(counters)
        yield i


def _gradual(counters: Sequence[int], use_remainders: bool) -> Iterator[int]:
  """Source indices of the nested schedule, smallest counter outermost."""
  order = sorted(range(len(counters)), key=lambda i: counters[i])

  def nest(level: int, previous: int) -> Iterator[int]:
    if level < len(order):
      i = order[level]
      for _ in range(counters[i] // previous):
        yield i
        yield from nest(level + 1, counters[i])

  while True:
    yield from nest(0, min(counters))
    if use_remainders:
      processed = 1
      for level, i in enumerate(order):
        yield from [i] * (counters[i] - processed)
        if level + 1 < len(order):
          processed *= counters[order[level + 1]] // counters[i]


def _open_source(source: Any, generator: Any) -> Iterator[Any]:
  """An iterator from a data source: a stream function or an iterable."""
  if not callable(source):
    return iter(source)
  stream: Any = source() if generator is None else source(generator)
  return iter(stream)
