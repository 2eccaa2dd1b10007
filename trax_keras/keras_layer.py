"""KerasLayer: a Keras layer (or whole model) inside a trax model.

The reverse of `TraxLayer`: the Keras layer's trainable variables become the trax layer's
weights (a tuple, in `keras_layer.trainable_variables` order) and its non-trainable
variables its state (BatchNormalization statistics, dropout seeds), so it trains with trax
(`jax.grad`, trax optimizers) like any trax layer. The computation is
`keras_layer.stateless_call`, a pure function of those values, which needs Keras on the
JAX backend.

Weights start as the Keras layer's own (Keras initializers, not the trax rng), and Keras
layers draw randomness from their seed generators, which are part of the state.
"""

import inspect
from typing import Any

import jax
import keras

from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax_keras import signatures


class KerasLayer(tl.Layer):
  """A trax layer computing a Keras layer or model (Keras on the JAX backend).

  >>> model = tl.Serial(KerasLayer(keras.layers.Dense(8)), tl.Relu(), tl.Dense(1))
  >>> model(np.ones((2, 4), np.float32)).shape
  (2, 1)

  Args:
    keras_layer: a Keras layer or model, or its `keras.saving.serialize_keras_object`
      form (which makes `config()` of the trax layer possible, and so `TraxLayer` of a
      model containing it).
    n_in: number of inputs; several are passed to the Keras layer as a list.
    n_out: number of outputs the Keras layer returns (as a list or tuple when several).
    mode: 'train' calls the Keras layer with `training=True`; 'eval' and 'predict' with
      `training=False`.

  Raises:
    ValueError: Keras runs on a backend other than JAX.
  """

  def __init__(
    self,
    keras_layer: 'keras.layers.Layer | dict',
    n_in: int = 1,
    n_out: int = 1,
    mode: str = 'train',
  ):
    if keras.backend.backend() != 'jax':
      raise ValueError(
        'KerasLayer runs Keras layers inside trax (jax) computations, which needs Keras '
        f'on the JAX backend; Keras is running on {keras.backend.backend()!r}. Set the '
        'environment variable KERAS_BACKEND=jax before keras is first imported.'
      )
    if isinstance(keras_layer, dict):
      keras_layer = keras.saving.deserialize_keras_object(keras_layer)
    if not isinstance(keras_layer, keras.layers.Layer):
      raise TypeError(
        f'KerasLayer takes a Keras layer or model (or its serialized form); '
        f'got {type(keras_layer).__name__}.'
      )
    super().__init__(n_in=n_in, n_out=n_out, name=f'KerasLayer_{keras_layer.name}')
    self._keras_layer = keras_layer
    self._training = mode == 'train'

  @property
  def keras_layer(self) -> keras.layers.Layer:
    """The wrapped Keras layer (its variables keep their initial values; trax trains
    copies of them)."""
    return self._keras_layer

  def init_weights_and_state(self, input_signature: Any) -> None:
    self._build_keras_layer(input_signature)
    self.weights = tuple(v.value for v in self._keras_layer.trainable_variables)
    self.state = tuple(v.value for v in self._keras_layer.non_trainable_variables)

  def forward(self, inputs: Any) -> Any:
    if fastmath.backend_name() != 'jax':
      raise fastmath.BackendError(
        f'{self.name} runs a Keras layer on JAX; it cannot run on the '
        f'{fastmath.backend_name()!r} fastmath backend.'
      )
    # A copy rebuilt from config() in another mode runs with weights it did not create.
    self._build_keras_layer(signatures.as_signature(inputs))
    # Like Keras' own __call__, pass `training` only to layers whose call takes it.
    kwargs = {'training': self._training} if _takes_training(self._keras_layer) else {}
    # Keras' stateless_call returns a third item (losses) only with return_losses=True.
    outputs, state = self._keras_layer.stateless_call(  # pyright: ignore[reportAssignmentType]
      list(self.weights), list(self.state), self._keras_inputs(inputs), **kwargs
    )
    self.state = tuple(state)
    if self.n_out == 1:
      return outputs
    if not isinstance(outputs, (tuple, list)) or len(outputs) != self.n_out:
      raise ValueError(
        f'{self._keras_layer.name} should return {self.n_out} outputs (n_out) '
        f'but returned {type(outputs).__name__} '
        f'{signatures.as_signature(outputs)}.'
      )
    return tuple(outputs)

  def _build_keras_layer(self, input_signature: Any) -> None:
    if self._keras_layer.built:
      return
    specs = shapes.map_signature(
      lambda s: keras.KerasTensor(s.shape, dtype=s.dtype.name), input_signature
    )
    # The Keras layer creates its variables here, with concrete values even when trax
    # initializes abstractly (inside a jax trace).
    with jax.ensure_compile_time_eval():
      self._keras_layer(self._keras_inputs(specs))

  def _keras_inputs(self, inputs: Any) -> Any:
    return list(inputs) if self.n_in != 1 else inputs


def _takes_training(keras_layer: keras.layers.Layer) -> bool:
  parameters = inspect.signature(keras_layer.call).parameters.values()
  return any(p.name == 'training' or p.kind == p.VAR_KEYWORD for p in parameters)
