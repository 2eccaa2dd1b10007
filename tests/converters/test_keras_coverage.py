"""The coverage table of from_keras: every keras.layers class has a status, the docs table
is the one the code makes, and every exact mapping is tested against Keras."""

import pathlib
import re

import keras
import pytest

from converters import __main__ as cli
from converters.keras_mappings import core
from converters.keras_mappings import coverage

DOC = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'keras_layers.md'
TESTS = pathlib.Path(__file__).resolve().parent


def test_every_keras_layer_class_has_a_status_and_a_note():
  rows = coverage.coverage()
  names = {
    name
    for name, cls in vars(keras.layers).items()
    if isinstance(cls, type) and issubclass(cls, keras.layers.Layer)
  }
  assert {r.name for r in rows} == names
  assert all(r.status in ('exact', 'wrapped', 'refused') and r.note for r in rows)
  assert sum(r.status == 'exact' for r in rows) >= 100


def test_the_docs_table_is_the_generated_one():
  text = DOC.read_text(encoding='utf-8')
  if f'For Keras {keras.__version__}.' not in text:
    pytest.skip(f'docs/keras_layers.md was generated for another Keras than {keras.__version__}')
  assert text == coverage.markdown(), (
    'docs/keras_layers.md is stale: python -m converters layers --markdown > docs/keras_layers.md'
  )


def test_every_exact_mapping_is_tested_against_keras():
  sources = ''.join(
    path.read_text(encoding='utf-8')
    for path in TESTS.glob('test_*.py')
    if path.name != 'test_keras_coverage.py'
  )
  classes = coverage.layer_classes()
  tested = {
    classes[name] for name in re.findall(r'\b(?:L|layers)\.(\w+)\(', sources) if name in classes
  }
  tested |= {classes[name] for name in core.INFERENCE_IDENTITIES}  # parametrized
  untested = sorted(
    r.name
    for r in coverage.coverage()
    if r.status == 'exact' and r.name != 'InputLayer' and classes[r.name] not in tested
  )
  assert not untested, f'exact mappings without a test against Keras: {untested}'


def test_the_command_line_prints_the_table(capsys):
  assert cli.main(['layers']) == 0
  out = capsys.readouterr().out
  assert re.search(r'^DepthwiseConv2D +exact +', out, re.MULTILINE)
  assert re.search(r'^TFSMLayer +refused +runs a TensorFlow SavedModel', out, re.MULTILINE)
  assert cli.main(['layers', '--markdown']) == 0
  assert capsys.readouterr().out == coverage.markdown()


def test_the_command_line_reports_a_saved_model_node_by_node(tmp_path, capsys):
  x = keras.Input((4,))
  y = keras.layers.Dense(3, name='dense')(x)
  path = tmp_path / 'model.keras'
  keras.Model(x, keras.ops.erf(y)).save(path)
  assert cli.main(['layers', str(path)]) == 0
  out = capsys.readouterr().out
  assert re.search(r'^dense \(Dense\) +exact', out, re.MULTILINE)
  assert re.search(r'^erf\S* \(Erf\) +wrapped +an op with no exact trax mapping', out, re.MULTILINE)
