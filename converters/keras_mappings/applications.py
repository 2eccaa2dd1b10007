"""The custom layers of `keras.applications` models (not in `keras.layers`).

- ConvNeXt's `LayerScale`: `x * gamma`, trax's `LayerScale`.
- InceptionResNetV2's `CustomScaleLayer`: `inputs[0] + inputs[1] * scale`, a constant
  `Rescale` of the second input, then `Add`.
"""

import importlib

import trax.layers as tl
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy


def layer_scale(layer, call: Call) -> Mapped:
  """ConvNeXt's LayerScale."""
  return Mapped([tl.LayerScale(float(layer.get_config()['init_values']))], [numpy(layer.gamma)])


def custom_scale(layer, call: Call) -> Mapped:
  """InceptionResNetV2's residual scaling."""
  x, residual = call.data
  return Mapped(
    [tl.Parallel(None, tl.Rescale(float(layer.get_config()['scale']))), tl.Add()],
    inputs=[x, residual],
  )


def table() -> dict:
  """The mappings of the custom layers of the installed Keras' applications."""
  found = {}
  for module, name, mapping in (
    ('convnext', 'LayerScale', layer_scale),
    ('inception_resnet_v2', 'CustomScaleLayer', custom_scale),
  ):
    try:
      found[getattr(importlib.import_module(f'keras.src.applications.{module}'), name)] = mapping
    except (ImportError, AttributeError):  # Another Keras version: the class moved.
      pass
  return found
