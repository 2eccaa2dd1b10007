"""What a mapping receives and returns, and the helpers every mapping module shares.

A mapping is a function `(keras_layer_or_op, call: Call) -> Mapped`: the trax layers that
compute what one node of a Keras graph computes, the Keras weights rearranged into those
layers' flat weights and state, and the Keras tensors they take from the data stack. It
raises `Unsupported` (saying why) when the node has no exact trax counterpart.
"""

import dataclasses
import inspect
from typing import Any
from collections.abc import Callable

import numpy as np

Mapping = Callable[[Any, 'Call'], 'Mapped']


class Unsupported(Exception):
  """A Keras layer (or a setting of one) with no exact trax counterpart."""


@dataclasses.dataclass
class Call:
  """How a Keras layer or op was called: one node of the graph."""

  args: tuple
  kwargs: dict
  tensors: list  # every input Keras tensor, flattened in argument order (masks included)
  outputs: list  # the node's output Keras tensors, flattened
  mode: str  # the trax mode to build ('train' or 'eval')
  # Maps an inner layer called as a `Call` (as the converter would); for wrappers.
  convert: 'Callable[[Any, Call], Mapped] | None' = None

  @property
  def input_shapes(self) -> list:
    return [tuple(t.shape) for t in self.data]

  @property
  def data(self) -> list:
    """The input tensors that are not masks (`mask=`, `*_mask=` keyword arguments)."""
    masks = {id(t) for t in self.masks}
    return [t for t in self.tensors if id(t) not in masks]

  @property
  def masks(self) -> list:
    """The Keras mask tensors passed to the call (by Keras itself or the user)."""
    return [
      t
      for key, value in self.kwargs.items()
      if key == 'mask' or key.endswith('_mask')
      for t in _keras_tensors(value)
    ]

  def argument(self, index: int, name: str, default: Any = None) -> Any:
    """The call's argument at position `index` or keyword `name`."""
    if len(self.args) > index:
      return self.args[index]
    return self.kwargs.get(name, default)


@dataclasses.dataclass
class Mapped:
  """Trax layers standing for one Keras node, with its weights rearranged."""

  layers: list
  weights: list = dataclasses.field(default_factory=list)
  state: list = dataclasses.field(default_factory=list)
  inputs: 'list | None' = None  # Keras tensors onto the stack, top first; default: data.
  # The call's Keras masks cannot change the outputs (else the inputs must take them).
  masks_irrelevant: bool = False

  def stack_inputs(self) -> list:
    """`inputs`, once the converter has filled in the default (`Call.data`)."""
    if self.inputs is None:
      raise ValueError(
        f'Mapped{self.layers} has no inputs: the converter fills in the '
        "default (the call's data) before it places the node."
      )
    return self.inputs


def keras_mask(tensor: Any) -> Any:
  """The Keras mask a symbolic tensor carries (`None` if none)."""
  return getattr(tensor, '_keras_mask', None)


def with_masks(layer: Any, args: tuple, kwargs: dict) -> dict:
  """`kwargs` with the mask arguments Keras fills in when it calls `layer` at run time
  (`mask_arguments`): a node's recorded arguments hold them only sometimes."""
  import keras

  kwargs = dict(kwargs)
  for mask_name, value in mask_arguments(layer, args, kwargs).items():
    mask = keras.tree.map_structure(keras_mask, value)
    if _keras_tensors(mask):
      kwargs[mask_name] = mask
  return kwargs


def mask_arguments(layer: Any, args: tuple, kwargs: dict) -> dict:
  """`{mask argument: the tensor argument whose Keras mask Keras passes there}` for a
  call of `layer` that does not pass that mask itself.

  Keras' `Layer.__call__` passes the Keras masks of the tensor arguments: as `mask=` when
  there is one tensor argument, else as `<argument>_mask=` where `call` takes that.
  """
  parameters = inspect.signature(layer.call).parameters
  try:
    given = inspect.signature(layer.call).bind(*args, **kwargs).arguments
  except TypeError:
    return {}
  tensors = {name: value for name, value in given.items() if _keras_tensors(value)}
  if len(tensors) == 1:
    candidates = {'mask': next(iter(tensors.values()))}
  else:
    candidates = {f'{name}_mask': value for name, value in tensors.items()}
  return {
    mask_name: value
    for mask_name, value in candidates.items()
    if mask_name in parameters and given.get(mask_name) is None
  }


def takes_mask(layer: Any) -> bool:
  """Whether a Keras layer's `call` has a `mask` argument (Keras then passes its mask)."""
  return 'mask' in inspect.signature(layer.call).parameters


def numpy(variable: Any) -> np.ndarray:
  import keras

  return np.asarray(keras.ops.convert_to_numpy(variable))


def channels_last(config: dict) -> None:
  if config.get('data_format', 'channels_last') != 'channels_last':
    raise Unsupported(f'data_format={config["data_format"]!r} (trax layers are channels-last)')


def axes(axis: Any, rank: int) -> list[int]:
  """Non-negative axes from an int or a sequence of them."""
  return sorted(a % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis]))


def _keras_tensors(value: Any) -> list:
  import keras

  return [t for t in keras.tree.flatten(value) if isinstance(t, keras.KerasTensor)]
