"""The `tf.Module` a SavedModel is written from: weights as variables, serving functions.

Weights and state become `tf.Variable`s named by their place in the layer tree
(`serial/3/dense/w`), never constants, so graphs stay small and large models stay under
protobuf's 2 GB limit. Each serving function reads them and computes the model one of
three ways:

- `native`: the layer's own code on fastmath's tensorflow-numpy backend: plain TF ops,
  servable without XLA and convertible to TF Lite with dynamic batch and length;
- `xla`: `jax2tf.convert` of the jax function: one `XlaCallModule` op holding StableHLO,
  compiled for `platforms`, with the batch and other dynamic dimensions symbolic;
- `keras`: a Keras model's own call (Keras on the TensorFlow backend).

Extra signatures run a further trax layer on the model's outputs (e.g. `tl.Softmax()` for
`predict_proba`); its weights, if any, are variables too.
"""

import logging
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from trax import fastmath
from trax import shapes
import trax.layers as tl
from converters import id_checks
from converters import signatures
from converters import sources
from converters.errors import ExportError

log = logging.getLogger('converters')

PATHS = ('native', 'xla', 'auto')
PLATFORMS = ('cpu', 'cuda', 'rocm', 'tpu')


class Stage(tf.Module):
  """One trax layer with its weights and state as variables, callable on TF tensors."""

  def __init__(
    self, layer: tl.Layer, weights: Any, state: Any, path: str, platforms: Sequence[str] = ('cpu',)
  ):
    super().__init__()
    from trax_keras import paths

    weight_names, state_names = paths.weight_paths(layer, weights, state)
    flat_weights, flat_state = tl.flatten_weights_and_state(weights, state)
    # TF's stubs take only tensors as initial_value; TF itself converts numpy arrays.
    self.weights = [
      tf.Variable(np.asarray(w), name=n, trainable=True)  # pyright: ignore[reportArgumentType]
      for n, w in zip(weight_names, flat_weights)
    ]
    self.state = [
      tf.Variable(np.asarray(s), name=n, trainable=False)  # pyright: ignore[reportArgumentType]
      for n, s in zip(state_names, flat_state)
    ]
    self.weight_names, self.state_names = weight_names, state_names
    # Plain Python values in a plain object: tf.Module would try to track tuples and dicts.
    self._static = _StageStatic(layer, (weights, state), path, tuple(platforms))

  def __call__(self, x: Any) -> list:
    static = self._static
    flat_weights = [tf.convert_to_tensor(v) for v in self.weights]
    flat_state = [tf.convert_to_tensor(v) for v in self.state]
    if static.path == 'native':
      weights, state = tl.unflatten_weights_and_state(flat_weights, flat_state, static.trees)
      with fastmath.use_backend('tensorflow-numpy'):
        y, _ = static.layer.pure_fn(x, weights, state, sources.EVAL_RNG)
      return signatures.outputs_as_list(y)
    return list(self._xla_call(x, flat_weights, flat_state))

  def _xla_call(self, x: Any, flat_weights: list, flat_state: list) -> tuple:
    """Calls `jax2tf.convert` of the layer (conversions cached per input pattern).

    Dynamic dimensions get their own symbols, so e.g. source and target lengths vary
    independently; if jax cannot trace the model that way (it needs equal lengths), one
    symbol per axis is shared by all inputs.
    """
    static = self._static
    key = repr(_as_signature(x))
    if key in static.xla_calls:
      return static.xla_calls[key](x, flat_weights, flat_state)
    errors = []
    for shared in (False, True):
      converted = _jax2tf_function(static.layer, static.trees, x, shared, static.platforms)
      try:
        outputs = converted(x, flat_weights, flat_state)
      except Exception as e:
        errors.append(f'{type(e).__name__}: {str(e)[:600]}')
        continue
      static.xla_calls[key] = converted
      return outputs
    raise ExportError(
      f'jax2tf could not convert {static.layer.name} with symbolic '
      'dimensions:\n  ' + '\n  '.join(errors)
    )


class _StageStatic:
  """A `Stage`'s attributes that are not TF objects."""

  def __init__(self, layer: tl.Layer, trees: tuple, path: str, platforms: tuple[str, ...]):
    self.layer = layer
    self.trees = trees  # (weights, state)
    self.path = path
    self.platforms = platforms
    self.xla_calls: dict[str, Callable] = {}  # jax2tf conversions by input signature.


class _ExportStatic:
  """An `ExportModule`'s attributes that are not TF objects."""

  def __init__(self, n_in: int, id_vocab_sizes: dict[int, int]):
    self.n_in = n_in
    self.id_vocab_sizes = id_vocab_sizes


class ExportModule(tf.Module):
  """The root object of the SavedModel: the model's stage and any extra stages."""

  def __init__(
    self,
    model: sources.Model,
    path: str,
    extra_layers: 'dict[str, tl.Layer] | None' = None,
    platforms: Sequence[str] = ('cpu',),
  ):
    super().__init__()
    self.keras_model = model.keras_model
    if model.keras_model is not None:
      # Keras does not expose every variable to TF's tracking (seed generator states of
      # random layers are not): track them all, as Keras' own export does.
      self.keras_variables = [getattr(v, 'value', v) for v in model.keras_model.variables]
    self.model = (
      None
      if model.keras_model is not None
      else Stage(model.trax_layer, model.weights, model.state, path, platforms)
    )
    self.extras = {
      name: Stage(layer, layer.weights, layer.state, path, platforms)
      for name, layer in (extra_layers or {}).items()
    }
    n_flat = len(signatures.leaves(model.input_signature or ()))
    self._static = _ExportStatic(model.n_in, id_checks.vocab_sizes(model.layer, n_flat))

  def call(
    self,
    flat_inputs: list,
    extra: 'str | None' = None,
    input_names: 'Sequence[str | None] | None' = None,
  ) -> list:
    flat_inputs = id_checks.checked(flat_inputs, self._static.id_vocab_sizes, input_names)
    x = signatures.structure(flat_inputs, self._static.n_in)
    if self.model is not None:
      outputs = self.model(x)
    else:  # Exported through the Keras model's own call.
      outputs = signatures.outputs_as_list(
        self.keras_model(x if not isinstance(x, tuple) else list(x), training=False)
      )
    if extra is not None:
      outputs = self.extras[extra](outputs[0] if len(outputs) == 1 else tuple(outputs))
    return outputs


def serving_function(
  module: ExportModule,
  specs: Sequence[tf.TensorSpec],
  output_names: Sequence[str],
  extra: 'str | None' = None,
  preprocess: 'Callable | None' = None,
  postprocess: 'Callable | None' = None,
) -> Any:
  """A `tf.function` over `specs` returning `{output name: tensor}`."""

  def serve(*inputs):
    inputs = list(inputs)
    if preprocess is not None:
      inputs = signatures.outputs_as_list(preprocess(*inputs))
    names = [s.name for s in specs] if len(inputs) == len(specs) else None
    outputs = module.call(inputs, extra, names)
    if postprocess is not None:
      outputs = signatures.outputs_as_list(postprocess(*outputs))
    if len(outputs) != len(output_names):
      raise ExportError(
        f'The signature computes {len(outputs)} outputs but names '
        f'{len(output_names)}: {list(output_names)}; pass output_names= '
        'with one name per output.'
      )
    return dict(zip(output_names, outputs))

  return tf.function(serve, input_signature=list(specs), autograph=False)


def tensor_specs(signature: list, names: Sequence[str]) -> list[tf.TensorSpec]:
  return [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=n) for s, n in zip(signature, names)]


def check_xla_support(platforms: Sequence[str]) -> None:
  """Raises ExportError unless this TensorFlow runs what this jax exports for `platforms`."""
  import jax
  from jax import export
  from tensorflow.compiler.tf2xla.python import xla as tfxla

  unknown = [p for p in platforms if p not in PLATFORMS]
  if not platforms or unknown:
    raise ExportError(f'platforms={tuple(platforms)}: expected a non-empty subset of {PLATFORMS}.')
  jax_version = jax.config.jax_export_calling_convention_version  # pyright: ignore[reportAttributeAccessIssue] (a flag jax sets dynamically)
  tf_max = tfxla.call_module_maximum_supported_version()
  if jax_version > tf_max:
    lowest = export.minimum_supported_calling_convention_version
    fix = (
      f"jax.config.update('jax_export_calling_convention_version', {tf_max})"
      if tf_max >= lowest
      else 'a TensorFlow release matching this jax'
    )
    raise ExportError(
      f'The xla path serializes with jax calling convention {jax_version}, but the '
      f'installed TensorFlow {tf.__version__} runs XlaCallModule up to version {tf_max}. '
      f'Use {fix}, or path="native".'
    )


def _jax2tf_function(
  layer: tl.Layer, trees: tuple, x: Any, shared: bool, platforms: Sequence[str]
) -> Callable:
  from jax.experimental import jax2tf

  _, max_len = signatures.model_sizes(layer)

  def jax_fn(x, flat_weights, flat_state):
    weights, state = tl.unflatten_weights_and_state(flat_weights, flat_state, trees)
    with fastmath.use_backend('jax'):
      y, _ = layer.pure_fn(x, weights, state, sources.EVAL_RNG)
    return tuple(signatures.outputs_as_list(y))

  poly, constraints = _polymorphic_shapes(x, shared, max_len)
  return jax2tf.convert(
    jax_fn,
    polymorphic_shapes=[poly, None, None],
    polymorphic_constraints=constraints,
    with_gradient=False,
    native_serialization_platforms=tuple(platforms),
  )


def _polymorphic_shapes(x: Any, shared: bool, max_len: 'int | None') -> tuple[Any, list]:
  symbols = set()

  def spec(tensor, i):
    dims = []
    for axis, d in enumerate(tensor.shape):
      if d is not None:
        dims.append(str(d))
      elif axis == 0:
        dims.append('b')
      else:
        name = f'd{axis}' if shared else f'd{i}_{axis}'
        symbols.add(name)
        dims.append(name)
    return '(' + ', '.join(dims) + ')' if dims else '()'

  if isinstance(x, tuple):
    poly = tuple(spec(t, i) for i, t in enumerate(x))
  else:
    poly = spec(x, 0)
  constraints = [] if max_len is None else [f'{s} <= {max_len}' for s in sorted(symbols)]
  return poly, constraints


def _as_signature(x: Any) -> Any:
  to_signature = lambda t: shapes.ShapeDtype(tuple(t.shape), t.dtype.as_numpy_dtype)
  return tuple(to_signature(t) for t in x) if isinstance(x, tuple) else to_signature(x)
