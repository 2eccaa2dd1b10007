"""Resumable reading: count the examples a stream gave, skip them after a restart.

`CountAndSkip(name)` counts, in the module-level dict `data_counters`, how many examples
passed under `name`; a new stream of the same name first skips that many. The training
`Loop` saves the counts with each checkpoint (`data_counters<host>.pkl` in its output
directory, as Trax 1.4) and loads them when it starts, so a deterministic pipeline with
`CountAndSkip` continues where the checkpointed run was.

`UniformlySeek` starts each host at its own fraction of a dataset instead.
"""

import logging
import os
import pickle
import time
from typing import Any
from collections.abc import Callable, Iterable, Iterator

from trax import atomic_files
from trax import file_io

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]

_log = logging.getLogger(__name__)

# name -> examples given so far. Mutated in place (never rebound), so the name imported
# elsewhere (`trax.data.inputs.data_counters`) stays the same dict.
data_counters: dict = {}


def CountAndSkip(name: str) -> StreamFn:
  """Returns a stream function that counts examples and skips those counted before."""
  return lambda g: count_and_skip(g, name)


def count_and_skip(generator: Iterable[Any], name: str) -> Iterator[Any]:
  """Yields the examples of `generator` after the first `data_counters[name]`, counting.

  Args:
    generator: the stream; it should give the same examples each time it is made.
    name: the counter's name, unique per stream.

  Yields:
    The examples not yet counted; each one increments `data_counters[name]`.
  """
  seen = 0
  for example in generator:
    seen += 1
    data_counters.setdefault(name, 0)  # Inside the loop: counters may load meanwhile.
    if seen > data_counters[name]:
      data_counters[name] += 1
      yield example


def save_data_counters(output_dir: str, host_id: 'int | None' = None) -> None:
  """Writes `data_counters` to `<output_dir>/data_counters<host_id>.pkl` (Trax 1.4's file)."""
  with atomic_files.atomic_write(_counters_path(output_dir, host_id)) as f:
    pickle.dump({str(k): int(v) for k, v in data_counters.items()}, f)


def load_data_counters(output_dir: str, host_id: 'int | None' = None) -> None:
  """Replaces `data_counters` by those saved in `output_dir`, if the file exists.

  The file is read with the restricted unpickler of Trax 1.x checkpoints: only a dict of
  names to counts is accepted.

  Raises:
    ValueError: the file holds something else than a dict of names to ints.
  """
  path = _counters_path(output_dir, host_id)
  if not file_io.exists(path):
    _log.info('No data counters to load at %s.', path)
    return
  from trax.checkpoint_files import trax1_checkpoints

  try:
    with file_io.open_file(path, 'rb') as f:
      loaded = trax1_checkpoints.RestrictedUnpickler(f, source=path).load()
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
    raise ValueError(f'{path} is not a readable data counters file: {e}') from None
  if not (
    isinstance(loaded, dict)
    and all(isinstance(v, int) and not isinstance(v, bool) for v in loaded.values())
  ):
    raise ValueError(
      f'{path} should hold a dict of stream names to example counts; got {type(loaded).__name__}.'
    )
  data_counters.clear()
  data_counters.update(loaded)


def UniformlySeek(
  name: 'str | None' = None,
  host_id: 'int | None' = None,
  n_hosts: 'int | None' = None,
  dataset_size: 'int | None' = None,
) -> StreamFn:
  """Returns a stream function starting host `host_id` at its share of the dataset.

  Host `i` of `n` skips the first `i * int(dataset_size / n)` examples.

  Args:
    name: the dataset's name, for the log.
    host_id: this host's index; default `jax.process_index()`.
    n_hosts: number of hosts; default `jax.process_count()`.
    dataset_size: number of examples; 2**18 if not given (with an error logged), as in
      Trax 1.4.
  """
  if not name:
    raise ValueError('UniformlySeek needs the name of the dataset it seeks in.')
  if not dataset_size:
    dataset_size = 2**18
    _log.error('No dataset size given to UniformlySeek, assuming %d.', dataset_size)
  if host_id is None or n_hosts is None:
    import jax

    host_id = jax.process_index() if host_id is None else host_id
    n_hosts = n_hosts or jax.process_count()
  n_skip = host_id * int(dataset_size / n_hosts)

  def seek(generator: Iterable[Any]) -> Iterator[Any]:
    generator = iter(generator)
    start = time.time()
    for _ in range(n_skip):
      next(generator)
    _log.info(
      'Dataset %s host %d skipped %d examples in %.1f s.',
      name,
      host_id,
      n_skip,
      time.time() - start,
    )
    yield from generator

  return seek


def _counters_path(output_dir: str, host_id: 'int | None') -> str:
  if host_id is None:
    import jax

    host_id = jax.process_index()
  return os.path.join(output_dir, f'data_counters{host_id}.pkl')
