"""TraxLayer: any trax layer or model as a first-class Keras 3 layer.

>>> layer = TraxLayer(tl.Serial(tl.Dense(32), tl.Relu(), tl.Dense(1)), seed=0)
>>> model = keras.Sequential([keras.Input((4,)), layer])  # compile, fit, save as usual
>>> model.output_shape, layer.count_params()
((None, 1), 193)

How trax's pieces map onto Keras':

- Weights become trainable Keras variables, one per trax weight in flat Trax order, with
  `variable.path` the weight's place in the layer tree (`trax_layer/serial/0/dense/w`, see
  `paths.py`). They are made with `keras.Variable` inside `keras.name_scope`s:
  `add_weight` always places a variable directly under the layer's own scope, and variable
  names may not contain '/', so it cannot express a tree path.
- State (BatchNorm statistics, ...) becomes non-trainable variables, written only in calls
  with `training=True`: inference, and graphs exported from it, never write state.
- Keras' `training` flag picks the 'train' or 'eval' build of the layer (both rebuilt from
  its `config()`, taking the same weights), so Dropout is on in `fit`, off in `predict`.
- Randomness comes from a `keras.random.SeedGenerator`: each training call draws a fresh
  key, so dropout masks change between steps and repeat for a given `seed`.
- Float inputs and weights are cast to the dtype policy's compute dtype; variables keep the
  variable dtype (float32 under 'mixed_float16').
- Input dtypes come from `input_signature`, else from the first call. Keras feeds a model
  without `keras.Input` (a `Sequential`) its own float guess, so where a float signature
  only guessed and the layer takes integer ids instead (an `Embedding` first), the
  signature says int32 and float tensors are cast to it, as Keras' `Embedding` does.
- `trax_layer` is the trax layer holding the current values of the Keras variables, so
  after `fit` (or loading a `.keras` file) it computes, and exports, what Keras trained.
"""

import contextlib
from typing import Any

import jax
import keras  # Its keras.tree walks Keras' own structures (inputs, shapes, specs).
import numpy as np

from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax_keras import backends
from trax_keras import configs
from trax_keras import paths
from trax_keras import signatures

_RNG_SIGNATURE = shapes.ShapeDtype((2,), np.uint32)


@keras.saving.register_keras_serializable(package='trax_keras')
class TraxLayer(keras.layers.Layer):
  """A Keras layer computing a trax layer, with its weights as Keras variables.

  Inputs are what the trax layer takes: one tensor, a list or tuple of `n_in` tensors, or
  a dict for a layer taking one dict; outputs likewise (a tuple when `n_out > 1`).
  `trax_weights()` and `trax_state()` hand the trained values back as trax trees.

  Args:
    layer: a trax layer or model, or its `config()`. If it already has weights (and
      state), they are the starting values; otherwise it is initialized by its own
      initializers. A config (as a `.keras` file holds) is rebuilt in Keras' safe mode
      unless Keras runs unsafe (`load_model(..., safe_mode=False)`): initializers that
      read files, sizes above `tl.config.SAFE_MODE_MAX_SIZE` and more than 4 GiB of
      weights are refused.
    input_signature: `ShapeDtype` (or tuple or dict of them) of the inputs, batch
      dimension included; `None` marks dimensions known only at run time. By default it is
      taken from the first call, with a dynamic batch.
    seed: seeds weight initialization and the random keys of training calls. `None` draws
      a seed from numpy's global generator (`keras.utils.set_random_seed` fixes it).
    xla: on the TensorFlow backend, run the jax function through `jax2tf` (one XLA call)
      instead of the layer's TensorFlow ops. The JAX backend always runs through XLA.
    **kwargs: Keras layer arguments (`name`, `dtype`, `trainable`, ...). A 'float64'
      policy needs jax's x64 mode, as trax follows jax's dtype rules.

  Raises:
    ValueError: Keras runs on a backend other than JAX or TensorFlow, or the layer cannot
      describe itself with `config()` (a lambda in an unregistered `tl.Fn`, say).
  """

  def __init__(
    self,
    layer: 'tl.Layer | dict',
    input_signature: Any = None,
    seed: 'int | None' = None,
    xla: bool = False,
    **kwargs,
  ):
    super().__init__(**kwargs)
    backends.check_backend(keras.backend.backend())
    # Layers rebuilt here from the config say they were made where the TraxLayer was.
    with tl.layers_created_at(tl.caller_site()):
      self._trax_layer, self._trax_config = configs.layer_and_config(layer)
      self._builds = {  # Keras' `training` flag -> the layer built in that mode.
        True: tl.from_config(self._trax_config, mode='train', safe_mode=False),
        False: tl.from_config(self._trax_config, mode='eval', safe_mode=False),
      }
    # A config comes from a file or the user, a layer from code: only a config is limited.
    self._max_weight_bytes = (
      configs.SAFE_MODE_MAX_WEIGHT_BYTES
      if (isinstance(layer, dict) and configs.keras_safe_mode())
      else None
    )
    self.input_signature = signatures.as_tuples(shapes.signature_from_json(input_signature))
    self.seed = seed
    self.xla = xla
    self._run = backends.runner(keras.backend.backend(), xla)
    self._first_call_signature = None
    self._first_call_symbolic = True  # Keras tensors carry dtypes Keras may have guessed.
    self._trees: tuple[Any, Any] | None = None  # (weights, state) of ShapeDtypes, once built.
    self._output_signatures = {}

  @property
  def trax_layer(self) -> tl.Layer:
    """The trax layer this layer was made from, holding the current Keras variables.

    Each access copies the variables' values into its `weights` and `state`, so after
    `fit`, or loading a `.keras` file, it computes (and `converters` export) what Keras
    trained. A reference kept across further training keeps the values it had when read:
    read the attribute again. Before the layer is built it holds what it was given.
    """
    if self.built:
      self._trax_layer.weights = self.trax_weights()
      self._trax_layer.state = self.trax_state()
    return self._trax_layer

  def __call__(self, *args, **kwargs):
    inputs = args[0] if args else kwargs.get('inputs')
    if not self.built and self.input_signature is None and inputs is not None:
      # Keras' build() sees only shapes, but initializing the trax layer needs dtypes
      # too (token ids versus floats): take them from the first inputs.
      self._first_call_signature = signatures.as_signature(inputs)
      self._first_call_symbolic = any(
        isinstance(x, keras.KerasTensor) for x in keras.tree.flatten(inputs)
      )
    return super().__call__(*args, **kwargs)

  def build(self, input_shape: Any) -> None:
    if self.input_signature is None:
      signature = (
        self._first_call_signature
        if self._first_call_signature is not None
        else _float_signature(input_shape)
      )
      signature = shapes.with_dynamic_batch(signature)
      self._inputs_for_trax(signature)  # The number of inputs fits the layer.
      self.input_signature = (
        self._ids_if_refused_floats(signature) if self._first_call_symbolic else signature
      )
    else:
      self._inputs_for_trax(self.input_signature)
    try:
      weights, state = self._initial_weights_and_state()
    except tl.LayerError as e:
      raise self._error(e, self.input_signature) from None
    self._trees = _signature_tree((weights, state))
    weight_paths, state_paths = paths.weight_paths(self._builds[True], weights, state)
    flat_weights, flat_state = tl.flatten_weights_and_state(weights, state)
    # Made here, inside the layer's name scope, for a stable path (`.../seed_generator/...`).
    self.seed_generator = keras.random.SeedGenerator(self.seed, name='seed_generator')
    self._weight_variables = [
      self._new_variable(path, value, trainable=True)
      for path, value in zip(weight_paths, flat_weights)
    ]
    self._state_variables = [
      self._new_variable(path, value, trainable=False)
      for path, value in zip(state_paths, flat_state)
    ]

  def call(self, inputs: Any, training: 'bool | None' = None) -> Any:
    training = bool(training)
    x = self._inputs_for_trax(inputs)
    x = signatures.ids_as_declared(x, self.input_signature, keras.ops.cast)
    x = keras.tree.map_structure(self._in_compute_dtype, x)
    weights, state = tl.unflatten_weights_and_state(
      [self._in_compute_dtype(backends.read(v)) for v in self._weight_variables],
      [backends.read(v) for v in self._state_variables],
      self._built_trees('call'),
    )
    # Inference reads the seed without advancing it: no state writes outside training.
    rng = self.seed_generator.next() if training else self.seed_generator.state.value
    try:
      outputs, new_state = self._run(self._builds[training], x, weights, state, rng)
    except tl.LayerError as e:
      raise self._error(e, x) from None
    if training:
      # State a layer passes through untouched (Dropout's rate) is not written back.
      for variable, old, new in zip(
        self._state_variables, fastmath.tree_flatten(state), fastmath.tree_flatten(new_state)
      ):
        if new is not old:
          variable.assign(new)
    return outputs

  def compute_output_spec(self, inputs: Any, training: 'bool | None' = None) -> Any:
    signature = signatures.ids_as_declared(
      signatures.as_signature(self._inputs_for_trax(inputs)),
      self.input_signature,
      lambda s, dtype: s.replace(dtype=dtype),
    )
    outputs = self._output_signature(signature, bool(training))
    return shapes.map_signature(lambda s: keras.KerasTensor(s.shape, dtype=s.dtype.name), outputs)

  def compute_output_shape(self, input_shape: Any) -> Any:
    known = [] if self.input_signature is None else fastmath.tree_flatten(self.input_signature)
    n_shapes = len(keras.tree.flatten(keras.tree.map_shape_structure(lambda s: 0, input_shape)))
    dtypes = iter([s.dtype for s in known] if len(known) == n_shapes else [])
    specs = keras.tree.map_shape_structure(
      lambda shape: keras.KerasTensor(shape, dtype=next(dtypes, self.compute_dtype)), input_shape
    )
    return keras.tree.map_structure(lambda t: t.shape, self.compute_output_spec(specs))

  def trax_weights(self) -> Any:
    """The current weights as a trax weights tree of numpy arrays (`layer.weights = ...`)."""
    trees = self._built_trees('trax_weights')
    values = [keras.ops.convert_to_numpy(v) for v in self._weight_variables]
    return tl.unflatten_weights_and_state(values, [], trees, weights_only=True)[0]

  def trax_state(self) -> Any:
    """The current state as a trax state tree of numpy arrays (`layer.state = ...`)."""
    trees = self._built_trees('trax_state')
    values = [keras.ops.convert_to_numpy(v) for v in self._state_variables]
    return tl.unflatten_weights_and_state([], values, ((), trees[1]))[1]

  def get_config(self) -> dict:
    config = super().get_config()
    config.update(
      {
        'layer': self._trax_config,
        'input_signature': (
          shapes.signature_to_json(self.input_signature)
          if self.input_signature is not None
          else None
        ),
        'seed': self.seed,
        'xla': self.xla,
      }
    )
    return config

  # Helpers.

  def _built_trees(self, method: str) -> tuple[Any, Any]:
    """The (weights, state) `ShapeDtype` trees `build` made; an error before it ran."""
    if not self.built or self._trees is None:
      raise ValueError(
        f"Layer '{self.name}' has no weights before it is built: call it on "
        f'inputs (or build it) before {method}().'
      )
    return self._trees

  def _initial_weights_and_state(self) -> tuple[Any, Any]:
    """The trax layer's own weights if it has them, else fresh ones from its initializers."""
    signature = shapes.concrete(self.input_signature, signatures.PROBE_SIZES[0])
    train_build = self._builds[True]
    if not self._trax_layer.has_weights:
      if self._max_weight_bytes is not None:
        configs.check_weight_bytes(train_build, signature, self._max_weight_bytes, self.name)
      seed = np.random.randint(2**31) if self.seed is None else self.seed
      # Keras may build layers while tracing a jax function; weights are concrete values.
      with jax.ensure_compile_time_eval():
        return train_build.init(signature, rng=jax.random.PRNGKey(seed))
    given = (self._trax_layer.weights, self._trax_layer.state)
    expected = train_build.weights_and_state_signature(signature)
    given_shapes = [tuple(np.shape(x)) for x in fastmath.tree_flatten(given)]
    expected_shapes = [x.shape for x in fastmath.tree_flatten(expected)]
    if given_shapes != expected_shapes:
      raise ValueError(
        f"TraxLayer '{self.name}': the weights and state of {self._trax_layer.name} have "
        f'shapes {given_shapes}, but inputs {self.input_signature} need {expected_shapes}. '
        'Pass the input_signature the layer was initialized for.'
      )
    return given

  def _ids_if_refused_floats(self, signature: Any) -> Any:
    """`signature`, or with int32 for its floats if only integer ids fit the layer."""
    is_float = lambda s: np.issubdtype(s.dtype, np.floating)
    if not any(is_float(s) for s in fastmath.tree_leaves(signature)):
      return signature
    try:
      self._output_signature(signature, True)
      return signature
    except ValueError as float_error:
      ids = shapes.map_signature(
        lambda s: s.replace(dtype=np.int32) if is_float(s) else s, signature
      )
      try:
        self._output_signature(ids, True)
      except ValueError:
        raise float_error from None
      return ids

  def _new_variable(self, path: str, value: Any, trainable: bool) -> keras.Variable:
    value = np.asarray(value)
    is_float = keras.backend.is_float_dtype(value.dtype.name)
    dtype = self.variable_dtype if (trainable and is_float) else value.dtype.name
    # Under tf.distribute each replica keeps its own state, averaged when read across
    # replicas (as Keras 2 did for BatchNormalization statistics).
    aggregation = 'none' if trainable else ('mean' if is_float else 'only_first_replica')
    *scopes, name = path.split('/')
    with contextlib.ExitStack() as stack:
      for scope in scopes:
        stack.enter_context(keras.name_scope(scope))
      # A callable initializer lets Keras defer creation when building inside a trace.
      return keras.Variable(
        lambda shape, dtype: value.astype(dtype),
        shape=value.shape,
        dtype=dtype,
        trainable=trainable,
        autocast=trainable,
        aggregation=aggregation,
        synchronization='auto' if trainable else 'on_read',
        name=name,
      )

  def _inputs_for_trax(self, inputs: Any) -> Any:
    """Keras inputs as trax takes them: one array, or a tuple of `n_in` arrays."""
    x = signatures.as_tuples(inputs)
    n_in = self._trax_layer.n_in
    if n_in == 1 and isinstance(x, tuple) and len(x) == 1:
      x = x[0]
    if isinstance(x, tuple) != (n_in != 1) or (isinstance(x, tuple) and len(x) != n_in):
      got = f'a tuple of {len(x)}' if isinstance(x, tuple) else 'one input'
      raise ValueError(
        f"Layer '{self.name}' (TraxLayer of {self._trax_layer.name}) expects {n_in} "
        f'input{"s" if n_in != 1 else ""}, but got {got}: '
        f'{signatures.as_signature(x)}. Pass several inputs as a list or tuple.'
      )
    return x

  def _in_compute_dtype(self, x: Any) -> Any:
    dtype = keras.backend.standardize_dtype(x.dtype)
    if keras.backend.is_float_dtype(dtype) and dtype != self.compute_dtype:
      return keras.ops.cast(x, self.compute_dtype)
    return x

  def _output_signature(self, signature: Any, training: bool) -> Any:
    key = (repr(signature), training)
    if key not in self._output_signatures:
      trees = self._trees or self._builds[True].weights_and_state_signature(
        shapes.concrete(signature, signatures.PROBE_SIZES[0])
      )
      compute_dtype = self.compute_dtype
      layer = self._builds[training]

      def outputs(x, weights, state, rng):
        cast = lambda a: (
          a.astype(compute_dtype) if jax.numpy.issubdtype(a.dtype, jax.numpy.floating) else a
        )
        x, weights = fastmath.nested_map(cast, (x, weights))
        return backends.run_on_jax(layer, x, weights, state, rng)[0]

      try:
        self._output_signatures[key] = signatures.output_signature(
          outputs, signature, *trees, _RNG_SIGNATURE
        )
      except tl.LayerError as e:
        raise self._error(e, signature) from None
    return self._output_signatures[key]

  def _error(self, error: tl.LayerError, inputs: Any) -> ValueError:
    return ValueError(
      f"Layer '{self.name}' (TraxLayer) could not run the trax layer "
      f'{self._trax_layer.name} on inputs {signatures.as_signature(inputs)}. The trax '
      f'layer reports:\n{error}'
    )


def _float_signature(input_shape: Any) -> Any:
  """A signature for `input_shape` (from Keras' build) when no inputs were seen."""
  to_signature = lambda shape: shapes.ShapeDtype(tuple(shape), keras.config.floatx())
  return signatures.as_tuples(keras.tree.map_shape_structure(to_signature, input_shape))


def _signature_tree(tree: Any) -> Any:
  """`tree` with `ShapeDtype`s for arrays (cache markers, being dicts of (), are kept)."""
  return fastmath.nested_map(lambda x: shapes.ShapeDtype(np.shape(x), x.dtype), tree)
