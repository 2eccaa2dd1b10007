"""Trax 1.4's `Inputs` builders for gin configs: `batcher`, `batch_fn`, `make_inputs`, ...

`batcher(data_streams=...)` turns streams of single examples into an `Inputs` bundle of
batches, bucketing by length unless told otherwise; the `trainer_lib.train` of Trax 1.4
configs (`train.inputs = @trax.data.batcher`) reads its data through it.
"""

import logging
from typing import Any
from collections.abc import Iterable, Iterator, Sequence

from trax.data.batching import batch
from trax.data.batching import bucket_by_length
from trax.data.pipeline import Serial
from trax.data.pipeline import shuffle
from trax.data.mixing import Parallel
from trax.data.synthetic import Inputs
from trax.data.transforms import add_loss_weights

_log = logging.getLogger(__name__)


def make_inputs(train_stream: Any, eval_stream: Any = None) -> Inputs:
  """An `Inputs` from two batch streams (or lists of stages for `Serial`)."""
  if isinstance(train_stream, (list, tuple)):
    train_stream = Serial(train_stream)()
  if isinstance(eval_stream, (list, tuple)):
    eval_stream = Serial(eval_stream)()
  return Inputs(
    train_stream=lambda _: train_stream,
    eval_stream=None if eval_stream is None else lambda _: eval_stream,
  )


def make_additional_stream(stream: Any) -> Iterator[Any]:
  """The stream of a list of stages (for extra tasks in gin configs)."""
  return Serial(stream)()


def make_parallel_stream(
  streams: Sequence[Any], counters: 'Sequence[int] | None' = None
) -> Iterator[Any]:
  """The streams mixed by `Parallel` (for extra tasks in gin configs)."""
  return Parallel(streams, counters=counters)()


def batcher(
  data_streams: Any,
  variable_shapes: bool = True,
  batch_size_per_device: int = 32,
  batch_size: 'int | None' = None,
  eval_batch_size: int = 32,
  bucket_length: int = 32,
  buckets: 'tuple | None' = None,
  buckets_include_inputs_in_length: bool = False,
  batch_shuffle_size: 'int | None' = None,
  max_eval_length: 'int | None' = None,
  id_to_mask: 'int | None' = None,
  strict_pad_on_len: bool = False,
) -> Inputs:
  """An `Inputs` of batches from `(train_stream_fn, eval_stream_fn)` of single examples.

  Args:
    data_streams: a pair of functions making the train and eval example streams, or a
      function returning that pair (as `data_streams` in gin configs).
    variable_shapes: bucket by length (with heuristic buckets when `buckets` is None).
    batch_size_per_device: batch size per device, when `batch_size` is None.
    batch_size: the training batch size.
    eval_batch_size: the evaluation batch size.
    bucket_length: the length of the middle heuristic bucket.
    buckets: `(boundaries, batch_sizes)`, or None for the heuristic ones.
    buckets_include_inputs_in_length: measure inputs too, not only targets.
    batch_shuffle_size: shuffle training batches with a queue of this size.
    max_eval_length: the longest evaluation bucket.
    id_to_mask: target id given loss weight 0 (padding).
    strict_pad_on_len: pad lengths to multiples of the bucket boundary.
  """
  streams: Any = data_streams() if callable(data_streams) else data_streams
  train_stream, eval_stream = streams
  settings = (
    variable_shapes,
    batch_size_per_device,
    batch_size,
    eval_batch_size,
    bucket_length,
    buckets,
    buckets_include_inputs_in_length,
    batch_shuffle_size,
    max_eval_length,
    id_to_mask,
    strict_pad_on_len,
  )
  return Inputs(
    train_stream=lambda n_devices: batch_fn(train_stream(), True, n_devices, *settings),
    eval_stream=lambda n_devices: batch_fn(eval_stream(), False, n_devices, *settings),
    train_eval_stream=lambda n_devices: batch_fn(train_stream(), False, n_devices, *settings),
  )


def batch_fn(
  dataset: Iterable[Any],
  training: bool,
  n_devices: int,
  variable_shapes: bool,
  batch_size_per_device: int = 32,
  batch_size: 'int | None' = None,
  eval_batch_size: int = 32,
  bucket_length: int = 32,
  buckets: 'tuple | None' = None,
  buckets_include_inputs_in_length: bool = False,
  batch_shuffle_size: 'int | None' = None,
  max_eval_length: 'int | None' = None,
  id_to_mask: 'int | None' = None,
  strict_pad_on_len: bool = False,
) -> Iterator[Any]:
  """Batches a stream of `(inputs, targets[, weights])` examples; see `batcher`.

  Batch sizes are rounded down to a multiple of `n_devices` (at least `n_devices`).
  """
  batch_size = batch_size or batch_size_per_device * n_devices
  current = batch_size if training else eval_batch_size
  current = max(current // n_devices, 1) * n_devices
  if buckets is None and variable_shapes:
    buckets = _buckets_for_length(bucket_length, current, max_eval_length, n_devices, training)
  if buckets:

    def length(example: Any) -> int:
      targets_length = example[1].shape[0]
      inputs_length = example[0].shape[0] if buckets_include_inputs_in_length else 0
      return max(targets_length, inputs_length)

    boundaries, batch_sizes = buckets
    dataset = bucket_by_length(dataset, length, boundaries, batch_sizes, strict_pad_on_len)
  else:
    _log.info('Not bucketing; batch size %d.', current)
    dataset = batch(dataset, current)
  if training and batch_shuffle_size is not None:
    dataset = shuffle(dataset, batch_shuffle_size)
  return add_loss_weights(dataset, id_to_mask)


def _buckets_for_length(
  bucket_length: int, batch_size: int, max_eval_length: 'int | None', n_devices: int, training: bool
) -> tuple[list, list]:
  """Trax 1.4's heuristic buckets around `bucket_length` and `batch_size`.

  Boundaries at 1/4, 1/2, 1, 2, 4, 8 and 16 times `bucket_length` with batch sizes 4, 2,
  1, 1/2, ... times `batch_size` and 1 past the last; evaluation stops at
  `max_eval_length` (default 32 times `bucket_length`). Sizes are multiples of `n_devices`.
  """
  boundaries = [
    bucket_length // 4,
    bucket_length // 2,
    bucket_length,
    bucket_length * 2,
    bucket_length * 4,
    bucket_length * 8,
    bucket_length * 16,
  ]
  batch_sizes = [
    batch_size * 4,
    batch_size * 2,
    batch_size,
    batch_size // 2,
    batch_size // 4,
    batch_size // 8,
    batch_size // 16,
    1,
  ]
  if not training:
    max_eval_length = max_eval_length or bucket_length * 32
    boundaries = [b for b in boundaries if b < max_eval_length] + [max_eval_length]
    # Trax 1.4 appended the last boundary twice; batch sizes follow its count.
    boundaries.append(max_eval_length)
    batch_sizes = batch_sizes[: len(boundaries)] + [1]
    batch_sizes[-2] = batch_size // max_eval_length
    # Trax 1.4 had no batch size for examples longer than max_eval_length and failed on
    # them with an IndexError; they get batches of 1 here.
    batch_sizes += [1] * (len(boundaries) + 1 - len(batch_sizes))
  batch_sizes = [max(b // n_devices, 1) * n_devices for b in batch_sizes]
  return boundaries, batch_sizes
