"""Trax leaf layers -> native Keras layers with the same outputs: the table `to_keras` uses.

The inverses of `keras_mappings` (Keras -> trax), keyed by the name of the trax factory or
class that built a leaf layer (the record its `config()` is made from). Each inverse
mapping takes the builder, the trax layer, its arguments and its Keras input tensors, and
returns the Keras output tensors (see `base`); it raises `base.Unmapped` with the reason
when there is no exact native counterpart. One module per concept:

- `core`: Dense, Embedding, Dropout, Flatten, Reshape, Rescale, merges, stack moves, the
  numpy functions of op nodes.
- `activations`: every activation `from_keras` makes, read off its own table.
- `convolutions`: convolutions of every kind, pooling, padding and cropping.
- `normalization`: Layer, Batch, fixed-statistics normalization and LayerScale.
- `recurrent`: LSTM, GRU.
"""

import functools

from converters.to_keras_mappings import activations
from converters.to_keras_mappings import convolutions
from converters.to_keras_mappings import core
from converters.to_keras_mappings import normalization
from converters.to_keras_mappings import recurrent
from converters.to_keras_mappings.base import built_by
from converters.to_keras_mappings.base import InverseMapping
from converters.to_keras_mappings.base import Unmapped


@functools.cache
def table() -> dict[str, InverseMapping]:
  """`{trax factory or class name: inverse mapping}`."""
  mappings = {}
  for module in (core, activations, convolutions, normalization, recurrent):
    mappings.update(module.table())
  return mappings


__all__ = ['InverseMapping', 'Unmapped', 'built_by', 'table']
