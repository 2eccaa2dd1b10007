"""The fallback of `from_keras(allow_wrapping=True)`: one graph node run by Keras itself.

A node of a Keras functional graph is a layer (or op, or nested model) called on a
structure of arguments: several tensors, dicts, lists, constants, keyword arguments,
`mask=`, `training=`. trax hands a layer a flat stack of arrays instead. `NodeCall` is the
Keras layer that bridges the two: it takes the node's input arrays as one flat list, puts
them back into the node's argument structure (`SymbolicArguments.fill_in`, as Keras'
functional models do), attaches the Keras masks that the symbolic inputs carried (layers
such as MultiHeadAttention read a query's mask from the tensor itself), calls the layer or
op, and returns its outputs flattened. `trax_keras.KerasLayer` then runs it inside trax,
its variables being the wrapped layer's (Keras on the JAX backend).
"""

from typing import Any

from converters.keras_mappings import Call
from converters.keras_mappings import Mapped
from converters.keras_mappings import numpy
from converters.keras_mappings.base import keras_mask


def wrap(
  operation: Any, arguments: Any, call: Call, earlier: 'tuple[Any, Mapped] | None' = None
) -> tuple[Any, Mapped]:
  """The node `operation(*call.args, **call.kwargs)` as a `KerasLayer`.

  Args:
    operation: the node's layer, op or model.
    arguments: the node's `SymbolicArguments`.
    call: the node's call, as the mappings see it.
    earlier: `(signature, Mapped)` of an earlier call of the same layer; its `KerasLayer`
      is used again (the weights stay shared) if this call has the same signature.

  Returns:
    `(signature, Mapped)`: how the node is called (argument structure and where masks
    attach) and its mapping.
  """
  import keras
  from trax_keras import KerasLayer

  masked = [(t, keras_mask(t)) for t in arguments.keras_tensors if _has_history(keras_mask(t))]
  inputs = list(call.tensors)
  inputs += [m for _, m in masked if all(m is not u for u in inputs)]
  position = lambda tensor: next(i for i, u in enumerate(inputs) if u is tensor)
  signature = (
    repr(
      keras.tree.map_structure(
        lambda x: '<tensor>' if isinstance(x, keras.KerasTensor) else x,
        (arguments.args, arguments.kwargs),
      )
    ),
    len(inputs),
    [(position(t), position(m)) for t, m in masked],
  )
  if earlier is not None and earlier[0] == signature:
    return signature, Mapped(earlier[1].layers, inputs=inputs)
  node_call = _node_call_class()(operation, arguments, inputs, masked)
  wrapped = KerasLayer(node_call, n_in=len(inputs), n_out=len(call.outputs), mode=call.mode)
  return signature, Mapped(
    [wrapped],
    [numpy(v) for v in node_call.trainable_variables],
    [numpy(v) for v in node_call.non_trainable_variables],
    inputs=inputs,
  )


def _has_history(tensor: Any) -> bool:
  return tensor is not None and getattr(tensor, '_keras_history', None) is not None


_NODE_CALL = None


def _node_call_class() -> type:
  """`NodeCall`, defined on first use (importing keras is slow, and `converters` loads
  without it)."""
  global _NODE_CALL
  if _NODE_CALL is not None:
    return _NODE_CALL
  import keras

  # Keras 3 has no public setter for the mask a tensor carries.
  from keras.src.backend import set_keras_mask

  class NodeCall(keras.layers.Layer):
    """Calls `operation` as one node of a graph, on the node's inputs as a flat list."""

    def __init__(self, operation, arguments, inputs, masked):
      super().__init__(name=f'node_{operation.name}')
      self.operation = operation  # Tracked: its variables are this layer's.
      self._arguments = arguments
      self._keys = [id(t) for t in inputs]
      self._masked = [(id(t), id(m)) for t, m in masked]
      self.built = True  # The wrapped layer is built (it ran in its model).

    def call(self, inputs, training=None):
      flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
      values = dict(zip(self._keys, flat))
      for tensor_key, mask_key in self._masked:
        set_keras_mask(values[tensor_key], values[mask_key])
      args, kwargs = self._arguments.fill_in(values)
      if 'training' in kwargs:
        kwargs['training'] = training
      outputs = keras.tree.flatten(self.operation(*args, **kwargs))
      return outputs[0] if len(outputs) == 1 else outputs

  _NODE_CALL = NodeCall
  return NodeCall
