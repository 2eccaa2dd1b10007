"""The compiled steps of `decoding`: one token, a whole sampled sequence, a beam search.

Each is a function of `(weights, state, ...)` with the model a static argument: one trace
per model and input shape, never per token. The predict step donates the state, so XLA
updates the caches in place.
"""

import functools

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from trax import fastmath
import trax.layers as tl
from trax.supervised import beam_search as beam_search_lib

# Predict and eval modes have no dropout, so the model's rng is never drawn from.
_MODEL_RNG = np.zeros(2, np.uint32)


def next_log_probs(model, weights, state, encoder_inputs, tokens, position=-1):
  """Log-probabilities `(B, V)` of the token after `tokens[:, position]`, and new state."""
  x = tokens if encoder_inputs is None else (encoder_inputs, tokens)
  outputs, state = model.pure_fn(x, weights, state, _MODEL_RNG)
  logits = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
  logits = lax.dynamic_index_in_dim(logits, position % logits.shape[1], axis=1, keepdims=False)
  return tl.log_softmax(logits.astype(jnp.float32)), state


def sample_token(log_probs, temperature, rng, i):
  """Token `i` of the sequences: drawn with key `fold_in(rng, i)`, or the most likely one
  at temperature 0."""
  # One compiled program serves every temperature; only the chosen branch runs.
  return lax.cond(
    temperature > 0,
    lambda: tl.logsoftmax_sample(log_probs, temperature, fastmath.random.fold_in(rng, i)),
    lambda: jnp.argmax(log_probs, axis=-1),
  ).astype(jnp.int32)


def predict_step_eager(weights, state, encoder_inputs, tokens, temperature, rng, i, *, model):
  log_probs, state = next_log_probs(model, weights, state, encoder_inputs, tokens)
  return sample_token(log_probs, temperature, rng, i), state


def eval_step_eager(weights, state, encoder_inputs, tokens, length, temperature, rng, i, *, model):
  log_probs, _ = next_log_probs(model, weights, state, encoder_inputs, tokens, length)
  return sample_token(log_probs, temperature, rng, i)


predict_step = jax.jit(predict_step_eager, static_argnames=('model',), donate_argnames=('state',))
eval_step = jax.jit(eval_step_eager, static_argnames=('model',))


@functools.partial(jax.jit, static_argnames=('model', 'max_length'))
def sample_loop(
  weights, state, encoder_inputs, first, temperature, rng, eos_id, *, model, max_length
):
  """Tokens `1 .. max_length - 1` after `first`, in one loop: `(samples, length)`."""
  samples = jnp.zeros((first.shape[0], max_length), jnp.int32).at[:, 0].set(first)

  def decoding(carry):
    i, _, _, _, ended = carry
    return (i < max_length) & ~jnp.all(ended)

  def decode(carry):
    i, state, last, samples, ended = carry
    log_probs, state = next_log_probs(model, weights, state, encoder_inputs, last[:, None])
    sample = sample_token(log_probs, temperature, rng, i)
    samples = lax.dynamic_update_index_in_dim(samples, sample, i, axis=1)
    return i + 1, state, sample, samples, ended | (sample == eos_id)

  length, _, _, samples, _ = lax.while_loop(
    decoding, decode, (jnp.asarray(1, jnp.int32), state, first, samples, first == eos_id)
  )
  return samples, length


@functools.partial(
  jax.jit, static_argnames=('model', 'n_beams', 'max_length', 'alpha', 'batch_axes')
)
def beam_search(
  weights, state, encoder_inputs, tokens, eos_id, *, model, n_beams, max_length, alpha, batch_axes
):
  """`(tokens (B, K, max_length), scores (B, K), n_steps)` of the search.

  `batch_axes` (`beam_search_lib.batch_axes`) holds the batch axes of the state before
  and after a first call; `None` with one beam.
  """
  batch_size = tokens.shape[0]
  if batch_axes is None:
    batch_axes = (None, None)
  else:
    state = beam_search_lib.tile_state(state, batch_axes[0], batch_size, n_beams)
  if encoder_inputs is not None:
    encoder_inputs = jnp.repeat(encoder_inputs, n_beams, axis=0)
  step = functools.partial(next_log_probs, model, weights, encoder_inputs=encoder_inputs)
  log_probs, state = step(state, tokens=jnp.repeat(tokens, n_beams, axis=0))
  beams, n_steps = beam_search_lib.search(
    log_probs.reshape(batch_size, n_beams, -1),
    state,
    lambda state, tokens: step(state, tokens=tokens),
    lambda state, rows: beam_search_lib.gather_state(
      state, batch_axes[1] or (None,) * len(fastmath.tree_leaves(state)), rows
    ),
    eos_id,
    max_length,
    alpha,
  )
  return beams.tokens, beam_search_lib.normalized_scores(beams, alpha), n_steps
