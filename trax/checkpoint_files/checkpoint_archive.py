"""The file of a trax checkpoint: a zip archive of `.npy` members and `metadata.json`.

Written with `atomic_files.atomic_write` (a fresh temporary name, renamed when complete)
and members stored uncompressed, so the archive loads with `numpy.load` as an `.npz`.
Reading trusts nothing in the file: members must be stored (trax never compresses them,
so a compressed member cannot expand beyond the file), each `.npy` header must account for
exactly the bytes of its member, arrays are plain numeric, and the metadata must have the
types `checkpoints.write` gives it. Any problem is a `CheckpointError` naming the file.
"""

import json
import os
import zipfile
from typing import Any

import numpy as np

from trax import atomic_files
from trax import shapes
from trax import checkpoint_reading

FORMAT = 'trax-checkpoint'
VERSION = 1
METADATA = 'metadata.json'
_MAX_METADATA_BYTES = 2**28
_METADATA_TYPES = {
  'format': str,
  'version': int,
  'step': int,
  'n_weights': int,
  'n_state': (int, type(None)),
  'tasks': list,
  'eval_n_batches': list,
  'history': dict,
  'model_config': (dict, type(None)),
  'special_dtypes': dict,
}
_TASK_TYPES = {
  'n_slots': int,
  'opt_params': list,
  'n_loss_weights': int,
  'n_loss_state': int,
  'n_batches': int,
}


def write(path: str, arrays: dict, metadata: dict) -> None:
  """Writes `arrays` (name -> array) and `metadata` (JSON-able) to `path` atomically."""
  with atomic_files.atomic_write(path) as f:
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_STORED, allowZip64=True) as archive:
      archive.writestr(METADATA, json.dumps(metadata))
      for name, array in arrays.items():
        if array.dtype.kind == 'V':  # bfloat16 & co: numpy cannot describe them.
          array = array.view(f'u{array.dtype.itemsize}')
        with archive.open(name + '.npy', 'w', force_zip64=True) as member:
          np.lib.format.write_array(member, array, allow_pickle=False)


def read(path: str, arrays: bool = True) -> tuple[dict, dict]:
  """`(arrays, metadata)` of the archive at `path`; `ShapeDtype`s if not `arrays`.

  Raises:
    CheckpointError: the file is not a well-formed trax checkpoint (see the docstring).
  """
  try:
    archive = zipfile.ZipFile(path)
  except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
    raise checkpoint_reading.CheckpointError(f'{path} is not a trax checkpoint: {e}') from None
  try:
    with archive:
      members = _check_members(archive, path, arrays)
      metadata = _read_metadata(archive, members, path)
      special = metadata['special_dtypes']
      found = {}
      for member in members.values():
        if member.filename.endswith('.npy'):
          name = member.filename[: -len('.npy')]
          with archive.open(member) as f:
            array = checkpoint_reading.read_npy(
              f, path, member.filename, size=member.file_size, arrays=arrays
            )
          found[name] = _with_dtype(array, special.get(name), path, name)
  except checkpoint_reading.CheckpointError:
    raise
  except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
    raise checkpoint_reading.CheckpointError(
      f'{path} is not a readable trax checkpoint: {type(e).__name__}: {e}'
    ) from None
  return found, metadata


def _check_members(archive: zipfile.ZipFile, path: str, arrays: bool) -> dict:
  members = {info.filename: info for info in archive.infolist()}
  for info in members.values():
    if info.compress_type != zipfile.ZIP_STORED:
      raise checkpoint_reading.CheckpointError(
        f'{path}: member {info.filename} is compressed, but trax stores checkpoint '
        'members uncompressed: this file was not written by trax.'
      )
  declared = sum(info.file_size for info in members.values())
  if declared > os.path.getsize(path):
    raise checkpoint_reading.CheckpointError(
      f'{path}: its members declare {declared:,} bytes, more than the file holds.'
    )
  if arrays and declared > checkpoint_reading.max_bytes():
    raise checkpoint_reading.CheckpointError(
      f'{path} holds {declared:,} bytes of arrays, more than the limit of '
      f'{checkpoint_reading.max_bytes():,}: raise it with '
      'trax.checkpoint_reading.read_limit(...) (--max-bytes on the command '
      'line).'
    )
  return members


def _read_metadata(archive: zipfile.ZipFile, members: dict, path: str) -> dict:
  if METADATA not in members:
    raise checkpoint_reading.CheckpointError(
      f'{path} is a zip file without {METADATA}: not a trax checkpoint.'
    )
  if members[METADATA].file_size > _MAX_METADATA_BYTES:
    raise checkpoint_reading.CheckpointError(f'{path}: {METADATA} is implausibly large.')
  try:
    metadata = json.loads(archive.read(METADATA))
  except (ValueError, RecursionError) as e:
    raise checkpoint_reading.CheckpointError(f'{path}: {METADATA} is not JSON: {e}') from None
  if (
    not isinstance(metadata, dict)
    or metadata.get('format') != FORMAT
    or (not isinstance(metadata.get('version'), int) or metadata['version'] > VERSION)
  ):
    found = (
      metadata
      if not isinstance(metadata, dict)
      else (f'format {metadata.get("format")!r:.40} version {metadata.get("version")!r:.20}')
    )
    raise checkpoint_reading.CheckpointError(
      f'{path} has {found}; this trax reads {FORMAT!r} up to version {VERSION}.'
    )
  metadata.setdefault('special_dtypes', {})
  _check_types(metadata, _METADATA_TYPES, path, METADATA)
  for i, task in enumerate(metadata['tasks']):
    _check_types(task, _TASK_TYPES, path, f'{METADATA} task {i}')
  return metadata


def _check_types(record: Any, types: dict, path: str, what: str) -> None:
  if not isinstance(record, dict):
    raise checkpoint_reading.CheckpointError(f'{path}: {what} is not a JSON object.')
  for key, kind in types.items():
    if (
      key not in record
      or not isinstance(record[key], kind)
      or (isinstance(record[key], bool))
      or (isinstance(record[key], int) and record[key] < 0)
    ):
      raise checkpoint_reading.CheckpointError(
        f'{path}: {what} has {key}={record.get(key)!r:.60}, expected a '
        f'{getattr(kind, "__name__", kind)}{" >= 0" if kind is int else ""}.'
      )


def _with_dtype(array: Any, name: 'str | None', path: str, member: str) -> Any:
  """`array` (stored as unsigned ints) viewed as the ml_dtypes type the metadata names."""
  if name is None:
    return array
  try:
    dtype = shapes.dtype_by_name(name)
  except ValueError as e:
    raise checkpoint_reading.CheckpointError(
      f'{path}: special_dtypes gives {member} the dtype {e}.'
    ) from None
  if dtype.itemsize != array.dtype.itemsize or array.dtype.kind != 'u':
    raise checkpoint_reading.CheckpointError(
      f'{path}: special_dtypes gives {member} the dtype {dtype}, but it is stored as '
      f'{array.dtype}, which cannot hold it.'
    )
  if not hasattr(array, 'view'):  # A ShapeDtype: headers only.
    return type(array)(array.shape, dtype)
  return array.view(dtype)
