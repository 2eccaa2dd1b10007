"""What a `.tflite` file can check of its inputs, and a runner that checks it.

TF Lite itself checks nothing (see `input_checks`): its converter drops the SavedModel's
`Assert` ops and its signature runner resizes inputs to any shape that arrives, so a
wrong shape fails inside a delegate (`XNNPack delegate failed to reshape`) or computes on
garbage. What the file does keep is each input's rank and fixed sizes
(`shape_signature`, -1 for dynamic); `to_tflite` adds the sizes it found limited (a
positional table's `max_len`) as a metadata entry, `trax_input_limits`, which TF Lite
ignores. `run` checks both before calling the interpreter.
"""

import json
from typing import Any

import numpy as np

from converters import input_checks
from converters.signatures import ShapeDtype

METADATA_NAME = 'trax_input_limits'


def with_limits(flat_buffer: bytes, limits: dict) -> bytes:
  """`flat_buffer` with `{signature: {input name: per-axis limits}}` in its metadata."""
  from tensorflow.lite.python import schema_py_generated as schema
  from tensorflow.lite.tools import flatbuffer_utils

  model = flatbuffer_utils.read_model_from_bytearray(bytearray(flat_buffer))
  buffer = schema.BufferT()
  # The schema's annotation says List[int]; its Pack writes numpy arrays as they are.
  buffer.data = np.frombuffer(json.dumps(limits).encode('utf-8'), np.uint8)  # pyright: ignore[reportAttributeAccessIssue]
  entry = schema.MetadataT()
  buffers = model.buffers or []
  entry.name, entry.buffer = METADATA_NAME, len(buffers)
  model.buffers = [*buffers, buffer]
  model.metadata = [*(model.metadata or []), entry]
  return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_limits(flat_buffer: bytes) -> dict:
  """The `trax_input_limits` metadata of a TF Lite model (`{}` if it has none)."""
  from tensorflow.lite.python import schema_py_generated as schema

  model = schema.Model.GetRootAs(flat_buffer, 0)
  for i in range(model.MetadataLength()):
    entry = model.Metadata(i)
    if entry is None or entry.Name() != METADATA_NAME.encode('utf-8'):
      continue
    buffer = model.Buffers(entry.Buffer())
    data = buffer.DataAsNumpy() if buffer is not None else 0
    if isinstance(data, int):  # The flat buffer API's 0 for a missing or empty buffer.
      raise ValueError(
        f'The TF Lite model\'s {METADATA_NAME} metadata points to an empty '
        f'buffer ({entry.Buffer()}): the file is damaged.'
      )
    return json.loads(data.tobytes())
  return {}


class Runner:
  """A signature of a TF Lite model, called on numpy arrays by input name, shapes checked.

  >>> outputs = Runner(open('lm.tflite', 'rb').read())(tokens=ids)  # doctest: +SKIP

  Raises ValueError naming the input, the shape expected and the shape given, for a
  wrong rank, a wrong fixed size, a size past a recorded limit, or a missing input.
  """

  def __init__(self, flat_buffer: bytes, signature_name: str = 'serving_default'):
    from ai_edge_litert import interpreter as litert

    self._runner = litert.Interpreter(model_content=flat_buffer).get_signature_runner(
      signature_name
    )
    details = self._runner.get_input_details()
    self.input_names = list(details)
    self.specs = [
      ShapeDtype(
        [None if d < 0 else int(d) for d in details[n]['shape_signature']], details[n]['dtype']
      )
      for n in self.input_names
    ]
    limits = read_limits(flat_buffer).get(signature_name, {})
    self.limits = [limits.get(n) for n in self.input_names]
    self._where = f'TF Lite signature {signature_name!r}'

  def __call__(self, **inputs: Any) -> dict:
    missing = sorted(set(self.input_names) - set(inputs))
    unknown = sorted(set(inputs) - set(self.input_names))
    if missing or unknown:
      raise ValueError(
        f'{self._where} takes inputs {self.input_names}; missing {missing}, unknown {unknown}.'
      )
    arrays = [np.asarray(inputs[n]) for n in self.input_names]
    input_checks.check_arrays(arrays, self.specs, self.input_names, self.limits, self._where)
    return self._runner(**dict(zip(self.input_names, arrays)))


def run(tflite_path: str, signature_name: str = 'serving_default', **inputs: Any) -> dict:
  """Runs a signature of the `.tflite` file at `tflite_path` once, shapes checked."""
  with open(tflite_path, 'rb') as f:
    return Runner(f.read(), signature_name)(**inputs)
