"""Keras masks that exist only at run time, and the nodes a conversion would lose them at.

Keras carries a padding mask on the tensors themselves. In a functional graph a layer's
symbolic output gets its mask from `compute_mask`, which `from_keras` reads; but a custom
layer may also attach one inside `call` (keras_hub's `TokenAndPositionEmbedding` does, with
`mask_zero=True`), and then only the tensors of a real run carry it. Keras passes it on
through the layers that support masking and hands it to those whose `call` takes a mask
(`mask=` or `<argument>_mask=`: attention, pooling, recurrent layers, keras_hub's
transformer blocks), which then compute something else than without it.

A converted model sees the symbolic graph only. Between two wrapped nodes the mask still
travels (Keras attaches it to the array the next `KerasLayer` receives), but an exactly
mapped layer never reads it, and a trax layer in between drops it: the outputs would
differ from Keras' without a word. `lost_masks` finds those nodes by running the model
once in Keras on small inputs (only models with wrapped nodes, whose code trax does not
know, need it) and comparing the masks at each node's inputs with the symbolic ones.
"""

import dataclasses
from typing import Any

import numpy as np

from trax import shapes
from converters import keras_graph
from converters import signatures
from converters.keras_mappings.base import keras_mask
from converters.keras_mappings.base import mask_arguments


@dataclasses.dataclass(frozen=True)
class LostMask:
  """A node reading a run-time-only mask that its converted form would not get."""

  name: str  # the layer reading the mask
  kind: str
  source: str  # the layer whose output carried the mask to it


def lost_masks(keras_model: Any, wrapped: set[str]) -> list[LostMask]:
  """The layers of `keras_model` (top level) that read a mask only a run shows, other than
  wrapped layers taking it straight from a wrapped layer (named in `wrapped`)."""
  from keras.src.backend import get_keras_mask
  import keras

  values = {
    id(t): keras.ops.zeros(s.shape, s.dtype)
    for t, s in zip(keras_model.inputs, _example_signature(keras_model.inputs))
  }
  found = []
  for node in _nodes_in_order(keras_model):
    if any(id(t) not in values for t in node.input_tensors):
      continue  # Not computed from the inputs (Keras skips it too).
    args, kwargs = node.arguments.fill_in(values)
    operation = node.operation
    if isinstance(operation, keras.layers.Layer):
      readers = {id(t) for t in _mask_readers(operation, node.arguments)}
      for tensor in node.input_tensors:
        if get_keras_mask(values[id(tensor)]) is None or keras_mask(tensor) is not None:
          continue  # No mask, or one the graph shows.
        source = keras_graph.node_of(tensor).operation
        if operation.name in wrapped:  # Its code may read the mask off the tensor.
          lost = source.name not in wrapped
        else:  # Mapped exactly: from the symbolic graph, where there is no mask.
          lost = id(tensor) in readers
        if lost:
          found.append(LostMask(operation.name, type(operation).__name__, source.name))
    outputs = operation(*args, **kwargs)
    values.update(zip((id(t) for t in node.outputs), keras.tree.flatten(outputs)))
  return found


def _mask_readers(layer: Any, arguments: Any) -> list:
  """The symbolic tensor arguments whose Keras mask Keras hands to `layer.call`."""
  import keras

  return [
    t
    for value in mask_arguments(layer, arguments.args, arguments.kwargs).values()
    for t in keras.tree.flatten(value)
    if isinstance(t, keras.KerasTensor)
  ]


def _nodes_in_order(keras_model: Any) -> list:
  """The model's non-input nodes, each after the nodes computing its inputs."""
  by_depth = keras_model._nodes_by_depth  # Keras' own run order (`Function`).
  return [
    node
    for depth in sorted(by_depth, reverse=True)
    for node in by_depth[depth]
    if node.operation is not None and not node.is_input
  ]


def _example_signature(inputs: list) -> list:
  signature = [shapes.ShapeDtype(tuple(t.shape), np.dtype(t.dtype)) for t in inputs]
  return shapes.concrete(signature, *signatures.PROBE_SIZE)
