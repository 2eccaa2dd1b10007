"""Trains a model from Trax `.gin` configs: `python -m trax.trainer --config_file=...`.

As Trax 1.4's `trax/trainer.py`: the config files and `--config` bindings are parsed with
gin (which must be installed: `pip install gin-config`), then
`trax.supervised.trainer_lib.train(output_dir)` runs with what they bound::

  python -m trax.trainer --config_file=transformer_lm1b.gin \\
      --config="train.steps=1000" --output_dir=run/

`--dataset`, `--model` and `--data_dir` set `data_streams.dataset_name`, `train.model` and
`data_streams.data_dir`. The output directory defaults to
`~/trax/<model>_<dataset>_<date>`; training resumes when it holds a checkpoint.
"""

import argparse
import datetime
import os
import sys
from collections.abc import Sequence


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
    prog='python -m trax.trainer',
    description=__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  parser.add_argument(
    '--config_file', action='append', default=[], help='a gin config file; may be repeated'
  )
  parser.add_argument(
    '--config',
    action='append',
    default=[],
    help='a gin binding such as "train.steps=100"; may be repeated',
  )
  parser.add_argument('--output_dir', default=None, help='checkpoints and summaries')
  parser.add_argument('--dataset', default=None, help='sets data_streams.dataset_name')
  parser.add_argument('--model', default=None, help='sets train.model')
  parser.add_argument('--data_dir', default=None, help='sets data_streams.data_dir')
  return parser.parse_args(argv)


def _output_dir(args: argparse.Namespace) -> str:
  if args.output_dir:
    return os.path.expanduser(args.output_dir)
  date = datetime.datetime.now().strftime('%Y%m%d_%H%M')
  name = f'{args.model or "model"}_{args.dataset or "data"}_{date}'
  return os.path.expanduser(os.path.join('~', 'trax', name))


def main(argv: 'Sequence[str] | None' = None) -> int:
  """Parses the gin configs and trains; returns the exit status."""
  args = _parse_args(sys.argv[1:] if argv is None else argv)
  try:
    import gin
  except ImportError:
    print(
      'trax.trainer reads gin configs; install gin-config (pip install gin-config).',
      file=sys.stderr,
    )
    return 2
  from trax import gin_config
  from trax.supervised import trainer_lib

  gin_config.register()
  bindings = list(args.config)
  if args.dataset:
    bindings.append(f'data_streams.dataset_name = {args.dataset!r}')
  if args.data_dir:
    bindings.append(f'data_streams.data_dir = {os.path.expanduser(args.data_dir)!r}')
  if args.model:
    bindings.append(f'train.model = @trax.models.{args.model}')
  gin.parse_config_files_and_bindings(args.config_file, bindings)
  output_dir = _output_dir(args)
  print(f'Training into {output_dir}')
  loop = trainer_lib.train(output_dir=output_dir)
  print(f'Trained to step {loop.step}.')
  return 0


if __name__ == '__main__':
  sys.exit(main())
