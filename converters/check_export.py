"""`verify_export`: the parity check of `to_saved_model`, re-run on an existing export.

An export records the model's config and input signature (`assets.extra/trax_export.json`)
but its weights live in TF variables; the JAX reference needs them in trax form, so the
model comes from a checkpoint (a `Loop` directory or checkpoint file; the config from the
checkpoint, the export's record, or `model_config`) or is passed in directly.
"""

from typing import Any

from converters import export_ops
from converters import saved_model as saved_model_lib
from converters import signatures
from converters import sources
from converters import verify as verify_lib
from converters.errors import ExportError
from trax import shapes


def verify_export(
  saved_model_dir: str,
  model: Any,
  *,
  model_config: 'dict | None' = None,
  tolerance: float = verify_lib.DEFAULT_TOLERANCE,
  trust: bool = False,
) -> verify_lib.VerificationReport:
  """Checks an export's signatures against the model in a jax-free process.

  Running a SavedModel runs the program it holds: unless `trust`, its ops are checked
  first (`export_ops.check_ops`: only what trax exports contain), before anything runs.

  Args:
    saved_model_dir: the version directory (holding `saved_model.pb`).
    model: the trax layer, Keras model, or checkpoint directory or file it was made from.
    model_config: config for a checkpoint that records none (default: the export's).
    tolerance: as in `to_saved_model`.
    trust: run the SavedModel even if it holds ops trax exports never contain.

  Returns:
    The verification report (extra signatures are skipped: their layers are not recorded).

  Raises:
    export_ops.UntrustedExportError: unexpected ops, and not `trust` (nothing was run).
    ExportError: the export has no record, or used pre/post-processing (not recorded).
    ExportVerificationError: outputs differ beyond tolerance.
  """
  if not trust:
    export_ops.check_ops(saved_model_dir)
  record = saved_model_lib.read_record(saved_model_dir)
  if not record:
    raise ExportError(
      f'{saved_model_dir} has no {saved_model_lib.RECORD}: it was not '
      'written by converters.to_saved_model, so there is nothing to check '
      'it against.'
    )
  if record.get('preprocess') or record.get('postprocess'):
    raise ExportError(
      f'{saved_model_dir} was exported with pre/post-processing functions, '
      'which the record cannot hold; re-export with verify=True instead.'
    )
  serving = [shapes.signature_from_json(s) for s in record['input_signature']]
  resolved = sources.resolve(model, serving, model_config or record.get('model_config'))
  checks = []
  for name, signature in record['signatures'].items():
    if signature.get('extra') is None:
      checks.append(
        verify_lib.Check(
          name, list(signature['inputs']), signature['outputs'], resolved.jax_outputs
        )
      )
  vocab, max_len = (
    (None, None) if resolved.layer is None else signatures.model_sizes(resolved.layer)
  )
  cases = [
    signatures.random_inputs(case, seed=i, int_high=vocab or 8)
    for i, case in enumerate(signatures.verification_shapes(serving, max_len))
  ]
  report = verify_lib.verify_saved_model(saved_model_dir, checks, cases, tolerance)
  verify_lib.raise_on_failure(report, f'The SavedModel {saved_model_dir}')
  return report
