"""`trax-convert` (or `python -m converters`): exports, checks and conversions from a shell.

    trax-convert saved-model run/ serving/lm                  # Loop output -> serving/lm/1
    trax-convert tflite run/ lm.tflite --quantize dynamic_range
    trax-convert inspect serving/lm                           # or a checkpoint, a .tflite
    trax-convert verify serving/lm/1 --checkpoint run/
    trax-convert from-trax1 model.pkl.gz model.npz --config lm.json
    trax-convert layers                                       # Keras layers: exact/wrapped
    trax-convert layers model.keras                           # node by node, for one model

A failure prints one line saying why and exits with status 1 (`--debug` shows the
traceback); argparse's usage errors exit with status 2.
"""

import argparse
import json
import logging
import os
import sys
from typing import Any
from collections.abc import Sequence

_DTYPES = (
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'bfloat16',
  'float16',
  'float32',
  'float64',
)


def main(argv: 'Sequence[str] | None' = None) -> int:
  """Runs the command line; returns the exit status."""
  parser = _parser()
  args = parser.parse_args(argv)
  logging.basicConfig(
    level=logging.INFO if args.verbose else logging.WARNING, format='%(levelname)s: %(message)s'
  )
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  try:
    if args.max_bytes is not None:
      from trax import checkpoint_reading

      with checkpoint_reading.read_limit(args.max_bytes):
        args.run(args)
    else:
      args.run(args)
  except KeyboardInterrupt:
    print(f'trax-convert {args.command}: interrupted', file=sys.stderr)
    return 130
  except Exception as e:  # One line, not a traceback.
    if args.debug:
      raise
    message = (str(e).strip().splitlines() or [''])[0]
    print(f'trax-convert {args.command}: error: {type(e).__name__}: {message}', file=sys.stderr)
    return 1
  return 0


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
    prog='trax-convert',
    description='Export trax models to TensorFlow SavedModel and TF '
    'Lite, inspect and verify exports, convert Trax 1.x checkpoints.',
  )
  parser.add_argument('--debug', action='store_true', help='show tracebacks of failures')
  parser.add_argument(
    '--max-bytes',
    type=int,
    metavar='N',
    help='read checkpoints that decompress to up to N bytes (default 8 GiB; '
    'the limit guards against decompression bombs)',
  )
  parser.add_argument('-v', '--verbose', action='store_true', help='log progress')
  commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

  saved = commands.add_parser(
    'saved-model',
    help='export a trained model as a versioned SavedModel (TF Serving)',
    description='Export the model of a Loop output directory (or a checkpoint file) to '
    'EXPORT_DIR/<version>/, verified in a process without jax.',
  )
  saved.add_argument('source', help='Loop output directory or checkpoint file')
  saved.add_argument('export_dir', help='serving directory; versions are its subdirs')
  _model_arguments(saved)
  saved.add_argument(
    '--path',
    choices=('native', 'xla', 'auto'),
    default='native',
    help='native: plain TF ops; xla: jax2tf XlaCallModule; auto: native '
    'if possible (default native)',
  )
  saved.add_argument('--version', type=int, help='version number (default: next one)')
  saved.add_argument('--signature-name', default='serving_default')
  saved.add_argument('--input-names', type=_names, help='comma-separated input names')
  saved.add_argument('--output-names', type=_names, help='comma-separated output names')
  saved.add_argument('--platforms', type=_names, help='xla path: e.g. cpu,cuda')
  _verify_arguments(saved)
  saved.set_defaults(run=_saved_model)

  lite = commands.add_parser(
    'tflite',
    help='convert a model or SavedModel to a TF Lite file',
    description='Convert the model of a Loop output directory, a checkpoint file or a '
    'SavedModel (directory, or serving directory: highest version) to a .tflite file '
    '(builtin ops only), verified with ai_edge_litert.',
  )
  lite.add_argument('source', help='Loop output directory, checkpoint file or SavedModel')
  lite.add_argument('output', help='the .tflite file to write')
  _model_arguments(lite)
  lite.add_argument(
    '--quantize',
    choices=('dynamic_range', 'float16', 'int8'),
    help='quantization (default: none, float32)',
  )
  lite.add_argument(
    '--representative-data',
    metavar='NPZ',
    help='int8: .npz of input arrays by input name, samples on axis 0',
  )
  lite.add_argument(
    '--fixed-shapes',
    action='store_true',
    help='fix every input dimension (a dynamic batch becomes 1)',
  )
  lite.add_argument(
    '--min-top1-agreement',
    type=float,
    default=0.9,
    help='quantized: lowest acceptable argmax agreement (default 0.9)',
  )
  _verify_arguments(lite)
  lite.set_defaults(run=_tflite)

  inspect = commands.add_parser(
    'inspect',
    help='describe a checkpoint, SavedModel or .tflite file',
    description='Print what PATH holds: for checkpoints (ours or Trax 1.x) the arrays, '
    'step and history; for SavedModels the signatures, variables, size and export '
    'record (versions, config, verification); for .tflite files the signatures and ops.',
  )
  inspect.add_argument('path')
  inspect.set_defaults(run=_inspect)

  verify = commands.add_parser(
    'verify',
    help='re-run the parity check of an existing SavedModel export',
    description='Load EXPORT in a process without jax and compare its outputs with the '
    'JAX model rebuilt from a checkpoint (config from --config, the checkpoint or the '
    "export's record). Running a SavedModel runs the program it holds: EXPORT's ops are "
    'checked first, and one holding ops that trax exports never contain (file access, '
    'Python calls, ...) is refused unless --trust.',
  )
  verify.add_argument('export', help='SavedModel directory (or serving directory)')
  verify.add_argument(
    '--checkpoint', required=True, help='Loop output directory or checkpoint file with the weights'
  )
  verify.add_argument('--config', type=_json_file, help="JSON file of the model's config()")
  verify.add_argument('--tolerance', type=float, default=1e-4)
  verify.add_argument(
    '--trust',
    action='store_true',
    help='run EXPORT even if it holds ops trax exports never contain '
    '(only for a file you trust: running a SavedModel runs its program)',
  )
  verify.set_defaults(run=_verify)

  trax1 = commands.add_parser(
    'from-trax1',
    help='convert a Trax 1.x checkpoint to our format',
    description='Read a Trax 1.x .pkl.gz checkpoint (either layout; safely: no code '
    'from the file runs) and write it as a trax .npz checkpoint.',
  )
  trax1.add_argument('input', help='Trax 1.x model.pkl.gz')
  trax1.add_argument('output', help='the .npz file to write')
  trax1.add_argument(
    '--config',
    type=_json_file,
    help="JSON file of the model's config(): checks the arrays and stores "
    'it, so exports can rebuild the model',
  )
  trax1.add_argument(
    '--input-signature',
    type=_signature,
    action='append',
    help='input as DTYPE[d0,d1,...], None for dynamic; repeat per input',
  )
  trax1.set_defaults(run=_from_trax1)
  layers = commands.add_parser(
    'layers',
    help='which Keras layers from_keras converts exactly, wraps or refuses',
    description='Without MODEL: every layer class keras.layers exports, with its status '
    'in from_keras (exact, wrapped or refused) and notes. With MODEL (a .keras file): '
    'each node of that model\'s graph.',
  )
  layers.add_argument('model', nargs='?', help='a .keras model file')
  layers.add_argument('--markdown', action='store_true', help='print a markdown table')
  layers.set_defaults(run=_layers)
  return parser


def _layers(args: argparse.Namespace) -> None:
  from converters.keras_mappings import coverage

  if args.model is None:
    print(coverage.markdown() if args.markdown else coverage.text(), end='')
    return
  import keras
  import converters

  model = keras.saving.load_model(args.model, compile=False)
  rows = [
    coverage.LayerCoverage(f'{s.name} ({s.kind})', s.status, s.reason or '')
    for s in converters.conversion_report(model)
  ]
  if args.markdown:
    print('| Node | Status | Notes |\n|---|---|---|')
    print('\n'.join(f'| {r.name} | {r.status} | {r.note} |' for r in rows))
  else:
    print(coverage.text(rows), end='')


def _model_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument(
    '--config',
    type=_json_file,
    help="JSON file of the model's config() (if the checkpoint lacks it)",
  )
  parser.add_argument(
    '--input-signature',
    type=_signature,
    action='append',
    help='input as DTYPE[d0,d1,...], e.g. int32[None,None]; None for '
    'dynamic; repeat per input (default: from the checkpoint)',
  )


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument(
    '--no-verify', dest='verify', action='store_false', help='skip the parity check'
  )
  parser.add_argument(
    '--tolerance',
    type=float,
    default=1e-4,
    help='float32: max abs error relative to max(1, |output|)',
  )


def _saved_model(args: argparse.Namespace) -> None:
  from converters import saved_model

  result = saved_model.to_saved_model(
    args.source,
    args.export_dir,
    _input_signature(args),
    version=args.version,
    signature_name=args.signature_name,
    input_names=args.input_names,
    output_names=args.output_names,
    path=args.path,
    platforms=args.platforms,
    verify=args.verify,
    tolerance=args.tolerance,
    model_config=args.config,
  )
  print(f'wrote {result.path} ({result.path_kind} path)')
  if result.verification is not None:
    print(
      f'verified without jax: max abs error {result.verification.worst:.3g} on '
      f'{len(result.verification.cases)} input shapes'
    )


def _tflite(args: argparse.Namespace) -> None:
  from converters import tflite

  result = tflite.to_tflite(
    args.source,
    args.output,
    _input_signature(args),
    quantize=args.quantize,
    representative_data=_representative_data(args.representative_data),
    dynamic_shapes=not args.fixed_shapes,
    verify=args.verify,
    tolerance=args.tolerance,
    min_top1_agreement=args.min_top1_agreement,
    model_config=args.config,
  )
  print(f'wrote {result.path} ({result.size_bytes:,} bytes, {result.n_ops} ops)')
  if result.cases:
    agreement = f', top-1 agreement {result.top1_agreement}' if result.quantize else ''
    print(f'verified: max abs error {result.max_abs_error}{agreement}')


def _inspect(args: argparse.Namespace) -> None:
  from converters import describe

  print('\n'.join(describe.describe_path(args.path)))


def _verify(args: argparse.Namespace) -> None:
  from converters import check_export
  from converters import saved_model

  export = saved_model.find_saved_model(args.export)
  if export is None:
    raise ValueError(f'{args.export} is not a SavedModel directory.')
  report = check_export.verify_export(
    export, args.checkpoint, model_config=args.config, tolerance=args.tolerance, trust=args.trust
  )
  print(
    f'{export}: outputs match the JAX model without jax: max abs error '
    f'{report.worst:.3g} on {len(report.cases)} input shapes'
  )


def _from_trax1(args: argparse.Namespace) -> None:
  from converters import trax1

  checkpoint = trax1.convert(
    args.input, args.output, model_config=args.config, input_signature=_input_signature(args)
  )
  print(
    f'wrote {args.output}: {len(checkpoint.flat_weights)} weight arrays, step '
    f'{checkpoint.step} (from {checkpoint.source_format})'
  )


def _input_signature(args: argparse.Namespace) -> Any:
  specs = args.input_signature
  if not specs:
    return None
  return specs[0] if len(specs) == 1 else tuple(specs)


def _signature(text: str) -> Any:
  """`int32[None,None]` -> ShapeDtype((None, None), int32)."""
  from trax import shapes

  dtype, _, rest = text.strip().partition('[')
  if dtype not in _DTYPES or not rest.endswith(']'):
    raise argparse.ArgumentTypeError(
      f'{text!r}: expected DTYPE[d0,d1,...] with DTYPE one of {", ".join(_DTYPES)}, e.g. '
      'int32[None,None]'
    )
  dims = [d.strip() for d in rest[:-1].split(',') if d.strip()]
  try:
    shape = tuple(None if d in ('None', '?', '-1') else int(d) for d in dims)
  except ValueError:
    raise argparse.ArgumentTypeError(f'{text!r}: dimensions must be integers or None') from None
  return shapes.ShapeDtype(shape, shapes.as_numpy_dtype(_numpy_dtype(dtype)))


def _numpy_dtype(name: str) -> Any:
  if name == 'bfloat16':
    import ml_dtypes

    return ml_dtypes.bfloat16
  return name


def _names(text: str) -> list[str]:
  return [name.strip() for name in text.split(',') if name.strip()]


def _json_file(path: str) -> dict:
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise argparse.ArgumentTypeError(f'cannot read JSON from {path}: {e}') from None


def _representative_data(path: 'str | None') -> Any:
  if path is None:
    return None
  import numpy as np

  with np.load(path, allow_pickle=False) as data:
    arrays = {k: data[k] for k in data.files}
  n = min(len(a) for a in arrays.values())
  return [{k: a[i : i + 1] for k, a in arrays.items()} for i in range(n)]


if __name__ == '__main__':
  sys.exit(main())
