"""Autoregressive decoding: a stream of sampled tokens, sampled sequences, beam search.

The model is a trained layer in 'predict' mode. A language model maps tokens `(B, T)` to
logits `(B, T, V)`; an encoder-decoder maps `(inputs, tokens)` to `(logits, ...)`. As in
Trax 1.4, the first call feeds the start token (then, for a language model, the prompt
`inputs`; an encoder-decoder gets `inputs` on every call) and each later call the token
emitted last. The model keeps the history (key/value caches, positions) in its state.

Speed: a step is one function of `(weights, state, tokens)` compiled once per input shape,
never per token; the state is donated, so XLA updates the caches in place, and stays on the
device. The stream moves one `(B,)` batch of tokens to the host per step (what it yields);
`autoregressive_sample` and `beam_search` run their whole loop in one `lax.while_loop`. A
token costs the same at any position: attention spans the fixed-size cache
(`bench/decode.py` measures it). Decoding more positions than the cache holds (the model's
`max_len`) raises a ValueError instead of silently overwriting the last position.

`eval_mode=True` decodes with an 'eval'-mode model instead, running it over the whole prefix
for every token (padded to a power of two, at least `eval_min_length`, so few shapes
compile): any model works, at a cost growing with the length. As in Trax, the start token
is then the 0 that the model's `ShiftRight` puts first; `start_id` is not fed.

Differences from Trax 1.x:

- Randomness comes from an explicit `rng` key (Trax drew from numpy's global generator).
  Token `i` is drawn with `fold_in(rng, i)`, so one key gives the same tokens from the
  stream, from `autoregressive_sample` and in eval mode. Without `rng`, key 0 is used.
- The model's own state is left as it was: each call starts from `model.state` (Trax
  advanced it, so a second call continued the first one's caches).
- `beam_search` honours `eos_id` and `length_penalty` and takes batches (Trax 1.4 ignored
  both and required `batch_size=1`); see `trax.supervised.beam_search`.

Decoding runs on the jax backend and imports jax directly, as `tl.Accelerate` does.
"""

import itertools
from typing import Any
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax.supervised import beam_search as beam_search_lib
from trax.supervised import decoding_steps as steps

__all__ = [
  'autoregressive_sample_stream',
  'autoregressive_sample',
  'beam_search',
]


def autoregressive_sample_stream(
  model: tl.Layer,
  inputs: Any = None,
  batch_size: int = 1,
  temperature: float = 1.0,
  start_id: Any = 0,
  accelerate: bool = True,
  eval_mode: bool = False,
  eval_min_length: int = 1,
  rng: Any = None,
) -> Iterator[np.ndarray]:
  """Yields the next token of `batch_size` sequences, one `(batch_size,)` int32 array a step.

  The stream is endless, up to the model's cache length (see the module docstring).

  Args:
    model: a trained layer in 'predict' mode (in 'eval' mode if `eval_mode`).
    inputs: `(batch_size, length)` ids: the prompt of a language model, or the input of an
      encoder-decoder (required then). `None`: a language model starts from `start_id`.
    batch_size: number of sequences decoded in parallel.
    temperature: sharpness of the sampled distribution `softmax(logits / temperature)`;
      0 takes the most likely token (greedy decoding).
    start_id: the start token, or a `(batch_size, 1)` array of them.
    accelerate: compile each step; `False` runs the model op by op (for debugging).
    eval_mode: decode with an 'eval'-mode model by recomputing the whole prefix each step.
    eval_min_length: in eval mode, the shortest length the prefix is padded to.
    rng: a `fastmath.random` key for sampling; key 0 if `None`.

  Returns:
    An iterator over `(batch_size,)` int32 numpy arrays of tokens.

  Raises:
    ValueError: inputs of the wrong shape or dtype, a negative temperature, or (when the
      token is asked for) more positions than the model's cache holds.
  """
  encoder_inputs, tokens = _first_tokens(model, inputs, batch_size, start_id)
  temperature, rng = _sampling(temperature, rng)
  if eval_mode:
    return _eval_stream(
      model, encoder_inputs, tokens[:, 1:], temperature, rng, eval_min_length, accelerate
    )
  return _predict_stream(model, encoder_inputs, tokens, temperature, rng, accelerate)


def autoregressive_sample(
  model: tl.Layer,
  inputs: Any = None,
  batch_size: int = 1,
  temperature: float = 1.0,
  start_id: Any = 0,
  eos_id: int = 1,
  max_length: int = 100,
  accelerate: bool = True,
  eval_mode: bool = False,
  eval_min_length: int = 1,
  rng: Any = None,
) -> np.ndarray:
  """Samples `batch_size` sequences of at most `max_length` tokens.

  Decoding stops once every sequence has produced `eos_id` (or after `max_length` tokens).
  As in Trax, the result keeps the `eos_id` tokens, and a sequence that ended before the
  others continues with whatever the model samples after its `eos_id`: cut each row at its
  first `eos_id`. The tokens are the stream's first ones for the same `rng`.

  >>> model = trax.models.TransformerLM(16, d_model=8, d_ff=16, n_layers=1, n_heads=2,
  ...                                   max_len=32, mode='predict')
  >>> _ = model.init(shapes.ShapeDtype((1, 1), np.int32))
  >>> autoregressive_sample(model, np.array([[3, 4]]), max_length=5, eos_id=-1).shape
  (1, 5)

  Args:
    model, inputs, batch_size, temperature, start_id, accelerate, eval_mode,
      eval_min_length, rng: as in `autoregressive_sample_stream`.
    eos_id: the end-of-sequence token.
    max_length: the most tokens per sequence.

  Returns:
    `(batch_size, length)` int32 tokens, `length <= max_length`.

  Raises:
    ValueError: as `autoregressive_sample_stream`, before decoding starts.
  """
  if max_length < 1:
    raise ValueError(f'max_length must be at least 1, got {max_length}.')
  if eval_mode or not accelerate:
    stream = autoregressive_sample_stream(
      model, inputs, batch_size, temperature, start_id, accelerate, eval_mode, eval_min_length, rng
    )
    samples, ended = [], np.zeros(batch_size, bool)
    for sample in itertools.islice(stream, max_length):
      samples.append(sample)
      ended |= sample == eos_id
      if ended.all():
        break
    return np.stack(samples, axis=1)

  encoder_inputs, tokens = _first_tokens(model, inputs, batch_size, start_id)
  temperature, rng = _sampling(temperature, rng)
  _check_positions(model, max_length, tokens.shape[1] + max_length - 1, _max_positions(model))
  weights, state = _on_device(model)
  first, state = steps.predict_step(
    weights, state, encoder_inputs, tokens, temperature, rng, 0, model=model
  )
  samples, length = steps.sample_loop(
    weights,
    state,
    encoder_inputs,
    first,
    temperature,
    rng,
    eos_id,
    model=model,
    max_length=max_length,
  )
  return np.asarray(samples)[:, : int(length)]


def beam_search(
  model: tl.Layer,
  inputs: Any = None,
  batch_size: int = 1,
  n_beams: int = 2,
  start_id: Any = 0,
  eos_id: int = 1,
  max_length: int = 100,
  length_penalty: float = 1.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
  """The `n_beams` best sequences of each of `batch_size` rows found by beam search.

  A beam that produces `eos_id` stops growing and keeps its score. Scores are log-
  probabilities divided by GNMT's length penalty `((5 + length) / 6) ** length_penalty`
  (`length_penalty=0` ranks by log-probability alone; larger values favour longer
  sequences); see `trax.supervised.beam_search` for the search. Trax 1.4 ignored `eos_id`
  and `length_penalty`, scored by summed log-probability and took `batch_size=1` only.

  The model's state must be for `batch_size` rows (its batch entries are repeated for the
  beams inside the search).

  Args:
    model, inputs, batch_size, start_id, eos_id, max_length: as in
      `autoregressive_sample`.
    n_beams: how many sequences each row keeps at every step (and returns).
    length_penalty: the exponent `alpha` of the length normalization.

  Returns:
    As Trax 1.4, a list of `n_beams` pairs `(tokens, scores)`, best first: `tokens` of shape
    `(batch_size, length)` (int32, zeros after a beam's `eos_id`), `scores` of shape
    `(batch_size,)`. `length <= max_length` is the number of steps the search ran.

  Raises:
    ValueError: bad arguments (as in `autoregressive_sample`), a state that is not for
      `batch_size` rows, or more positions than the model's cache holds.
  """
  if n_beams < 1 or max_length < 1:
    raise ValueError(f'n_beams and max_length must be at least 1, got {n_beams} and {max_length}.')
  encoder_inputs, tokens = _first_tokens(model, inputs, batch_size, start_id)
  _check_positions(model, max_length, tokens.shape[1] + max_length - 1, _max_positions(model))
  batch_axes = _state_batch_axes(model, encoder_inputs, batch_size) if n_beams > 1 else None
  weights, state = _on_device(model)
  beam_tokens, scores, n_steps = steps.beam_search(
    weights,
    state,
    encoder_inputs,
    tokens,
    eos_id,
    model=model,
    n_beams=n_beams,
    max_length=max_length,
    alpha=float(length_penalty),
    batch_axes=batch_axes,
  )
  beam_tokens = np.asarray(beam_tokens)[:, :, : int(n_steps)]
  scores = np.asarray(scores)
  return [(beam_tokens[:, k], scores[:, k]) for k in range(n_beams)]


# Streams.


def _predict_stream(model, encoder_inputs, tokens, temperature, rng, accelerate):
  step = steps.predict_step if accelerate else steps.predict_step_eager
  limit = _max_positions(model)
  weights, state = _on_device(model)
  if encoder_inputs is not None:
    encoder_inputs = jax.device_put(encoder_inputs)  # Once, not at every step.
  positions = tokens.shape[1]
  _check_positions(model, 1, positions, limit)
  sample, state = step(weights, state, encoder_inputs, tokens, temperature, rng, 0, model=model)
  for i in itertools.count(1):
    positions += 1
    # Token i is dispatched before token i - 1 is handed out, so the device computes it
    # while the host copies and the consumer works (dispatch is asynchronous).
    fits = limit is None or positions <= limit
    ahead = fits and step(
      weights, state, encoder_inputs, sample[:, None], temperature, rng, i, model=model
    )
    yield np.asarray(sample)
    _check_positions(model, i + 1, positions, limit)
    sample, state = ahead


def _eval_stream(model, encoder_inputs, prefix, temperature, rng, min_length, accelerate):
  step = steps.eval_step if accelerate else steps.eval_step_eager
  limit = _max_positions(model)
  weights, state = model.weights, model.state
  if encoder_inputs is not None:
    encoder_inputs = jax.device_put(encoder_inputs)
  for i in itertools.count():
    length = prefix.shape[1]  # The prediction for position `length` needs `length + 1`.
    _check_positions(model, i + 1, length + 1, limit)
    padded_length = 2 ** int(np.ceil(np.log2(max(min_length, length + 1))))
    if limit is not None:
      padded_length = min(padded_length, limit)
    padded = np.pad(prefix, ((0, 0), (0, padded_length - length)))
    sample = np.asarray(
      step(weights, state, encoder_inputs, padded, length, temperature, rng, i, model=model)
    )
    yield sample
    prefix = np.concatenate([prefix, sample[:, None]], axis=1)


# Arguments, limits and state layout.


def _first_tokens(model, inputs, batch_size, start_id):
  """`(encoder_inputs or None, tokens of the first call)`, as int32 numpy arrays."""
  start = np.asarray(start_id)
  if start.ndim == 0:
    start = np.full((batch_size, 1), start)
  if start.shape != (batch_size, 1) or not np.issubdtype(start.dtype, np.integer):
    raise ValueError(
      f'start_id must be an integer or a ({batch_size}, 1) integer array '
      f'(batch_size={batch_size}), got {start_id!r}.'
    )
  start = start.astype(np.int32)
  if inputs is not None:
    inputs = np.asarray(inputs)
    if (
      inputs.ndim != 2
      or inputs.shape[0] != batch_size
      or not np.issubdtype(inputs.dtype, np.integer)
    ):
      raise ValueError(
        f'inputs must be integer ids of shape ({batch_size}, length) '
        f'(batch_size={batch_size}), got {inputs.dtype} {inputs.shape}.'
      )
    inputs = inputs.astype(np.int32)
  if model.n_in == 1:
    return None, start if inputs is None else np.concatenate([start, inputs], axis=1)
  if inputs is None:
    raise ValueError(
      f'{model.name} takes {model.n_in} inputs (an encoder-decoder): pass '
      'the encoder input as inputs=.'
    )
  return inputs, start


def _sampling(temperature, rng):
  """`(temperature, rng)` checked; key 0 when `rng` is None."""
  if not temperature >= 0:
    raise ValueError(f'temperature must be >= 0, got {temperature}.')
  return float(temperature), fastmath.random.get_prng(0) if rng is None else rng


def _on_device(model):
  """The model's weights on the device, and a copy of its state (the steps donate it)."""
  return jax.device_put(model.weights), fastmath.nested_map(jnp.array, model.state)


def _max_positions(model):
  """How many positions `model` can decode: the least `max_positions` of its layers
  (positional encodings, predict-mode attention caches); `None` if none has a limit."""
  limits = [
    layer.max_positions
    for _, layer in model.walk()
    if getattr(layer, 'max_positions', None) is not None
  ]
  return min(limits) if limits else None


def _check_positions(model, n_tokens, positions, limit):
  """Raises a ValueError if `n_tokens` tokens need more `positions` than the `limit`."""
  if limit is not None and positions > limit:
    raise ValueError(
      f'decoding {n_tokens} tokens with {model.name} needs {positions} positions (the '
      f'start token, the prompt and all tokens fed back), but its caches hold {limit} '
      f'(its max_len / max_inference_length). Decode fewer tokens or build the model '
      f'with a larger max_len.'
    )


def _state_batch_axes(model, encoder_inputs, batch_size):
  """`beam_search_lib.batch_axes` of the model's state for these inputs."""

  def input_signature(batch):
    tokens = shapes.ShapeDtype((batch, 1), np.int32)
    if encoder_inputs is None:
      return tokens
    return shapes.ShapeDtype((batch,) + encoder_inputs.shape[1:], np.int32), tokens

  return beam_search_lib.batch_axes(model, input_signature, batch_size)
