"""Parity check of a SavedModel, run where it will be served: a process without jax.

The parent computes reference outputs (the model's eval-mode JAX forward pass, or the
call of the Keras model or `TraxLayer` that was exported) on random inputs of several
batch sizes (and lengths, when dynamic), then starts a fresh Python in which importing
jax, trax or the converters fails (`_verify_child.py`), loads the SavedModel there, runs
every signature on the same inputs, and compares. The largest
absolute error per signature output is reported; any above
`tolerance * max(1, max |reference|)` raises `ExportVerificationError`.
"""

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence

import numpy as np

from trax import atomic_files
from converters.errors import ExportVerificationError

_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_verify_child.py')
DEFAULT_TOLERANCE = 1e-4


@dataclasses.dataclass
class Check:
  """What to compare for one signature.

  Attributes:
    signature: the signature's name.
    input_names: names of its inputs, in the order of the case arrays.
    output_names: names of its outputs, in the order `reference` returns them.
    reference: flat input arrays -> flat reference output arrays.
  """

  signature: str
  input_names: Sequence[str]
  output_names: Sequence[str]
  reference: Callable[[list], list]


@dataclasses.dataclass
class VerificationReport:
  """Result of a parity check.

  Attributes:
    max_abs_error: `{'<signature>/<output>': largest absolute error over all cases}`.
    scale: `{'<signature>/<output>': largest absolute reference value}`.
    cases: the input shapes checked, one `{input name: shape}` per case.
    tolerance: the relative tolerance applied.
    jax_importable: whether jax could be imported where the export ran (it must not).
    signatures: the signatures as the serving process saw them (names, shapes, dtypes).
  """

  max_abs_error: dict
  scale: dict
  cases: list
  tolerance: float
  jax_importable: bool = False
  signatures: dict = dataclasses.field(default_factory=dict)

  @property
  def worst(self) -> float:
    return max(self.max_abs_error.values(), default=0.0)

  def failures(self) -> list[str]:
    return [
      key
      for key, error in self.max_abs_error.items()
      if not error <= self.tolerance * max(1.0, self.scale[key])
    ]

  def to_json(self) -> dict:
    return {
      'max_abs_error': self.max_abs_error,
      'cases': self.cases,
      'tolerance': self.tolerance,
      'jax_importable': self.jax_importable,
    }


def verify_saved_model(
  export_dir: str,
  checks: Sequence[Check],
  cases: Sequence[list],
  tolerance: float = DEFAULT_TOLERANCE,
) -> VerificationReport:
  """Runs `checks` on the SavedModel in `export_dir` in a jax-free process.

  Args:
    export_dir: the SavedModel directory (holding `saved_model.pb`).
    checks: one per signature to check.
    cases: input sets, each a list of arrays in the checks' input order.
    tolerance: allowed error relative to `max(1, max |reference|)` per output.

  Returns:
    The report (also when some outputs are off; see `failures`).

  Raises:
    ExportVerificationError: the serving process failed, or could import jax.
  """
  input_names = checks[0].input_names
  with atomic_files.scratch_directory('verify') as work_dir:
    cases_path = os.path.join(work_dir, 'cases.npz')
    outputs_path = os.path.join(work_dir, 'outputs.npz')
    np.savez(
      cases_path,
      **{
        f'case{i}/{name}': array
        for i, case in enumerate(cases)
        for name, array in zip(input_names, case)
      },
    )
    # The serving process imports TensorFlow (seconds) while the references compute.
    child = _start_child(
      export_dir, cases_path, outputs_path, [c.signature for c in checks], work_dir
    )
    try:
      references = {c.signature: [c.reference(case) for case in cases] for c in checks}
    except BaseException:
      child.kill()
      child.communicate()
      raise
    summary = _finish_child(child)
    with np.load(outputs_path, allow_pickle=False) as served:
      served = {k: served[k] for k in served.files}
  errors, scale = {}, {}
  for check in checks:
    for i, case in enumerate(cases):
      for name, reference in zip(check.output_names, references[check.signature][i]):
        key = f'{check.signature}/{name}'
        got = served.get(f'case{i}/{key}')
        if got is None or got.shape != np.shape(reference):
          raise ExportVerificationError(
            f'Signature {check.signature!r} output {name!r} on inputs '
            f'{_shapes(input_names, case)}: expected shape {np.shape(reference)}, the '
            f'export gave {None if got is None else got.shape}.'
          )
        error = _max_abs_difference(got, reference)
        errors[key] = max(errors.get(key, 0.0), error)
        scale[key] = max(scale.get(key, 0.0), float(np.max(np.abs(reference), initial=0.0)))
  report = VerificationReport(
    errors,
    scale,
    [_shapes(input_names, c) for c in cases],
    tolerance,
    summary['jax_importable'],
    summary['signatures'],
  )
  if report.jax_importable or summary['leaked_modules']:
    raise ExportVerificationError(
      'The verification process could import jax or trax '
      f'({summary["leaked_modules"]}), so it proves nothing about serving without them.',
      report,
    )
  return report


def raise_on_failure(
  report: VerificationReport, what: str, reference: str = 'the JAX model'
) -> None:
  """Raises ExportVerificationError naming the outputs of `report` over tolerance."""
  failures = report.failures()
  if failures:
    details = ', '.join(
      f'{key}: max abs error {report.max_abs_error[key]:.3g} '
      f'(outputs up to {report.scale[key]:.3g})'
      for key in failures
    )
    raise ExportVerificationError(
      f'{what} differs from {reference} beyond tolerance {report.tolerance:g} '
      f'(relative to max(1, |output|)): {details}. Cases checked: {report.cases}.',
      report,
    )


def _start_child(
  export_dir: str, cases_path: str, outputs_path: str, names: list[str], work_dir: str
) -> subprocess.Popen:
  with open(_CHILD, encoding='utf-8') as f:
    code = f.read()
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}
  return subprocess.Popen(
    [
      sys.executable,
      '-c',
      code,
      os.path.abspath(export_dir),
      cases_path,
      outputs_path,
      ','.join(names),
      str(os.getpid()),
    ],
    cwd=work_dir,
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )


def _finish_child(child: subprocess.Popen) -> dict:
  try:
    stdout, stderr = child.communicate(timeout=900)
  except BaseException:  # Timeout or interrupt: leave no process behind.
    child.kill()
    child.communicate()
    raise
  if child.returncode != 0:
    raise ExportVerificationError(
      f'Loading and running the SavedModel in a jax-free process failed (exit status '
      f'{child.returncode}):\n{stderr[-3000:]}'
    )
  return json.loads(stdout.strip().splitlines()[-1])


def _max_abs_difference(got: np.ndarray, expected: np.ndarray) -> float:
  got, expected = np.asarray(got), np.asarray(expected)
  if got.size == 0:
    return 0.0
  if got.dtype == np.bool_ or expected.dtype == np.bool_:
    return float(np.max(got != expected))
  got, expected = got.astype(np.float64), expected.astype(np.float64)
  both_nan = np.isnan(got) & np.isnan(expected)
  difference = np.where(both_nan, 0.0, np.abs(got - expected))  # One NaN: NaN, an error.
  return float(np.max(np.where(np.isnan(difference), np.inf, difference)))


def _shapes(names: Sequence[str], arrays: list) -> dict:
  return {name: list(np.shape(a)) for name, a in zip(names, arrays)}
