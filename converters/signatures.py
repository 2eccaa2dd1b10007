"""Serving signatures: input and output names, dynamic dimensions, sample inputs.

A trax model takes one array or a tuple of `n_in` arrays. An export flattens that into
named signature inputs (`tokens`, `inputs`, `input_0`, ...) and names each output
(`logits`, `output_0`, ...). In an input signature `None` marks a dimension known only at
run time; the batch (axis 0) is dynamic in every export unless a fixed-shape export (TF
Lite `dynamic_shapes=False`) asks otherwise.

Concrete stand-in sizes replace the `None`s where arrays must exist (initialization,
verification): several batch sizes and, for dynamic lengths, several lengths no longer
than the model's positional-encoding table.

Which sizes a model accepts is found by evaluating it abstractly (shapes only, nothing
computed): `accepted_dynamic_sizes` makes a recorded size dynamic where the model takes
other sizes too (a checkpoint records its training batch, e.g. length 64, but a language
model takes any length), and `size_limits` finds the largest size a dynamic dimension
takes (a positional table's `max_len`), which the serving signature then checks.
"""

from typing import Any
from collections.abc import Sequence

import numpy as np

from trax import shapes
import trax.layers as tl

ShapeDtype = shapes.ShapeDtype

# (batch, length) pairs the verification runs: different sizes catch shapes baked in.
VERIFY_SIZES = ((1, 8), (3, 5), (2, 12))
PROBE_SIZE = (2, 8)


def leaves(signature: Any) -> list[ShapeDtype]:
  """The `ShapeDtype`s of a signature (one, or a tuple/list of them), in input order."""
  if isinstance(signature, (tuple, list)):
    return [leaf for item in signature for leaf in leaves(item)]
  if not isinstance(signature, ShapeDtype):
    raise TypeError(
      f'Expected a ShapeDtype or a tuple of them as input signature; got {signature!r:.200}.'
    )
  return [signature]


def structure(flat: Sequence[Any], n_in: int) -> Any:
  """Flat inputs as a trax layer takes them: one array, or a tuple of `n_in` arrays."""
  if len(flat) != n_in:
    raise ValueError(f'The model takes {n_in} inputs, but the signature has {len(flat)}.')
  return flat[0] if n_in == 1 else tuple(flat)


def outputs_as_list(outputs: Any) -> list:
  """A trax layer's outputs (one array or a tuple) as a flat list."""
  return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]


def with_dynamic_batch(signature: list[ShapeDtype]) -> list[ShapeDtype]:
  """`shapes.with_dynamic_batch`, refusing scalars: exported inputs need a batch axis."""
  for s in signature:
    if not s.shape:
      raise ValueError(
        f'Input signature {s} is a scalar; exported inputs need a leading batch dimension.'
      )
  return shapes.with_dynamic_batch(list(signature))


def random_inputs(signature: list[ShapeDtype], seed: int, int_high: int = 8) -> list[np.ndarray]:
  """`shapes.random_inputs` for verifying an export (the error says how to skip it)."""
  try:
    return shapes.random_inputs(list(signature), seed, int_high)
  except ValueError as e:
    raise ValueError(
      f'{e} The export is verified on random inputs; pass verify=False and check it yourself.'
    ) from None


def has_dynamic_length(signature: list[ShapeDtype]) -> bool:
  return any(d is None for s in signature for d in s.shape[1:])


def input_names(signature: list[ShapeDtype], given: 'Sequence[str] | None') -> list[str]:
  """`given`, else `tokens` for one integer input, `inputs` for one other, `input_<i>`."""
  if given is not None:
    return _checked_names(given, len(signature), 'input_names', 'inputs')
  if len(signature) == 1:
    return ['tokens' if np.issubdtype(signature[0].dtype, np.integer) else 'inputs']
  return [f'input_{i}' for i in range(len(signature))]


def output_names(n_out: int, given: 'Sequence[str] | None') -> list[str]:
  """`given`, else `logits` for a single output, `output_<i>` for several."""
  if given is not None:
    return _checked_names(given, n_out, 'output_names', 'outputs')
  return ['logits'] if n_out == 1 else [f'output_{i}' for i in range(n_out)]


def _checked_names(names: Sequence[str], n: int, argument: str, what: str) -> list[str]:
  names = list(names)
  if len(names) != n or len(set(names)) != n:
    raise ValueError(f'{argument}={names} must name each of the {n} {what} once.')
  for name in names:
    if not name.replace('_', 'a').isalnum() or name[0].isdigit():
      raise ValueError(
        f'{argument}: {name!r} is not a valid signature name (letters, '
        'digits and underscores, not starting with a digit).'
      )
  return names


def accepted_dynamic_sizes(
  layer: tl.Layer, signature: list[ShapeDtype], max_len: 'int | None'
) -> list[ShapeDtype]:
  """`signature` with `None` for each fixed non-batch size the model accepts changed.

  Each size `d` is tried at a few other sizes (`d - 1`, `d + 1`, `d // 2`, `2 d`, no more
  than `max_len`); it becomes dynamic only if the model takes them all. Sizes that must
  change together (a source and its mask) are tried together when one alone fails.
  """
  signature = list(signature)
  fixed = {
    (i, axis): d
    for i, s in enumerate(signature)
    for axis, d in enumerate(s.shape)
    if axis > 0 and d is not None
  }
  groups = [[dim] for dim in fixed]
  for size in sorted(set(fixed.values())):
    group = [dim for dim, d in fixed.items() if d == size]
    if len(group) > 1:
      groups.append(group)
  for group in groups:
    group = [(i, axis) for i, axis in group if signature[i].shape[axis] is not None]
    if not group:
      continue
    size = fixed[group[0]]  # Still fixed, so still its recorded size.
    others = [
      n
      for n in dict.fromkeys((size - 1, size + 1, size // 2, 2 * size))
      if n >= 1 and n != size and (max_len is None or n <= max_len)
    ][:2]
    if others and all(_accepts(layer, _resized(signature, group, n), max_len) for n in others):
      signature = _resized(signature, group, None)
  return signature


def size_limits(layer: tl.Layer, signature: list[ShapeDtype], max_len: 'int | None') -> list[tuple]:
  """Per input, per axis: the largest size a dynamic (non-batch) dimension takes, or None.

  The model's positional table (`max_len`) is the only bound known; a dimension is
  limited by it if the model takes `max_len` there but not `max_len + 1`.
  """
  limits: list[list[int | None]] = [[None] * len(s.shape) for s in signature]
  if max_len is None:
    return [tuple(l) for l in limits]
  for i, s in enumerate(signature):
    for axis, d in enumerate(s.shape):
      if axis > 0 and d is None:
        takes = lambda n, i=i, axis=axis: _accepts(
          layer, _resized(signature, [(i, axis)], n), max_len
        )
        if takes(max_len) and not takes(max_len + 1):
          limits[i][axis] = max_len
  return [tuple(l) for l in limits]


def _accepts(layer: tl.Layer, signature: list[ShapeDtype], max_len: 'int | None') -> bool:
  """Whether the model computes on inputs of `signature` (evaluated abstractly)."""
  batch, length = PROBE_SIZE
  probe = shapes.concrete(signature, batch, length if max_len is None else min(length, max_len))
  try:
    layer.output_signature(structure(probe, layer.n_in))
  except (tl.LayerError, TypeError, ValueError):
    return False
  return True


def _resized(
  signature: list[ShapeDtype], dims: list[tuple], size: 'int | None'
) -> list[ShapeDtype]:
  """`signature` with dimension `axis` of input `i` set to `size`, for each `(i, axis)`."""

  def shape(i, s):
    return tuple(size if (i, axis) in dims else d for axis, d in enumerate(s.shape))

  return [ShapeDtype(shape(i, s), s.dtype) for i, s in enumerate(signature)]


def verification_shapes(
  signature: list[ShapeDtype], max_len: 'int | None'
) -> list[list[ShapeDtype]]:
  """Concrete signatures to verify an export on: several batch sizes and lengths."""
  cases = []
  for batch, length in VERIFY_SIZES:
    if max_len is not None:
      length = min(length, max_len)
    case = shapes.concrete(signature, batch, length)
    if case not in cases:
      cases.append(case)
  return cases


def model_sizes(layer: tl.Layer) -> tuple['int | None', 'int | None']:
  """`(smallest vocabulary, shortest positional table)` among the model's layers.

  Read from the weights the layers hold: random token ids stay in the vocabulary and
  random lengths within the positional encoding.
  """
  vocab, max_len = None, None
  for sublayer in all_layers(layer):
    weights = sublayer.weights
    if isinstance(sublayer, tl.Embedding) and hasattr(weights, 'shape'):
      vocab = min(vocab or weights.shape[0], weights.shape[0])
    if isinstance(sublayer, tl.PositionalEncoding) and hasattr(weights, 'shape'):
      max_len = min(max_len or weights.shape[-2], weights.shape[-2])
  return vocab, max_len


def all_layers(layer: tl.Layer) -> list[tl.Layer]:
  """`layer` and every layer below it, each once, depth first (`Layer.walk`)."""
  return [current for _, current in layer.walk()]
