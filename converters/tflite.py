"""`to_tflite`: a trax model (or a SavedModel) as a verified TF Lite flat buffer.

A trax model goes through a native-path SavedModel (plain TF ops: TF Lite keeps the batch
and sequence length dynamic) and the TF Lite converter with builtin ops only. Ops outside
the builtin set are reported with the trax layers that produce them (`tflite_ops`).

The result is checked with `ai_edge_litert`'s interpreter on random inputs (several batch
sizes and lengths when dynamic) against the JAX model, or against the SavedModel when
converting one: float32 must match within `tolerance`; quantized models are measured by
the agreement of their top-1 (argmax over the last axis) with the reference, and their
max error is reported. Quantization changes numbers by design, so a quantized model
passes on agreement, never silently: below `min_top1_agreement` is an error. Full-integer
('int8') quantization is experimental: its agreement is always measured and reported.

The file is written under a fresh temporary name (`trax.atomic_files`), verified, then
renamed into place. TF Lite checks no input shapes itself; the sizes it cannot hold (a
positional table's `max_len`) go into the file's metadata, and `tflite_inputs.Runner`
checks inputs before running.
"""

import collections
import dataclasses
import logging
import os
import warnings
from typing import Any
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf

from trax import atomic_files
from trax import file_io
from trax.fastmath import tf_backend
from converters import export_plan
from converters import saved_model as saved_model_lib
from converters import signatures
from converters import sources
from converters import tflite_inputs
from converters import tflite_ops
from converters.errors import ExportError
from converters.errors import ExportVerificationError
from converters.errors import UnsupportedOpsError
from converters.export_options import TFLiteOptions

log = logging.getLogger('converters')

QUANTIZATIONS = (None, 'dynamic_range', 'float16', 'int8')


@dataclasses.dataclass
class TFLiteExport:
  """What `to_tflite` wrote and measured.

  Attributes:
    path: the `.tflite` file.
    size_bytes: its size.
    quantize: the quantization applied (`None` for float32).
    input_signature: the signature's inputs as `{name: ShapeDtype}` (`None` dims dynamic).
    op_counts: `{builtin op name: count}` in the flat buffer.
    max_abs_error: `{output name: largest absolute error}` against the reference.
    top1_agreement: `{output name: fraction of positions whose argmax agrees}` for float
      outputs with a last axis longer than 1.
    cases: the input shapes checked.
  """

  path: str
  size_bytes: int
  quantize: 'str | None'
  input_signature: dict
  op_counts: dict
  max_abs_error: dict = dataclasses.field(default_factory=dict)
  top1_agreement: dict = dataclasses.field(default_factory=dict)
  cases: list = dataclasses.field(default_factory=list)

  @property
  def n_ops(self) -> int:
    return sum(self.op_counts.values())


def to_tflite(
  model_or_saved_model_dir: Any,
  output_path: str,
  input_signature: Any = None,
  options: 'TFLiteOptions | None' = None,
  **keywords: Any,
) -> TFLiteExport:
  """Converts a trax model, Keras model, checkpoint or SavedModel to a `.tflite` file.

  >>> converters.to_tflite(model, 'lm.tflite', ShapeDtype((None, None), np.int32),  # doctest: +SKIP
  ...                      quantize='dynamic_range')

  Args:
    model_or_saved_model_dir: what `to_saved_model` takes, or a SavedModel directory (or
      a TF Serving directory of versions: the highest is converted).
    output_path: the `.tflite` file to write.
    input_signature: as in `to_saved_model` (not needed for SavedModels).
    options: how to convert: `TFLiteOptions` (quantize, representative_data,
      dynamic_shapes, verify, tolerance, min_top1_agreement, signature_name, input and
      output names, model_config, allow_random_weights).
    **keywords: fields of `TFLiteOptions`, replacing those of `options`.

  Returns:
    A `TFLiteExport`.

  Raises:
    UnsupportedOpsError: TF Lite builtins cannot express some ops (layers named).
    ExportVerificationError: the outputs differ beyond tolerance or agreement.
    ExportError: other problems with the arguments or the conversion.
    TypeError: a keyword that is not a field of `TFLiteOptions`.
  """
  o = TFLiteOptions.build(options, keywords, 'to_tflite')
  quantize, signature_name = o.quantize, o.signature_name
  if quantize not in QUANTIZATIONS:
    raise ExportError(f'quantize={quantize!r}: expected one of {QUANTIZATIONS}.')
  output_path = file_io.abspath(os.fspath(output_path))  # Any tf.io.gfile path too.
  atomic_files.remove_stale(os.path.dirname(output_path))
  atomic_files.remove_stale_scratch()
  with atomic_files.scratch_directory('tflite') as work_dir:
    source = _source(model_or_saved_model_dir, input_signature, work_dir, o)
    converter = tf.lite.TFLiteConverter.from_saved_model(
      source.saved_model_dir, signature_keys=[signature_name]
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    _configure_quantization(converter, quantize, o.representative_data, source)
    try:
      with warnings.catch_warnings():
        # int8 calibration runs TF's own deprecated interpreter; nothing for users to do.
        warnings.filterwarnings('ignore', message='.*tf.lite.Interpreter is deprecated')
        flat_buffer = converter.convert()
    except Exception as e:
      raise _conversion_error(e, source) from None
  if source.limits and any(any(l) for l in source.limits):
    flat_buffer = tflite_inputs.with_limits(
      flat_buffer, {signature_name: dict(zip(source.input_names, source.limits))}
    )
  with atomic_files.atomic_write(output_path) as f:
    f.write(flat_buffer)
    result = TFLiteExport(
      output_path,
      len(flat_buffer),
      quantize,
      {n: s for n, s in zip(source.input_names, source.signature)},
      op_counts(flat_buffer),
    )
    if o.verify:
      _verify(flat_buffer, source, signature_name, result, o.tolerance, o.min_top1_agreement)
  return result


def op_counts(flat_buffer: bytes) -> dict:
  """`{builtin op name: count}` of a TF Lite model (before any delegate regroups them)."""
  from ai_edge_litert import interpreter as litert

  interpreter = litert.Interpreter(
    model_content=flat_buffer,
    experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
  )
  ops = interpreter._get_ops_details()
  return dict(collections.Counter(op['op_name'] for op in ops))


@dataclasses.dataclass
class _Source:
  saved_model_dir: str
  signature: list  # serving ShapeDtypes, None for dynamic dims
  input_names: list
  reference: Callable[[list], dict]  # flat inputs -> {output name: array}
  model: 'sources.Model | None' = None
  max_len: 'int | None' = None
  int_high: int = 8
  limits: 'list | None' = None  # Per input, per axis: the largest size taken (or None).


def _source(model: Any, input_signature: Any, work_dir: str, o: TFLiteOptions) -> _Source:
  """The SavedModel to convert (written to `work_dir` for models) and its reference."""
  saved_model_dir = saved_model_lib.find_saved_model(model)
  if saved_model_dir is not None:
    return _saved_model_source(saved_model_dir, o.signature_name, o.dynamic_shapes)
  resolved = sources.resolve(model, input_signature, o.model_config, o.allow_random_weights)
  signature = saved_model_lib.serving_signature(resolved, input_signature is None)
  if not o.dynamic_shapes:
    assert resolved.input_signature is not None  # serving_signature raised otherwise.
    signature = _fixed(resolved.input_signature)
  plan = export_plan.plan_export(
    resolved,
    signature,
    signature_name=o.signature_name,
    input_names=o.input_names,
    output_names=o.output_names,
    extra_signatures=None,
    preprocess=None,
    postprocess=None,
  )
  directory = os.path.join(work_dir, 'saved_model')
  with tf_backend.graphs_for_tflite():  # E.g. a Dense is one FULLY_CONNECTED op.
    plan.write(directory, 'native', ('cpu',))
  main = plan.signatures[0]
  reference = lambda case: dict(zip(main.output_names, plan.reference(main)(case)))
  vocab, max_len = (
    (None, None) if resolved.layer is None else signatures.model_sizes(resolved.layer)
  )
  return _Source(
    directory, signature, main.input_names, reference, resolved, max_len, vocab or 8, plan.limits
  )


def _saved_model_source(directory: str, signature_name: str, dynamic_shapes: bool) -> _Source:
  loaded = tf.saved_model.load(directory)
  if signature_name not in loaded.signatures:
    raise ExportError(
      f'{directory} has no signature {signature_name!r}; it has {sorted(loaded.signatures)}.'
    )
  function = loaded.signatures[signature_name]
  _, specs = function.structured_input_signature
  names = sorted(specs)
  record = saved_model_lib.read_record(directory)
  recorded = record.get('signatures', {}).get(signature_name, {}).get('inputs')
  limits = None
  if recorded and sorted(recorded) == names:
    names = list(recorded)  # The model's input order.
    limits = record.get('input_limits')
  signature = [signatures.ShapeDtype(specs[n].shape, specs[n].dtype.as_numpy_dtype) for n in names]
  if not dynamic_shapes and any(d is None for s in signature for d in s.shape):
    raise ExportError(
      f'dynamic_shapes=False needs fixed input shapes, but the SavedModel '
      f'{directory} has dynamic ones: {dict(zip(names, signature))}. '
      'Convert the model itself with a fixed input_signature instead.'
    )

  def reference(case):
    outputs = function(**{n: tf.constant(a) for n, a in zip(names, case)})
    return {k: v.numpy() for k, v in outputs.items()}

  return _Source(directory, signature, names, reference, limits=limits)


def _fixed(signature: list) -> list:
  """`signature` with a `None` batch as 1; any other `None` is an error."""
  for s in signature:
    if not s.shape or any(d is None for d in s.shape[1:]):
      raise ExportError(
        f'dynamic_shapes=False needs every dimension but the batch known; '
        f'input signature {s} has dynamic ones.'
      )
  return [s.replace(shape=(s.shape[0] or 1, *s.shape[1:])) for s in signature]


def _configure_quantization(
  converter: Any, quantize: 'str | None', data: Any, source: _Source
) -> None:
  if quantize is None:
    return
  converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if quantize == 'float16':
    converter.target_spec.supported_types = [tf.float16]
  elif quantize == 'int8':
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.representative_dataset = _representative_dataset(data, source)


def _representative_dataset(data: 'Iterable | Callable | None', source: _Source) -> Callable:
  if data is None:
    log.warning(
      'int8 quantization without representative_data: calibrating on random '
      'inputs, which rarely resemble real ones; expect poor agreement.'
    )
    shapes_ = signatures.verification_shapes(source.signature, source.max_len)
    data = [
      signatures.random_inputs(shapes_[i % len(shapes_)], seed=100 + i, int_high=source.int_high)
      for i in range(32)
    ]

  def dataset():
    for sample in data() if callable(data) else data:
      if isinstance(sample, dict):
        yield {n: np.asarray(sample[n]) for n in source.input_names}
      else:
        sample = sample if isinstance(sample, (list, tuple)) else [sample]
        yield {n: np.asarray(a) for n, a in zip(source.input_names, sample)}

  return dataset


def _conversion_error(error: Exception, source: _Source) -> ExportError:
  message = str(error)
  ops = tflite_ops.unsupported_ops(message)
  if not ops:
    return ExportError(f'The TF Lite converter failed: {type(error).__name__}: {message[-2000:]}')
  owners = {}
  if source.model is not None and source.model.layer is not None:
    try:
      with tf_backend.graphs_for_tflite():
        owners = tflite_ops.ops_by_layer(source.model, source.signature)
    except Exception as e:  # The report is a courtesy.
      log.warning('Could not trace the model to name the layers of unsupported ops: %s', e)
  found = {op: owners.get(op, []) for op in ops}
  details = '; '.join(
    f'{op} (from {", ".join(paths) if paths else "unknown layer"})' for op, paths in found.items()
  )
  return UnsupportedOpsError(
    f'TF Lite builtin ops cannot express: {details}. Replace or rewrite those layers, or '
    'serve the model as a SavedModel (converters.to_saved_model) instead.',
    found,
  )


def _verify(
  flat_buffer: bytes,
  source: _Source,
  signature_name: str,
  result: TFLiteExport,
  tolerance: float,
  min_top1_agreement: float,
) -> None:
  runner = tflite_inputs.Runner(flat_buffer, signature_name)
  if any(d is None for s in source.signature for d in s.shape):
    shapes_ = signatures.verification_shapes(source.signature, source.max_len)
  else:
    shapes_ = [source.signature, source.signature]
  cases = [
    signatures.random_inputs(s, seed=i, int_high=source.int_high) for i, s in enumerate(shapes_)
  ]
  agree, total, scale = collections.Counter(), collections.Counter(), {}
  for case in cases:
    expected = source.reference(case)
    got = runner(**dict(zip(source.input_names, case)))
    for name, reference in expected.items():
      output = got[name]
      if output.shape != reference.shape:
        raise ExportVerificationError(
          f'TF Lite output {name!r} has shape {output.shape}, expected {reference.shape} '
          f'(inputs {_shapes(source.input_names, case)}).'
        )
      error = float(np.max(np.abs(output.astype(np.float64) - reference), initial=0.0))
      result.max_abs_error[name] = max(result.max_abs_error.get(name, 0.0), error)
      scale[name] = max(scale.get(name, 1.0), float(np.max(np.abs(reference), initial=0.0)))
      if (
        np.issubdtype(reference.dtype, np.floating) and reference.ndim and (reference.shape[-1] > 1)
      ):
        agree[name] += int(np.sum(np.argmax(output, -1) == np.argmax(reference, -1)))
        total[name] += int(np.prod(reference.shape[:-1]))
    result.cases.append(_shapes(source.input_names, case))
  result.top1_agreement = {name: agree[name] / total[name] for name in total}
  if result.quantize is None:
    bad = {k: e for k, e in result.max_abs_error.items() if not e <= tolerance * scale[k]}
    if bad:
      raise ExportVerificationError(
        f'The float32 TF Lite model differs from the reference: max abs errors {bad} '
        f'exceed tolerance {tolerance:g} (relative to max(1, |output|)). Cases: '
        f'{result.cases}.',
        result,
      )
    return
  log.info(
    'TF Lite %s: top-1 agreement %s, max abs error %s.',
    result.quantize,
    result.top1_agreement,
    result.max_abs_error,
  )
  low = {k: a for k, a in result.top1_agreement.items() if a < min_top1_agreement}
  if low:
    raise ExportVerificationError(
      f'The {result.quantize}-quantized TF Lite model agrees with the reference on top-1 '
      f'for only {low} of positions (min_top1_agreement={min_top1_agreement}); max abs '
      f'errors {result.max_abs_error}. Quantization changed the answers: try another '
      'quantization, better representative_data, or lower min_top1_agreement '
      'knowingly.',
      result,
    )


def _shapes(names: Sequence[str], arrays: list) -> dict:
  return {n: list(np.shape(a)) for n, a in zip(names, arrays)}
