"""`to_keras`: a trax model as a native Keras model, or else one wrapping `TraxLayer`.

When every layer of the trax model has an exact Keras counterpart, the result is made of
Keras' own layers only: its `.keras` file loads and runs with neither JAX nor trax
installed. The trax model is run symbolically on Keras tensors: combinators (`Serial`,
`Parallel`, `Branch`, `Residual`, `Select`, ...) move Keras tensors on a stack as they
would arrays, and each leaf layer becomes a Keras layer with its weights. Mappings are the
inverses of `from_keras`' (see `keras_mappings`), so the Keras models a `from_keras`
conversion came from (`keras.applications` among them) come back as native Keras models.

Layers without a Keras counterpart (positional encodings, attention, ...) make the whole
model a `trax_keras.to_keras_model` (one `TraxLayer`), or an error with
`allow_wrapping=False`. A leaf layer is recognized by the registered trax factory or class
that built it (the record `config()` is made from); the mappings are in
`to_keras_mappings`.
"""

import logging
from typing import Any
from collections.abc import Callable

import numpy as np

from trax import shapes
import trax.layers as tl
from converters import signatures
from converters import to_keras_mappings
from converters.errors import UnsupportedLayerError
from converters.to_keras_mappings import Unmapped

log = logging.getLogger('converters')


def to_keras(
  layer: tl.Layer, input_signature: Any, *, allow_wrapping: bool = True, name: 'str | None' = None
) -> Any:
  """A Keras model computing `layer` (in eval mode) with its weights.

  >>> trained_mlp = tl.Serial(tl.Dense(8), tl.Relu(), tl.Dense(2))
  >>> _ = trained_mlp.init(ShapeDtype((1, 4)))
  >>> model = to_keras(trained_mlp, ShapeDtype((None, 4)))
  >>> x = np.ones((3, 4), np.float32)
  >>> np.allclose(model(x), trained_mlp(x), atol=1e-6)
  True
  >>> model.save('mlp.keras')  # doctest: +SKIP

  Args:
    layer: the trax layer (initialized or not; uninitialized layers are initialized).
    input_signature: `ShapeDtype` (or tuple of them, one per input), batch dimension
      included; `None` for dynamic dimensions.
    allow_wrapping: when some layer has no Keras counterpart, return a model wrapping
      the whole trax layer in `trax_keras.TraxLayer` instead of raising.
    name: the Keras model's name (default: the trax layer's).

  Returns:
    A `keras.Model`: native Keras layers, or one `TraxLayer`.

  Raises:
    UnsupportedLayerError: with `allow_wrapping=False`, naming the layers that do not map.
  """
  import keras

  flat_signature = signatures.with_dynamic_batch(signatures.leaves(input_signature))
  if not layer.has_weights and not layer.state:
    layer.init(
      signatures.structure(shapes.concrete(flat_signature, *signatures.PROBE_SIZE), layer.n_in)
    )
  names = signatures.input_names(flat_signature, None)
  inputs = [
    keras.Input(shape=s.shape[1:], dtype=np.dtype(s.dtype).name, name=n)
    for s, n in zip(flat_signature, names)
  ]
  builder = _Builder()
  stack = builder.apply(layer, list(inputs))
  model_name = name or _model_name(layer)
  if not builder.unmapped:
    outputs = stack[0] if layer.n_out == 1 else stack[: layer.n_out]
    model = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=model_name)
    for keras_layer, values in builder.weights:
      keras_layer.set_weights(values)
    return model
  listing = '; '.join(f'{path} ({why})' for path, why in builder.unmapped)
  if not allow_wrapping:
    raise UnsupportedLayerError(
      f'{layer.name} has layers without a native Keras counterpart: {listing}. Pass '
      'allow_wrapping=True for a model wrapping trax_keras.TraxLayer.',
      [(path, why) for path, why in builder.unmapped],
    )
  log.info(
    'to_keras: wrapping %s in a TraxLayer; no native Keras layer for: %s', layer.name, listing
  )
  from trax_keras import to_keras_model

  signature = flat_signature[0] if len(flat_signature) == 1 else tuple(flat_signature)
  return to_keras_model(layer, signature, name=model_name)


def _model_name(layer: tl.Layer) -> str:
  from trax_keras import paths

  return paths.layer_name(layer)


class _Builder:
  """Runs a trax layer tree on Keras tensors, collecting Keras layers and weights."""

  def __init__(self):
    self.unmapped: list[tuple[str, str]] = []
    self.weights: list[tuple[Any, list]] = []  # (Keras layer, values), set once built
    self._shared: dict[int, Any] = {}

  def apply(self, layer: tl.Layer, stack: list, path: str = '') -> list:
    path = f'{path}/{layer.name}' if path else layer.name
    factory, arguments = to_keras_mappings.built_by(layer)
    mapping = to_keras_mappings.table().get(factory) if factory is not None else None
    if mapping is None and isinstance(layer, tl.Serial):
      for i, sublayer in enumerate(layer.sublayers):
        stack = self.apply(sublayer, stack, f'{path}/{i}')
      return stack
    if mapping is None and isinstance(layer, tl.Parallel):
      outputs, start = [], 0
      for i, sublayer in enumerate(layer.sublayers):
        part = stack[start : start + sublayer.n_in]
        outputs += self.apply(sublayer, part, f'{path}/{i}')[: sublayer.n_out]
        start += sublayer.n_in
      return outputs + stack[start:]
    inputs, rest = stack[: layer.n_in], stack[layer.n_in :]
    try:
      if mapping is None:
        raise Unmapped(f'no Keras counterpart for {factory or type(layer).__name__}')
      outputs = mapping(self, layer, arguments, inputs)
    except Unmapped as e:
      self.unmapped.append((path, str(e)))
      return inputs[:1] * layer.n_out + rest  # Placeholders: keep the walk going.
    return list(outputs) + rest

  def keras_layer(self, layer: tl.Layer, make: Callable, values: list) -> Any:
    """The Keras layer for `layer` (one per trax instance: sharing is kept)."""
    if id(layer) not in self._shared:
      keras_layer = make()
      self._shared[id(layer)] = keras_layer
      self.weights.append((keras_layer, [np.asarray(v) for v in values]))
    return self._shared[id(layer)]
