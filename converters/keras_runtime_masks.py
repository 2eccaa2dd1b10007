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
once in Keras on zeros (only models with wrapped nodes, whose code trax does not know,
need it) and comparing the masks at each node's inputs with the symbolic ones.
`layers_to_wrap` wraps the custom layers among them that take the mask from a wrapped
layer (keras_hub's `TransformerEncoder`, which maps exactly, reads it off its input) and
refuses the rest, naming them.
"""

import dataclasses
import logging
from typing import Any
from collections.abc import Callable

from trax import shapes
from converters import keras_graph
from converters import signatures
from converters.errors import UnsupportedLayerError
from converters.keras_mappings.base import keras_mask
from converters.keras_mappings.base import mask_arguments
from converters.keras_mappings.core import INFERENCE_IDENTITIES

log = logging.getLogger('converters')


@dataclasses.dataclass(frozen=True)
class LostMask:
  """A node reading a run-time-only mask that its converted form would not get."""

  name: str  # the layer reading the mask
  kind: str
  source: str  # the layer whose output carried the mask to it
  kept_if_wrapped: bool  # whether wrapping the layer would hand it the mask (`lost_masks`)


def layers_to_wrap(
  keras_model: Any,
  signature: list,
  mode: str,
  statuses: list,
  statuses_wrapping: Callable[[set[str]], list],
) -> set[str]:
  """Names of exactly mapped layers to wrap instead, so that a Keras mask a wrapped layer
  attaches at run time reaches them.

  Args:
    keras_model: the model.
    signature: `ShapeDtype`s of its inputs, flat (`from_keras.input_signature`).
    mode: the trax mode it converts to ('eval' or 'train').
    statuses: how its nodes convert (`from_keras.NodeStatus`), with wrapping allowed.
    statuses_wrapping: the statuses with the named layers wrapped too.

  Raises:
    UnsupportedLayerError: layers the mask would not reach either way (named).
  """
  wrap: set[str] = set()
  while True:
    wrapped = {s.name for s in statuses if s.status == 'wrapped'}
    if not wrapped:  # Built-in layers' masks all show in the graph.
      return wrap
    try:
      lost = lost_masks(keras_model, signature, wrapped, mode)
    except Exception as e:  # A model that cannot run on zeros: say the check did not run.
      log.warning(
        'from_keras(%r): could not check for Keras masks that exist only at run time '
        '(Keras failed on zeros of the input shapes: %s: %s), so custom layers run wrapped; '
        'compare the outputs with Keras.',
        keras_model.name,
        type(e).__name__,
        e,
      )
      return wrap | custom_layers(keras_model)
    more = {m.name for m in lost if m.kept_if_wrapped} - wrap
    if not more:
      break
    wrap |= more
    statuses = statuses_wrapping(wrap)
  if lost:
    listing = '; '.join(f'{m.name} ({m.kind}) from {m.source}' for m in lost)
    raise UnsupportedLayerError(
      f'Keras model {keras_model.name!r} has layers reading a Keras mask that only exists '
      f'when Keras runs it: {listing}. A layer attached the mask inside its call, so the '
      "model's graph does not carry it, and the converted model would compute without it. "
      'Build it without that mask (keras_hub: mask_zero=False) and pass the mask as a '
      'tensor of the graph instead (keras_hub blocks: padding_mask=keras.ops.not_equal('
      'token_ids, 0); Keras layers: mask=...).',
      [(m.name, m.kind) for m in lost],
    )
  return wrap


def lost_masks(
  keras_model: Any, signature: list, wrapped: set[str], mode: str = 'eval'
) -> list[LostMask]:
  """The layers of `keras_model` (top level) that read a mask only a run shows, other than
  wrapped layers taking it from a wrapped layer (named in `wrapped`), directly or through
  layers that map to no trax layer in `mode`. A custom layer mapped exactly (keras_hub's
  transformer blocks) may read it off the tensor; if its mask comes from a wrapped layer,
  wrapping it too keeps the mask (`kept_if_wrapped`)."""
  from keras.src.backend import get_keras_mask
  import keras

  values = {
    id(t): keras.ops.zeros(s.shape, s.dtype)
    for t, s in zip(keras_model.inputs, shapes.concrete(signature, *signatures.PROBE_SIZE))
  }
  found = []
  for node in _nodes_in_order(keras_model):
    if any(id(t) not in values for t in node.input_tensors):
      continue  # Not computed from the inputs (Keras skips it too).
    args, kwargs = node.arguments.fill_in(values)
    operation = node.operation
    if isinstance(operation, keras.layers.Layer):
      readers = {id(t) for t in _mask_readers(operation, node.arguments)}
      custom = _is_custom(operation)
      for tensor in node.input_tensors:
        if get_keras_mask(values[id(tensor)]) is None or keras_mask(tensor) is not None:
          continue  # No mask, or one the graph shows.
        source = _source(tensor, mode)
        if operation.name in wrapped:  # Its code may read the mask off the tensor.
          lost = source.name not in wrapped
        else:  # Mapped exactly, from the graph: a Keras layer gets the mask as an argument,
          # other code (keras_hub's) may read it off the tensor.
          lost = id(tensor) in readers or custom
        if lost:
          # Custom code mapped exactly: wrapped, it gets the mask with the array.
          kept = operation.name not in wrapped and source.name in wrapped and custom
          found.append(LostMask(operation.name, type(operation).__name__, source.name, kept))
    outputs = operation(*args, **kwargs)
    values.update(zip((id(t) for t in node.outputs), keras.tree.flatten(outputs)))
  return found


def _source(tensor: Any, mode: str) -> Any:
  """The layer whose output `tensor` is, looking through the layers that map to no trax
  layer in `mode` (eval-mode dropout): the array, and its mask, pass them unchanged."""
  node = keras_graph.node_of(tensor)
  while _maps_to_nothing(node.operation, mode) and len(node.input_tensors) == 1:
    node = keras_graph.node_of(node.input_tensors[0])
  return node.operation


def _maps_to_nothing(operation: Any, mode: str) -> bool:
  name = type(operation).__name__
  if not type(operation).__module__.startswith('keras.') or name not in INFERENCE_IDENTITIES:
    return False
  return mode != 'train' or name in ('Identity', 'ActivityRegularization')


def custom_layers(keras_model: Any) -> set[str]:
  """Names of the layers of `keras_model` (top level) whose code is not Keras' own."""
  return {
    node.operation.name for node in _nodes_in_order(keras_model) if _is_custom(node.operation)
  }


def _is_custom(operation: Any) -> bool:
  return not type(operation).__module__.startswith('keras.')


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
