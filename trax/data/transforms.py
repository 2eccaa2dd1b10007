"""Per-example stream transformations: filter, truncate, pad, cast and add loss weights.

Each factory (`FilterByLength`, `PadToLength`, ...) returns a stream function
`generator -> generator` for `trax.data.Serial`. Examples are tuples of numpy arrays;
keys are positions in the tuple. Where Trax 1.4 had a bug, the fix is noted in the
docstring.
"""

import logging
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from trax.data.batching import example_length

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]

_log = logging.getLogger(__name__)


def FilterByLength(
  max_length: 'int | None',
  min_length: 'int | None' = 0,
  length_keys: 'Sequence[int] | None' = None,
  length_axis: int = 0,
) -> StreamFn:
  """Returns a stream function keeping examples with `min_length <= length <= max_length`.

  Args:
    max_length: longest length kept, or None for no upper bound.
    min_length: shortest length kept, or None for no lower bound.
    length_keys: which arrays of an example count for its length (the longest of them);
      default `[0, 1]`.
    length_axis: the axis of those arrays that holds the length.
  """
  if max_length is None and min_length is None:
    raise ValueError('FilterByLength needs max_length or min_length; both are None.')
  length_keys = [0, 1] if length_keys is None else list(length_keys)

  def filtered(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      length = example_length(example, length_axis, length_keys)
      if max_length is not None and length > max_length:
        continue
      if min_length is not None and length < min_length:
        continue
      yield example

  return filtered


def FilterEmptyExamples(axes: 'Sequence[int] | None' = None, debug: bool = False) -> StreamFn:
  """Returns a stream function dropping examples that hold an empty 1-D array.

  Args:
    axes: positions in the example to check; default all.
    debug: log every dropped example.
  """

  def filtered(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      checked = [x for i, x in enumerate(example) if axes is None or i in axes]
      if any(np.shape(x) == (0,) for x in checked):
        if debug:
          _log.info('FilterEmptyExamples dropped %r', example)
        continue
      yield example

  return filtered


def TruncateToLength(len_map: 'Mapping[int, Any] | None' = None) -> StreamFn:
  """Returns a stream function cutting arrays down to the maximum shapes in `len_map`.

  Args:
    len_map: maps an example position to its maximum shape, e.g. `{0: (256,), 1: (256,)}`
      keeps at most 256 tokens of inputs and targets. An int bounds the first axis only.
      None passes examples through.

  As in Trax 1.4, an array is cut only when its shape is larger than the maximum shape
  compared as tuples (lexicographically): `(5, 3)` with maximum `(6, 2)` stays whole. Trax
  1.4 then reshaped with `np.resize`, which wraps and mixes values unless the maximum
  shape is a leading block of the array (`(1, 5)` -> `(1, 3)`, `(8, 4)` -> `(6, 4)`);
  those cuts give the same numbers here, and the others raise a ValueError instead of
  mixing values. A single array stays a single array (Trax 1.4 made it a 1-tuple).
  """

  def truncate(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      yield _map_keys(example, len_map or {}, _truncate_array, 'TruncateToLength')

  return truncate


def Dup() -> StreamFn:
  """Returns a stream function copying the first array: `(x, *rest)` -> `(x, x, *rest)`.

  A single array `x` becomes `(x, x)`, as a language model's inputs and targets.
  """

  def dup(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      if isinstance(example, (list, tuple)):
        yield (example[0], *example)
      else:
        yield (example, example)

  return dup


def AppendValue(val: 'Mapping[int, Any] | None' = None) -> StreamFn:
  """Returns a stream function appending values to arrays along their last axis.

  Args:
    val: maps an example position to what is appended there, e.g. `{0: [1], 1: [1]}`
      appends an EOS id 1 to inputs and targets. None passes examples through. For a
      single-array example, `val[0]` is appended to the flattened array (as Trax 1.4).
  """

  def append(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      if val is None:
        yield example
      elif isinstance(example, (list, tuple)):
        yield _map_keys(example, val, lambda _, x, v: np.append(x, v, -1), 'AppendValue')
      else:
        yield np.append(example, val[0])

  return append


def PadToLength(
  len_map: 'Mapping[int, int] | None' = None, pad_value: 'Any' = 0, multiple: bool = False
) -> StreamFn:
  """Returns a stream function padding the first axis of arrays to lengths in `len_map`.

  Arrays already longer than their length are kept as they are.

  Args:
    len_map: maps an example position to a length, e.g. `{0: 512, 1: 512}`.
    pad_value: the padding value, one for all arrays or a dict keyed like `len_map`.
    multiple: if True pad to the next multiple of the length instead.

  Fixes Trax 1.4, where the default `pad_value=0` raised a TypeError, `multiple=True`
  padded by `length % value` instead of up to the next multiple, and multi-dimensional
  arrays were padded on every axis instead of the first.
  """
  if len_map is None:
    raise ValueError('PadToLength needs len_map, e.g. {0: 512, 1: 512}; got None.')

  def pad_fn(key: int, x: np.ndarray, length: int) -> np.ndarray:
    value = pad_value[key] if isinstance(pad_value, Mapping) else pad_value
    target = -(-x.shape[0] // length) * length if multiple else length
    pad_width = [(0, max(0, target - x.shape[0]))] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad_width, constant_values=value)

  def pad(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      yield _map_keys(example, len_map, pad_fn, 'PadToLength')

  return pad


def ConcatenateToLMInput(pad_to_length: 'int | None' = None) -> StreamFn:
  """Returns a stream function turning `(inputs, targets)` into a language-model example.

  A pair becomes `(x, x, weights)` with `x = inputs ++ targets` (zero-padded to
  `pad_to_length` if given) and `weights` 1 on the targets only; a single array `x` (or a
  1-tuple) becomes `(x, x)`.

  Args:
    pad_to_length: total length to pad to; an example longer than this is an error.
  """

  def concatenate(generator: Iterable[Any]) -> Iterator[Any]:
    for example in generator:
      if isinstance(example, (list, tuple)) and len(example) == 2:
        inputs, targets = example
        x = np.concatenate([inputs, targets], axis=-1)
        weights = np.concatenate(
          [np.zeros_like(inputs, np.float32), np.ones_like(targets, np.float32)], axis=-1
        )
        if pad_to_length is not None:
          extra = pad_to_length - x.shape[0]
          if extra < 0:
            raise ValueError(
              f'Example lengths ({inputs.shape[0]}, {targets.shape[0]}) '
              f'are longer than pad_to_length ({pad_to_length}).'
            )
          x, weights = np.pad(x, (0, extra)), np.pad(weights, (0, extra))
        yield (x, x, weights)
      elif isinstance(example, (list, tuple)) and len(example) == 1:
        yield (example[0], example[0])
      elif isinstance(example, np.ndarray):
        yield (example, example)
      else:
        raise ValueError(
          f'ConcatenateToLMInput expects an (inputs, targets) pair or one '
          f'array; got {type(example).__name__} {example!r}.'
        )

  return concatenate


def AddLossWeights(id_to_mask: 'int | None' = None) -> StreamFn:
  """Returns a stream function adding loss weights; see `add_loss_weights`."""
  return lambda g: add_loss_weights(g, id_to_mask=id_to_mask)


def add_loss_weights(generator: Iterable[Any], id_to_mask: 'int | None' = None) -> Iterator[Any]:
  """Adds loss weights to `(inputs, targets)` and masks padding in the weights.

  A pair `(inputs, targets)` gets weights of ones shaped like `targets`; a triple
  `(inputs, targets, weights)` keeps its weights. If `id_to_mask` is given, the weights
  are then zeroed wherever `targets == id_to_mask` (usually 0, the padding id).

  Args:
    generator: a stream of pairs or triples.
    id_to_mask: the target id whose positions get weight 0, or None.

  Yields:
    Triples `(inputs, targets, weights)` with float32 weights. Examples of other sizes
    pass through unchanged when `id_to_mask` is None.
  """
  for example in generator:
    if not isinstance(example, (list, tuple)) or len(example) not in (2, 3):
      if id_to_mask is not None:
        raise ValueError(
          f'add_loss_weights(id_to_mask={id_to_mask}) needs (inputs, targets[, weights]) '
          f'examples; got {_describe(example)}.'
        )
      yield example
      continue
    targets = example[1]
    weights = (
      np.ones_like(targets, np.float32) if len(example) == 2 else np.asarray(example[2], np.float32)
    )
    if id_to_mask is not None:
      weights = weights * (np.asarray(targets) != id_to_mask)
    yield (example[0], targets, weights)


def CastTo(dtype: Any = np.int32, indices: Sequence[int] = (0, 1), debug: bool = False) -> StreamFn:
  """Returns a stream function casting the arrays at `indices` to `dtype`.

  Args:
    dtype: the dtype to cast to.
    indices: positions in the example to cast.
    debug: log examples whose dtype changed (except the harmless int64 -> int32).
  """
  dtype = np.dtype(dtype)

  def cast(generator: Iterable[Any]) -> Iterator[Any]:
    for n, example in enumerate(generator):
      if not isinstance(example, (list, tuple)):
        raise ValueError(f'CastTo expects tuples of arrays; example {n} is {_describe(example)}.')
      example = list(example)
      changed = []
      for i in indices:
        original = np.asarray(example[i])
        if original.dtype != dtype:
          if not (original.dtype == np.int64 and dtype == np.int32):
            changed.append((i, original.dtype))
          example[i] = original.astype(dtype)
      if debug and changed:
        _log.info('CastTo: example %d had dtypes %s, cast to %s', n, changed, dtype)
      yield tuple(example)

  return cast


def _truncate_array(key: int, x: np.ndarray, max_shape: Any) -> np.ndarray:
  max_shape = (
    (max_shape,) + x.shape[1:] if np.isscalar(max_shape) else tuple(int(n) for n in max_shape)
  )
  if not x.shape > max_shape:  # Trax 1.4 compares shapes as tuples.
    return x
  if not _is_leading_block(max_shape, x.shape):
    raise ValueError(
      f'TruncateToLength got maximum shape {max_shape} for array {key} of shape '
      f'{x.shape}: Trax 1.4 would np.resize it, wrapping or mixing values. Give a shape '
      'that keeps whole trailing axes, e.g. (n,) + shape[1:].'
    )
  return x[tuple(slice(0, n) for n in max_shape)]


def _is_leading_block(block: tuple, shape: tuple) -> bool:
  """Whether the block `[:b0, :b1, ...]` of `shape` is its first elements in C order."""
  if len(block) != len(shape) or any(b > s for b, s in zip(block, shape)):
    return False
  k = next((i for i, b in enumerate(block) if b != 1), len(block))
  return block[k + 1 :] == shape[k + 1 :]


def _map_keys(
  example: Any,
  len_map: Mapping[int, Any],
  fn: Callable[[int, np.ndarray, Any], np.ndarray],
  where: str,
) -> Any:
  """Applies `fn(key, array, len_map[key])` to the keyed arrays of an example."""
  if isinstance(example, np.ndarray):
    unknown = set(len_map) - {0}
    if unknown:
      raise ValueError(
        f'{where} got keys {sorted(unknown)} for a single-array example; only key 0 applies.'
      )
    return fn(0, example, len_map[0]) if 0 in len_map else example
  if not isinstance(example, (list, tuple)):
    raise ValueError(f'{where} expects tuples of arrays or an array; got {_describe(example)}.')
  example = list(example)
  for key, value in len_map.items():
    if not -len(example) <= key < len(example):
      raise ValueError(f'{where} got key {key} for an example with {len(example)} arrays.')
    example[key] = fn(key, np.asarray(example[key]), value)
  return tuple(example)


def _describe(example: Any) -> str:
  if isinstance(example, (list, tuple)):
    return f'a {type(example).__name__} of {len(example)}: {[np.shape(x) for x in example]}'
  return f'{type(example).__name__} {np.shape(example)}'
