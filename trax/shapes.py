"""Shapes and dtypes of (nested) arrays, without the arrays.

`ShapeDtype` keeps Trax 1.x's class path and `__slots__`: Trax 1.x checkpoints pickle it.
"""

from typing import Any
from collections.abc import Callable, Sequence

import ml_dtypes
import numpy as np

NUMERIC_KINDS = 'biufc'  # bool, signed and unsigned integers, floats, complex numbers


class ShapeDtype:
  """The shape and dtype of an array; `None` marks a dimension unknown until run time.

  >>> ShapeDtype((8, 128), np.int32)
  ShapeDtype{shape:(8, 128), dtype:int32}
  """

  __slots__ = ('shape', 'dtype')

  def __init__(self, shape: Sequence['int | None'], dtype: Any = np.float32):
    as_list = getattr(shape, 'as_list', None)  # tf.TensorShape
    self.shape = tuple(as_list() if as_list else shape)
    self.dtype = as_numpy_dtype(dtype)

  def __eq__(self, other: Any) -> bool:
    return isinstance(other, ShapeDtype) and self.shape == other.shape and self.dtype == other.dtype

  def __hash__(self) -> int:
    return hash((self.shape, self.dtype))

  def __repr__(self) -> str:
    return f'ShapeDtype{{shape:{self.shape}, dtype:{self.dtype}}}'

  def __len__(self):
    raise TypeError(
      f'len() of unsized object {self}: a ShapeDtype is not a sequence '
      '(did you mean a tuple of ShapeDtypes?)'
    )

  @property
  def ndim(self) -> int:
    return len(self.shape)

  def as_tuple(self) -> tuple:
    return self.shape, self.dtype

  def replace(self, **kwargs: Any) -> 'ShapeDtype':
    """Returns a copy with `shape` and/or `dtype` replaced."""
    return ShapeDtype(kwargs.pop('shape', self.shape), kwargs.pop('dtype', self.dtype))


def as_numpy_dtype(dtype: Any) -> np.dtype:
  """numpy dtype of a numpy, jax or TensorFlow dtype (or a dtype name)."""
  return np.dtype(getattr(dtype, 'as_numpy_dtype', dtype))


def signature(obj: Any) -> Any:
  """Returns the `ShapeDtype` tree of an array tree (tuples, lists and dicts kept)."""
  if isinstance(obj, (list, tuple)):
    sigs = tuple(signature(x) for x in obj)
    return sigs if isinstance(obj, tuple) else list(sigs)
  if isinstance(obj, dict):
    return {k: signature(v) for k, v in obj.items()}
  if isinstance(obj, ShapeDtype):
    return obj
  if not hasattr(obj, 'shape'):
    obj = np.asarray(obj)
  return ShapeDtype(obj.shape, obj.dtype)


def splice_signatures(*sigs: Any) -> Any:
  """Concatenates signatures (single ShapeDtypes or tuples of them) into one.

  Returns a single `ShapeDtype` when the result has one element, else a tuple.
  """
  result = []
  for sig in sigs:
    result.extend(sig if isinstance(sig, (list, tuple)) else [sig])
  return result[0] if len(result) == 1 else tuple(result)


def assert_shape_equals(array: Any, shape: Sequence['int | None']) -> Any:
  """Raises ValueError unless `array.shape == shape`; returns `array`."""
  if tuple(array.shape) != tuple(shape):
    raise ValueError(f'Expected shape {tuple(shape)}, got {tuple(array.shape)}.')
  return array


def assert_same_shape(array1: Any, array2: Any) -> tuple[Any, Any]:
  """Raises ValueError unless both arrays have the same shape; returns them."""
  if tuple(array1.shape) != tuple(array2.shape):
    raise ValueError(f'Expected equal shapes, got {tuple(array1.shape)} and {tuple(array2.shape)}.')
  return array1, array2


# Signature trees: `ShapeDtype`s in tuples, lists and dicts.


def map_signature(f: Callable[[ShapeDtype], Any], tree: Any) -> Any:
  """Applies `f` to the leaves of a tuple/list/dict tree, keeping the containers."""
  if isinstance(tree, (tuple, list)):
    return type(tree)(map_signature(f, x) for x in tree)
  if isinstance(tree, dict):
    return {k: map_signature(f, v) for k, v in tree.items()}
  return f(tree)


def with_dynamic_batch(tree: Any) -> Any:
  """The signature with the leading (batch) size of every non-scalar input set to `None`."""
  return map_signature(lambda s: s.replace(shape=(None, *s.shape[1:])) if s.shape else s, tree)


def concrete(tree: Any, batch: int, length: 'int | None' = None) -> Any:
  """The signature with `None` sizes made concrete: `batch` on axis 0, `length` (default
  `batch`) on the others."""
  length = batch if length is None else length
  return map_signature(
    lambda s: s.replace(
      shape=tuple(
        d if d is not None else (batch if i == 0 else length) for i, d in enumerate(s.shape)
      )
    ),
    tree,
  )


def random_inputs(tree: Any, seed: int = 0, int_high: int = 8) -> Any:
  """Random arrays for a signature tree: normal floats, integers in `[0, int_high)`, bools.

  Raises:
    ValueError: a size is unknown (`None`; see `concrete`), or a dtype is not numeric.
  """
  rng = np.random.default_rng(seed)

  def sample(s: ShapeDtype) -> np.ndarray:
    shape = tuple(d for d in s.shape if d is not None)
    if len(shape) != len(s.shape):
      raise ValueError(
        f'Random inputs need every size known; {s} has dynamic ones (see shapes.concrete).'
      )
    dtype = np.dtype(s.dtype)
    if np.issubdtype(dtype, np.integer):
      return rng.integers(0, int_high, shape).astype(dtype)
    if dtype == np.bool_:
      return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.inexact) or dtype.kind == 'V':  # 'V': ml_dtypes' floats.
      return rng.normal(size=shape).astype(dtype)
    raise ValueError(f'Cannot make random inputs of dtype {dtype} (signature {s}).')

  return map_signature(sample, tree)


def dtype_by_name(name: str) -> np.dtype:
  """The numeric dtype named `name`, ml_dtypes' included (looked up, never evaluated).

  Raises:
    ValueError: `name` names no numeric dtype.
  """
  extra = getattr(ml_dtypes, name, None) if isinstance(name, str) else None
  try:
    dtype = np.dtype(extra if isinstance(extra, type) else name)
  except TypeError:
    raise ValueError(f'{name!r:.60} is not a dtype name') from None
  if dtype.hasobject or dtype.fields or dtype.kind not in 'V' + NUMERIC_KINDS:
    raise ValueError(f'{name!r:.60} is not a numeric dtype')
  return dtype


def signature_to_json(tree: Any) -> Any:
  """A signature tree (or the signature of an array tree) as JSON data.

  A `ShapeDtype` is `{'shape': [...], 'dtype': name}`, a tuple `{'tuple': [...]}`, a dict
  `{'dict': {...}}`, a list a list; `None` stays `None`. Checkpoints, exports and Keras
  configs all store signatures in this form.
  """
  if tree is None:
    return None
  if isinstance(tree, ShapeDtype):
    return {
      'shape': [d if d is None else int(d) for d in tree.shape],
      'dtype': np.dtype(tree.dtype).name,
    }
  if isinstance(tree, tuple):
    return {'tuple': [signature_to_json(x) for x in tree]}
  if isinstance(tree, list):
    return [signature_to_json(x) for x in tree]
  if isinstance(tree, dict):
    return {'dict': {k: signature_to_json(v) for k, v in tree.items()}}
  return signature_to_json(signature(tree))


def signature_from_json(data: Any) -> Any:
  """Inverse of `signature_to_json`; `ShapeDtype`s pass through, a missing dtype is float32.

  Also reads what users write by hand: a dict of such values without the `'dict'` marker.

  Raises:
    ValueError: `data` is not a signature in this form, or names a non-numeric dtype.
  """
  if data is None or isinstance(data, ShapeDtype):
    return data
  if isinstance(data, (tuple, list)):
    return type(data)(signature_from_json(x) for x in data)
  if not isinstance(data, dict):
    raise ValueError(
      f'Expected a signature (ShapeDtype, tuple, list or dict of them, or its '
      f'JSON form); got {data!r:.200}.'
    )
  if 'tuple' in data:
    return tuple(signature_from_json(x) for x in data['tuple'])
  if 'dict' in data:
    return {k: signature_from_json(v) for k, v in data['dict'].items()}
  if 'shape' in data:
    return ShapeDtype(tuple(data['shape']), dtype_by_name(data.get('dtype', 'float32')))
  return {k: signature_from_json(v) for k, v in data.items()}
