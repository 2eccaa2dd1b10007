"""Exporters' options: an options object, keywords building it, or both (keywords win)."""

import dataclasses

import pytest

import converters
from converters.export_options import SavedModelOptions
from converters.export_options import TFLiteOptions
from trax.shapes import ShapeDtype
import trax.layers as tl


def _dense():
  model = tl.Dense(2)
  model.init(ShapeDtype((1, 3)))
  return model


def test_keywords_replace_fields_of_the_options_and_options_are_frozen():
  base = TFLiteOptions(quantize='float16', verify=False)
  built = TFLiteOptions.build(base, {'tolerance': 1e-3}, 'to_tflite')
  assert (built.quantize, built.verify, built.tolerance) == ('float16', False, 1e-3)
  assert SavedModelOptions.build(None, {}, 'to_saved_model') == SavedModelOptions()
  with pytest.raises(dataclasses.FrozenInstanceError):
    built.quantize = None  # type: ignore[misc]


def test_unknown_keywords_and_wrong_options_are_type_errors_naming_the_exporter():
  with pytest.raises(TypeError, match=r"to_tflite: unknown keyword argument\(s\) \['quantise'\]"):
    TFLiteOptions.build(None, {'quantise': 'int8'}, 'to_tflite')
  with pytest.raises(TypeError, match='to_saved_model: options must be a SavedModelOptions'):
    SavedModelOptions.build(TFLiteOptions(), {}, 'to_saved_model')


def test_exporters_read_the_options_object_and_keywords_override_it(tmp_path):
  signature = ShapeDtype((None, 3))
  with pytest.raises(converters.ExportError, match="quantize='int4'"):
    converters.to_tflite(
      _dense(), tmp_path / 'm.tflite', signature, options=converters.TFLiteOptions(quantize='int4')
    )
  with pytest.raises(converters.ExportError, match="path='gpu'"):
    converters.to_saved_model(
      _dense(), tmp_path, signature, options=converters.SavedModelOptions(path='gpu')
    )
  with pytest.raises(converters.ExportError, match="path='gpu'"):
    converters.to_saved_model(
      _dense(), tmp_path, signature, options=converters.SavedModelOptions(path='native'), path='gpu'
    )
  with pytest.raises(TypeError, match='to_saved_model: unknown keyword'):
    converters.to_saved_model(_dense(), tmp_path, signature, pth='xla')
