"""The unpickler of Trax 1.x checkpoints: a pickle can only describe data, never build it.

`pickle.load` runs whatever a file says, and even a short list of admitted classes is not
enough: given `numpy.ndarray`, a pickle can build an object array whose elements are raw
pointers (reading it crashes the process), and BUILD on an admitted class sets attributes
of that class for the whole process. So `RestrictedUnpickler.find_class` never hands a
pickle a real class or function. Each admitted name maps to a stand-in:

- numpy arrays, dtypes and scalars, `ShapeDtype` and `History` become inert `_Spec`
  records: their `__setstate__` (BUILD) only checks and stores the pickled state;
- the few callables Trax 1.x files use (`set`, `complex`, `OrderedDict`, `_codecs.encode`,
  ...) are `_Factory` objects that build fresh plain values from plain arguments;
- stand-in classes refuse attribute assignment, and BUILD on a factory is refused, so a
  pickle can change nothing outside the objects it creates, even in a refused load.

After the pickle is read, `materialize` turns the records into real values: an array is
`np.frombuffer` on its raw bytes with a dtype taken from a fixed list of plain numeric
types (never from the pickled dtype state), so object, structured or string arrays cannot
be described at all. Names are admitted as Trax 1.x wrote them at any pickle protocol
(numpy arrays at protocols 0-2 carry their bytes through `_codecs.encode`).
"""

import collections
import math
import pickle
import sys
from typing import Any, Callable

import ml_dtypes
import numpy as np

from trax import shapes
from trax.supervised import checkpoint_reading
from trax.supervised import history as history_lib

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


class _Spec(metaclass=_Frozen):
  """An inert record a pickle may build; BUILD on it is refused unless overridden."""
  __slots__ = ()

  def __setstate__(self, state: Any) -> None:
    raise UnsafeCheckpointError(f'refusing BUILD on {self!r}')

  def __repr__(self) -> str:
    return f'<{type(self).__name__}>'


class _Marker(_Spec):
  """A name a pickle passes as an argument only (`numpy.ndarray`, `numpy.float32`, ...)."""
  __slots__ = ('name', 'base')

  def __init__(self, name: str, base: Any = None):
    self.name, self.base = name, base

  def __repr__(self) -> str:
    return self.name


class _Factory(_Marker):
  """A callable a pickle may REDUCE: builds fresh plain values from plain arguments."""
  __slots__ = ()

  def __call__(self, *args: Any) -> Any:
    return self.base(*args)


class _DType(_Spec):
  """A pickled `numpy.dtype`: a plain numeric type and a byte order."""
  __slots__ = ('base', 'order')

  def __init__(self, base: np.dtype):
    self.base, self.order = base, '='

  def __setstate__(self, state: Any) -> None:
    # (version, byte order, subarray, names, fields, itemsize, alignment, flags[, metadata])
    if not (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4)
            and state[1] in ('<', '>', '|', '=') and state[2:5] == (None, None, None)):
      raise UnsafeCheckpointError(f'refusing dtype state {state!r:.200}: only plain numeric '
                                  'dtypes are read (no subarrays or fields)')
    self.order = state[1]

  def dtype(self) -> np.dtype:
    native = '<' if sys.byteorder == 'little' else '>'
    if self.order in ('|', '=', native) or self.base.itemsize == 1:
      return self.base
    if self.base.kind in checkpoint_reading.NUMERIC_KINDS:
      return self.base.newbyteorder(self.order)  # pyright: ignore[reportArgumentType] (a checked '<' or '>')
    raise UnsafeCheckpointError(f'{self.base} in non-native byte order {self.order!r}')


class _Array(_Spec):
  """A pickled `numpy.ndarray`: shape, dtype, memory order and raw bytes."""
  __slots__ = ('shape', 'dtype', 'fortran', 'data')

  def __init__(self, shape: Any = None, dtype: Any = None, fortran: Any = False,
               data: Any = None):
    self.shape, self.dtype, self.fortran, self.data = shape, dtype, fortran, data

  def __setstate__(self, state: Any) -> None:
    # (version, shape, dtype, is_fortran, raw data), or without the version.
    if isinstance(state, tuple) and len(state) == 5:
      state = state[1:]
    if not (isinstance(state, tuple) and len(state) == 4):
      raise UnsafeCheckpointError(f'refusing array state {state!r:.200}')
    self.shape, self.dtype, self.fortran, self.data = state


class _Scalar(_Spec):
  """A pickled numpy scalar: a dtype and its bytes."""
  __slots__ = ('dtype', 'data')

  def __init__(self, dtype: Any, data: Any = None):
    self.dtype, self.data = dtype, data


class _Record(_Spec):
  """Stand-in for a class Trax 1.x pickled by NEWOBJ, then BUILD of its attributes."""
  __slots__ = ('state',)
  KEYS = frozenset()

  def __setstate__(self, state: Any) -> None:
    if isinstance(state, tuple) and len(state) == 2 and state[0] is None:
      state = state[1]  # (no __dict__, {slot: value})
    if not (isinstance(state, dict) and set(state) == self.KEYS):
      raise UnsafeCheckpointError(f'refusing {type(self).__name__} state {state!r:.200}')
    self.state = state


class _ShapeDtype(_Record):
  """Stand-in for `trax.shapes.ShapeDtype`."""
  __slots__ = ()
  KEYS = frozenset({'shape', 'dtype'})


class _History(_Record):
  """Stand-in for `trax.supervised.history.History` (its `_values` dict)."""
  __slots__ = ()
  KEYS = frozenset({'_values'})


def _plain_dtypes(module: Any, kinds: str) -> dict:
  """`{name: dtype}` of the scalar types in `module` whose dtypes are plain numbers."""
  found = {}
  for name in dir(module):
    value = getattr(module, name)
    if isinstance(value, type) and issubclass(value, np.generic):
      try:
        dtype = np.dtype(value)
      except TypeError:  # Abstract types (np.floating, ...).
        continue
      if dtype.kind in kinds and not dtype.hasobject and not dtype.fields:
        found[name] = dtype
  return found


_NUMPY_TYPES = _plain_dtypes(np, checkpoint_reading.NUMERIC_KINDS)
_ML_DTYPES = _plain_dtypes(ml_dtypes, 'V' + checkpoint_reading.NUMERIC_KINDS)
_DTYPE_CODES = {np.dtype(t).str[1:]: np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
    np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128)}
_NDARRAY = _Marker('numpy.ndarray')
_OBJECT = _Marker('builtins.object')


def _make_dtype(spec: Any, align: Any = False, copy: Any = False) -> _DType:
  del align, copy  # numpy's flags for a fresh copy; nothing to do for a new record.
  if isinstance(spec, str) and spec in _DTYPE_CODES:
    return _DType(_DTYPE_CODES[spec])
  if type(spec) is _Marker and spec.base is not None:  # numpy.float32, ml_dtypes.bfloat16
    return _DType(spec.base)
  raise UnsafeCheckpointError(f'refusing dtype {spec!r:.80}: only plain numeric dtypes '
                              f'are read ({", ".join(sorted(_DTYPE_CODES))}, ml_dtypes)')


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _Array:
  del shape, typecode  # numpy's placeholder shape; BUILD sets the real one.
  if subtype is not _NDARRAY:
    raise UnsafeCheckpointError(f'refusing to reconstruct an array of type {subtype!r:.80}')
  return _Array()


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> _Array:
  return _Array(shape, dtype, order == 'F', buffer)


def _reconstruct_jax_array(fun: Any, args: Any, arr_state: Any, aval_state: Any = None
                           ) -> _Array:
  """jax's `_reconstruct_array(np._reconstruct, args, array state, aval state)`."""
  del aval_state
  if fun is not _FACTORIES[('numpy._core.multiarray', '_reconstruct')]:
    raise UnsafeCheckpointError(f'refusing jax array reconstruction through {fun!r:.80}')
  array = fun(*args)
  array.__setstate__(arr_state)
  return array


def _encode(text: Any, encoding: Any = 'utf-8') -> bytes:
  """`_codecs.encode` as numpy uses it below protocol 3: bytes carried as latin-1 text."""
  if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
    raise UnsafeCheckpointError(f'refusing _codecs.encode of {type(text).__name__} with '
                                f'{encoding!r:.40}')
  return text.encode('latin-1')


def _reconstructor(cls: Any, base: Any, state: Any) -> _Spec:
  """`copyreg._reconstructor` (protocols 0-1) for the stand-in classes only."""
  if cls not in (_ShapeDtype, _History) or base is not _OBJECT or state is not None:
    raise UnsafeCheckpointError(f'refusing copyreg._reconstructor({cls!r:.60}, '
                                f'{base!r:.60}, {state!r:.60})')
  return cls.__new__(cls)


def _builtin(kind: type) -> Callable:
  def build(*args: Any) -> Any:
    # bytes(n) and bytearray(n) would allocate n zero bytes: only copies are built.
    if len(args) > 2 or (kind in (bytes, bytearray) and args
                         and not isinstance(args[0], (bytes, bytearray, str))):
      raise UnsafeCheckpointError(f'refusing {kind.__name__}{args!r:.80}')
    return kind(*args)
  return build


def _defaultdict(default_factory: Any = None, *items: Any) -> dict:
  del default_factory  # Read-only data: a plain dict does.
  return dict(*items[:1])


def _ordered_dict(*items: Any) -> collections.OrderedDict:
  return collections.OrderedDict(*items[:1])


_FACTORIES = {
    ('numpy', 'dtype'): _Factory('numpy.dtype', _make_dtype),
    ('numpy._core.multiarray', '_reconstruct'): _Factory('numpy._reconstruct', _reconstruct),
    ('numpy._core.multiarray', 'scalar'): _Factory('numpy.scalar', _Scalar),
    ('numpy._core.numeric', '_frombuffer'): _Factory('numpy._frombuffer', _frombuffer),
    ('jax._src.array', '_reconstruct_array'): _Factory('jax._reconstruct_array',
                                                       _reconstruct_jax_array),
    ('_codecs', 'encode'): _Factory('_codecs.encode', _encode),
    ('copyreg', '_reconstructor'): _Factory('copyreg._reconstructor', _reconstructor),
    ('collections', 'OrderedDict'): _Factory('collections.OrderedDict', _ordered_dict),
    ('collections', 'defaultdict'): _Factory('collections.defaultdict', _defaultdict),
    **{('builtins', kind.__name__): _Factory(kind.__name__, _builtin(kind))
       for kind in (list, tuple, dict, set, frozenset, int, float, complex, bool, str, bytes,
                    bytearray)},
}
_ADMITTED = {
    **_FACTORIES,
    ('jax._src.device_array', 'reconstruct_device_array'):
        _FACTORIES[('jax._src.array', '_reconstruct_array')],
    ('numpy', 'ndarray'): _NDARRAY,
    ('builtins', 'object'): _OBJECT,
    ('trax.shapes', 'ShapeDtype'): _ShapeDtype,
    ('trax.supervised.history', 'History'): _History,
}
_OLD_MODULES = {'numpy.core.multiarray': 'numpy._core.multiarray',
                'numpy.core.numeric': 'numpy._core.numeric', '__builtin__': 'builtins',
                'copy_reg': 'copyreg'}


class RestrictedUnpickler(pickle.Unpickler):
  """Reads a pickle of numpy arrays, plain containers, `ShapeDtype`s and `History`.

  `load()` returns real values: numpy arrays (or their `ShapeDtype`s if `arrays` is
  False), `ShapeDtype`, `History`, and plain Python containers and scalars.

  Raises:
    UnsafeCheckpointError: the pickle names anything else, or describes a non-numeric
      array, or tries to change an admitted object (see the module docstring).
  """

  def __init__(self, file: Any, source: str = 'the checkpoint', arrays: bool = True):
    super().__init__(file)
    self._source = source
    self._arrays = arrays

  def find_class(self, module: str, name: str) -> Any:
    key = (_OLD_MODULES.get(module, module), name)
    if key in _ADMITTED:
      return _ADMITTED[key]
    if module == 'numpy' and name in _NUMPY_TYPES:
      return _Marker(f'numpy.{name}', _NUMPY_TYPES[name])
    if module == 'ml_dtypes' and name in _ML_DTYPES:
      return _Marker(f'ml_dtypes.{name}', _ML_DTYPES[name])
    raise UnsafeCheckpointError(
        f'Refusing to load {module}.{name} from {self._source}: a Trax 1.x checkpoint '
        'should hold only numpy arrays, ShapeDtype and History, and loading other objects '
        'could run arbitrary code. If you trust the file, convert it with Trax 1.x itself.')

  def persistent_load(self, pid: Any) -> Any:
    raise UnsafeCheckpointError(f'Refusing persistent id {pid!r:.80} in {self._source}.')

  def load(self) -> Any:
    return materialize(super().load(), self._arrays)


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
  if kind is _Array:  # Without `arrays`, scalars and small arrays (history values) stay.
    if arrays or _SMALL_ARRAY_BYTES >= len(x.data or b''):
      array, x.data = _array(x), None  # The raw bytes go as soon as they are copied.
      return array
    return shapes.ShapeDtype(_shape(x.shape), _dtype(x.dtype))
  if kind is _Scalar:
    return _array(_Array((), x.dtype, False, x.data))[()]
  if kind is _DType:
    return x.dtype()
  if kind is _Marker and x.base is not None:
    return x.base
  if kind in (_ShapeDtype, _History):
    if not hasattr(x, 'state'):
      raise UnsafeCheckpointError(f'a {kind.__name__[1:]} without its state')
    if kind is _History:
      return history_lib.History.from_dict(walk(x.state))
    dtype = walk(x.state['dtype'])
    if not isinstance(dtype, np.dtype):
      raise UnsafeCheckpointError(f'a ShapeDtype of dtype {dtype!r:.80}')
    return shapes.ShapeDtype(_shape(walk(x.state['shape']), allow_none=True), dtype)
  raise UnsafeCheckpointError(f'refusing {x!r:.80} in the data: a Trax 1.x checkpoint '
                              'holds no functions or classes')


def _dtype(dtype: Any) -> np.dtype:
  if not isinstance(dtype, _DType):
    raise UnsafeCheckpointError(f'an array of dtype {dtype!r:.80}')
  return dtype.dtype()


def _shape(shape: Any, allow_none: bool = False) -> tuple:
  if not (isinstance(shape, tuple) and len(shape) <= 32 and all(
      (type(d) is int and d >= 0) or (allow_none and d is None) for d in shape)):
    raise UnsafeCheckpointError(f'an array of shape {shape!r:.80}')
  return shape


def _array(spec: _Array) -> np.ndarray:
  shape, dtype, data = _shape(spec.shape), _dtype(spec.dtype), spec.data
  if type(data) not in (bytes, bytearray):
    raise UnsafeCheckpointError(f'array data of type {type(data).__name__}: only the raw '
                                'bytes of numeric arrays are read (no object arrays)')
  n_bytes = math.prod(shape) * dtype.itemsize
  if len(data) != n_bytes:
    raise UnsafeCheckpointError(f'an array of shape {shape} and dtype {dtype} with '
                                f'{len(data):,} bytes of data instead of {n_bytes:,}')
  array = np.frombuffer(data, dtype=dtype).reshape(shape, order='F' if spec.fortran else 'C')
  native = dtype.newbyteorder('=') if dtype.kind in checkpoint_reading.NUMERIC_KINDS else dtype
  return array.astype(native, order='C')  # A native, writable copy.
