"""`trax-convert`: every sub-command end to end, and one-line failures with exit status 1."""

import json
import os

import numpy as np
import pytest

from converters import __main__ as cli
from trax import shapes
import trax.layers as tl
from tests.converters import helpers


def _main(capsys, *args):
  status = cli.main([str(a) for a in args])
  out, err = capsys.readouterr()
  return status, out, err


def test_saved_model_inspect_and_verify(lm_run_dir, tmp_path, capsys):
  serving = tmp_path / 'serving'
  status, out, _ = _main(
    capsys,
    'saved-model',
    lm_run_dir,
    serving,
    '--no-verify',
    '--input-signature',
    'int32[None,None]',
  )
  assert status == 0 and out.startswith(f'wrote {serving}/1 (native path)')
  status, out, _ = _main(capsys, 'inspect', serving)
  assert status == 0
  for expected in (
    'serving directory: versions 1',
    "signature 'serving_default':",
    'input tokens: int32[None, None]',
    'output logits: float32[None, None, 32]',
    'model config: TransformerLM',
    'path: native',
  ):
    assert expected in out, expected
  status, out, _ = _main(capsys, 'verify', serving, '--checkpoint', lm_run_dir)
  assert status == 0 and 'outputs match the JAX model without jax' in out


@pytest.mark.slow
def test_tflite_and_inspect(lm_run_dir, tmp_path, capsys):
  output = tmp_path / 'lm.tflite'
  status, out, _ = _main(capsys, 'tflite', lm_run_dir, output, '--quantize', 'dynamic_range')
  assert status == 0 and out.startswith(f'wrote {output}') and 'top-1 agreement' in out
  status, out, _ = _main(capsys, 'inspect', output)
  # Trained on length 8, the LM takes any length: the export keeps it dynamic.
  assert status == 0 and 'input tokens: int32[None, None]' in out and 'FULLY_CONNECTED' in out


def test_inspect_checkpoint(lm_run_dir, capsys):
  status, out, _ = _main(capsys, 'inspect', lm_run_dir)
  assert status == 0
  assert 'format: trax-checkpoint' in out and 'step: 2' in out
  assert 'model config: TransformerLM' in out


@pytest.mark.skipif(not helpers.TRAX1_CHECKPOINT.exists(), reason='no Trax 1.x checkpoint')
def test_from_trax1(tmp_path, capsys):
  from trax import models

  config_path = tmp_path / 'lm.json'
  config_path.write_text(json.dumps(models.TransformerLM(**helpers.TRAX1_MODEL).config()))
  output = tmp_path / 'model.npz'
  status, out, _ = _main(
    capsys, 'from-trax1', helpers.TRAX1_CHECKPOINT, output, '--config', config_path
  )
  assert status == 0 and out.startswith(f'wrote {output}: 38 weight arrays, step 5100')
  status, out, _ = _main(capsys, 'inspect', output)
  assert 'model config: TransformerLM' in out


def _corrupt_files(tmp_path):
  (tmp_path / 'corrupt.npz').write_bytes(os.urandom(200))
  (tmp_path / 'corrupt.pkl.gz').write_bytes(b'\x1f\x8b' + os.urandom(100))
  (tmp_path / 'corrupt.tflite').write_bytes(os.urandom(300))
  (tmp_path / 'saved' / '1').mkdir(parents=True)
  (tmp_path / 'saved' / '1' / 'saved_model.pb').write_bytes(os.urandom(300))
  (tmp_path / 'config.json').write_text('{"factory": "NoSuchModel"}')
  checkpoint = tmp_path / 'run'
  checkpoint.mkdir()
  layer = tl.Dense(2)
  layer.save_to_file(str(checkpoint / 'model.npz'), input_signature=shapes.ShapeDtype((1, 3)))
  return tmp_path


FAILURES = [
  ('inspect', '{d}/missing'),
  ('inspect', '{d}/corrupt.npz'),
  ('inspect', '{d}/corrupt.pkl.gz'),
  ('inspect', '{d}/corrupt.tflite'),
  ('inspect', '{d}/saved'),
  ('saved-model', '{d}/missing', '{d}/out'),
  ('saved-model', '{d}/corrupt.npz', '{d}/out'),
  ('saved-model', '{d}/run', '{d}/out', '--config', '{d}/config.json'),
  ('tflite', '{d}/corrupt.pkl.gz', '{d}/out.tflite'),
  ('verify', '{d}/missing', '--checkpoint', '{d}/run'),
  ('verify', '{d}/saved', '--checkpoint', '{d}/run'),
  ('from-trax1', '{d}/corrupt.npz', '{d}/out.npz'),
  ('from-trax1', '{d}/missing.pkl.gz', '{d}/out.npz'),
]


def test_failures_are_one_line_with_exit_status_1(tmp_path, capsys):
  directory = _corrupt_files(tmp_path)
  for arguments in FAILURES:
    status, out, err = _main(capsys, *[a.format(d=directory) for a in arguments])
    assert status == 1, arguments
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'trax-convert {arguments[0]}: error: '), (
      arguments,
      err,
    )
    assert not os.path.exists(directory / 'out') and not os.path.exists(directory / 'out.npz'), (
      arguments
    )


def test_usage_errors_exit_2(capsys):
  with pytest.raises(SystemExit) as e:
    cli.main(['saved-model', 'a', 'b', '--input-signature', 'int32(3)'])
  assert e.value.code == 2
  assert 'expected DTYPE[d0,d1,...]' in capsys.readouterr().err


def test_the_real_command_line(tmp_path):
  process = helpers.run_cli('--help')
  assert process.returncode == 0
  for command in ('saved-model', 'tflite', 'inspect', 'verify', 'from-trax1'):
    assert command in process.stdout
  process = helpers.run_cli('inspect', str(tmp_path / 'nothing-here'))
  assert process.returncode == 1
  assert 'Traceback' not in process.stderr
  assert process.stderr.strip().splitlines()[-1] == (
    f'trax-convert inspect: error: ExportError: No such file or directory: {tmp_path}/nothing-here'
  )


def _export_that_writes_a_file(run_dir, tmp_path, capsys, marker):
  """Our export of the run, re-saved with a serving function that also writes `marker`."""
  import shutil
  import tensorflow as tf

  honest = tmp_path / 'honest'
  status, _, _ = _main(
    capsys, 'saved-model', run_dir, honest, '--no-verify', '--input-signature', 'int32[None,None]'
  )
  assert status == 0
  served = tf.saved_model.load(str(honest / '1'))

  class Hostile(tf.Module):
    def __init__(self):
      super().__init__()
      self.served = served

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.int32, name='tokens')])
    def serve(self, tokens):
      tf.io.write_file(str(marker), 'written by the SavedModel')
      return self.served.signatures['serving_default'](tokens=tokens)

  hostile = tmp_path / 'hostile' / '1'
  module = Hostile()
  tf.saved_model.save(module, str(hostile), signatures={'serving_default': module.serve})
  shutil.copytree(honest / '1' / 'assets.extra', hostile / 'assets.extra')
  return hostile


def test_verify_checks_the_ops_before_running_anything(lm_run_dir, tmp_path, capsys):
  """verify ran a SavedModel whose serving function wrote a file, and said it matched."""
  marker = tmp_path / 'written'
  hostile = _export_that_writes_a_file(lm_run_dir, tmp_path, capsys, marker)
  status, _, err = _main(capsys, 'verify', hostile, '--checkpoint', lm_run_dir)
  assert status == 1 and 'UntrustedExportError' in err and 'WriteFile' in err
  assert '--trust' in err and not marker.exists()
  status, out, _ = _main(capsys, 'verify', hostile, '--checkpoint', lm_run_dir, '--trust')
  assert status == 0 and 'outputs match' in out and marker.exists()  # Trusted: it ran.


def test_verify_help_says_running_a_saved_model_runs_its_program(capsys):
  with pytest.raises(SystemExit):
    cli.main(['verify', '--help'])
  out = ' '.join(capsys.readouterr().out.split())
  assert 'Running a SavedModel runs the program it holds' in out and '--trust' in out


def test_max_bytes_limits_checkpoint_reads(tmp_path, capsys):
  import gzip
  import pickle

  path = tmp_path / 'model.pkl.gz'
  path.write_bytes(
    gzip.compress(pickle.dumps({'flat_weights': [np.zeros(1000, np.float32)], 'step': 1}))
  )
  status, _, err = _main(capsys, '--max-bytes', 1000, 'inspect', path)
  assert status == 1 and 'CheckpointError' in err and 'more than the limit of 1,000' in err
  status, out, _ = _main(capsys, 'inspect', path)
  assert status == 0 and '0: (1000,) float32' in out
