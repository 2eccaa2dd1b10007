"""The unpickler of Trax 1.x checkpoints: a pickle can only describe data, never build it.

`pickle.load` runs whatever a file says, and even a short list of admitted classes is not
enough: given `numpy.ndarray`, a pickle can build an object array whose elements are raw
pointers (reading it crashes the process), and BUILD on an admitted class sets attributes
of that class for the whole process. So `RestrictedUnpickler.find_class` never hands a
pickle a real class or function. Each admitted name maps to a stand-in:

- numpy arrays, dtypes and scalars, `ShapeDtype` and `History` become inert records
  (`pickled_records`): their `__setstate__` (BUILD) only checks and stores the state;
- the few callables Trax 1.x files use (`set`, `complex`, `OrderedDict`, `_codecs.encode`,
  ...) are `Factory` objects that build fresh plain values from plain arguments;
- stand-in classes refuse attribute assignment, and BUILD on a factory is refused, so a
  pickle can change nothing outside the objects it creates, even in a refused load.

After the pickle is read, `materialize` turns the records into real values: an array is
`np.frombuffer` on its raw bytes with a dtype taken from a fixed list of plain numeric
types (never from the pickled dtype state), so object, structured or string arrays cannot
be described at all. Names are admitted as Trax 1.x wrote them at any pickle protocol
(numpy arrays at protocols 0-2 carry their bytes through `_codecs.encode`).
"""

import collections
import pickle
from typing import Any
from collections.abc import Callable

import ml_dtypes
import numpy as np

from trax import checkpoint_reading
from trax.checkpoint_files.pickled_records import Factory
from trax.checkpoint_files.pickled_records import HistoryRecord
from trax.checkpoint_files.pickled_records import Marker
from trax.checkpoint_files.pickled_records import PickledArray
from trax.checkpoint_files.pickled_records import PickledDType
from trax.checkpoint_files.pickled_records import PickledScalar
from trax.checkpoint_files.pickled_records import ShapeDtypeRecord
from trax.checkpoint_files.pickled_records import Spec
from trax.checkpoint_files.pickled_records import UnsafeCheckpointError
from trax.checkpoint_files.pickled_records import materialize

__all__ = ['RestrictedUnpickler', 'UnsafeCheckpointError', 'materialize']


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
_DTYPE_CODES = {
  np.dtype(t).str[1:]: np.dtype(t)
  for t in (
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
  )
}
_NDARRAY = Marker('numpy.ndarray')
_OBJECT = Marker('builtins.object')


def _make_dtype(spec: Any, align: Any = False, copy: Any = False) -> PickledDType:
  del align, copy  # numpy's flags for a fresh copy; nothing to do for a new record.
  if isinstance(spec, str) and spec in _DTYPE_CODES:
    return PickledDType(_DTYPE_CODES[spec])
  if type(spec) is Marker and spec.base is not None:  # numpy.float32, ml_dtypes.bfloat16
    return PickledDType(spec.base)
  raise UnsafeCheckpointError(
    f'refusing dtype {spec!r:.80}: only plain numeric dtypes '
    f'are read ({", ".join(sorted(_DTYPE_CODES))}, ml_dtypes)'
  )


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> PickledArray:
  del shape, typecode  # numpy's placeholder shape; BUILD sets the real one.
  if subtype is not _NDARRAY:
    raise UnsafeCheckpointError(f'refusing to reconstruct an array of type {subtype!r:.80}')
  return PickledArray()


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> PickledArray:
  return PickledArray(shape, dtype, order == 'F', buffer)


def _reconstruct_jax_array(
  fun: Any, args: Any, arr_state: Any, aval_state: Any = None
) -> PickledArray:
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
    raise UnsafeCheckpointError(
      f'refusing _codecs.encode of {type(text).__name__} with {encoding!r:.40}'
    )
  return text.encode('latin-1')


def _reconstructor(cls: Any, base: Any, state: Any) -> Spec:
  """`copyreg._reconstructor` (protocols 0-1) for the stand-in classes only."""
  if cls not in (ShapeDtypeRecord, HistoryRecord) or base is not _OBJECT or state is not None:
    raise UnsafeCheckpointError(
      f'refusing copyreg._reconstructor({cls!r:.60}, {base!r:.60}, {state!r:.60})'
    )
  return cls.__new__(cls)


def _builtin(kind: type) -> Callable:
  def build(*args: Any) -> Any:
    # bytes(n) and bytearray(n) would allocate n zero bytes: only copies are built.
    if len(args) > 2 or (
      kind in (bytes, bytearray) and args and not isinstance(args[0], (bytes, bytearray, str))
    ):
      raise UnsafeCheckpointError(f'refusing {kind.__name__}{args!r:.80}')
    return kind(*args)

  return build


def _defaultdict(default_factory: Any = None, *items: Any) -> dict:
  del default_factory  # Read-only data: a plain dict does.
  return dict(*items[:1])


def _ordered_dict(*items: Any) -> collections.OrderedDict:
  return collections.OrderedDict(*items[:1])


_FACTORIES = {
  ('numpy', 'dtype'): Factory('numpy.dtype', _make_dtype),
  ('numpy._core.multiarray', '_reconstruct'): Factory('numpy._reconstruct', _reconstruct),
  ('numpy._core.multiarray', 'scalar'): Factory('numpy.scalar', PickledScalar),
  ('numpy._core.numeric', '_frombuffer'): Factory('numpy._frombuffer', _frombuffer),
  ('jax._src.array', '_reconstruct_array'): Factory(
    'jax._reconstruct_array', _reconstruct_jax_array
  ),
  ('_codecs', 'encode'): Factory('_codecs.encode', _encode),
  ('copyreg', '_reconstructor'): Factory('copyreg._reconstructor', _reconstructor),
  ('collections', 'OrderedDict'): Factory('collections.OrderedDict', _ordered_dict),
  ('collections', 'defaultdict'): Factory('collections.defaultdict', _defaultdict),
  **{
    ('builtins', kind.__name__): Factory(kind.__name__, _builtin(kind))
    for kind in (
      list,
      tuple,
      dict,
      set,
      frozenset,
      int,
      float,
      complex,
      bool,
      str,
      bytes,
      bytearray,
    )
  },
}
_ADMITTED = {
  **_FACTORIES,
  ('jax._src.device_array', 'reconstruct_device_array'): _FACTORIES[
    ('jax._src.array', '_reconstruct_array')
  ],
  ('numpy', 'ndarray'): _NDARRAY,
  ('builtins', 'object'): _OBJECT,
  ('trax.shapes', 'ShapeDtype'): ShapeDtypeRecord,
  ('trax.supervised.history', 'History'): HistoryRecord,
}
_OLD_MODULES = {
  'numpy.core.multiarray': 'numpy._core.multiarray',
  'numpy.core.numeric': 'numpy._core.numeric',
  '__builtin__': 'builtins',
  'copy_reg': 'copyreg',
}


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
      return Marker(f'numpy.{name}', _NUMPY_TYPES[name])
    if module == 'ml_dtypes' and name in _ML_DTYPES:
      return Marker(f'ml_dtypes.{name}', _ML_DTYPES[name])
    raise UnsafeCheckpointError(
      f'Refusing to load {module}.{name} from {self._source}: a Trax 1.x checkpoint '
      'should hold only numpy arrays, ShapeDtype and History, and loading other objects '
      'could run arbitrary code. If you trust the file, convert it with Trax 1.x itself.'
    )

  def persistent_load(self, pid: Any) -> Any:
    raise UnsafeCheckpointError(f'Refusing persistent id {pid!r:.80} in {self._source}.')

  def load(self) -> Any:
    return materialize(super().load(), self._arrays)
