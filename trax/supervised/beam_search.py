r"""Beam search over a step function, compiled as one `lax.while_loop`.

`trax.supervised.decoding.beam_search` runs a model with this module. The search itself
knows nothing about models, only arrays (`batch_axes` asks a model where its state keeps
the batch rows):

- a batch of `B` rows keeps `K` beams each, in slots: the tokens so far, their summed
  log-probability, their length and whether they ended with `eos_id`;
- each step expands every live beam by every token (`K * V` candidates per row) and lets
  each finished beam compete once more as itself, unchanged; the `K` best candidates by
  length-normalized score become the new beams;
- the model state follows the beams: row `b * K + k` of every batch axis holds the state
  of beam `k` of row `b`, and `reorder_state` gathers the parents' rows after each step.

Scores are normalized as in GNMT (Wu et al., 2016, https://arxiv.org/abs/1609.08144):

.. math::
    score = \frac{\log P(y)}{lp(|y|)}, \quad lp(n) = \left(\frac{5 + n}{6}\right)^\alpha,

with `|y|` counting the generated tokens, the final `eos_id` included. Candidates that
grow in the same step have the same length, so among them the ranking is that of
`log P(y)`; the normalization matters where finished beams of different lengths compete.
A finished beam keeps its slot until `K` better candidates appear, which also stops the
search early: once every slot holds a finished (or impossible) beam, no step can change
the result. The approximation this makes: a live beam whose normalized score falls below
`K` finished ones is dropped, though with `alpha > 0` growing longer could have raised it.
"""

from typing import Any, NamedTuple
from collections.abc import Callable
import weakref

from jax import lax
import jax.numpy as jnp
import numpy as np

from trax import fastmath
from trax import shapes

# model -> {(batch_size, input signature, state shapes): batch axes}; see `batch_axes`.
_BATCH_AXES = weakref.WeakKeyDictionary()


class Beams(NamedTuple):
  """`K` beams for each of `B` rows (`L` is the most tokens a beam can hold)."""

  tokens: Any  # (B, K, L) int32, zeros after a beam's length.
  log_probs: Any  # (B, K) float32, the summed log-probabilities of the tokens.
  lengths: Any  # (B, K) int32.
  finished: Any  # (B, K) bool: the beam ended with `eos_id` and grows no more.


def length_penalty(length: Any, alpha: float) -> Any:
  """GNMT's `((5 + length) / 6) ** alpha`; 1 for `alpha == 0`."""
  return ((5.0 + length) / 6.0) ** alpha


def normalized_scores(beams: Beams, alpha: float) -> Any:
  """`(B, K)` scores of the beams: `log_probs / length_penalty(lengths, alpha)`."""
  return beams.log_probs / length_penalty(beams.lengths, alpha)


def initial_beams(batch_size: int, n_beams: int, max_length: int) -> Beams:
  """One empty beam per row; the other slots are impossible (log-probability -inf) so the
  first step does not expand `K` copies of the same beam."""
  log_probs = jnp.full((batch_size, n_beams), -jnp.inf, jnp.float32).at[:, 0].set(0.0)
  return Beams(
    tokens=jnp.zeros((batch_size, n_beams, max_length), jnp.int32),
    log_probs=log_probs,
    lengths=jnp.zeros((batch_size, n_beams), jnp.int32),
    finished=jnp.zeros((batch_size, n_beams), bool),
  )


def expand(beams: Beams, log_probs: Any, step: Any, eos_id: Any, alpha: float) -> tuple[Beams, Any]:
  """One search step: the `K` best continuations of `beams`.

  Args:
    beams: the current beams.
    log_probs: `(B, K, V)` log-probabilities of the next token for each beam.
    step: how many tokens the live beams hold (all the same).
    eos_id: the token that finishes a beam.
    alpha: the length-penalty exponent.

  Returns:
    The new beams, sorted best first in each row, and `(B, K)` indices of their parents.
  """
  batch_size, n_beams, vocab_size = log_probs.shape
  # A finished beam is one candidate, itself (in column 0), with its old log-probability.
  as_itself = jnp.where(jnp.arange(vocab_size) == 0, beams.log_probs[..., None], -jnp.inf)
  grown = beams.log_probs[..., None] + log_probs
  candidate_log_probs = jnp.where(beams.finished[..., None], as_itself, grown)
  candidate_lengths = jnp.where(beams.finished, beams.lengths, step + 1)[..., None]
  candidate_scores = candidate_log_probs / length_penalty(candidate_lengths, alpha)

  flat_scores = candidate_scores.reshape(batch_size, n_beams * vocab_size)
  _, best = lax.top_k(flat_scores, n_beams)  # (B, K) flat candidate ids
  parents, new_tokens = best // vocab_size, (best % vocab_size).astype(jnp.int32)
  from_parent = lambda x: jnp.take_along_axis(x, parents, axis=1)
  was_finished = from_parent(beams.finished)

  tokens = jnp.take_along_axis(beams.tokens, parents[..., None], axis=1)
  appended = lax.dynamic_update_slice_in_dim(tokens, new_tokens[..., None], step, axis=2)
  new_beams = Beams(
    tokens=jnp.where(was_finished[..., None], tokens, appended),
    log_probs=jnp.take_along_axis(
      candidate_log_probs.reshape(batch_size, n_beams * vocab_size), best, axis=1
    ),
    lengths=jnp.where(was_finished, from_parent(beams.lengths), step + 1),
    finished=was_finished | (new_tokens == eos_id),
  )
  return new_beams, parents


def search(
  first_log_probs: Any,
  state: Any,
  step_fn: Callable[[Any, Any], tuple[Any, Any]],
  reorder_state: Callable[[Any, Any], Any],
  eos_id: Any,
  max_length: int,
  alpha: float,
) -> tuple[Beams, Any]:
  """Beam search for up to `max_length` tokens (call it under `jax.jit`).

  Args:
    first_log_probs: `(B, K, V)` log-probabilities of the first token, the same for all
      `K` beams of a row (only beam 0 is expanded).
    state: the model state after the step that gave `first_log_probs`, for `B * K` rows.
    step_fn: `(state, tokens) -> (log_probs, state)` with `tokens` of shape `(B * K, 1)`
      and `log_probs` of shape `(B * K, V)`.
    reorder_state: `(state, rows) -> state`, the state of `B * K` rows taken from `rows`.
    eos_id: the token that finishes a beam.
    max_length: the most tokens in a beam.
    alpha: the length-penalty exponent.

  Returns:
    `(beams, n_steps)`: the final beams, best first in each row, and how many steps ran
    (no beam is longer than `n_steps`).
  """
  batch_size, n_beams, _ = first_log_probs.shape
  beams = initial_beams(batch_size, n_beams, max_length)
  beams, parents = expand(beams, first_log_probs, 0, eos_id, alpha)
  state = reorder_state(state, _rows(parents))

  def searching(carry):
    step, beams, _ = carry
    impossible = beams.log_probs == -jnp.inf
    return (step < max_length) & ~jnp.all(beams.finished | impossible)

  def search_step(carry):
    step, beams, state = carry
    last_tokens = jnp.take_along_axis(
      beams.tokens, jnp.maximum(beams.lengths - 1, 0)[..., None], axis=2
    )  # (B, K, 1)
    log_probs, state = step_fn(state, last_tokens.reshape(batch_size * n_beams, 1))
    beams, parents = expand(beams, log_probs.reshape(batch_size, n_beams, -1), step, eos_id, alpha)
    return step + 1, beams, reorder_state(state, _rows(parents))

  n_steps, beams, _ = lax.while_loop(
    searching, search_step, (jnp.asarray(1, jnp.int32), beams, state)
  )
  return beams, n_steps


def batch_axes(
  model: Any, input_signature: Callable[[int], Any], batch_size: int
) -> tuple[tuple, tuple]:
  """For each leaf of `model.state` (a state for `batch_size` rows), its batch axis; and
  the same for the state after one call of the model.

  The two differ in leaves when a layer's state changes structure at its first call
  (`tl.Cache` stores its outputs then). An axis is the one that grows when `init` is given
  more rows; `None` marks a leaf shared by all rows (a position counter). Found by
  comparing the states `init` (and one abstract call) would create for
  `input_signature(batch_size)` and `input_signature(2 * batch_size)`; the first must be
  the model's. These abstract evaluations trace the whole model, so the answer is kept
  for the model's later searches.

  Raises:
    ValueError: the model's state is not for `batch_size` rows, or has a leaf in which no
      single axis grows with the batch.
  """
  actual = tuple(tuple(np.shape(x)) for x in fastmath.tree_leaves(model.state))
  known = _BATCH_AXES.setdefault(model, {})
  key = (batch_size, str(input_signature(batch_size)), actual)
  if key not in known:

    def state_shapes(batch):
      inputs = input_signature(batch)
      weights, state = model.weights_and_state_signature(inputs)
      after_call = fastmath.abstract_eval(lambda x, w, s, r: model.pure_fn(x, w, s, r)[1])(
        inputs, weights, state, shapes.ShapeDtype((2,), np.uint32)
      )
      leaf_shapes = lambda tree: tuple(tuple(x.shape) for x in fastmath.tree_leaves(tree))
      return leaf_shapes(state), leaf_shapes(after_call)

    (single, single_after), (double, double_after) = (
      state_shapes(batch_size),
      state_shapes(2 * batch_size),
    )
    if actual != single:
      raise ValueError(
        f'the state of {model.name} is not for batch_size={batch_size} and these inputs: '
        f'its shapes are {list(actual)[:6]}..., expected {list(single)[:6]}.... '
        f'Initialize the model for them first, e.g. '
        f'model.init(ShapeDtype(({batch_size}, 1), np.int32)).'
      )
    known[key] = tuple(
      tuple(_doubled_axis(one, two) for one, two in zip(ones, twos))
      for ones, twos in ((single, double), (single_after, double_after))
    )
  return known[key]


def _doubled_axis(one: tuple, two: tuple) -> 'int | None':
  """The axis along which shape `two` is twice shape `one`; `None` if they are equal."""
  differing = [a for a, (m, n) in enumerate(zip(one, two)) if m != n]
  if not differing:
    return None
  if len(one) != len(two) or len(differing) != 1 or two[differing[0]] != 2 * one[differing[0]]:
    raise ValueError(
      f'cannot tell the batch axis of a state of shape {one} (for twice the '
      f'batch: {two}); beam search needs one axis that grows with the batch.'
    )
  return differing[0]


def tile_state(state: Any, batch_axes: tuple, batch_size: int, n_beams: int) -> Any:
  """`state` for `B` rows repeated for `B * K` rows: row `b` becomes rows `b*K .. b*K+K-1`.

  `batch_axes` has one entry per leaf of `state` (in `fastmath.tree_leaves` order): the axis
  along which the rows lie, in blocks (an axis of size `B * r` holds `r` entries per row,
  as attention caches hold one entry per head), or `None` for a leaf shared by all rows.
  """

  def tile(x, axis):
    blocks = _blocks(x, axis, batch_size)
    return jnp.repeat(blocks, n_beams, axis=axis).reshape(
      x.shape[:axis] + (x.shape[axis] * n_beams,) + x.shape[axis + 1 :]
    )

  return _map_rows(tile, state, batch_axes)


def gather_state(state: Any, batch_axes: tuple, rows: Any) -> Any:
  """The state of `N` rows taken from `rows` (`(N,)` row indices), leaves and axes as in
  `tile_state`."""
  n_rows = rows.shape[0]
  gather = lambda x, axis: jnp.take(_blocks(x, axis, n_rows), rows, axis=axis).reshape(x.shape)
  return _map_rows(gather, state, batch_axes)


def _map_rows(fn: Callable, state: Any, batch_axes: tuple) -> Any:
  leaves = fastmath.tree_leaves(state)
  if len(leaves) != len(batch_axes):
    raise ValueError(
      f'the state has {len(leaves)} arrays but {len(batch_axes)} batch axes were given.'
    )
  mapped = [x if axis is None else fn(x, axis) for x, axis in zip(leaves, batch_axes)]
  return fastmath.tree_unflatten(mapped, state, ignore_nones=True)[0]


def _blocks(x: Any, axis: int, n_rows: int) -> Any:
  """`x` with its batch axis split into `(n_rows, entries per row)`."""
  return x.reshape(x.shape[:axis] + (n_rows, x.shape[axis] // n_rows) + x.shape[axis + 1 :])


def _rows(parents: Any) -> Any:
  """`(B * K,)` flat row indices of the parents: beam `k` of row `b` is row `b * K + k`."""
  batch_size, n_beams = parents.shape
  return (jnp.arange(batch_size)[:, None] * n_beams + parents).reshape(-1)
