"""Batching: group examples into padded numpy batches, optionally bucketed by length.

Padding always adds zeros at the end of each axis, so a batch of token sequences can be
masked by `AddLossWeights(id_to_mask=0)`. Examples left over when a finite stream ends
(fewer than a batch, or an unfilled bucket) are dropped, as in Trax 1.4.
"""

import math
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]


def Batch(batch_size: int) -> StreamFn:
  """Returns a stream function that batches examples; see `batch`."""
  _check_batch_size(batch_size, 'Batch')
  return lambda g: batch(g, batch_size)


def batch(generator: Iterable[Any], batch_size: int) -> Iterator[Any]:
  """Groups examples into batches, padding each array to the largest in its batch.

  Like `tf.data.Dataset.padded_batch`: arrays at the same position in the examples are
  zero-padded at the end of every axis to the largest shape among them and stacked.

  Args:
    generator: a stream of examples, each a tuple (or list) of arrays or a single array.
    batch_size: number of examples per batch.

  Yields:
    Tuples of arrays with a leading batch axis of size `batch_size` (single arrays when
    the examples are single arrays).
  """
  _check_batch_size(batch_size, 'batch')
  buffer = []
  for example in generator:
    buffer.append(example)
    if len(buffer) == batch_size:
      yield _stack_padded(buffer, boundary=None, strict_pad_on_len=False)
      buffer = []


def UnBatch() -> StreamFn:
  """Returns a stream function that splits batches back into single examples."""

  def unbatch(generator: Iterable[Any]) -> Iterator[Any]:
    for batched in generator:
      if not isinstance(batched, (list, tuple)):
        yield from np.asarray(batched)
        continue
      sizes = {np.shape(x)[0] for x in batched}
      if len(sizes) != 1:
        raise ValueError(
          f'UnBatch got arrays of shapes {[np.shape(x) for x in batched]}: '
          'all must have the same leading (batch) dimension.'
        )
      for i in range(sizes.pop()):
        yield tuple(x[i] for x in batched)

  return unbatch


def pad_to_max_dims(
  tensors: Sequence[np.ndarray],
  boundary: 'int | Sequence[int | None] | None' = None,
  strict_pad_on_len: bool = False,
) -> np.ndarray:
  """Pads arrays to a common shape and stacks them into one batch, as Trax 1.4 does.

  Without `boundary`, each axis is padded to the largest size among `tensors`: shapes
  (2, 10) and (3, 9) give a batch of shape (2, 3, 10).

  With an int `boundary`, every axis is enlarged to `boundary` (or kept, if larger), so
  fewer distinct shapes reach XLA: (8, 10) and (8, 9) with boundary 12 give (2, 12, 12).
  If the largest size is less than half of `boundary`, the axis goes to the next power of
  two instead: (2, 10) and (3, 9) with boundary 12 give (2, 4, 12). Only an axis whose
  sizes all equal `boundary` is left alone, so small fixed axes grow too (3 features
  become 4 with boundary 12), as in Trax 1.4 (whose docstring says otherwise).

  With `strict_pad_on_len=True`, or a list `boundary` (one multiple per axis; 0 or None:
  pad that axis to its largest size), every axis is padded to the next multiple of its
  boundary: (15,), (12,), (14,) with boundary 10 give (3, 20).

  Args:
    tensors: arrays of the same rank.
    boundary: None, a size to pad towards, or a list of one multiple per axis.
    strict_pad_on_len: pad to multiples of `boundary`.

  Returns:
    The zero-padded arrays stacked along a new leading axis.
  """
  tensors = [np.asarray(t) for t in tensors]
  ranks = {t.ndim for t in tensors}
  if len(ranks) != 1:
    raise ValueError(
      f'Cannot batch arrays of different ranks; got shapes {[t.shape for t in tensors]}.'
    )
  ndim = ranks.pop()
  max_dims = [max(t.shape[i] for t in tensors) for i in range(ndim)]
  if isinstance(boundary, (list, tuple)) or (boundary is not None and strict_pad_on_len):
    multiples = list(boundary) if isinstance(boundary, (list, tuple)) else [boundary] * ndim
    if len(multiples) != ndim:
      raise ValueError(
        f'pad_to_max_dims got {len(multiples)} boundaries {multiples} '
        f'for arrays of rank {ndim}; give one per axis.'
      )
    target = [m * math.ceil(d / m) if m else d for d, m in zip(max_dims, multiples)]
  elif boundary is None:
    target = max_dims
  else:
    target = []
    for i, d in enumerate(max_dims):
      if d == boundary and all(t.shape[i] == d for t in tensors):
        target.append(d)
      elif 2 * d < boundary:
        target.append(_next_power_of_2(d))
      else:
        target.append(max(d, boundary))
  padded = [  # np.pad costs ~15 us even when it pads nothing; np.stack copies anyway.
    np.pad(t, [(0, n - s) for n, s in zip(target, t.shape)]) if t.shape != tuple(target) else t
    for t in tensors
  ]
  return np.stack(padded)


def BucketByLength(
  boundaries: Sequence[int],
  batch_sizes: Sequence[int],
  length_keys: 'Sequence[int] | None' = None,
  length_axis: int = 0,
  strict_pad_on_len: bool = False,
) -> StreamFn:
  """Returns a stream function that batches examples of similar length together.

  Args:
    boundaries: increasing upper bounds (inclusive) of the bucket lengths.
    batch_sizes: batch size of each bucket; one more than `boundaries`, the last for
      examples longer than every boundary.
    length_keys: which arrays of an example count for its length (the longest of them);
      default `[0, 1]` (inputs and targets).
    length_axis: the axis of those arrays that holds the length.
    strict_pad_on_len: pad axis 0 to a multiple of the bucket boundary; see
      `pad_to_max_dims`.
  """
  length_keys = [0, 1] if length_keys is None else list(length_keys)
  length_fn = lambda x: example_length(x, length_axis, length_keys)
  _check_buckets(boundaries, batch_sizes)
  return lambda g: bucket_by_length(g, length_fn, boundaries, batch_sizes, strict_pad_on_len)


def bucket_by_length(
  generator: Iterable[Any],
  length_fn: Callable[[Any], int],
  boundaries: Sequence[int],
  batch_sizes: Sequence[int],
  strict_pad_on_len: bool = False,
) -> Iterator[Any]:
  """Puts examples into buckets by length and yields a bucket when it is full.

  An example of length `l` goes to the first bucket `i` with `l <= boundaries[i]`, or to
  the last bucket if it is longer than all boundaries. When bucket `i` holds
  `batch_sizes[i]` examples they are padded (towards `boundaries[i]`, see
  `pad_to_max_dims`; the last bucket only to its longest example) and yielded as a batch.

  Args:
    generator: a stream of examples (tuples of arrays or single arrays).
    length_fn: the length of an example.
    boundaries: increasing upper bounds (inclusive) of the bucket lengths.
    batch_sizes: batch size of each bucket, `len(boundaries) + 1` of them.
    strict_pad_on_len: pad axis 0 to a multiple of the bucket's boundary.

  Yields:
    Padded batches, in the order the buckets fill up.
  """
  _check_buckets(boundaries, batch_sizes)
  bounds: list[int | None] = [*boundaries, None]  # The last bucket is unbounded.
  buckets = [[] for _ in batch_sizes]
  for example in generator:
    length = length_fn(example)
    i = next(i for i, b in enumerate(bounds) if b is None or length <= b)
    buckets[i].append(example)
    if len(buckets[i]) == batch_sizes[i]:
      yield _stack_padded(buckets[i], bounds[i], strict_pad_on_len)
      buckets[i] = []


def example_length(example: Any, length_axis: int, length_keys: Sequence[int]) -> int:
  """The length of an example: the longest size along `length_axis` of its keyed arrays."""
  if not isinstance(example, (list, tuple)):
    return np.shape(example)[length_axis]
  try:
    return max(np.shape(example[k])[length_axis] for k in length_keys)
  except IndexError as e:
    raise ValueError(
      f'Cannot measure the length of an example with shapes '
      f'{[np.shape(x) for x in example]} at keys {list(length_keys)}, axis {length_axis}; '
      'set length_keys/length_axis to arrays and axes the example has.'
    ) from e


def _stack_padded(examples: list, boundary: 'int | None', strict_pad_on_len: bool) -> Any:
  """Batches a list of examples (tuples of arrays or single arrays) with padding."""
  if not isinstance(examples[0], (list, tuple)):
    return pad_to_max_dims(examples, boundary, strict_pad_on_len)
  sizes = {len(x) for x in examples}
  if len(sizes) != 1:
    raise ValueError(f'Cannot batch examples with different numbers of arrays: {sorted(sizes)}.')
  batched = []
  for position, arrays in enumerate(zip(*examples)):
    try:
      batched.append(pad_to_max_dims(arrays, boundary, strict_pad_on_len))
    except ValueError as e:
      raise ValueError(f'While batching array {position} of the examples: {e}') from e
  return tuple(batched)


def _next_power_of_2(n: int) -> int:
  return 1 if n <= 1 else 2 ** math.ceil(math.log2(n))


def _check_batch_size(batch_size: int, where: str) -> None:
  if batch_size <= 0:
    raise ValueError(f'{where} got batch_size={batch_size}; it must be positive.')


def _check_buckets(boundaries: Sequence[int], batch_sizes: Sequence[int]) -> None:
  if len(batch_sizes) != len(boundaries) + 1:
    raise ValueError(
      f'Got {len(boundaries)} boundaries {list(boundaries)} and {len(batch_sizes)} '
      f'batch_sizes {list(batch_sizes)}; there must be one more batch size than '
      'boundaries (the last one is for examples longer than every boundary).'
    )
  if any(b <= 0 for b in batch_sizes):
    raise ValueError(f'Bucket batch_sizes must be positive; got {list(batch_sizes)}.')
  if list(boundaries) != sorted(boundaries):
    raise ValueError(f'Bucket boundaries must increase; got {list(boundaries)}.')
