"""Shapes and dtypes of (nested) arrays, without the arrays.

`ShapeDtype` keeps Trax 1.x's class path and `__slots__`: Trax 1.x checkpoints pickle it.
"""

from typing import Any, Sequence

import numpy as np


class ShapeDtype:
  """The shape and dtype of an array; `None` marks a dimension unknown until run time.

  >>> ShapeDtype((8, 128), np.int32)
  ShapeDtype{shape:(8, 128), dtype:int32}
  """

  __slots__ = ('shape', 'dtype')

  def __init__(self, shape: Sequence['int | None'], dtype: Any = np.float32):
    if hasattr(shape, 'as_list'):  # tf.TensorShape
      shape = shape.as_list()
    self.shape = tuple(shape)
    self.dtype = as_numpy_dtype(dtype)

  def __eq__(self, other: Any) -> bool:
    return (isinstance(other, ShapeDtype) and self.shape == other.shape
            and self.dtype == other.dtype)

  def __hash__(self) -> int:
    return hash((self.shape, self.dtype))

  def __repr__(self) -> str:
    return f'ShapeDtype{{shape:{self.shape}, dtype:{self.dtype}}}'

  def __len__(self):
    raise TypeError(f'len() of unsized object {self}: a ShapeDtype is not a sequence '
                    '(did you mean a tuple of ShapeDtypes?)')

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
    raise ValueError(f'Expected equal shapes, got {tuple(array1.shape)} and '
                     f'{tuple(array2.shape)}.')
  return array1, array2
