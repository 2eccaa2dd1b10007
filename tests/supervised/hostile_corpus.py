"""A corpus of hostile checkpoint files, and a runner that feeds them to every loader.

Run as `python -m tests.supervised.hostile_corpus DIR` (a fresh process, so a crash is a
failed test, not a dead pytest): it writes the corpus to DIR, reads each file with each
loader, and prints one JSON line per (case, loader): the outcome ('ok' or 'error'), the
error's type and message, and whether any watched class changed. Before each case it
writes the case's name to stderr, so a crash names its case.

Cases: crafted pickles (object arrays through REDUCE and through dtype BUILD, BUILD and
item assignment on admitted classes and factories, refused names, oversized arguments,
deep and cyclic data, out-of-band buffers), bit flips and truncations of valid Trax 1.x
and trax files, decompression bombs, and crafted `.npz` archives. Valid files (numpy
arrays at every pickle protocol, a 1-tuple input signature) are controls that must load.
"""

import collections
import gzip
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import ml_dtypes
import numpy as np

import trax.layers as tl
from trax import shapes
from trax import checkpoint_reading
from trax.checkpoint_files import checkpoints
from trax.supervised import history as history_lib
from trax.checkpoint_files import pickled_records
from trax.checkpoint_files import restricted_unpickler

READ_LIMIT = 4 * 2**20  # Bombs expand past this; valid cases stay far below.
BOMB_BYTES = 32 * 2**20

# Pickle opcodes (protocol 3), so payloads can say what no pickler would write.
PROTO, STOP, MARK, TUPLE, REDUCE, BUILD = b'\x80\x03', b'.', b'(', b't', b'R', b'b'
NONE, TRUE, FALSE, EMPTY_TUPLE, EMPTY_DICT = b'N', b'\x88', b'\x89', b')', b'}'
EMPTY_LIST, APPEND, APPENDS, SETITEM, SETITEMS = b']', b'a', b'e', b's', b'u'
NEWOBJ, PUT0, GET0 = b'\x81', b'q\x00', b'h\x00'


def glob(module: str, name: str) -> bytes:
  return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def text(value: str) -> bytes:
  data = value.encode()
  return b'X' + struct.pack('<I', len(data)) + data


def raw(data: bytes) -> bytes:
  return b'B' + struct.pack('<I', len(data)) + data


def num(n: int) -> bytes:
  return b'J' + struct.pack('<i', n)


def tup(*items: bytes) -> bytes:
  return MARK + b''.join(items) + TUPLE


def dtype(code: str, state: bytes) -> bytes:
  return glob('numpy', 'dtype') + tup(text(code), FALSE, TRUE) + REDUCE + state + BUILD


def plain_dtype_state(order: str = '<') -> bytes:
  return tup(num(3), text(order), NONE, NONE, NONE, num(-1), num(-1), num(0))


def array(dtype_bytes: bytes, shape: bytes, data: bytes) -> bytes:
  return (
    glob('numpy.core.multiarray', '_reconstruct')
    + tup(glob('numpy', 'ndarray'), tup(num(0)), raw(b'b'))
    + REDUCE
    + tup(num(1), shape, dtype_bytes, FALSE, data)
    + BUILD
  )


def checkpoint_around(payload: bytes) -> bytes:
  """A 2020-layout dict whose `flat_weights` list holds `payload`."""
  return PROTO + EMPTY_DICT + text('flat_weights') + EMPTY_LIST + payload + APPEND + SETITEM + STOP


OBJECT_FIELD = tup(
  num(3),
  text('|'),
  NONE,
  tup(text('a')),
  EMPTY_DICT
  + text('a')
  + tup(dtype('O8', tup(num(3), text('|'), NONE, NONE, NONE, num(8), num(8), num(63))), num(0))
  + SETITEM,
  num(8),
  num(1),
  num(0),
)  # Flags zeroed: numpy would not see the object.

PAYLOADS = {
  'object_array_by_reduce': array(
    dtype('O8', tup(num(3), text('|'), NONE, NONE, NONE, num(8), num(8), num(63))),
    tup(),
    raw(b'A' * 8),
  ),
  'object_field_by_dtype_build': array(dtype('V8', OBJECT_FIELD), tup(), raw(b'A' * 8)),
  'object_field_in_float_dtype': array(dtype('f8', OBJECT_FIELD), tup(), raw(b'A' * 8)),
  'object_array_by_frombuffer': glob('numpy.core.numeric', '_frombuffer')
  + tup(raw(b'A' * 8), dtype('O8', plain_dtype_state('|')), tup(), text('C'))
  + REDUCE,
  'object_scalar': glob('numpy.core.multiarray', 'scalar')
  + tup(dtype('O8', plain_dtype_state('|')), raw(b'A' * 8))
  + REDUCE,
  'list_as_array_data': array(
    dtype('f4', plain_dtype_state()), tup(num(2)), EMPTY_LIST + MARK + num(1) + num(2) + APPENDS
  ),
  'huge_shape_little_data': array(
    dtype('f4', plain_dtype_state()), tup(num(2**30), num(2**30)), raw(b'\0' * 16)
  ),
  'matrix_subtype': glob('numpy.core.multiarray', '_reconstruct')
  + tup(glob('numpy', 'matrix'), tup(num(0)), raw(b'b'))
  + REDUCE,
  'ndarray_subtype_is_a_factory': glob('numpy.core.multiarray', '_reconstruct')
  + tup(glob('numpy', 'dtype'), tup(num(0)), raw(b'b'))
  + REDUCE,
  'build_on_shape_dtype_class': glob('trax.shapes', 'ShapeDtype')
  + tup(NONE, EMPTY_DICT + text('PWNED') + num(1) + SETITEM)
  + BUILD,
  'build_on_history_class': glob('trax.supervised.history', 'History')
  + tup(NONE, EMPTY_DICT + text('append') + glob('numpy', 'dtype') + SETITEM)
  + BUILD,
  'build_dict_on_history_class': glob('trax.supervised.history', 'History')
  + EMPTY_DICT
  + text('append')
  + NONE
  + SETITEM
  + BUILD,
  'build_on_factory': glob('numpy', 'dtype')
  + tup(NONE, EMPTY_DICT + text('base') + NONE + SETITEM)
  + BUILD,
  'build_on_ndarray_marker': glob('numpy', 'ndarray') + EMPTY_DICT + BUILD,
  'setitem_on_class': glob('trax.shapes', 'ShapeDtype') + text('k') + num(1) + SETITEM,
  'appends_on_class': glob('trax.supervised.history', 'History') + MARK + num(1) + APPENDS,
  'class_slots_on_ordered_dict': glob('collections', 'OrderedDict')
  + EMPTY_TUPLE
  + REDUCE
  + tup(NONE, EMPTY_DICT + text('__class__') + glob('trax.shapes', 'ShapeDtype') + SETITEM)
  + BUILD,
  'shape_dtype_bad_state': glob('trax.shapes', 'ShapeDtype')
  + EMPTY_TUPLE
  + NEWOBJ
  + tup(NONE, EMPTY_DICT + text('shape') + text('x') + text('dtype') + num(1) + SETITEM + SETITEM)
  + BUILD,
  'newobj_on_factory': glob('builtins', 'set') + EMPTY_TUPLE + NEWOBJ,
  'os_system': glob('os', 'system') + tup(text('true')) + REDUCE,
  'posix_system': glob('posix', 'system') + tup(text('true')) + REDUCE,
  'builtins_eval': glob('builtins', 'eval') + tup(text('1')) + REDUCE,
  'builtins_getattr': glob('builtins', 'getattr') + tup(num(1), text('real')) + REDUCE,
  'import': glob('builtins', '__import__') + tup(text('os')) + REDUCE,
  'numpy_load': glob('numpy', 'load') + tup(text('/etc/passwd')) + REDUCE,
  'numpy_frombuffer': glob('numpy', 'frombuffer') + tup(raw(b'AAAAAAAA'), text('O')) + REDUCE,
  'defaultdict_of_eval': glob('collections', 'defaultdict')
  + tup(glob('builtins', 'eval'))
  + REDUCE,
  'reconstructor_of_real_class': glob('copy_reg', '_reconstructor')
  + tup(glob('collections', 'OrderedDict'), glob('builtins', 'object'), NONE)
  + REDUCE,
  'codecs_encode_bytes': glob('_codecs', 'encode') + tup(raw(b'x'), text('latin1')) + REDUCE,
  'bytes_of_a_size': glob('builtins', 'bytes') + tup(b'\x8a\x05\x00\x00\x00\x00\x01') + REDUCE,
  'persistent_id': text('x') + b'Q',
  'out_of_band_buffer': b'\x97',
  'undefined_memo': b'h\x07',
  'cyclic_list': EMPTY_LIST + PUT0 + GET0 + APPEND,
  'deep_nesting': EMPTY_LIST * 20000 + APPEND * 19999,
  'jax_reconstruct_through_eval': glob('jax._src.array', '_reconstruct_array')
  + tup(glob('builtins', 'eval'), tup(text('1')), NONE)
  + REDUCE,
}


def watched_state() -> dict:
  """What a pickle must never change: attributes of admitted classes and the stand-ins."""
  classes = [
    shapes.ShapeDtype,
    history_lib.History,
    collections.OrderedDict,
    collections.defaultdict,
    np.ndarray,
    np.dtype,
    ml_dtypes.bfloat16,
    object,
  ]
  classes += [
    v
    for module in (restricted_unpickler, pickled_records)
    for v in vars(module).values()
    if isinstance(v, type) and v.__module__ == module.__name__
  ]
  state = {c.__qualname__: {k: id(v) for k, v in vars(c).items()} for c in classes}
  for key, value in restricted_unpickler._ADMITTED.items():
    state[repr(key)] = {s: id(getattr(value, s, None)) for s in ('name', 'base', 'state')}
  return state


def write_cases(directory: str) -> list[tuple[str, str, bool]]:
  """Writes the corpus; returns (name, path, must_load) triples."""
  cases = []

  def add(
    name: str, data: bytes, must_load: bool = False, gz: bool = True, suffix: str = '.pkl.gz'
  ) -> str:
    path = os.path.join(directory, name + suffix)
    with gzip.open(path, 'wb') if gz else open(path, 'wb') as f:
      f.write(data)
    cases.append((name, path, must_load))
    return path

  for name, payload in PAYLOADS.items():
    add(name, checkpoint_around(payload))
  weights = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]
  valid = {
    'flat_weights': weights,
    'flat_state': [],
    'step': 3,
    'input_signature': (shapes.ShapeDtype((4, 2), np.float32),),
    'slots': [np.zeros_like(w) for w in weights],
    'opt_params': {'learning_rate': np.float32(0.1)},
  }
  for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
    if protocol < 2:  # ShapeDtype has __slots__: pickled from protocol 2 on.
      data = pickle.dumps(dict(valid, input_signature=None), protocol=protocol)
    else:
      data = pickle.dumps(valid, protocol=protocol)
    add(f'valid_protocol_{protocol}', data, must_load=True)
  good = pickle.dumps(valid, protocol=2)
  rng = np.random.default_rng(0)
  for i, position in enumerate(rng.integers(2, len(good) - 1, 40)):
    flipped = bytearray(good)
    flipped[position] ^= 1 << int(rng.integers(8))
    add(f'pickle_bit_flip_{i}', bytes(flipped))
  for i, length in enumerate((1, 2, 10, len(good) // 2, len(good) - 1)):
    add(f'pickle_truncated_{i}', good[:length])
  compressed = gzip.compress(good)
  for i, position in enumerate(rng.integers(0, len(compressed), 12)):
    flipped = bytearray(compressed)
    flipped[position] ^= 1 << int(rng.integers(8))
    add(f'gzip_bit_flip_{i}', bytes(flipped), gz=False)
  for i, length in enumerate((5, len(compressed) // 2, len(compressed) - 3)):
    add(f'gzip_truncated_{i}', compressed[:length], gz=False)
  add(
    'bomb_one_record',
    checkpoint_around(b'\x8e' + struct.pack('<Q', BOMB_BYTES) + bytes(BOMB_BYTES)),
  )
  chunk = 2**20
  add(
    'bomb_many_records',
    PROTO
    + EMPTY_DICT
    + text('flat_weights')
    + EMPTY_LIST
    + MARK
    + raw(bytes(chunk)) * (BOMB_BYTES // chunk)
    + APPENDS
    + SETITEM
    + STOP,
  )
  bomb = gzip.compress(
    checkpoint_around(b'\x8e' + struct.pack('<Q', BOMB_BYTES) + bytes(BOMB_BYTES))
  )
  add('bomb_with_a_lying_trailer', bomb[:-4] + struct.pack('<I', 100), gz=False)
  add(
    'gzip_declares_more_than_the_limit',
    gzip.compress(good)[:-4] + struct.pack('<I', 2**31),
    gz=False,
  )
  _side_file_cases(directory, add, cases)
  _npz_cases(directory, cases)
  return cases


def _side_file_cases(directory: str, add, cases: list) -> None:
  """2021 `Loop` layouts whose `.weights.npy.gz` side file is hostile."""
  head = pickle.dumps(
    {'flat_weights': 1, 'flat_state': [], 'step': 1, 'slots_per_task': 1}, protocol=3
  )

  def side_file(name: str, records: bytes) -> None:
    add(name, head)
    with gzip.open(os.path.join(directory, name + '.weights.npy.gz'), 'wb') as f:
      f.write(records)

  header = lambda descr, shape: _npy_header(
    f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
  )
  side_file('side_object_array', header('|O', '(1,)') + b'A' * 8)
  side_file('side_structured_array', header("[('a', '<f4')]", '(1,)') + b'A' * 4)
  side_file('side_huge_shape', header('<f4', '(1000000000000,)') + b'A' * 4)
  side_file('side_bomb', header('<f4', f'({BOMB_BYTES // 4},)') + bytes(BOMB_BYTES))
  side_file('side_truncated', header('<f4', '(10,)') + b'A' * 4)
  side_file('side_bad_header', b'\x93NUMPY\x01\x00\x10\x00{not python}    \n')
  buffer = io.BytesIO()
  np.save(buffer, np.ones((2, 3), np.float32))
  np.save(buffer, np.ones(3, np.float32))
  side_file('side_valid', buffer.getvalue())
  cases[-1] = (cases[-1][0], cases[-1][1], True)


def _npy_header(text_: str) -> bytes:
  text_ = text_ + ' ' * (-(10 + len(text_) + 1) % 64) + '\n'
  return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(text_)) + text_.encode('latin1')


def _npz_cases(directory: str, cases: list) -> None:
  """Our own format: crafted archives and corruptions of a valid one."""
  valid = os.path.join(directory, 'npz_valid.npz')
  layer = tl.Serial(tl.Dense(3))
  layer.init(shapes.ShapeDtype((4, 2)))
  layer.save_to_file(valid)
  cases.append(('npz_valid', valid, True))
  with zipfile.ZipFile(valid) as archive:
    members = {name: archive.read(name) for name in archive.namelist()}
  metadata = json.loads(members['metadata.json'])

  def write(name: str, entries: dict, compression: int = zipfile.ZIP_STORED) -> None:
    path = os.path.join(directory, name + '.npz')
    with zipfile.ZipFile(path, 'w', compression) as archive:
      for member, data in entries.items():
        archive.writestr(member, data)
    cases.append((name, path, False))

  def with_metadata(name: str, **changes) -> None:
    write(name, dict(members, **{'metadata.json': json.dumps(dict(metadata, **changes))}))

  write(
    'npz_deflated_bomb',
    dict(
      members,
      **{
        'weights/0.npy': _npy_header(
          f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({BOMB_BYTES // 4},), }}"
        )
        + bytes(BOMB_BYTES)
      },
    ),
    zipfile.ZIP_DEFLATED,
  )
  write(
    'npz_header_larger_than_member',
    dict(
      members,
      **{
        'weights/0.npy': _npy_header(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }"
        )
        + b'AAAA'
      },
    ),
  )
  write(
    'npz_object_member',
    dict(
      members,
      **{
        'weights/0.npy': _npy_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }")
        + b'A' * 8
      },
    ),
  )
  write('npz_metadata_not_json', dict(members, **{'metadata.json': b'{"format": '}))
  write('npz_missing_member', {k: v for k, v in members.items() if k != 'weights/1.npy'})
  write('npz_not_a_dict_metadata', dict(members, **{'metadata.json': b'[1, 2]'}))
  for key, value in (
    ('special_dtypes', {'weights/0': 'object'}),
    ('special_dtypes', {'weights/0': 'no-such-dtype'}),
    ('special_dtypes', {'weights/0': 'bfloat16'}),
    ('special_dtypes', ['weights/0']),
    ('n_weights', 'many'),
    ('n_weights', -1),
    ('tasks', [{'n_slots': 1}]),
    ('tasks', 'none'),
    ('history', []),
    ('history', {'_values': 3}),
    ('input_signature', {'shape': [2], 'dtype': 'object'}),
    ('input_signature', {'nonsense': 1}),
    ('eval_n_batches', ['x']),
    ('version', 99),
    ('step', 1.5),
  ):
    with_metadata(f'npz_metadata_{key}_{len(cases)}', **{key: value})
  data = open(valid, 'rb').read()
  rng = np.random.default_rng(1)
  for i, position in enumerate(rng.integers(0, len(data), 40)):
    flipped = bytearray(data)
    flipped[position] ^= 1 << int(rng.integers(8))
    path = os.path.join(directory, f'npz_bit_flip_{i}.npz')
    with open(path, 'wb') as f:
      f.write(bytes(flipped))
    cases.append((f'npz_bit_flip_{i}', path, False))
  for i, length in enumerate((2, 30, len(data) // 2, len(data) - 22)):
    path = os.path.join(directory, f'npz_truncated_{i}.npz')
    with open(path, 'wb') as f:
      f.write(data[:length])
    cases.append((f'npz_truncated_{i}', path, False))


def _init_from_file(path: str) -> None:
  layer = tl.Serial(tl.Dense(3))  # Weights (2, 3) and (3,), as in the valid cases.
  layer.init(shapes.ShapeDtype((4, 2)))
  layer.init_from_file(path)


LOADERS = {
  'read_any': checkpoints.read_any,
  'describe': checkpoints.describe,
  'init_from_file': _init_from_file,
}


def main(directory: str) -> None:
  cases = write_cases(directory)
  before = watched_state()
  with checkpoint_reading.read_limit(READ_LIMIT):
    for name, path, must_load in cases:
      for loader_name, loader in LOADERS.items():
        print(f'case {name} {loader_name}', file=sys.stderr, flush=True)
        result = {'case': name, 'loader': loader_name, 'path': path, 'must_load': must_load}
        try:
          loader(path)
          result['outcome'] = 'ok'
        except Exception as e:  # Reported, judged by the test.
          result.update(
            outcome='error',
            type=type(e).__name__,
            message=str(e)[:500],
            checkpoint_error=isinstance(e, checkpoint_reading.CheckpointError),
          )
        after = watched_state()
        result['changed'] = sorted(k for k in before if before[k] != after.get(k))
        before = after
        print(json.dumps(result), flush=True)


if __name__ == '__main__':
  main(sys.argv[1])
