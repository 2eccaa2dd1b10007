"""Keras layers and ops -> trax layers with the same outputs: the tables `from_keras` uses.

Each mapping takes the Keras layer (or op) and how it was called (`base.Call`), and
returns the trax layers to run in sequence, the Keras weights rearranged into those
layers' flat weights and state, and the Keras tensors they take from the data stack
(`base.Mapped`). Mappings are exact or refuse (`base.Unsupported`, saying why); the first
line of each mapping's docstring says what it covers (the coverage table shows it). One
module per concept:

- `core`: Dense, Embedding, Masking, Rescaling, dropout/noise/augmentation (identities in
  inference).
- `activations`: activation functions and layers.
- `convolutions`: plain, grouped, dilated, causal, depthwise, separable, transposed.
- `pooling`, `reshaping` (padding, cropping, upsampling, Reshape, ...), `merges`.
- `normalization`: Batch, Layer, RMS, Group, Unit normalization and Normalization.
- `recurrent` (LSTM, GRU, SimpleRNN), `wrappers` (Bidirectional, TimeDistributed),
  `attention` (MultiHeadAttention).
- `ops`: op nodes of functional graphs (`keras.ops` and operators on KerasTensors).
- `applications`: the custom layers of `keras.applications` models.
- `keras_hub`: keras_hub's position embeddings and transformer encoder.
"""

from typing import Any

from converters.keras_mappings import activations
from converters.keras_mappings import applications
from converters.keras_mappings import attention
from converters.keras_mappings import convolutions
from converters.keras_mappings import core
from converters.keras_mappings import keras_hub
from converters.keras_mappings import merges
from converters.keras_mappings import normalization
from converters.keras_mappings import ops
from converters.keras_mappings import pooling
from converters.keras_mappings import recurrent
from converters.keras_mappings import reshaping
from converters.keras_mappings import wrappers
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import Mapping
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported
from converters.keras_mappings.base import with_masks

_MODULES = (
  core,
  activations,
  convolutions,
  pooling,
  reshaping,
  merges,
  normalization,
  recurrent,
  wrappers,
  attention,
  applications,
  keras_hub,
)


def table() -> dict:
  """`{Keras layer class: mapping}` (exact classes: a subclass may compute otherwise)."""
  mappings = {}
  for module in _MODULES:
    mappings.update(module.table())
  return mappings


def op_table() -> dict:
  """`{op class name: mapping}` for the `keras.ops` operations of functional graphs."""
  return ops.table()


def lookup(operation: Any, layers: dict, operations: dict) -> 'Mapping | None':
  """The mapping of a Keras layer or op (from `table()` and `op_table()`), or None."""
  import keras

  if isinstance(operation, keras.layers.Layer):
    return layers.get(type(operation))
  if type(operation).__module__.startswith('keras.src.ops.'):
    return operations.get(type(operation).__name__)
  return None


__all__ = [
  'Call',
  'Mapped',
  'Mapping',
  'Unsupported',
  'lookup',
  'numpy',
  'op_table',
  'table',
  'with_masks',
]
