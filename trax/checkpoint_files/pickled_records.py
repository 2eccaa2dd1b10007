"""What a Trax 1.x checkpoint's pickle may build: inert records, then real values.

`RestrictedUnpickler` (see its module) hands a pickle only these stand-ins: records of
numpy arrays, dtypes and scalars, `ShapeDtype` and `History`, whose `__setstate__` (BUILD)
only checks and stores the pickled state, and factories of fresh plain values. Their
classes refuse attribute assignment, so a pickle can change nothing outside the objects it
creates. `materialize` then turns a tree of records into real values: an array is
`np.frombuffer` on its raw bytes with a dtype from a fixed list of plain numeric types
(never from the pickled dtype state), so object, structured or string arrays cannot be
described at all.
"""

import collections
import math
import pickle
import sys
from typing import Any
from collections.abc import Callable

import numpy as np

from trax import shapes
from trax import checkpoint_reading
from trax import history as history_lib

_MAX_DEPTH = 100
_SMALL_ARRAY_BYTES = 1024


class UnsafeCheckpointError(pickle.UnpicklingError, checkpoint_reading.CheckpointError):
  """A pickle refers to a name, or builds a value, that a Trax 1.x checkpoint never holds."""


class _Frozen(type):
  """Metaclass of the stand-ins: a pickle cannot set attributes of their classes."""

  def __setattr__(cls, name: str, value: Any) -> None:
    raise UnsafeCheckpointError(f'refusing to set {name!r} on class {cls.__name__}')

  def __delattr__(cls, name: str) -> None:
    raise UnsafeCheckpointError(f'refusing to delete {name!r} of class {cls.__name__}')


class Spec(metaclass=_Frozen):
  """An inert record a pickle may build; BUILD on it is refused unless overridden."""

  __slots__ = ()

  def __setstate__(self, state: Any) -> None:
    raise UnsafeCheckpointError(f'refusing BUILD on {self!r}')

  def __repr__(self) -> str:
    return f'<{type(self).__name__}>'


class Marker(Spec):
  """A name a pickle passes as an argument only (`numpy.ndarray`, `numpy.float32`, ...)."""

  __slots__ = ('name', 'base')

  def __init__(self, name: str, base: Any = None):
    self.name, self.base = name, base

  def __repr__(self) -> str:
    return self.name


class Factory(Marker):
  """A callable a pickle may REDUCE: builds fresh plain values from plain arguments."""

  __slots__ = ()

  def __call__(self, *args: Any) -> Any:
    return self.base(*args)


class PickledDType(Spec):
  """A pickled `numpy.dtype`: a plain numeric type and a byte order."""

  __slots__ = ('base', 'order')

  def __init__(self, base: np.dtype):
    self.base, self.order = base, '='

  def __setstate__(self, state: Any) -> None:
    # (version, byte order, subarray, names, fields, itemsize, alignment, flags[, metadata])
    if not (
      isinstance(state, tuple)
      and len(state) in (8, 9)
      and state[0] in (3, 4)
      and state[1] in ('<', '>', '|', '=')
      and state[2:5] == (None, None, None)
    ):
      raise UnsafeCheckpointError(
        f'refusing dtype state {state!r:.200}: only plain numeric '
        'dtypes are read (no subarrays or fields)'
      )
    self.order = state[1]

  def dtype(self) -> np.dtype:
    native = '<' if sys.byteorder == 'little' else '>'
    if self.order in ('|', '=', native) or self.base.itemsize == 1:
      return self.base
    if self.base.kind in checkpoint_reading.NUMERIC_KINDS:
      return self.base.newbyteorder(self.order)  # pyright: ignore[reportArgumentType] (a checked '<' or '>')
    raise UnsafeCheckpointError(f'{self.base} in non-native byte order {self.order!r}')


class PickledArray(Spec):
  """A pickled `numpy.ndarray`: shape, dtype, memory order and raw bytes."""

  __slots__ = ('shape', 'dtype', 'fortran', 'data')

  def __init__(self, shape: Any = None, dtype: Any = None, fortran: Any = False, data: Any = None):
    self.shape, self.dtype, self.fortran, self.data = shape, dtype, fortran, data

  def __setstate__(self, state: Any) -> None:
    # (version, shape, dtype, is_fortran, raw data), or without the version.
    if isinstance(state, tuple) and len(state) == 5:
      state = state[1:]
    if not (isinstance(state, tuple) and len(state) == 4):
      raise UnsafeCheckpointError(f'refusing array state {state!r:.200}')
    self.shape, self.dtype, self.fortran, self.data = state


class PickledScalar(Spec):
  """A pickled numpy scalar: a dtype and its bytes."""

  __slots__ = ('dtype', 'data')

  def __init__(self, dtype: Any, data: Any = None):
    self.dtype, self.data = dtype, data


class Record(Spec):
  """Stand-in for a class Trax 1.x pickled by NEWOBJ, then BUILD of its attributes."""

  __slots__ = ('state',)
  KEYS = frozenset()
  NAME = ''

  def __setstate__(self, state: Any) -> None:
    if isinstance(state, tuple) and len(state) == 2 and state[0] is None:
      state = state[1]  # (no __dict__, {slot: value})
    if not (isinstance(state, dict) and set(state) == self.KEYS):
      raise UnsafeCheckpointError(f'refusing {type(self).__name__} state {state!r:.200}')
    self.state = state


class ShapeDtypeRecord(Record):
  """Stand-in for `trax.shapes.ShapeDtype`."""

  __slots__ = ()
  KEYS = frozenset({'shape', 'dtype'})
  NAME = 'ShapeDtype'


class HistoryRecord(Record):
  """Stand-in for `trax.supervised.history.History` (its `_values` dict)."""

  __slots__ = ()
  KEYS = frozenset({'_values'})
  NAME = 'History'


def materialize(tree: Any, arrays: bool = True) -> Any:
  """Real values for a tree of pickled records (see the module docstring)."""
  done: dict[int, Any] = {}
  in_progress = object()

  def walk(x: Any, depth: int) -> Any:
    if x is None or type(x) in (bool, int, float, complex, str, bytes):
      return x
    if depth > _MAX_DEPTH:
      raise UnsafeCheckpointError(f'data nested deeper than {_MAX_DEPTH} levels')
    if id(x) in done:
      if done[id(x)] is in_progress:
        raise UnsafeCheckpointError('a container that contains itself')
      return done[id(x)]
    done[id(x)] = in_progress
    done[id(x)] = result = _value(x, lambda y: walk(y, depth + 1), arrays)
    return result

  return walk(tree, 0)


def _value(x: Any, walk: Callable, arrays: bool) -> Any:
  kind = type(x)
  if kind in (list, tuple, set, frozenset):
    return kind(walk(y) for y in x)
  if kind is bytearray:
    return bytes(x)
  if kind in (dict, collections.OrderedDict):
    return kind((walk(k), walk(v)) for k, v in x.items())
  if kind is PickledArray:  # Without `arrays`, scalars and small arrays (history values) stay.
    if arrays or _SMALL_ARRAY_BYTES >= len(x.data or b''):
      array, x.data = _array(x), None  # The raw bytes go as soon as they are copied.
      return array
    return shapes.ShapeDtype(_shape(x.shape), _dtype(x.dtype))
  if kind is PickledScalar:
    return _array(PickledArray((), x.dtype, False, x.data))[()]
  if kind is PickledDType:
    return x.dtype()
  if kind is Marker and x.base is not None:
    return x.base
  if kind in (ShapeDtypeRecord, HistoryRecord):
    if not hasattr(x, 'state'):
      raise UnsafeCheckpointError(f'a {kind.NAME} without its state')
    if kind is HistoryRecord:
      return history_lib.History.from_dict(walk(x.state))
    dtype = walk(x.state['dtype'])
    if not isinstance(dtype, np.dtype):
      raise UnsafeCheckpointError(f'a ShapeDtype of dtype {dtype!r:.80}')
    return shapes.ShapeDtype(_shape(walk(x.state['shape']), allow_none=True), dtype)
  raise UnsafeCheckpointError(
    f'refusing {x!r:.80} in the data: a Trax 1.x checkpoint holds no functions or classes'
  )


def _dtype(dtype: Any) -> np.dtype:
  if not isinstance(dtype, PickledDType):
    raise UnsafeCheckpointError(f'an array of dtype {dtype!r:.80}')
  return dtype.dtype()


def _shape(shape: Any, allow_none: bool = False) -> tuple:
  if not (
    isinstance(shape, tuple)
    and len(shape) <= 32
    and all((type(d) is int and d >= 0) or (allow_none and d is None) for d in shape)
  ):
    raise UnsafeCheckpointError(f'an array of shape {shape!r:.80}')
  return shape


def _array(spec: PickledArray) -> np.ndarray:
  shape, dtype, data = _shape(spec.shape), _dtype(spec.dtype), spec.data
  if type(data) not in (bytes, bytearray):
    raise UnsafeCheckpointError(
      f'array data of type {type(data).__name__}: only the raw '
      'bytes of numeric arrays are read (no object arrays)'
    )
  n_bytes = math.prod(shape) * dtype.itemsize
  if len(data) != n_bytes:
    raise UnsafeCheckpointError(
      f'an array of shape {shape} and dtype {dtype} with '
      f'{len(data):,} bytes of data instead of {n_bytes:,}'
    )
  array = np.frombuffer(data, dtype=dtype).reshape(shape, order='F' if spec.fortran else 'C')
  native = dtype.newbyteorder('=') if dtype.kind in checkpoint_reading.NUMERIC_KINDS else dtype
  return array.astype(native, order='C')  # A native, writable copy.
