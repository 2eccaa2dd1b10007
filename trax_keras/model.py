"""`to_keras_model`: a trax model as a complete functional `keras.Model`."""

from typing import Any

import keras

from trax import shapes
import trax.layers as tl
from trax_keras import signatures
from trax_keras.traxlayer import TraxLayer


def to_keras_model(
  layer: 'tl.Layer | dict',
  input_signature: Any,
  *,
  name: 'str | None' = None,
  seed: 'int | None' = None,
  xla: bool = False,
) -> keras.Model:
  """Wraps a trax layer or model in a functional Keras model, ready to compile and fit.

  The model has one `keras.Input` per trax input (named by its key for dict signatures,
  else `input` or `input_0`, `input_1`, ...), then a `TraxLayer`, whose outputs are the
  model's outputs. The batch dimension is always dynamic; other dimensions are as given
  (`None` for dimensions known only at run time).

  >>> model = to_keras_model(tl.Serial(tl.Dense(8), tl.Relu()), ShapeDtype((None, 4)))
  >>> model.compile('adam', 'mse')
  >>> model.output_shape
  (None, 8)

  Args:
    layer: the trax layer or model (or its `config()`).
    input_signature: `ShapeDtype` of the input, or a tuple (or dict) of them, one per
      trax input; the batch dimension included.
    name: name of the Keras model.
    seed: seed of the `TraxLayer` (weight initialization and dropout).
    xla: run through jax2tf on the TensorFlow backend (see `TraxLayer`).

  Returns:
    A `keras.Model` whose layer `model.layers[-1]` is the `TraxLayer`.
  """
  signature = shapes.with_dynamic_batch(
    signatures.as_tuples(shapes.signature_from_json(input_signature))
  )
  inputs = _inputs(signature)
  trax_layer = TraxLayer(layer, input_signature=signature, seed=seed, xla=xla)
  return keras.Model(inputs, trax_layer(inputs), name=name)


def _inputs(signature: Any) -> Any:
  def new_input(s, input_name):
    if not s.shape:
      raise ValueError(
        f'to_keras_model: input {input_name!r} has signature {s}; Keras '
        'inputs need a leading batch dimension.'
      )
    return keras.Input(shape=s.shape[1:], dtype=s.dtype.name, name=input_name)

  if isinstance(signature, dict):
    return {key: new_input(s, key) for key, s in signature.items()}
  if isinstance(signature, tuple):
    return tuple(new_input(s, f'input_{i}') for i, s in enumerate(signature))
  return new_input(signature, 'input')
