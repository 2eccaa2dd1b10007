"""`from_keras`: a Keras model as an equivalent trax layer carrying the Keras weights.

Sequential models become a `tl.Serial` of the mapped layers. A functional model is a
graph; trax computes on a data stack, so the graph is compiled into stack moves: the
layers run in topological order, and before each one a `tl.Select` brings its inputs to
the top of the stack (copying those still needed later), after it another drops values no
longer needed. A chain of single-use values needs no moves, so a functional model that is
really a sequence gives the same `Serial` as the Sequential one.

Each Keras layer maps through `keras_mappings.table()` (exact mappings only). Layers that
do not map are reported together, by name and type, with the reason; with
`allow_wrapping=True` they are wrapped in `trax_keras.KerasLayer` instead (Keras runs
them, which needs Keras on the JAX backend). Nested Keras models are converted
recursively.
"""

import collections
import dataclasses
from typing import Any

import numpy as np

from trax import fastmath
from trax import shapes
import trax.layers as tl
from converters import keras_mappings
from converters import signatures
from converters.errors import UnsupportedLayerError
from converters.keras_mappings import Call
from converters.keras_mappings import Mapped
from converters.keras_mappings import Unsupported

# Layers built here say they were created where this module was called
# (trax.layers.errors.BUILDS_LAYERS_FOR_CALLER).
_TRAX_BUILDS_LAYERS_FOR_CALLER = True


def from_keras(keras_model: Any, allow_wrapping: bool = False, mode: str = 'eval'
               ) -> tuple[tl.Layer, Any]:
  """Converts a Keras model to a trax layer computing the same function.

  >>> layer, weights = from_keras(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
  >>> y = layer(x)  # == keras_model(x, training=False)

  Args:
    keras_model: a built Sequential or functional Keras model (its inputs known).
    allow_wrapping: wrap layers without an exact trax counterpart in
      `trax_keras.KerasLayer` (Keras on JAX) instead of failing.
    mode: the trax mode to build: 'eval' (as Keras' `training=False`) or 'train'
      (dropout on, batch statistics used and updated).

  Returns:
    `(layer, weights)`: the trax layer, holding the Keras weights and state (BatchNorm
    statistics are `layer.state`), and its weights tree.

  Raises:
    UnsupportedLayerError: layers with no exact mapping, all of them listed.
    ValueError: the model is not built, or is subclassed (no layer graph to convert).
  """
  converted = _Converter(allow_wrapping, mode)
  layer, flat_weights, flat_state = converted.model(keras_model)
  if converted.unsupported:
    listing = '; '.join(f'{name} ({kind}): {why}' for name, kind, why in converted.unsupported)
    raise UnsupportedLayerError(
        f'Keras model {keras_model.name!r} has layers without an exact trax counterpart: '
        f'{listing}. Pass allow_wrapping=True to run them through trax_keras.KerasLayer '
        '(Keras on the JAX backend).',
        [(name, kind) for name, kind, _ in converted.unsupported])
  signature = input_signature(keras_model)
  probe = signatures.structure(signatures.concrete(signature, *signatures.PROBE_SIZE),
                               layer.n_in)
  # A real init (not just the shapes), so the layer counts as initialized and `layer(x)`
  # keeps the weights set below.
  weights_tree, state_tree = layer.init(probe)
  weights, state = tl.unflatten_weights_and_state(
      _cast(flat_weights, weights_tree, 'weights', keras_model.name),
      _cast(flat_state, state_tree, 'state', keras_model.name), (weights_tree, state_tree))
  layer.weights, layer.state = weights, state
  return layer, weights


def input_signature(keras_model: Any) -> list:
  """Flat `ShapeDtype`s of the model's inputs (`None` for dynamic dimensions)."""
  inputs = _inputs(keras_model)
  return [shapes.ShapeDtype(tuple(t.shape), t.dtype) for t in inputs]


def _inputs(keras_model: Any) -> list:
  try:
    inputs = keras_model.inputs
  except (AttributeError, ValueError):
    inputs = None
  if not inputs:
    raise ValueError(f'Keras model {keras_model.name!r} has no known inputs: build it with '
                     'keras.Input (or call it once) before converting. Subclassed models '
                     'have no layer graph to convert.')
  return list(inputs)


@dataclasses.dataclass
class _Step:
  """One node of the graph: a Keras layer call."""
  layer: Any
  call: Call
  outputs: list


class _Converter:
  """Walks Keras models, mapping each layer and compiling the graph to stack moves."""

  def __init__(self, allow_wrapping: bool, mode: str):
    self.allow_wrapping = allow_wrapping
    self.mode = mode
    self.table = keras_mappings.table()
    self.unsupported: list[tuple[str, str, str]] = []

  def model(self, keras_model: Any) -> tuple[tl.Layer, list, list]:
    """`(trax layer, flat weights, flat state)` for a Keras model."""
    inputs = _inputs(keras_model)
    outputs = list(keras_model.outputs)
    steps = _topological_steps(outputs, self.mode)
    uses = collections.Counter(id(t) for step in steps for t in step.call.tensors)
    uses.update(id(t) for t in outputs)
    stack = [id(t) for t in inputs]
    layers, flat_weights, flat_state = [], [], []
    for step in steps:
      mapped = self._map(step)
      wanted = [id(t) for t in (mapped.inputs if mapped.inputs is not None
                                else step.call.tensors)]
      for key in set(id(t) for t in step.call.tensors):
        uses[key] -= sum(1 for t in step.call.tensors if id(t) == key)
      layers += _bring_to_top(stack, wanted, uses)
      stack = [id(t) for t in step.outputs] + stack[len(wanted):]
      layers += mapped.layers
      flat_weights += mapped.weights
      flat_state += mapped.state
      layers += _drop_unused(stack, uses)
    result = [id(t) for t in outputs]
    if stack != result:
      layers.append(tl.Select([stack.index(key) for key in result], n_in=len(stack)))
    return tl.Serial(layers, name=keras_model.name), flat_weights, flat_state

  def _map(self, step: _Step) -> Mapped:
    layer = step.layer
    import keras  # pylint: disable=g-import-not-at-top
    if isinstance(layer, keras.Model):
      trax_layer, weights, state = self.model(layer)
      return Mapped([trax_layer], weights, state)
    mapping = self.table.get(type(layer))
    try:
      if mapping is None:
        raise Unsupported('no mapping for this layer type')
      return mapping(layer, step.call)
    except Unsupported as e:
      if self.allow_wrapping:
        return _wrapped(layer, step, self.mode)
      self.unsupported.append((layer.name, type(layer).__name__, str(e)))
      return Mapped([], inputs=[])


def _topological_steps(outputs: list, mode: str) -> list[_Step]:
  """The layer calls producing `outputs`, each after those it depends on."""
  steps, done = [], set()

  def visit(tensor):
    operation, node_index, _ = tensor._keras_history  # pylint: disable=protected-access
    node = operation._inbound_nodes[node_index]  # pylint: disable=protected-access
    if id(node) in done or node.is_input:
      return
    done.add(id(node))
    for parent in node.input_tensors:
      visit(parent)
    steps.append(_Step(operation, Call(tuple(node.arguments.args),
                                       dict(node.arguments.kwargs),
                                       list(node.input_tensors), mode),
                       list(node.output_tensors)))
  for output in outputs:
    visit(output)
  return steps


def _bring_to_top(stack: list, wanted: list, uses: collections.Counter) -> list:
  """Stack moves putting `wanted` on top, in order; updates `stack` in place."""
  if stack[:len(wanted)] == wanted and all(uses[key] == 0 for key in wanted):
    del stack[:len(wanted)]  # Already on top and not needed again: consumed as they are.
    stack[:0] = wanted
    return []
  moved = tl.Select([stack.index(key) for key in wanted] + list(range(len(stack))),
                    n_in=len(stack))
  stack[:0] = wanted
  return [moved]


def _drop_unused(stack: list, uses: collections.Counter) -> list:
  """A move dropping values no longer needed (and extra copies); updates `stack`."""
  keep = [i for i, key in enumerate(stack) if uses[key] > 0 and stack.index(key) == i]
  if len(keep) == len(stack):
    return []
  dropping = tl.Select(keep, n_in=len(stack))
  stack[:] = [stack[i] for i in keep]
  return [dropping]


def _wrapped(layer: Any, step: _Step, mode: str) -> Mapped:
  from trax_keras import KerasLayer  # pylint: disable=g-import-not-at-top
  wrapped = KerasLayer(layer, n_in=len(step.call.tensors), n_out=len(step.outputs),
                       mode=mode)
  return Mapped([wrapped], [keras_mappings.numpy(v) for v in layer.trainable_variables],
                [keras_mappings.numpy(v) for v in layer.non_trainable_variables])


def _cast(flat: list, tree: Any, what: str, model_name: str) -> list:
  """Keras arrays with the shapes and dtypes the trax layer expects (checked)."""
  expected = fastmath.tree_flatten(tree)
  if len(flat) != len(expected):
    raise ValueError(f'Internal mismatch converting {model_name!r}: {len(flat)} Keras '
                     f'{what} arrays for {len(expected)} trax ones.')
  cast = []
  for i, (array, target) in enumerate(zip(flat, expected)):
    array = np.asarray(array)
    if array.shape != tuple(target.shape):
      raise ValueError(f'Internal mismatch converting {model_name!r}: {what} {i} has shape '
                       f'{array.shape}, the trax layer expects {tuple(target.shape)}.')
    cast.append(array.astype(target.dtype))
  return cast
