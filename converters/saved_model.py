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
import datetime
import json
import logging
import os
import sys
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

import trax
from trax import atomic_files
from trax import file_io
from trax import shapes
import trax.layers as tl
from converters import input_checks
from converters import signatures
from converters import sources
from converters import tf_module
from converters import verify as verify_lib
from converters.errors import ExportError
from converters.export_options import SavedModelOptions

log = logging.getLogger('converters')

RECORD = os.path.join('assets.extra', 'trax_export.json')


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


def to_saved_model(model: Any, export_dir: str, input_signature: Any = None,
                   options: 'SavedModelOptions | None' = None,
                   **keywords: Any) -> SavedModelExport:
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
  plan = plan_export(resolved, serving_signature(resolved, input_signature is None),
                     signature_name=o.signature_name, input_names=o.input_names,
                     output_names=o.output_names, extra_signatures=o.extra_signatures,
                     preprocess=o.preprocess, postprocess=o.postprocess,
                     allow_random_weights=o.allow_random_weights)
  export_dir = file_io.abspath(os.fspath(export_dir))  # Any tf.io.gfile path too.
  atomic_files.make_directory(export_dir)
  atomic_files.remove_stale_scratch()
  version = next_version(export_dir) if version is None else int(version)
  final_dir = os.path.join(export_dir, str(version))
  if file_io.exists(final_dir):
    raise ExportError(f'{final_dir} already exists; choose another version or leave '
                      'version=None for the next one.')
  with atomic_files.atomic_directory(final_dir) as tmp_dir:
    path_kind, reason = plan.write(tmp_dir, path, platforms)
    report = None
    if o.verify:
      report = plan.verify(tmp_dir, o.tolerance)
      verify_lib.raise_on_failure(report, f'The SavedModel ({path_kind} path)',
                                  resolved.reference_name)
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
        model.layer, signature, signatures.model_sizes(model.layer)[1])
  return signature


def next_version(export_dir: str) -> int:
  """One more than the highest numeric subdirectory of `export_dir` (1 if none)."""
  versions = [int(n.rstrip('/')) for n in file_io.listdir(export_dir)
              if n.rstrip('/').isdigit() and file_io.isdir(os.path.join(export_dir, n))]
  return max(versions, default=0) + 1


def find_saved_model(model: Any) -> 'str | None':
  """The SavedModel directory `model` names (highest version of a serving dir), if any."""
  if not isinstance(model, (str, os.PathLike)) or not os.path.isdir(model):
    return None
  model = os.fspath(model)
  if os.path.exists(os.path.join(model, 'saved_model.pb')):
    return model
  versions = [n for n in os.listdir(model) if n.isdigit()
              and os.path.exists(os.path.join(model, n, 'saved_model.pb'))]
  return os.path.join(model, max(versions, key=int)) if versions else None


def read_record(saved_model_dir: str) -> dict:
  """The `trax_export.json` record of an export (`{}` if it has none)."""
  record_path = os.path.join(saved_model_dir, RECORD)
  if not os.path.exists(record_path):
    return {}
  with open(record_path, encoding='utf-8') as f:
    return json.load(f)


@dataclasses.dataclass
class _Signature:
  name: str
  input_names: list
  output_names: list
  extra: 'str | None' = None


class ExportPlan:
  """Everything decided before writing: specs, names, extra stages, the reference."""

  def __init__(self, model: sources.Model, serving_signature: list, signature_list: list,
               extras: dict, preprocess: 'Callable | None',
               postprocess: 'Callable | None', limits: 'list | None' = None):
    self.model = model
    self.serving_signature = serving_signature
    self.limits = limits  # Per input, per axis: the largest size taken (or None).
    self.signatures = signature_list
    self.extras = extras  # {signature name: sources.Model of the extra layer}
    self.preprocess, self.postprocess = preprocess, postprocess

  def write(self, directory: str, path: str, platforms: Sequence[str]) -> tuple[str, str]:
    """Writes the SavedModel; returns the path taken and why."""
    if self.model.keras_model is not None:
      functions = self._functions('keras', platforms)
      reason = "a Keras model is exported through Keras' own call"
      path = 'keras'
    elif path == 'auto':
      try:
        functions = self._functions('native', platforms)
        path, reason = 'native', 'every layer traced on the TensorFlow backend'
      except Exception as e:
        reason = f'native tracing failed: {type(e).__name__}: {str(e)[:300]}'
        log.warning('path="auto": %s; exporting through jax2tf (xla) instead.', reason)
        tf_module.check_xla_support(platforms)
        functions = self._functions('xla', platforms)
        path = 'xla'
    else:
      try:
        functions = self._functions(path, platforms)
      except Exception as e:
        hint = (' Try path="xla" (or "auto").' if path == 'native' else '')
        raise ExportError(f'Exporting {self.model.origin} on the {path} path failed: '
                          f'{type(e).__name__}: {e}.{hint}') from e
      reason = 'requested'
    module, concrete = functions
    tf.saved_model.save(module, directory, signatures=concrete)
    return path, reason

  def _functions(self, path: str, platforms: Sequence[str]) -> tuple:
    extra_layers = {name: extra.layer for name, extra in self.extras.items()}
    module = tf_module.ExportModule(self.model, path, extra_layers, platforms)
    concrete = {}
    specs = tf_module.tensor_specs(self.serving_signature, self.signatures[0].input_names)
    for signature in self.signatures:
      function = tf_module.serving_function(
          module, specs, signature.output_names, signature.extra,
          self._checked_preprocess(signature),
          self.postprocess if signature.extra is None else None)
      concrete[signature.name] = function.get_concrete_function()
    return module, concrete

  def _checked_preprocess(self, signature: _Signature) -> Callable:
    """The signature's first stage: check the inputs' shapes, then `preprocess`."""
    def checked(*inputs):
      inputs = input_checks.checked(list(inputs), self.serving_signature,
                                    signature.input_names, self.limits,
                                    f'signature {signature.name!r}')
      return self.preprocess(*inputs) if self.preprocess else inputs
    return checked

  def reference(self, signature: _Signature) -> Callable[[list], list]:
    def outputs(case: list) -> list:
      inputs = _eager(self.preprocess, case) if self.preprocess else case
      y = self.model.jax_outputs(inputs)
      if signature.extra is not None:
        return self.extras[signature.extra].jax_outputs(y)
      return _eager(self.postprocess, y) if self.postprocess else y
    return outputs

  def verify(self, directory: str, tolerance: float) -> verify_lib.VerificationReport:
    int_high = 8
    max_len = None
    if self.model.layer is not None:
      vocab, max_len = signatures.model_sizes(self.model.layer)
      int_high = vocab or int_high
    cases = [signatures.random_inputs(case, seed=i, int_high=int_high) for i, case in
             enumerate(signatures.verification_shapes(self.serving_signature, max_len))]
    checks = [verify_lib.Check(s.name, s.input_names, s.output_names, self.reference(s))
              for s in self.signatures]
    return verify_lib.verify_saved_model(directory, checks, cases, tolerance)

  def record(self, directory: str, path_kind: str, reason: str, platforms: Sequence[str],
             report: 'verify_lib.VerificationReport | None') -> dict:
    """Writes `assets.extra/trax_export.json`; returns it."""
    import jax
    keras = sys.modules.get('keras')  # Recorded if loaded: it may be part of the export.
    spec = shapes.signature_to_json
    record = {
        'format': 'trax-export', 'version': 1,
        'created': datetime.datetime.now(datetime.UTC).isoformat(),
        'versions': {'trax': trax.__version__, 'jax': jax.__version__,
                     'tensorflow': tf.__version__,
                     'keras': keras.__version__ if keras else None},
        'origin': self.model.origin,
        'model_config': self.model.config,
        'path': path_kind, 'path_reason': reason,
        'platforms': list(platforms) if path_kind == 'xla' else None,
        'input_signature': [spec(s) for s in self.serving_signature],
        'input_limits': self.limits,
        'signatures': {s.name: {
            'inputs': {n: spec(x) for n, x in zip(s.input_names, self.serving_signature)},
            'outputs': list(s.output_names), 'extra': s.extra} for s in self.signatures},
        'weights': _weight_record(self.model),
        'preprocess': self.preprocess is not None,
        'postprocess': self.postprocess is not None,
        'verification': report.to_json() if report else None,
    }
    os.makedirs(os.path.join(directory, 'assets.extra'), exist_ok=True)
    with open(os.path.join(directory, RECORD), 'w', encoding='utf-8') as f:
      json.dump(record, f, indent=1)
    return record


def plan_export(model: sources.Model, serving_signature: list, *, signature_name: str,
                input_names: 'Sequence[str] | None', output_names: 'Sequence[str] | None',
                extra_signatures: 'dict | None', preprocess: 'Callable | None',
                postprocess: 'Callable | None', allow_random_weights: bool = False
                ) -> ExportPlan:
  """Decides the serving specs, names, checks and extra stages of an export of `model`."""
  preprocess_specs = getattr(preprocess, 'input_signature', None)
  if preprocess_specs:
    serving_signature = [signatures.ShapeDtype(s.shape, s.dtype.as_numpy_dtype)
                         for s in preprocess_specs]
    if input_names is None and all(s.name for s in preprocess_specs):
      input_names = [s.name for s in preprocess_specs]
  names_in = signatures.input_names(serving_signature, input_names)
  probe = shapes.concrete(serving_signature, *signatures.PROBE_SIZE)
  if preprocess is not None:
    preprocessed = _eager(preprocess, signatures.random_inputs(probe, seed=0))
    probe = [signatures.ShapeDtype(a.shape, a.dtype) for a in preprocessed]
  outputs = model.output_signature(probe)
  n_out = len(outputs)
  if postprocess is not None:
    n_out = len(_eager(postprocess, [np.zeros(o.shape, o.dtype) for o in outputs]))
  signature_list = [_Signature(signature_name, names_in,
                               signatures.output_names(n_out, output_names))]
  extras = {}
  for name, value in (extra_signatures or {}).items():
    layer, names = value if isinstance(value, (tuple, list)) else (value, None)
    if not isinstance(layer, tl.Layer):
      raise ExportError(f'extra_signatures[{name!r}] must be a trax layer (applied to the '
                        f"model's outputs) or (layer, output_names); got {layer!r:.100}.")
    if name == signature_name:
      raise ExportError(f'extra signature {name!r} has the name of the main signature.')
    extras[name] = sources.from_layer(layer, signatures.with_dynamic_batch(outputs),
                                      f'extra signature {name}', allow_random_weights)
    n_extra = len(extras[name].output_signature(outputs))
    default = ['outputs'] if n_extra == 1 else None
    signature_list.append(_Signature(
        name, names_in, signatures.output_names(n_extra, names or default), name))
  limits = None  # Known for the model's own inputs, not for a preprocess function's.
  if model.layer is not None and preprocess is None:
    limits = signatures.size_limits(model.layer, serving_signature,
                                    signatures.model_sizes(model.layer)[1])
  return ExportPlan(model, serving_signature, signature_list, extras, preprocess,
                    postprocess, limits)


def _eager(function: Callable, arrays: list) -> list:
  """`function` run eagerly on numpy arrays (pre/post-processing for the reference)."""
  results = function(*[tf.constant(a) for a in arrays])
  return [np.asarray(r) for r in signatures.outputs_as_list(results)]


def _weight_record(model: sources.Model) -> 'list | None':
  if model.layer is None:
    return None
  from trax_keras import paths
  names, _ = paths.weight_paths(model.layer, model.weights, model.state)
  flat, _ = tl.flatten_weights_and_state(model.weights, model.state)
  return [[n, list(np.shape(w)), np.dtype(np.asarray(w).dtype).name]
          for n, w in zip(names, flat)]
