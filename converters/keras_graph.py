"""A Keras functional graph as trax stack moves, and the graph walk behind it.

trax computes on a data stack, so `from_keras` compiles the graph into stack moves: the
nodes run in topological order, and before each one a `tl.Select` brings its inputs to
the top of the stack (copying those still needed later), after it another drops values no
longer needed. A chain of single-use values needs no moves, so a functional model that is
really a sequence gives the same `Serial` as the Sequential one.

Which tensors a node takes is decided by its mapping (`Mapped.inputs`), not by the graph
alone: a mapping may leave a mask out or take one Keras attached to a tensor, so the walk
maps each node before it visits the node's inputs.

The walk reads Keras' graph bookkeeping (`KerasTensor._keras_history`,
`Operation._inbound_nodes`): Keras 3 has no public API for a functional model's nodes.
"""

import collections
import dataclasses
from typing import Any
from collections.abc import Callable

import trax.layers as tl
from converters.keras_mappings import Mapped


@dataclasses.dataclass
class Step:
  """One node of the graph, mapped."""

  mapped: Mapped
  outputs: list  # the node's output Keras tensors


def node_of(tensor: Any) -> Any:
  """The graph node that computed a symbolic Keras tensor."""
  history = getattr(tensor, '_keras_history', None)
  if history is None:
    raise ValueError(
      f'Keras tensor {tensor.name!r} was not computed in this model\'s graph '
      '(a constant or a tensor from outside the model).'
    )
  operation, node_index, _ = history
  return operation._inbound_nodes[node_index]


def topological_steps(inputs: list, outputs: list, map_node: Callable[[Any], Mapped]) -> list[Step]:
  """The mapped nodes computing `outputs` from `inputs`, each after those it needs."""
  available = {id(t) for t in inputs}
  mapped_nodes: dict[int, Mapped] = {}
  steps = []
  for output in outputs:
    todo = [output]
    while todo:
      tensor = todo[-1]
      if id(tensor) in available:
        todo.pop()
        continue
      node = node_of(tensor)
      if node.is_input:
        raise ValueError(
          f'The model uses Keras tensor {tensor.name!r}, an input that is not among its inputs.'
        )
      if id(node) not in mapped_nodes:
        mapped_nodes[id(node)] = map_node(node)
      mapped = mapped_nodes[id(node)]
      missing = [t for t in mapped.stack_inputs() if id(t) not in available]
      if missing:
        todo.extend(reversed(missing))
        continue
      todo.pop()
      steps.append(Step(mapped, list(node.output_tensors)))
      available.update(id(t) for t in node.output_tensors)
  return steps


def compile_steps(steps: list[Step], inputs: list, outputs: list, name: str) -> tl.Layer:
  """A `tl.Serial` running `steps` on a stack holding `inputs`, leaving `outputs`."""
  uses = collections.Counter(id(t) for step in steps for t in step.mapped.stack_inputs())
  uses.update(id(t) for t in outputs)
  stack = [id(t) for t in inputs]
  layers = []
  for step in steps:
    wanted = [id(t) for t in step.mapped.stack_inputs()]
    uses.subtract(wanted)
    layers += _bring_to_top(stack, wanted, uses)
    stack = [id(t) for t in step.outputs] + stack[len(wanted) :]
    layers += step.mapped.layers
    layers += _drop_unused(stack, uses)
  result = [id(t) for t in outputs]
  if stack != result:
    layers.append(tl.Select([stack.index(key) for key in result], n_in=len(stack)))
  return tl.Serial(layers, name=name)


def _bring_to_top(stack: list, wanted: list, uses: collections.Counter) -> list:
  """Stack moves putting `wanted` on top, in order; updates `stack` in place."""
  if stack[: len(wanted)] == wanted and all(uses[key] == 0 for key in wanted):
    return []  # Already on top and not needed again: consumed as they are.
  moved = tl.Select([stack.index(key) for key in wanted] + list(range(len(stack))), n_in=len(stack))
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
