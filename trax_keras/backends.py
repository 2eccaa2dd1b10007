"""Running a trax layer's pure function on the active Keras backend.

A runner computes `pure_fn(x, weights, state, rng) -> (y, new_state)` with the tensors of
the Keras backend in use:

- Keras on JAX: the trax layer runs on fastmath's jax backend; Keras traces it into its own
  jitted train and predict steps.
- Keras on TensorFlow: the same layer code runs on fastmath's tensorflow-numpy backend,
  giving plain TF ops (gradients by `tf.GradientTape`, XLA optional, exportable).
- Keras on TensorFlow with `xla=True`: the jax function is wrapped by
  `jax2tf.convert(..., with_gradient=True)` into one XLA call, with the batch (and any
  other dimension unknown at trace time) as a symbolic dimension, so one conversion serves
  every batch size.

Other Keras backends (torch, numpy, openvino) cannot run trax layers.
"""

import functools
from typing import Any
from collections.abc import Callable

import keras

from trax import fastmath
import trax.layers as tl

SUPPORTED_BACKENDS = ('jax', 'tensorflow')

Runner = Callable[[tl.Layer, Any, Any, Any, Any], tuple[Any, Any]]


def check_backend(keras_backend: str) -> None:
  """Raises ValueError unless trax layers can run on the Keras backend `keras_backend`."""
  if keras_backend not in SUPPORTED_BACKENDS:
    raise ValueError(
      f'TraxLayer runs trax layers on the JAX and TensorFlow Keras backends, but Keras is '
      f'running on {keras_backend!r}. Set the environment variable KERAS_BACKEND=jax (or '
      'tensorflow) before keras is first imported.'
    )


def runner(keras_backend: str, xla: bool = False) -> Runner:
  """The runner for `keras_backend` (`xla` selects jax2tf on TensorFlow)."""
  check_backend(keras_backend)
  if keras_backend == 'jax':
    return run_on_jax
  return Jax2TfRunner() if xla else run_on_tensorflow


def read(variable: Any) -> Any:
  """The value of a Keras variable as a tensor of the Keras backend (cast if autocast)."""
  if keras.backend.backend() != 'tensorflow':
    return variable.value
  import tensorflow as tf

  # `value` is a tf.Variable (a distributed one under tf.distribute): read it, so the
  # layer's TF ops see a plain tensor.
  return tf.convert_to_tensor(variable.value)


def run_on_jax(layer: tl.Layer, x: Any, weights: Any, state: Any, rng: Any) -> tuple[Any, Any]:
  with fastmath.use_backend('jax'):
    return layer.pure_fn(x, weights, state, rng)


def run_on_tensorflow(
  layer: tl.Layer, x: Any, weights: Any, state: Any, rng: Any
) -> tuple[Any, Any]:
  with fastmath.use_backend('tensorflow-numpy'):
    return layer.pure_fn(x, weights, state, rng)


class Jax2TfRunner:
  """Runs the jax function of a layer from TensorFlow through `jax2tf.convert`.

  Conversions are cached per layer and per pattern of dynamic dimensions, so Keras'
  retracing does not redo them.
  """

  def __init__(self):
    self._converted: dict[tuple, Callable] = {}

  def __call__(
    self, layer: tl.Layer, x: Any, weights: Any, state: Any, rng: Any
  ) -> tuple[Any, Any]:
    import tensorflow as tf

    poly = polymorphic_shapes(x)
    key = (id(layer), repr(poly))
    if key not in self._converted:
      from jax.experimental import jax2tf

      self._converted[key] = jax2tf.convert(
        functools.partial(run_on_jax, layer),
        with_gradient=True,
        polymorphic_shapes=[poly, None, None, None],
      )
    # jax keys are uint32[2]; Keras' TF seeds are int64 with the same small values.
    return self._converted[key](x, weights, state, tf.cast(rng, tf.uint32))


def polymorphic_shapes(x: Any) -> Any:
  """jax2tf shape specs for the inputs `x`: the batch and every unknown dimension symbolic.

  Axis 0 is `b` for every input; another axis `i` unknown at trace time is `d{i}`, the same
  symbol for every input (so equal-length sequences stay equal).
  """

  def spec(tensor):
    dims = list(tensor.shape)
    if not dims:
      return '()'
    names = ['b'] + [f'd{i}' if d is None else str(d) for i, d in enumerate(dims[1:], 1)]
    return '(' + ', '.join(names) + ')'

  if isinstance(x, (tuple, list)):
    return type(x)(polymorphic_shapes(item) for item in x)
  if isinstance(x, dict):
    return {k: polymorphic_shapes(v) for k, v in x.items()}
  return spec(x)
