"""Each process its own part of the data, when training runs as `jax.distributed` processes.

A multi-process `Loop` takes from every process that process's part of each batch (see
`trax.supervised.devices`), so the processes must read different data. The sources of
`trax.data` do this by default, through this module: `TFDS` reads a slice of the training
split per process (and every `count`-th evaluation example), `from_tf_dataset` (and so
`dataset_to_stream`) keeps every `count`-th element of its dataset, and the synthetic
tasks draw an independent random sequence per process. For any other source, put
`ShardForProcess()` right after it in a pipeline.

The parts are disjoint and together hold all the data. With one process nothing changes.
"""

import itertools
from typing import Any
from collections.abc import Callable, Iterable, Iterator


def process_index_and_count(
  index: 'int | None' = None, count: 'int | None' = None
) -> tuple[int, int]:
  """`(index, count)` of this process among all, the given values taking precedence.

  Raises:
    ValueError: `index` is not in `[0, count)`.
  """
  if index is None or count is None:
    import jax

    index = jax.process_index() if index is None else index
    count = jax.process_count() if count is None else count
  if not 0 <= index < count:
    raise ValueError(f'A process index must be in [0, {count}); got {index}.')
  return index, count


def shard_for_process(
  examples: Iterable[Any], index: 'int | None' = None, count: 'int | None' = None
) -> Iterator[Any]:
  """Every `count`-th of `examples`, starting at the `index`-th (this process's part)."""
  index, count = process_index_and_count(index, count)
  return itertools.islice(examples, index, None, count)


def ShardForProcess(
  index: 'int | None' = None, count: 'int | None' = None
) -> Callable[[Any], Iterator[Any]]:
  """A pipeline stage keeping this process's part of a stream (`shard_for_process`).

  >>> list(ShardForProcess(index=1, count=3)(iter(range(10))))
  [1, 4, 7]
  """
  return lambda examples: shard_for_process(examples, index, count)


def shard_tf_dataset(dataset: Any, index: 'int | None' = None, count: 'int | None' = None) -> Any:
  """This process's part of a `tf.data.Dataset`: every `count`-th element from `index`."""
  index, count = process_index_and_count(index, count)
  return dataset if count == 1 else dataset.shard(count, index)


def seed_for_process(*entropy: int) -> list:
  """Seed entropy for a `numpy.random.Generator` of this process's own random data."""
  index, count = process_index_and_count()
  return list(entropy) + ([index] if count > 1 else [])
