"""Helpers shared by the model tests: shapes, weights across modes, incremental decoding."""

from typing import Any

import jax
import numpy as np

from trax import shapes
import trax.layers as tl
from tests import shared_data

RNG = np.zeros(2, np.uint32)
TRAX1_CHECKPOINT = shared_data.TRAX1_LM


def init(model: tl.Layer, input_signature: Any) -> tuple[Any, Any]:
  return model.init(input_signature, rng=RNG)


def flat_shapes(weights_or_state: Any) -> list[tuple]:
  return [tuple(np.shape(x)) for x in tl.flatten_weights_and_state(weights_or_state, ())[0]]


def flat_weight_and_state_shapes(
  model: tl.Layer, input_signature: Any
) -> tuple[list[tuple], list[tuple]]:
  """Flat weight and state shapes `init` would give, computed abstractly (no compiling)."""
  weights, state = model.weights_and_state_signature(input_signature)
  return flat_shapes(weights), flat_shapes(state)


def output_shape(model: tl.Layer, input_signature: Any) -> Any:
  """The shape(s) of the model's outputs, computed abstractly (no compiling)."""
  weights, state = model.weights_and_state_signature(input_signature)
  outputs = jax.eval_shape(
    lambda x, w, s: model.pure_fn(x, w, s, RNG)[0], input_signature, weights, state
  )
  return jax.tree.map(lambda y: tuple(y.shape), outputs)


def with_flat_weights(model: tl.Layer, input_signature: Any, flat_weights: list) -> tl.Layer:
  """Initializes `model` for `input_signature` and installs `flat_weights` (Trax 1.x
  order), as a checkpoint from another mode or from Trax 1.x would be loaded."""
  weights, state = init(model, input_signature)
  model.weights, _ = tl.unflatten_weights_and_state(
    flat_weights, [], (weights, state), weights_only=True
  )
  model.state = state
  return model


def eval_and_predict(
  factory: Any, config: dict, signature: Any, predict_signature: Any
) -> tuple[tl.Layer, tl.Layer]:
  """`factory(**config)` in eval mode (initialized) and in predict mode with its weights."""
  eval_model = factory(**config, mode='eval')
  weights, _ = init(eval_model, signature)
  flat_weights = tl.flatten_weights_and_state(weights, ())[0]
  predict_model = with_flat_weights(
    factory(**config, mode='predict'), predict_signature, flat_weights
  )
  return eval_model, predict_model


def shift_right(tokens: np.ndarray) -> np.ndarray:
  return np.pad(tokens, ((0, 0), (1, 0)))[:, :-1]


def decode_one_at_a_time(
  predict_model: tl.Layer, tokens: np.ndarray, encoder_input: 'np.ndarray | None' = None
) -> np.ndarray:
  """Feeds the right-shifted `tokens` to a 'predict' model one position per call and
  returns its first output for all positions, concatenated along axis 1."""
  shifted = shift_right(tokens)
  outputs = []
  for t in range(tokens.shape[1]):
    step = shifted[:, t : t + 1]
    output = predict_model(step if encoder_input is None else (encoder_input, step))
    outputs.append(np.asarray(output if encoder_input is None else output[0]))
  return np.concatenate(outputs, axis=1)


def int_signature(*shape: int) -> shapes.ShapeDtype:
  return shapes.ShapeDtype(shape, np.int32)
