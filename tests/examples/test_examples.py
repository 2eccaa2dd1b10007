"""The examples run end to end (briefly trained): the README's main command keeps working."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script: str, *args: str) -> str:
  result = subprocess.run(
    [sys.executable, os.path.join(ROOT, 'examples', script), *args],
    capture_output=True,
    text=True,
    timeout=600,
    cwd=ROOT,
  )
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result.stdout


def test_quickstart_trains_serves_and_checks_every_export(tmp_path):
  output = _run('quickstart.py', '--steps', '30', '--output_dir', str(tmp_path))
  for expected in (
    'Trained 30 steps',
    'Predict-mode decode of',
    'reloaded without JAX',
    'TF Lite decode of',
    f'outputs in {tmp_path}',
  ):
    assert expected in output, output
  assert {'train', 'keras', 'serving', 'lm.tflite'} <= set(os.listdir(tmp_path))


def test_keras_swap_block_trains_saves_and_reloads(tmp_path):
  output = _run('keras_swap_block.py', '--output_dir', str(tmp_path))
  assert 'reloaded predictions differ by at most 0.00e+00' in output, output
  assert os.path.exists(tmp_path / 'swapped.keras')


def _check_keras_migration(output: str, output_dir, steps: int) -> None:
  for expected in (
    '14 of 14 nodes map exactly',
    f'Trained {steps} steps',
    'no TraxLayer',
    'checked in a process without JAX',
    'TF Lite',
    f'outputs in {output_dir}',
  ):
    assert expected in output, output
  assert {'original.keras', 'train', 'trained.keras', 'serving', 'classifier.tflite'} <= set(
    os.listdir(output_dir)
  )
  errors = [
    float(line.rsplit(' ', 1)[-1]) for line in output.splitlines() if 'relative error' in line
  ]
  assert len(errors) == 3 and max(errors) <= 1e-4, output  # Keras in, Keras and TF Lite out.


def test_keras_migration_converts_trains_and_serves(tmp_path):
  output = _run('keras_migration.py', '--steps', '10', '--output_dir', str(tmp_path))
  _check_keras_migration(output, tmp_path, 10)


@pytest.mark.slow
def test_keras_migration_learns_its_task_on_the_tensorflow_engine(tmp_path):
  output = _run(
    'keras_migration.py', '--backend', 'tensorflow-numpy', '--output_dir', str(tmp_path)
  )
  _check_keras_migration(output, tmp_path, 400)
  accuracy = float(output.split('eval accuracy ')[1].split()[0])
  assert accuracy >= 0.95, output
