"""`to_saved_model`: a trax model as a versioned SavedModel for TF Serving.

The export goes to `export_dir/<version>/` (TF Serving's layout: it serves the highest
numeric subdirectory). It is written into a hidden temporary directory beside the version
directories, verified there, and renamed into place only when complete, so an interrupted
or failed export never leaves a partial version behind (TF Serving ignores the
non-numeric temporary name meanwhile).

`assets.extra/trax_export.json` records what was exported: versions of trax, JAX,
TensorFlow and Keras, the model config and origin, the path taken (native/xla) and why,
the signatures, the weight names and shapes, and the verification result.

Every signature checks its inputs' shapes first (`input_checks`): a wrong rank, a wrong
fixed size, or a length past the model's positional table fails with a message naming
the input and the shape expected, not deep in the graph.
"""

import dataclasses
import json
import logging
import os
from typing import Any


from trax import atomic_files
from trax import file_io
from converters import signatures
from converters import export_plan
from converters import sources
from converters import tf_module
from converters import verify as verify_lib
from converters.errors import ExportError
from converters.export_options import SavedModelOptions

log = logging.getLogger('converters')

RECORD = export_plan.RECORD  # Where the export's record is, in the SavedModel directory.


@dataclasses.dataclass
class SavedModelExport:
  """What `to_saved_model` wrote.

  Attributes:
    path: the version directory (`export_dir/<version>`).
    version: the version number.
    path_kind: 'native', 'xla' or 'keras' (how the model's computation was exported).
    signatures: `{name: {'inputs': {name: spec}, 'outputs': {name: spec}}}`.
    verification: the parity report, or `None` if verification was off.
  """

  path: str
  version: int
  path_kind: str
  signatures: dict
  verification: 'verify_lib.VerificationReport | None' = None


def to_saved_model(
  model: Any,
  export_dir: str,
  input_signature: Any = None,
  options: 'SavedModelOptions | None' = None,
  **keywords: Any,
) -> SavedModelExport:
  """Exports `model` as `export_dir/<version>/`, a SavedModel for TF Serving.

  >>> signature = ShapeDtype((None, None), np.int32)  # Batch and length dynamic.
  >>> converters.to_saved_model(model, 'serving/lm', signature)  # doctest: +SKIP
  >>> converters.to_saved_model(model, 'serving/lm', signature, path='xla')  # doctest: +SKIP

  Args:
    model: a trax layer, a Keras model or `TraxLayer` (see `sources`), or a checkpoint
      directory or file.
    export_dir: the model's serving directory; versions are its numeric subdirectories.
    input_signature: `ShapeDtype` (or tuple of them, one per input). The batch dimension
      is always dynamic; other `None` dimensions are dynamic too. Taken from the
      checkpoint or Keras model when not given; then every size the model also accepts
      at other values (a sequence length, say) is dynamic.
    options: how to export: `SavedModelOptions` (version, signature and input/output
      names, path 'native'/'xla'/'auto', extra signatures, pre- and postprocessing,
      platforms, verify, tolerance, model_config, allow_random_weights).
    **keywords: fields of `SavedModelOptions`, replacing those of `options`.

  Returns:
    A `SavedModelExport` describing what was written.

  Raises:
    ExportError: bad arguments, or the model cannot be exported that way.
    ExportVerificationError: the export's outputs differ from the model's.
    TypeError: a keyword that is not a field of `SavedModelOptions`.
  """
  o = SavedModelOptions.build(options, keywords, 'to_saved_model')
  path, platforms, version = o.path, o.platforms, o.version
  if path not in tf_module.PATHS:
    raise ExportError(f'path={path!r}: expected one of {tf_module.PATHS}.')
  resolved = sources.resolve(model, input_signature, o.model_config, o.allow_random_weights)
  platforms = tuple(platforms or ('cpu', 'cuda'))
  if path == 'xla':
    tf_module.check_xla_support(platforms)
  plan = export_plan.plan_export(
    resolved,
    serving_signature(resolved, input_signature is None),
    signature_name=o.signature_name,
    input_names=o.input_names,
    output_names=o.output_names,
    extra_signatures=o.extra_signatures,
    preprocess=o.preprocess,
    postprocess=o.postprocess,
    allow_random_weights=o.allow_random_weights,
  )
  export_dir = file_io.abspath(os.fspath(export_dir))  # Any tf.io.gfile path too.
  atomic_files.make_directory(export_dir)
  atomic_files.remove_stale_scratch()
  version = next_version(export_dir) if version is None else int(version)
  final_dir = os.path.join(export_dir, str(version))
  if file_io.exists(final_dir):
    raise ExportError(
      f'{final_dir} already exists; choose another version or leave version=None for the next one.'
    )
  with atomic_files.atomic_directory(final_dir) as tmp_dir:
    path_kind, reason = plan.write(tmp_dir, path, platforms)
    report = None
    if o.verify:
      report = plan.verify(tmp_dir, o.tolerance)
      verify_lib.raise_on_failure(
        report, f'The SavedModel ({path_kind} path)', resolved.reference_name
      )
    record = plan.record(tmp_dir, path_kind, reason, platforms, report)
  log.info('Exported %s to %s (%s path).', resolved.origin, final_dir, path_kind)
  return SavedModelExport(final_dir, version, path_kind, record['signatures'], report)


def serving_signature(model: sources.Model, derived: bool) -> list:
  """The model's input signature with a dynamic batch; if `derived` (not given by the
  user), every other size the model also accepts at other values is dynamic too."""
  if model.input_signature is None:
    raise ExportError(f'No input signature for {model.origin}; pass input_signature=.')
  signature = signatures.with_dynamic_batch(model.input_signature)
  if derived and model.layer is not None:
    signature = signatures.accepted_dynamic_sizes(
      model.layer, signature, signatures.model_sizes(model.layer)[1]
    )
  return signature


def next_version(export_dir: str) -> int:
  """One more than the highest numeric subdirectory of `export_dir` (1 if none)."""
  versions = [
    int(n.rstrip('/'))
    for n in file_io.listdir(export_dir)
    if n.rstrip('/').isdigit() and file_io.isdir(os.path.join(export_dir, n))
  ]
  return max(versions, default=0) + 1


def find_saved_model(model: Any) -> 'str | None':
  """The SavedModel directory `model` names (highest version of a serving dir), if any."""
  if not isinstance(model, (str, os.PathLike)) or not os.path.isdir(model):
    return None
  model = os.fspath(model)
  if os.path.exists(os.path.join(model, 'saved_model.pb')):
    return model
  versions = [
    n
    for n in os.listdir(model)
    if n.isdigit() and os.path.exists(os.path.join(model, n, 'saved_model.pb'))
  ]
  return os.path.join(model, max(versions, key=int)) if versions else None


def read_record(saved_model_dir: str) -> dict:
  """The `trax_export.json` record of an export (`{}` if it has none)."""
  record_path = os.path.join(saved_model_dir, RECORD)
  if not os.path.exists(record_path):
    return {}
  with open(record_path, encoding='utf-8') as f:
    return json.load(f)
