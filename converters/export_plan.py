"""What a SavedModel export writes, decided before writing: `ExportPlan`.

`plan_export` fixes the serving specs, signature names, extra signatures and pre/post-
processing stages; the plan then writes the SavedModel (native TF ops or jax2tf's XLA
call), its record (`assets.extra/trax_export.json`) and the reference function the
export is verified against.
"""

import dataclasses
import datetime
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
import numpy as np
import tensorflow as tf
import trax
from trax import shapes
import trax.layers as tl
from converters import input_checks
from converters import signatures
from converters import sources
from converters import tf_module
from converters import verify as verify_lib
from converters.errors import ExportError

log = logging.getLogger('converters')
RECORD = os.path.join('assets.extra', 'trax_export.json')


@dataclasses.dataclass
class Signature:
  name: str
  input_names: list
  output_names: list
  extra: 'str | None' = None


class ExportPlan:
  """Everything decided before writing: specs, names, extra stages, the reference."""

  def __init__(
    self,
    model: sources.Model,
    serving_signature: list,
    signature_list: list,
    extras: dict,
    preprocess: 'Callable | None',
    postprocess: 'Callable | None',
    limits: 'list | None' = None,
  ):
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
        hint = ' Try path="xla" (or "auto").' if path == 'native' else ''
        raise ExportError(
          f'Exporting {self.model.origin} on the {path} path failed: {type(e).__name__}: {e}.{hint}'
        ) from e
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
        module,
        specs,
        signature.output_names,
        signature.extra,
        self._checked_preprocess(signature),
        self.postprocess if signature.extra is None else None,
      )
      concrete[signature.name] = function.get_concrete_function()
    return module, concrete

  def _checked_preprocess(self, signature: Signature) -> Callable:
    """The signature's first stage: check the inputs' shapes, then `preprocess`."""

    def checked(*inputs):
      inputs = input_checks.checked(
        list(inputs),
        self.serving_signature,
        signature.input_names,
        self.limits,
        f'signature {signature.name!r}',
      )
      return self.preprocess(*inputs) if self.preprocess else inputs

    return checked

  def reference(self, signature: Signature) -> Callable[[list], list]:
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
    cases = [
      signatures.random_inputs(case, seed=i, int_high=int_high)
      for i, case in enumerate(signatures.verification_shapes(self.serving_signature, max_len))
    ]
    checks = [
      verify_lib.Check(s.name, s.input_names, s.output_names, self.reference(s))
      for s in self.signatures
    ]
    return verify_lib.verify_saved_model(directory, checks, cases, tolerance)

  def record(
    self,
    directory: str,
    path_kind: str,
    reason: str,
    platforms: Sequence[str],
    report: 'verify_lib.VerificationReport | None',
  ) -> dict:
    """Writes `assets.extra/trax_export.json`; returns it."""
    import jax

    keras = sys.modules.get('keras')  # Recorded if loaded: it may be part of the export.
    spec = shapes.signature_to_json
    record = {
      'format': 'trax-export',
      'version': 1,
      'created': datetime.datetime.now(datetime.UTC).isoformat(),
      'versions': {
        'trax': trax.__version__,
        'jax': jax.__version__,
        'tensorflow': tf.__version__,
        'keras': keras.__version__ if keras else None,
      },
      'origin': self.model.origin,
      'model_config': self.model.config,
      'path': path_kind,
      'path_reason': reason,
      'platforms': list(platforms) if path_kind == 'xla' else None,
      'input_signature': [spec(s) for s in self.serving_signature],
      'input_limits': self.limits,
      'signatures': {
        s.name: {
          'inputs': {n: spec(x) for n, x in zip(s.input_names, self.serving_signature)},
          'outputs': list(s.output_names),
          'extra': s.extra,
        }
        for s in self.signatures
      },
      'weights': _weight_record(self.model),
      'preprocess': self.preprocess is not None,
      'postprocess': self.postprocess is not None,
      'verification': report.to_json() if report else None,
    }
    os.makedirs(os.path.join(directory, 'assets.extra'), exist_ok=True)
    with open(os.path.join(directory, RECORD), 'w', encoding='utf-8') as f:
      json.dump(record, f, indent=1)
    return record


def plan_export(
  model: sources.Model,
  serving_signature: list,
  *,
  signature_name: str,
  input_names: 'Sequence[str] | None',
  output_names: 'Sequence[str] | None',
  extra_signatures: 'dict | None',
  preprocess: 'Callable | None',
  postprocess: 'Callable | None',
  allow_random_weights: bool = False,
) -> ExportPlan:
  """Decides the serving specs, names, checks and extra stages of an export of `model`."""
  preprocess_specs = getattr(preprocess, 'input_signature', None)
  if preprocess_specs:
    serving_signature = [
      signatures.ShapeDtype(s.shape, s.dtype.as_numpy_dtype) for s in preprocess_specs
    ]
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
  signature_list = [
    Signature(signature_name, names_in, signatures.output_names(n_out, output_names))
  ]
  extras = {}
  for name, value in (extra_signatures or {}).items():
    layer, names = value if isinstance(value, (tuple, list)) else (value, None)
    if not isinstance(layer, tl.Layer):
      raise ExportError(
        f'extra_signatures[{name!r}] must be a trax layer (applied to the '
        f"model's outputs) or (layer, output_names); got {layer!r:.100}."
      )
    if name == signature_name:
      raise ExportError(f'extra signature {name!r} has the name of the main signature.')
    extras[name] = sources.from_layer(
      layer, signatures.with_dynamic_batch(outputs), f'extra signature {name}', allow_random_weights
    )
    n_extra = len(extras[name].output_signature(outputs))
    default = ['outputs'] if n_extra == 1 else None
    signature_list.append(
      Signature(name, names_in, signatures.output_names(n_extra, names or default), name)
    )
  limits = None  # Known for the model's own inputs, not for a preprocess function's.
  if model.layer is not None and preprocess is None:
    limits = signatures.size_limits(
      model.layer, serving_signature, signatures.model_sizes(model.layer)[1]
    )
  return ExportPlan(
    model, serving_signature, signature_list, extras, preprocess, postprocess, limits
  )


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
  return [[n, list(np.shape(w)), np.dtype(np.asarray(w).dtype).name] for n, w in zip(names, flat)]
