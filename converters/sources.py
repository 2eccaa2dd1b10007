"""What can be exported, brought to one form: an eval-mode trax layer with its weights.

`resolve` accepts
- a trax layer or model (rebuilt from its `config()` in 'eval' mode, so dropout is off,
  with serving forms of some layers (`serving_layers`), and given the weights and state it
  holds). One that was never initialized is refused: its export would carry random weights
  (`allow_random_weights=True` initializes it). The reference an export is checked against
  is the model in eval mode with its own layers, run by JAX;
- a Keras model: one made of a single `TraxLayer` (`trax_keras.to_keras_model`), or a
  `TraxLayer` itself, is unwrapped into that trax layer with the Keras variables' current
  values; any other Keras model is exported through its own `call` (Keras on the
  TensorFlow backend). Either way the reference an export is checked against is the Keras
  model's own call, the source the user passed;
- a checkpoint: a `Loop` output directory (its `model.npz`, or Trax 1.x `model.pkl.gz`)
  or a checkpoint file, the model rebuilt in 'eval' mode from the config stored in it (or
  given as `model_config`).
"""

import dataclasses
import logging
import os
import sys
from typing import Any

import numpy as np

from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax.checkpoint_files import checkpoints
from trax.layers import files
from trax.supervised import resume
from converters import serving_layers
from converters import signatures
from converters.errors import ExportError

log = logging.getLogger('converters')
# Eval-mode layers draw no randomness: no key, so no random ops or key splits in exported
# graphs (`trax.layers.combinators.call_rng`).
EVAL_RNG = None


@dataclasses.dataclass
class Model:
  """A model ready to export.

  Attributes:
    layer: the trax layer in eval mode (`None` for a plain Keras model).
    weights: its weights tree.
    state: its state tree.
    input_signature: flat list of `ShapeDtype`s of the inputs (`None` where unknown), or
      `None` if nothing told it.
    config: the layer's `config()` (`None` if it cannot describe itself).
    origin: where it came from, for messages and the export record.
    keras_model: the Keras model, when exported through Keras' own call.
    keras_source: the Keras model or `TraxLayer` a trax layer was unwrapped from: its
      own call is the reference.
    trax_reference: `(layer, state)`, the model in eval mode as its config builds it (the
      layers it was trained with, not their serving forms) and its state as trained: the
      reference of a trax model; `None` if `layer` is that model.
  """

  layer: 'tl.Layer | None'
  weights: Any = ()
  state: Any = ()
  input_signature: 'list | None' = None
  config: 'dict | None' = None
  origin: str = 'trax layer'
  keras_model: Any = None
  keras_source: Any = None
  trax_reference: 'tuple[tl.Layer, Any] | None' = None
  _jitted: Any = dataclasses.field(default=None, repr=False)

  @property
  def n_in(self) -> int:
    if self.keras_model is not None:
      return len(self.keras_model.inputs)
    return self.trax_layer.n_in

  @property
  def trax_layer(self) -> tl.Layer:
    """`layer`, for code that runs the trax layer (a plain Keras model has none)."""
    if self.layer is None:
      raise ExportError(
        f'{self.origin} is exported through its own Keras call: it has no trax layer.'
      )
    return self.layer

  @property
  def reference_name(self) -> str:
    """What `jax_outputs` computes, for messages."""
    keras_callable = self.keras_model if self.keras_model is not None else self.keras_source
    return 'the JAX model' if keras_callable is None else f'Keras {keras_callable.name}'

  def output_signature(self, flat_signature: list) -> list:
    """`ShapeDtype`s of the outputs for concrete inputs (computes nothing for trax)."""
    if self.keras_model is not None:
      zeros = [np.zeros(s.shape, s.dtype) for s in flat_signature]
      return [signatures.ShapeDtype(o.shape, o.dtype) for o in self.jax_outputs(zeros)]
    outputs = self.trax_layer.output_signature(signatures.structure(flat_signature, self.n_in))
    return signatures.outputs_as_list(outputs)

  def jax_outputs(self, flat_inputs: list) -> list[np.ndarray]:
    """The reference: outputs of the eval-mode model (JAX, or the Keras source's call)."""
    keras_callable = self.keras_model if self.keras_model is not None else self.keras_source
    if keras_callable is not None:
      inputs = flat_inputs[0] if len(flat_inputs) == 1 else list(flat_inputs)
      outputs = keras_callable(inputs, training=False)
      return [np.asarray(o) for o in signatures.outputs_as_list(outputs)]
    layer, state = self.trax_reference or (self.trax_layer, self.state)
    if self._jitted is None:
      import jax

      def forward(x, weights, state):
        with fastmath.use_backend('jax'):
          return layer.pure_fn(x, weights, state, EVAL_RNG)[0]

      # One compilation per input shape; op by op, jax would compile every primitive.
      self._jitted = jax.jit(forward)
    x = signatures.structure(flat_inputs, layer.n_in)
    y = self._jitted(x, self.weights, state)
    return [np.asarray(o) for o in signatures.outputs_as_list(y)]


@tl.builds_layers_for_caller
def resolve(
  model: Any,
  input_signature: Any = None,
  model_config: 'dict | None' = None,
  allow_random_weights: bool = False,
) -> Model:
  """Brings `model` (see the module docstring) to a `Model`.

  Args:
    model: a trax layer, a Keras model or `TraxLayer`, or a checkpoint directory or file.
    input_signature: `ShapeDtype` (or a tuple of them, one per input); `None` dims are
      dynamic. Needed for trax layers; taken from the checkpoint or Keras model otherwise.
    model_config: for a checkpoint without a stored model config, the model's `config()`.
    allow_random_weights: initialize a trax layer that has no weights (demos only)
      instead of refusing it.

  Raises:
    ExportError: the model cannot be resolved (what is missing is named).
  """
  flat_signature = None if input_signature is None else signatures.leaves(input_signature)
  if isinstance(model, tl.Layer):
    return from_layer(model, flat_signature, allow_random_weights=allow_random_weights)
  keras = sys.modules.get('keras')
  if keras is not None and isinstance(model, (keras.Model, keras.layers.Layer)):
    return _from_keras(model, flat_signature, allow_random_weights)
  if isinstance(model, (str, os.PathLike)):
    return _from_checkpoint(os.fspath(model), flat_signature, model_config)
  raise ExportError(
    f'Cannot export a {type(model).__name__}: expected a trax layer, a '
    'Keras model or TraxLayer, or a checkpoint directory or file.'
  )


@tl.builds_layers_for_caller
def from_layer(
  layer: tl.Layer,
  signature: 'list | None',
  origin: str = 'trax layer',
  allow_random_weights: bool = False,
) -> Model:
  if signature is None:
    raise ExportError(
      f'Exporting the trax layer {layer.name} needs input_signature= (a '
      'ShapeDtype, or a tuple of them, one per input; None for dynamic '
      'dimensions).'
    )
  probe = _structure(shapes.concrete(signature, *signatures.PROBE_SIZE), layer.n_in)
  if not (layer.has_weights or fastmath.tree_flatten(layer.state)):
    needs_weights = fastmath.tree_flatten(layer.weights_and_state_signature(probe)[0])
    if needs_weights and not allow_random_weights:
      raise ExportError(
        f'{origin}: {layer.name} has no weights: it was never trained, loaded or '
        'initialized, so its export would compute with random weights. Train it (e.g. '
        'training.Loop), load weights (layer.init_from_file) or initialize it '
        '(layer.init) first; pass allow_random_weights=True only for a demo.'
      )
    layer.init(probe)
  weights, state = layer.weights, layer.state
  config = files.describe_layer(layer)
  if config is None:
    log.warning(
      '%s cannot describe itself with config(), so it is exported as built '
      '(in whatever mode it was built).',
      layer.name,
    )
    eval_layer, reference = layer, None
  else:  # The caller's own layer: rebuilt in unsafe mode.
    eval_layer = rebuild(config, safe_mode=False)
    reference = (tl.from_config(config, mode='eval', safe_mode=False), state)
  expected = eval_layer.weights_and_state_signature(probe)
  _check_fits(layer.name, (weights, state), expected, probe)
  if eval_layer is not layer:
    state = serving_layers.serving_state(eval_layer, state)
  eval_layer.weights, eval_layer.state = weights, state
  return Model(eval_layer, weights, state, signature, config, origin, trax_reference=reference)


def _from_keras(keras_model: Any, signature: 'list | None', allow_random_weights: bool) -> Model:
  """Unwraps a `TraxLayer` (alone or as a whole model); else uses the Keras model's call."""
  import keras
  from trax_keras import TraxLayer

  if isinstance(keras_model, keras.Model):
    body = [l for l in keras_model.layers if not isinstance(l, keras.layers.InputLayer)]
    origin = f'Keras model {keras_model.name} (TraxLayer)'
  else:
    body, origin = [keras_model], f'TraxLayer {keras_model.name}'
  if len(body) == 1 and isinstance(body[0], TraxLayer):
    trax_layer = body[0]
    if signature is None and trax_layer.input_signature is not None:
      signature = signatures.leaves(trax_layer.input_signature)
    if not trax_layer.built:  # Nothing trained yet: the trax layer's own weights, if any.
      return from_layer(trax_layer.trax_layer, signature, origin, allow_random_weights)
    layer = rebuild(trax_layer.get_config()['layer'], safe_mode=False)  # Built already.
    layer.weights, layer.state = trax_layer.trax_weights(), trax_layer.trax_state()
    resolved = from_layer(layer, signature, origin)
    resolved.keras_source = keras_model
    return resolved
  if not isinstance(keras_model, keras.Model):
    raise ExportError(
      f'Cannot export the Keras layer {keras_model.name} '
      f'({type(keras_model).__name__}): export a keras.Model, or a TraxLayer.'
    )
  if keras.backend.backend() != 'tensorflow':
    raise ExportError(
      f'Keras model {keras_model.name} mixes Keras layers with other layers; exporting it '
      f'runs its call as TensorFlow ops, which needs Keras on the TensorFlow backend, but '
      f'Keras runs on {keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow.'
    )
  if signature is None:
    signature = [signatures.ShapeDtype(tuple(t.shape), t.dtype) for t in keras_model.inputs]
  return Model(
    None,
    input_signature=signature,
    origin=f'Keras model {keras_model.name}',
    keras_model=keras_model,
  )


def _from_checkpoint(path: str, signature: 'list | None', model_config: 'dict | None') -> Model:
  checkpoint_path = find_checkpoint(path)
  try:
    checkpoint = checkpoints.read_any(checkpoint_path)
  except (OSError, ValueError, EOFError) as e:
    raise ExportError(f'Cannot read checkpoint {checkpoint_path}: {e}') from None
  config = model_config or checkpoint.model_config
  if config is None:
    raise ExportError(
      f'{checkpoint_path} does not record the model config; pass the '
      "model's config() as model_config= (--config on the command line)."
    )
  try:
    layer = rebuild(config)
  except (tl.ConfigError, TypeError) as e:
    raise ExportError(
      f'Cannot rebuild the model of {checkpoint_path} from its config: {e}'
    ) from None
  if signature is None:
    if checkpoint.input_signature is None:
      raise ExportError(
        f'{checkpoint_path} does not record the input signature; pass input_signature=.'
      )
    # Trax 1.x trainers recorded the whole batch (inputs, targets, weights): the model's
    # inputs come first.
    recorded = signatures.leaves(checkpoint.input_signature)[: layer.n_in]
    signature = signatures.with_dynamic_batch(recorded)
  probe = _structure(shapes.concrete(signature, *signatures.PROBE_SIZE), layer.n_in)
  weights_tree, state_tree = layer.weights_and_state_signature(probe)
  if checkpoint.flat_state is None:
    raise ExportError(
      f'{checkpoint_path} holds weights only, without the model state '
      '(e.g. BatchNorm statistics) an export needs.'
    )
  try:
    flat_weights = checkpoints.match_arrays(
      checkpoint.flat_weights, fastmath.tree_flatten(weights_tree), 'weights', checkpoint_path
    )
    flat_state = checkpoints.match_arrays(
      checkpoint.flat_state, fastmath.tree_flatten(state_tree), 'state', checkpoint_path
    )
  except ValueError as e:
    raise ExportError(str(e)) from None
  weights, state = tl.unflatten_weights_and_state(
    flat_weights, flat_state, (weights_tree, state_tree)
  )
  reference = (tl.from_config(config, mode='eval'), state)
  state = serving_layers.serving_state(layer, state)
  layer.weights, layer.state = weights, state
  origin = f'checkpoint {checkpoint_path} (step {checkpoint.step})'
  return Model(layer, weights, state, signature, config, origin, trax_reference=reference)


@tl.builds_layers_for_caller
def rebuild(config: dict, mode: str = 'eval', safe_mode: bool = True) -> tl.Layer:
  """The layer `config` describes, in `mode`, in its serving form (`serving_layers`).

  A config read from a file is rebuilt in safe mode (`tl.from_config`); `safe_mode=False`
  is for rebuilding a layer the caller built itself.
  """
  # Importing registers the factories configs may name (models, Keras-import layers).
  return serving_layers.for_serving(tl.from_config(config, mode=mode, safe_mode=safe_mode))


def find_checkpoint(path: str) -> str:
  """The checkpoint file at `path`, or the `model` checkpoint of a `Loop` directory."""
  if os.path.isdir(path):
    if os.path.exists(os.path.join(path, 'saved_model.pb')):
      raise ExportError(f'{path} is a SavedModel, not a checkpoint or Loop directory.')
    found = resume.find(path, None)
    if found is None:
      raise ExportError(
        f'{path} holds no checkpoint: expected model.npz (or Trax 1.x '
        'model.pkl.gz) written by trax.supervised.training.Loop.'
      )
    return found
  if not os.path.exists(path):
    raise ExportError(f'No such checkpoint file or directory: {path}')
  return path


def _structure(signature: list, n_in: int) -> Any:
  try:
    return signatures.structure(signature, n_in)
  except ValueError as e:
    raise ExportError(f'input_signature does not fit the model: {e}') from None


def _check_fits(name: str, given: Any, expected: Any, probe: Any) -> None:
  given_shapes = [tuple(np.shape(x)) for x in fastmath.tree_flatten(given)]
  expected_shapes = [tuple(x.shape) for x in fastmath.tree_flatten(expected)]
  if given_shapes != expected_shapes:
    raise ExportError(
      f'The weights and state of {name} have shapes {given_shapes}, but inputs {probe} '
      f'need {expected_shapes}. Pass the input_signature the model was initialized for.'
    )
