"""What an artifact holds, read without running it: checkpoints, SavedModels, TF Lite files.

Used by `trax-convert inspect`. SavedModels are read from their protocol buffer and
variables index (no functions are loaded, so an XLA export is described as quickly as a
native one); checkpoints through the safe readers of `trax1`.
"""

import os
from typing import Any

from converters import trax1
from converters.errors import ExportError


def describe_path(path: str) -> list[str]:
  """Readable lines describing the checkpoint, SavedModel or `.tflite` file at `path`."""
  if not os.path.exists(path):
    raise ExportError(f'No such file or directory: {path}')
  if os.path.isdir(path):
    if os.path.exists(os.path.join(path, 'saved_model.pb')):
      return describe_saved_model(path)
    versions = sorted(
      (
        n
        for n in os.listdir(path)
        if n.isdigit() and os.path.exists(os.path.join(path, n, 'saved_model.pb'))
      ),
      key=int,
    )
    if versions:
      lines = [f'serving directory: versions {", ".join(versions)}']
      return lines + describe_saved_model(os.path.join(path, versions[-1]))
    from converters import sources

    path = sources.find_checkpoint(path)
  if path.endswith('.tflite'):
    return describe_tflite(path)
  return trax1.summary(trax1.describe(path))


def describe_saved_model(path: str) -> list[str]:
  """Signatures, variables, size and the export record of a SavedModel directory."""
  from tensorflow.core.protobuf import saved_model_pb2
  import tensorflow as tf
  from converters import saved_model as saved_model_lib

  proto = saved_model_pb2.SavedModel()
  with open(os.path.join(path, 'saved_model.pb'), 'rb') as f:
    try:
      proto.ParseFromString(f.read())
    except Exception as e:  # protobuf's DecodeError
      raise ExportError(f'{path}/saved_model.pb is not a SavedModel: {e}') from None
  lines = [f'SavedModel: {path} ({_size(path):,} bytes)']
  for meta_graph in proto.meta_graphs:
    for name, signature in sorted(meta_graph.signature_def.items()):
      if name.startswith('__'):
        continue
      lines.append(f'signature {name!r}:')
      for kind, tensors in (('input', signature.inputs), ('output', signature.outputs)):
        for tensor_name, info in tensors.items():
          dtype = tf.dtypes.as_dtype(info.dtype).name
          lines.append(f'  {kind} {tensor_name}: {dtype}{_shape(info.tensor_shape)}')
    ops = sorted(
      {node.op for node in meta_graph.graph_def.node}
      | {
        node.op for function in meta_graph.graph_def.library.function for node in function.node_def
      }
    )
    lines.append(
      f'ops: {len(ops)} kinds'
      + (' (XlaCallModule: needs XLA to serve)' if 'XlaCallModule' in ops else '')
    )
  variables = os.path.join(path, 'variables', 'variables')
  if os.path.exists(variables + '.index'):
    shapes = tf.train.load_checkpoint(variables).get_variable_to_shape_map()
    weights = {k: v for k, v in shapes.items() if 'VARIABLE_VALUE' in k}
    lines.append(f'variables: {len(weights)}')
  record = saved_model_lib.read_record(path)
  if record:
    lines += _record_lines(record)
  return lines


def describe_tflite(path: str) -> list[str]:
  """Signatures, inputs/outputs and op counts of a `.tflite` file."""
  from ai_edge_litert import interpreter as litert
  from converters import tflite

  with open(path, 'rb') as f:
    content = f.read()
  try:
    interpreter = litert.Interpreter(model_content=content)
  except ValueError as e:
    raise ExportError(f'{path} is not a TF Lite model: {e}') from None
  lines = [f'TF Lite model: {path} ({len(content):,} bytes)']
  for name in interpreter.get_signature_list():
    runner = interpreter.get_signature_runner(name)
    lines.append(f'signature {name!r}:')
    for kind, details in (
      ('input', runner.get_input_details()),
      ('output', runner.get_output_details()),
    ):
      for tensor_name, detail in details.items():
        shape = [int(d) if d >= 0 else None for d in detail['shape_signature']]
        lines.append(f'  {kind} {tensor_name}: {detail["dtype"].__name__}{shape}')
  counts = tflite.op_counts(content)
  listing = ', '.join(f'{op} {n}' for op, n in sorted(counts.items()))
  lines.append(f'ops: {sum(counts.values())} ({listing})')
  return lines


def _record_lines(record: dict) -> list[str]:
  versions = ', '.join(f'{k} {v}' for k, v in record.get('versions', {}).items() if v)
  lines = [
    f'exported: {record.get("created")} from {record.get("origin")}',
    f'path: {record.get("path")} ({record.get("path_reason")})',
    f'versions: {versions}',
  ]
  config = record.get('model_config')
  lines.append(
    'model config: ' + (config.get('factory', '?') if isinstance(config, dict) else 'not recorded')
  )
  verification = record.get('verification')
  if verification:
    worst = max(verification['max_abs_error'].values(), default=0.0)
    lines.append(
      f'verified: max abs error {worst:.3g} on {len(verification["cases"])} '
      'input shapes, without jax'
    )
  weights = record.get('weights') or []
  n_parameters = sum(_product(shape) for _, shape, _ in weights)
  lines.append(f'weights: {len(weights)} arrays, {n_parameters:,} parameters')
  return lines


def _shape(tensor_shape: Any) -> str:
  if tensor_shape.unknown_rank:
    return '[?]'
  return str([d.size if d.size >= 0 else None for d in tensor_shape.dim])


def _product(shape: list) -> int:
  result = 1
  for d in shape:
    result *= d
  return result


def _size(path: str) -> int:
  return sum(
    os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
  )
