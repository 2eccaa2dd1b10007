"""Shape checks at the serving signature: a wrong input fails naming what was expected.

Neither a SavedModel nor a TF Lite model checks its inputs against its signature
(measured, TF 2.21): a `(1, 8, 5)` tensor passes a `(None, None, 4)` signature, from Python
and from TF Serving alike, and fails deep inside (`Incompatible shapes: [8,4] vs.
[1,8,5]`), or computes a wrong answer. An export therefore checks each input in its graph
(`checked`): its rank, its fixed dimensions, and the largest size a dynamic dimension
takes (a positional table's `max_len`; see `signatures.size_limits`). An input without
such a limit is checked by one `EnsureShape` op, named after the signature and the input
("Shape of tensor inputs [1,64,64,3] is not compatible with expected shape [?,32,32,3]");
one with a limit by an `Assert` over a few shape ops, whose message says
`expected shape (None, <=64)`. Both are independent of the input's size, but the chain of
shape ops runs before the model can start: at batch 1 it made the benchmark conv net's
SavedModel 3-5% slower than one `EnsureShape` (`bench/export.py`).

TF Lite drops `Assert` ops when it converts a graph, and its signature runner resizes an
input to whatever shape arrives, fixed dimensions included, so a `.tflite` file checks
nothing itself. Its input tensors keep the rank and fixed sizes (`shape_signature`), and
`check_arrays` runs the same check in Python from those (see `tflite.run`).
"""

from collections.abc import Sequence
import re

import numpy as np

from converters.signatures import ShapeDtype


def expected_shape(spec: ShapeDtype, limits: 'Sequence | None' = None) -> str:
  """`spec`'s shape as users read it: `(None, <=64, 4)`, `None` for any size."""
  limits = limits or [None] * len(spec.shape)
  dims = [
    str(d) if d is not None else (f'<={limit}' if limit else 'None')
    for d, limit in zip(spec.shape, limits)
  ]
  return '(' + ', '.join(dims) + (',)' if len(dims) == 1 else ')')


def checked(
  tensors: list,
  specs: Sequence[ShapeDtype],
  names: Sequence[str],
  limits: 'Sequence | None',
  where: str,
) -> list:
  """`tensors`, each running only after its shape passed the check (TF graph ops).

  Args:
    tensors: the serving inputs, in signature order.
    specs: their `ShapeDtype`s (`None` for dynamic dimensions).
    names: their signature names.
    limits: per input, per axis, the largest size allowed (or `None`); `None` for none.
    where: what the message names, e.g. "signature 'serving_default'".

  Returns:
    The tensors behind an `EnsureShape` (inputs without limits) or an `Assert` whose
    message names the input, the expected shape and the shape that arrived.
  """
  import tensorflow as tf

  limits = limits or [None] * len(specs)
  result = []
  for x, spec, name, limit in zip(tensors, specs, names, limits):
    if not any(limit or ()):
      op_name = re.sub(r'[^A-Za-z0-9_.]+', '_', f'{where} input {name} expected shape')
      result.append(tf.ensure_shape(x, spec.shape, name=op_name))
      continue
    low, high = _bounds(spec, limit)
    shape = tf.shape(x, out_type=tf.int32)
    # One entry past the rank reads -1 exactly when the rank is right; comparing the
    # static rank instead would be folded away, as the graph assumes the signature's.
    padded = tf.concat([shape, tf.fill([len(low)], -1)], 0)[: len(low)]
    ok = tf.reduce_all(tf.logical_and(padded >= low, padded <= high))
    message = (
      f'{where} input {name!r}: expected shape {expected_shape(spec, limit)} '
      '(None: any size), got shape'
    )
    with tf.control_dependencies([tf.debugging.Assert(ok, [message, shape])]):
      result.append(tf.identity(x))
  return result


def check_arrays(
  arrays: list,
  specs: Sequence[ShapeDtype],
  names: Sequence[str],
  limits: 'Sequence | None',
  where: str,
) -> None:
  """The check of `checked`, on numpy arrays; raises ValueError naming the input."""
  limits = limits or [None] * len(specs)
  for array, spec, name, limit in zip(arrays, specs, names, limits):
    low, high = _bounds(spec, limit)
    shape = np.shape(array)
    padded = np.array([*shape, *[-1] * len(low)][: len(low)])
    if not (np.all(padded >= low) and np.all(padded <= high)):
      raise ValueError(
        f'{where} input {name!r}: expected shape '
        f'{expected_shape(spec, limit)} (None: any size), got shape '
        f'{tuple(shape)}.'
      )


def _bounds(spec: ShapeDtype, limit: 'Sequence | None') -> tuple[np.ndarray, np.ndarray]:
  """Lowest and highest size of each axis, then `-1, -1` for the axis past the rank."""
  limit = limit or [None] * len(spec.shape)
  most = np.iinfo(np.int32).max
  low = [0 if d is None else d for d in spec.shape] + [-1]
  high = [(l or most) if d is None else d for d, l in zip(spec.shape, limit)] + [-1]
  return np.array(low, np.int32), np.array(high, np.int32)
