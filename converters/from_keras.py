"""`from_keras`: a Keras model as an equivalent trax layer carrying the Keras weights.

Sequential and functional models are graphs of nodes: layer calls, op calls (`keras.ops`
and operators applied to KerasTensors) and nested models. Each node maps through
`keras_mappings` (exact mappings only) and the graph compiles to trax stack moves
(`keras_graph`). Nested models are converted recursively. A Keras layer called at several
nodes (shared weights) becomes one trax layer instance used at each, so its weights stay
shared when trax trains them.

Nodes that do not map are reported together, by name and type, with the reason; with
`allow_wrapping=True` they run through `trax_keras.KerasLayer` instead (Keras computes
them, on the JAX backend), with their full argument structure: several inputs, dicts,
keyword arguments and masks (`keras_wrapping`). `conversion_report` says, node by node,
what would map and what would be wrapped.
"""

import dataclasses
import logging
from typing import Any

import numpy as np

from trax import fastmath
from trax import shapes
import trax.layers as tl
from converters import keras_graph
from converters import keras_mappings
from converters import keras_runtime_masks
from converters import signatures
from converters.errors import UnsupportedLayerError
from converters.keras_mappings import Call
from converters.keras_mappings import Mapped
from converters.keras_mappings import Unsupported

log = logging.getLogger('converters')


@dataclasses.dataclass(frozen=True)
class NodeStatus:
  """How one node of a Keras graph converts: 'exact', 'wrapped' or 'unsupported'."""

  name: str
  kind: str  # the Keras layer or op class name
  status: str
  reason: str = ''


@tl.builds_layers_for_caller
def from_keras(
  keras_model: Any, allow_wrapping: bool = False, mode: str = 'eval'
) -> tuple[tl.Layer, Any]:
  """Converts a Keras model to a trax layer computing the same function.

  >>> keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
  >>> layer, weights = from_keras(keras_model)
  >>> x = np.ones((3, 4), np.float32)
  >>> np.allclose(layer(x), keras_model(x, training=False), atol=1e-6)
  True

  Several inputs are taken as a tuple in the order of `keras_model.inputs` (for dict
  inputs, Keras' flattening order: sorted by key); several outputs come as a tuple in the
  order of `keras_model.outputs`.

  Args:
    keras_model: a built Sequential or functional Keras model (its inputs known).
    allow_wrapping: run nodes without an exact trax counterpart through
      `trax_keras.KerasLayer` (Keras on JAX) instead of failing; they are logged (see
      also `conversion_report`).
    mode: the trax mode to build: 'eval' (as Keras' `training=False`) or 'train'
      (dropout on, batch statistics used and updated).

  Returns:
    `(layer, weights)`: the trax layer, holding the Keras weights and state (BatchNorm
    statistics are `layer.state`), and its weights tree.

  Raises:
    UnsupportedLayerError: nodes with no exact mapping (all of them listed), or nodes to
      wrap while Keras runs on another backend than JAX.
    ValueError: the model is not built, or is subclassed (no layer graph to convert).
  """
  wrap_for_masks: set[str] = set()
  if allow_wrapping:
    # Find what needs wrapping first: wrapping needs Keras on JAX, and says so for all.
    statuses = _dry_run(keras_model, mode)
    _check_backend_for_wrapping(keras_model, statuses)
    wrap_for_masks = _wrap_for_masks(keras_model, mode, statuses)
  converter = _Converter(allow_wrapping, mode, wrap=wrap_for_masks)
  layer, flat_weights, flat_state = converter.convert(keras_model)
  unsupported = [s for s in converter.statuses if s.status == 'unsupported']
  if unsupported:
    listing = '; '.join(f'{s.name} ({s.kind}): {s.reason}' for s in unsupported)
    raise UnsupportedLayerError(
      f'Keras model {keras_model.name!r} has layers without an exact trax counterpart: '
      f'{listing}. Pass allow_wrapping=True to run them through trax_keras.KerasLayer '
      '(Keras on the JAX backend).',
      [(s.name, s.kind) for s in unsupported],
    )
  wrapped = [s for s in converter.statuses if s.status == 'wrapped']
  if wrapped:
    log.warning(
      'from_keras(%r): %d node(s) run wrapped in KerasLayer: %s',
      keras_model.name,
      len(wrapped),
      '; '.join(f'{s.name} ({s.kind}): {s.reason}' for s in wrapped),
    )
  signature = input_signature(keras_model)
  probe = signatures.structure(shapes.concrete(signature, *signatures.PROBE_SIZE), layer.n_in)
  weights_tree, state_tree = _initialize(layer, probe)
  weights, state = tl.unflatten_weights_and_state(
    _cast(flat_weights, weights_tree, 'weights', keras_model.name),
    _cast(flat_state, state_tree, 'state', keras_model.name),
    (weights_tree, state_tree),
  )
  layer.weights, layer.state = weights, state
  return layer, weights


@tl.builds_layers_for_caller
def conversion_report(keras_model: Any, mode: str = 'eval') -> list[NodeStatus]:
  """How each node of a Keras model converts: exact, wrapped (with the reason) or not at all.

  Needs neither trax_keras nor Keras on JAX: nothing is wrapped, only mapped.
  """
  statuses = _dry_run(keras_model, mode)
  try:
    wrap = _wrap_for_masks(keras_model, mode, statuses)
  except UnsupportedLayerError as e:
    lost = {name for name, _ in e.layers}
    reason = 'reads a Keras mask attached at run time, which its conversion would not get'
    return [
      NodeStatus(s.name, s.kind, 'unsupported', reason) if s.name in lost else s for s in statuses
    ]
  return _dry_run(keras_model, mode, wrap) if wrap else statuses


def input_signature(keras_model: Any) -> list:
  """Flat `ShapeDtype`s of the model's inputs (`None` for dynamic dimensions)."""
  return [shapes.ShapeDtype(tuple(t.shape), t.dtype) for t in _inputs(keras_model)]


def _inputs(keras_model: Any) -> list:
  try:
    inputs = keras_model.inputs
  except (AttributeError, ValueError):
    inputs = None
  if not inputs:
    raise ValueError(
      f'Keras model {keras_model.name!r} has no known inputs: build it with '
      'keras.Input (or call it once) before converting. Subclassed models '
      'have no layer graph to convert.'
    )
  return list(inputs)


def _check_backend_for_wrapping(keras_model: Any, statuses: list) -> None:
  import keras

  wrapped = [s for s in statuses if s.status == 'wrapped']
  if wrapped and keras.backend.backend() != 'jax':
    listing = '; '.join(f'{s.name} ({s.kind}): {s.reason}' for s in wrapped)
    raise UnsupportedLayerError(
      f'Keras model {keras_model.name!r} has layers without an exact trax counterpart: '
      f'{listing}. Wrapping them (allow_wrapping=True) runs Keras inside trax, which '
      f'needs Keras on the JAX backend; Keras runs on {keras.backend.backend()!r}. Set '
      'KERAS_BACKEND=jax before keras is first imported (a saved .keras file loads '
      'there too).',
      [(s.name, s.kind) for s in wrapped],
    )


def _dry_run(keras_model: Any, mode: str, wrap: 'set[str] | None' = None) -> list:
  """How each node would convert with wrapping (nothing built), `wrap` wrapped too."""
  dry_run = _Converter(True, mode, build_wrappers=False, wrap=wrap)
  dry_run.walk(keras_model)
  return dry_run.statuses


def _wrap_for_masks(keras_model: Any, mode: str, statuses: list) -> set[str]:
  """Layers to wrap so that masks attached at run time reach them (`keras_runtime_masks`)."""
  return keras_runtime_masks.layers_to_wrap(
    keras_model,
    input_signature(keras_model),
    mode,
    statuses,
    lambda wrap: _dry_run(keras_model, mode, wrap),
  )


class _Converter:
  """Maps the nodes of Keras graphs and compiles them to trax layers."""

  def __init__(
    self,
    allow_wrapping: bool,
    mode: str,
    build_wrappers: bool = True,
    wrap: 'set[str] | None' = None,
  ):
    self.allow_wrapping = allow_wrapping
    self.mode = mode
    self.build_wrappers = build_wrappers
    self.wrap = wrap or set()  # names of layers to wrap though they map exactly
    self.layers = keras_mappings.table()
    self.operations = keras_mappings.op_table()
    self.statuses: list[NodeStatus] = []  # of the last model converted, in graph order
    self._first_use: dict[Any, tuple[Any, Mapped]] = {}  # id(layer) -> (signature, Mapped)
    self._statuses_of: dict[int, list[NodeStatus]] = {}  # id(Mapped) -> its nodes' statuses

  def convert(self, keras_model: Any) -> tuple[tl.Layer, list, list]:
    """`(trax layer, flat weights, flat state)` for a Keras model; sets `statuses`."""
    layer, flat_weights, flat_state, self.statuses = self._model(keras_model)
    return layer, flat_weights, flat_state

  def walk(self, keras_model: Any) -> None:
    """Maps every node (setting `statuses`) without building the trax model."""
    self.statuses = self._statuses(self._steps(keras_model))

  def _steps(self, keras_model: Any) -> list:
    return keras_graph.topological_steps(
      _inputs(keras_model), list(keras_model.outputs), self._map_node
    )

  def _statuses(self, steps: list) -> list[NodeStatus]:
    return [s for step in steps for s in self._statuses_of.pop(id(step.mapped), [])]

  def _model(self, keras_model: Any) -> tuple[tl.Layer, list, list, list]:
    steps = self._steps(keras_model)
    layer = keras_graph.compile_steps(
      steps, _inputs(keras_model), list(keras_model.outputs), keras_model.name
    )
    flat_weights = [w for step in steps for w in step.mapped.weights]
    flat_state = [s for step in steps for s in step.mapped.state]
    return layer, flat_weights, flat_state, self._statuses(steps)

  def _record(self, mapped: Mapped, *statuses: NodeStatus) -> Mapped:
    self._statuses_of[id(mapped)] = list(statuses)
    return mapped

  def _map_node(self, node: Any) -> Mapped:
    import keras

    operation = node.operation
    args, kwargs = tuple(node.arguments.args), dict(node.arguments.kwargs)
    if isinstance(operation, keras.layers.Layer):
      kwargs = keras_mappings.with_masks(operation, args, kwargs)
    tensors = [t for t in keras.tree.flatten((args, kwargs)) if isinstance(t, keras.KerasTensor)]
    call = Call(args, kwargs, tensors, list(node.output_tensors), self.mode, self._convert)
    return self._map(operation, call, node.arguments)

  def _convert(self, operation: Any, call: Call) -> Mapped:
    """Maps a layer inside a wrapper (TimeDistributed): exactly or not at all."""
    mapping = keras_mappings.lookup(operation, self.layers, self.operations)
    if mapping is None:
      raise Unsupported(f'inner layer {operation.name} ({type(operation).__name__}) has no mapping')
    return _with_default_inputs(mapping(operation, call), call)

  def _map(self, operation: Any, call: Call, arguments: Any) -> Mapped:
    import keras

    name, kind = operation.name, type(operation).__name__
    if isinstance(operation, keras.Model):
      if not self.build_wrappers:
        return self._record(Mapped([], inputs=call.data), *self._statuses(self._steps(operation)))
      first = self._first_use.get(id(operation))
      if first is not None:  # A model called again shares its weights.
        return Mapped(first[1].layers, inputs=call.data)
      layer, weights, state, statuses = self._model(operation)
      mapped = Mapped([layer], weights, state, inputs=call.data)
      self._first_use[id(operation)] = (None, mapped)
      return self._record(mapped, *statuses)
    try:
      mapping = keras_mappings.lookup(operation, self.layers, self.operations)
      if mapping is None:
        raise Unsupported(_no_mapping(operation))
      if name in self.wrap:
        raise Unsupported('it reads a Keras mask a wrapped layer attaches at run time')
      mapped = _with_default_inputs(mapping(operation, call), call)
      ignored = [m for m in call.masks if all(m is not t for t in mapped.stack_inputs())]
      if ignored and not mapped.masks_irrelevant:
        raise Unsupported('a Keras mask reaches it, which this mapping does not take')
      return self._record(self._shared(operation, call, mapped), NodeStatus(name, kind, 'exact'))
    except Unsupported as e:
      if not self.allow_wrapping:  # Walks on, to report all such nodes.
        return self._record(
          Mapped([], inputs=call.data), NodeStatus(name, kind, 'unsupported', str(e))
        )
      if not self.build_wrappers:
        return self._record(
          Mapped([], inputs=list(call.tensors)), NodeStatus(name, kind, 'wrapped', str(e))
        )
      mapped, copied = self._wrapped(operation, call, arguments)
      reason = str(e) + (
        '; a copy of its weights at another call (the calls differ in '
        'argument structure or masks), trained separately'
        if copied
        else ''
      )
      return self._record(mapped, NodeStatus(name, kind, 'wrapped', reason))

  def _shared(self, operation: Any, call: Call, mapped: Mapped) -> Mapped:
    """The trax layers of the first call of a layer with weights, for its later calls."""
    if not (mapped.weights or mapped.state):
      return mapped
    signature = [layer.config() for layer in mapped.layers]
    first = self._first_use.setdefault(id(operation), (signature, mapped))
    if first[1] is mapped:
      return mapped
    if first[0] != signature:
      raise Unsupported(
        'a layer called at several nodes that map to different trax '
        'layers (its weights could not stay shared)'
      )
    return Mapped(first[1].layers, inputs=mapped.inputs)

  def _wrapped(self, operation: Any, call: Call, arguments: Any) -> tuple[Mapped, bool]:
    """The wrapped node, and whether its weights copy those of an earlier call."""
    from converters import keras_wrapping

    key = ('wrapped', id(operation))
    earlier = self._first_use.get(key)
    signature, mapped = keras_wrapping.wrap(operation, arguments, call, earlier)
    self._first_use.setdefault(key, (signature, mapped))
    copied = earlier is not None and earlier[0] != signature and bool(mapped.weights)
    return mapped, copied


def _initialize(layer: tl.Layer, probe: Any) -> tuple[Any, Any]:
  """Initializes `layer` (so `layer(x)` keeps the weights set next) without computing
  random weights, which the Keras ones replace: `init` only traced, under `eval_shape`.

  Returns the signature trees of the weights and state.
  """
  import jax

  trees = jax.eval_shape(lambda rng: layer.init(probe, rng), jax.random.PRNGKey(0))
  # The trace left its keys on the layers; give them concrete ones.
  todo, seen = [layer], set()
  while todo:
    current = todo.pop()
    if id(current) not in seen:
      seen.add(id(current))
      current.rng = jax.random.fold_in(jax.random.PRNGKey(0), len(seen))
      todo.extend(current.sublayers)
  return trees


def _no_mapping(operation: Any) -> str:
  import keras

  if not isinstance(operation, keras.layers.Layer):
    return 'an op with no exact trax mapping'
  if type(operation).__module__.startswith('keras.'):
    return 'no exact trax mapping'
  return 'a custom layer (Keras runs its code)'


def _with_default_inputs(mapped: Mapped, call: Call) -> Mapped:
  if mapped.inputs is None:
    mapped.inputs = call.data
  return mapped


def _cast(flat: list, tree: Any, what: str, model_name: str) -> list:
  """Keras arrays with the shapes and dtypes the trax layer expects (checked)."""
  expected = fastmath.tree_flatten(tree)
  if len(flat) != len(expected):
    raise ValueError(
      f'Internal mismatch converting {model_name!r}: {len(flat)} Keras '
      f'{what} arrays for {len(expected)} trax ones.'
    )
  cast = []
  for i, (array, target) in enumerate(zip(flat, expected)):
    array = np.asarray(array)
    if array.shape != tuple(target.shape):
      raise ValueError(
        f'Internal mismatch converting {model_name!r}: {what} {i} has shape '
        f'{array.shape}, the trax layer expects {tuple(target.shape)}.'
      )
    cast.append(array.astype(target.dtype))
  return cast
