"""The examples run end to end (briefly trained): the README's main command keeps working."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script: str, *args: str) -> str:
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'examples', script), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result.stdout


def test_quickstart_trains_serves_and_checks_every_export(tmp_path):
  output = _run('quickstart.py', '--steps', '30', '--output_dir', str(tmp_path))
  for expected in ('Trained 30 steps', 'Predict-mode decode of', 'reloaded without JAX',
                   'TF Lite decode of', f'outputs in {tmp_path}'):
    assert expected in output, output
  assert {'train', 'keras', 'serving', 'lm.tflite'} <= set(os.listdir(tmp_path))


def test_keras_swap_block_trains_saves_and_reloads(tmp_path):
  output = _run('keras_swap_block.py', '--output_dir', str(tmp_path))
  assert 'reloaded predictions differ by at most 0.00e+00' in output, output
  assert os.path.exists(tmp_path / 'swapped.keras')
