"""Chunked loss: the model's last layer and the loss, a chunk of positions at a time.

In a language model the last layer (a Dense to the vocabulary) and the loss move more
memory than anything else in the step: the logits of a 16 x 128 batch over 4096 tokens are
32 MB, written by the matmul, then read and written again by the bias, the softmax and its
gradient, a pass each. With `Loop(..., loss_chunk_size=c)` the positions are taken `c` at a
time: a chunk's logits (`batch x c x vocab`) are made, reduced to the chunk's loss and
turned into the chunk's gradients (summed for the last layer's weights, kept for its input)
before the next chunk starts. The logits never exist in full: less memory, and, where the
step's buffers are mapped afresh each step, fewer pages to fault in (bench/README.md).

By default (`loss_chunk_size=None`) the Loop chunks whenever `choose_chunk_size` finds it
pays. Measured on this project's 2-core CPU (output Dense and loss alone, forward and
backward, d 256, 16 x 128 positions), what decides is whether the step's buffers are
mapped afresh at each step (glibc's default for large blocks, where the chunks' smaller
buffers spared most page faults) or kept for reuse (`trax.host_memory`, which `import
trax` sets):

- mapped afresh: 32 MiB of logits (batch 16 x vocab 4096, or 64 x 1024) took 0.72-0.77 of
  the unchunked CPU time with chunks of 1-8 MiB; 12 MiB 0.94; 8 MiB (batch 4 x 4096)
  1.02-1.19, slower; below that no gain. So the Loop chunks, on CPU, for a model and loss
  this can chunk, when a device's logits reach `MIN_LOGITS_BYTES` (16 MiB), in chunks of
  at most `MAX_CHUNK_BYTES` (4 MiB) of logits;
- kept for reuse: chunks of 16 positions took 1.00-1.05 of the unchunked wall time (0.96-1.03
  of its CPU time) for vocabularies of 1536 to 16384, chunks of 8 positions 1.05-1.15; the
  whole benchmark step was level. So the Loop does not chunk.

On GPUs and TPUs nothing was measured: pass a size there.

The gradients are computed in the forward pass, inside a `custom_vjp` whose backward pass
only scales them by the incoming cotangent; so a chunked loss can be differentiated once
(reverse mode, as training does), not twice or in forward mode.

The loss is the same quantity as the unchunked one: for a (weighted) mean over items, the
total is the sum over chunks of each chunk's mean times the chunk's share of the weight.
That is why the loss must be one of the mean losses listed in `MEAN_LOSSES` and
`WEIGHTED_MEAN_LOSSES`, and the model a `Serial` ending in `Dense`, which acts on each
position alone. Only the order of float32 additions differs: the loss is summed within
chunks and then over chunks (not in one reduction), and the last layer's weight gradient
is accumulated chunk after chunk instead of by one matmul over all positions. So results
agree to rounding, not bit for bit: within rtol 1e-6 for the loss and rtol 1e-4 (atol 1e-7
for entries near zero) for the gradients in the tests, which check both.
"""

import functools
import math
from typing import Any
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from trax import fastmath
from trax import host_memory
from trax.layers import base
from trax.layers import combinators
from trax.layers import core

# Losses that are a plain mean over items (each chunk weighs the same).
MEAN_LOSSES = frozenset({'CategoryCrossEntropy', 'BinaryCrossEntropy'})
# Losses `sum(values * weights) / sum(weights)`, weights as their third input.
WEIGHTED_MEAN_LOSSES = frozenset(
  {'WeightedCategoryCrossEntropy', 'CrossEntropyLoss', 'L2Loss', 'SmoothL1Loss'}
)
# `choose_chunk_size`'s rule (see the module docstring for the measurements).
MIN_LOGITS_BYTES = 16 * 2**20
MAX_CHUNK_BYTES = 4 * 2**20
MIN_CHUNK_BYTES = 2**20


def refusal(
  model: base.Layer, loss_layer: base.Layer, batch_signature: tuple, chunk_size: 'int | None' = None
) -> 'str | None':
  """Why `model` and `loss_layer` cannot be chunked (by `chunk_size`), or `None`.

  Args:
    model: an initialized model; `loss_layer` takes its output and the rest of the batch.
    loss_layer: the task's loss.
    batch_signature: the signature of the task's batches (inputs, targets[, weights]).
    chunk_size: positions per chunk, or `None` to check everything else.
  """
  sublayers = model.sublayers if isinstance(model, combinators.Serial) else []
  if not sublayers or not isinstance(sublayers[-1], core.Dense) or model.n_out != 1:
    return (
      f'loss_chunk_size needs a model that is a Serial ending in Dense with one '
      f'output, got {model.name} ending in '
      f'{sublayers[-1].name if sublayers else "no sublayers"}.'
    )
  if loss_layer.name not in MEAN_LOSSES | WEIGHTED_MEAN_LOSSES:
    return (
      f'loss_chunk_size needs a loss that is a mean over items '
      f'({", ".join(sorted(MEAN_LOSSES | WEIGHTED_MEAN_LOSSES))}), got '
      f'{loss_layer.name}.'
    )
  if fastmath.tree_leaves((loss_layer.weights, loss_layer.state)):
    return (
      f'loss_chunk_size needs a loss layer without weights or state; {loss_layer.name} has some.'
    )
  if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
    return f'loss_chunk_size must be a positive int, got {chunk_size!r}.'
  weighted = loss_layer.name in WEIGHTED_MEAN_LOSSES
  rest = batch_signature[model.n_in :]
  if len(rest) != (3 if weighted else 2) - 1:
    return (
      f'{loss_layer.name} takes {3 if weighted else 2} inputs (model output, '
      f'targets{", weights" if weighted else ""}), but the batch gives {1 + len(rest)}.'
    )
  output_shape = _output(model, batch_signature).shape
  n_positions = math.prod(output_shape[1:-1]) if len(output_shape) > 2 else 0
  if n_positions == 0:
    return (
      f'loss_chunk_size needs a model output with positions to chunk, of shape '
      f'(batch, positions..., features); got shape {tuple(output_shape)}: 0 positions.'
    )
  if chunk_size is not None and n_positions % chunk_size:
    return (
      f'loss_chunk_size={chunk_size} must divide the positions of the model\'s '
      f'output, of shape {tuple(output_shape)} (batch, positions..., features): '
      f'{n_positions} positions.'
    )
  if tuple(rest[0].shape[: len(output_shape) - 1]) != tuple(output_shape[:-1]):
    return (
      f'targets of shape {tuple(rest[0].shape)} do not start with the output\'s '
      f'batch and positions {tuple(output_shape[:-1])}.'
    )
  return None


def choose_chunk_size(
  model: base.Layer,
  loss_layer: base.Layer,
  batch_signature: tuple,
  batch_shards: int,
  platform: str,
) -> tuple[int, str]:
  """The chunk size `Loop(loss_chunk_size=None)` uses (0: no chunks), and why.

  Args:
    model, loss_layer, batch_signature: as in `refusal`.
    batch_shards: how many devices share a batch (each makes the logits of its part).
    platform: the devices' platform ('cpu', 'gpu', 'tpu').
  """
  if platform != 'cpu':
    return 0, (
      f'chunks were measured to pay on CPU only, these devices are {platform} '
      '(pass loss_chunk_size to chunk)'
    )
  if host_memory.KEPT:
    return 0, (
      'freed memory is kept for reuse (trax.host_memory), and then chunks measured level '
      'or slower (pass loss_chunk_size to chunk: the logits are never in memory in full)'
    )
  reason = refusal(model, loss_layer, batch_signature)
  if reason is not None:
    return 0, reason.replace('loss_chunk_size needs', 'chunks need')
  output = _output(model, batch_signature)
  n_positions = math.prod(output.shape[1:-1])
  position_bytes = (
    output.shape[0] / batch_shards * output.shape[-1] * np.dtype(output.dtype).itemsize
  )  # All rows' logits at a position.
  logits_bytes = position_bytes * n_positions
  if logits_bytes < MIN_LOGITS_BYTES:
    return 0, (
      f'the logits ({logits_bytes / 2**20:.1f} MiB per device) fit the cache '
      f'well enough: chunks pay from {MIN_LOGITS_BYTES // 2**20} MiB'
    )
  fitting = [
    c
    for c in range(1, n_positions + 1)
    if n_positions % c == 0 and c * position_bytes <= MAX_CHUNK_BYTES
  ]
  chunk_size = max(fitting, default=1)  # 1 if a single position has more logits.
  if fitting and chunk_size * position_bytes < MIN_CHUNK_BYTES:  # Smaller: not measured.
    return 0, (
      f'no divisor of the {n_positions} positions makes chunks of 1 to '
      f'{MAX_CHUNK_BYTES // 2**20} MiB of logits'
    )
  return chunk_size, (
    f'the logits ({logits_bytes / 2**20:.0f} MiB per device) run in '
    f'chunks of {chunk_size} positions '
    f'({chunk_size * position_bytes / 2**20:.1f} MiB)'
  )


def _output(model: base.Layer, batch_signature: tuple) -> Any:
  return model.output_signature(combinators.inputs_from_stack(batch_signature, model.n_in))


class ChunkedLoss:
  """`loss_layer(model(batch))`, with the model's last layer and the loss run in chunks.

  Called like the pure function of `Serial(model, loss_layer)`:
  `chunked(batch, (model_weights, loss_weights), (model_state, loss_state), rng) ->
  (loss, new_state)`.

  Args:
    model: an initialized `Serial` whose last sublayer is a `Dense`; its output has shape
      `(batch, positions..., d)`, and the positions (flattened) are chunked.
    loss_layer: one of the mean losses above, without weights or state.
    chunk_size: positions per chunk; must divide the number of positions.
    batch_signature: the signature of the task's batches (inputs, targets[, weights]).
    name: how errors refer to the task (e.g. 'Train task 0').

  Raises:
    ValueError: a model, loss or chunk size this cannot chunk; the message says why.
  """

  def __init__(
    self,
    model: base.Layer,
    loss_layer: base.Layer,
    chunk_size: int,
    batch_signature: tuple,
    name: str,
  ):
    reason = refusal(model, loss_layer, batch_signature, chunk_size)
    if reason is not None:
      raise ValueError(f'{name}: {reason}')
    sublayers = model.sublayers
    self._body = combinators.Serial(*sublayers[:-1])
    self._head = sublayers[-1]
    self._loss = loss_layer
    self._weighted = loss_layer.name in WEIGHTED_MEAN_LOSSES
    self._chunk_size = chunk_size
    self._n_in = model.n_in

  def __call__(self, batch: tuple, weights: Any, state: Any, rng: Any) -> tuple[Any, Any]:
    (model_weights, loss_weights), (model_state, loss_state) = weights, state
    x, body_state = self._body.pure_fn(
      combinators.inputs_from_stack(batch, self._n_in),
      tuple(model_weights[:-1]),
      tuple(model_state[:-1]),
      rng,
    )
    chunk_loss = functools.partial(self._chunk_loss, model_state[-1], loss_weights, loss_state)
    loss = self._chunked_head_and_loss(chunk_loss, model_weights[-1], x, *batch[self._n_in :])
    new_state = ((*body_state, model_state[-1]), loss_state)
    return loss, new_state

  def _chunked_head_and_loss(
    self, chunk_loss: Callable, head_weights: Any, x: Any, targets: Any, item_weights: Any = None
  ) -> Any:
    positions = x.shape[1:-1]
    n_chunks = math.prod(positions) // self._chunk_size
    if self._weighted:
      item_weights = jnp.broadcast_to(item_weights, targets.shape).astype(jnp.float32)
    else:
      item_weights = jnp.ones(targets.shape, jnp.float32)

    def chunked(a):  # (batch, positions..., rest...) -> (n_chunks, batch, chunk, rest...)
      a = jnp.reshape(a, (a.shape[0], n_chunks, self._chunk_size) + a.shape[1 + len(positions) :])
      return jnp.moveaxis(a, 1, 0)

    return _head_and_loss(
      chunk_loss, head_weights, chunked(x), chunked(targets), chunked(item_weights), self._weighted
    )

  def _chunk_loss(
    self,
    head_state: Any,
    loss_weights: Any,
    loss_state: Any,
    head_weights: Any,
    x: Any,
    targets: Any,
    item_weights: Any,
  ) -> Any:
    outputs, _ = self._head.pure_fn(x, head_weights, head_state, None)
    loss_inputs = (outputs, targets, item_weights) if self._weighted else (outputs, targets)
    loss, _ = self._loss.pure_fn(loss_inputs, loss_weights, loss_state, None)
    return jnp.astype(loss, jnp.float32)


def _head_and_loss(
  chunk_loss: Callable, head_weights: Any, xs: Any, targets: Any, item_weights: Any, weighted: bool
) -> Any:
  """The total loss over chunks; its gradients are made chunk by chunk in the forward pass.

  `xs`, `targets` and `item_weights` have the chunks on their leading axis. The total is
  `sum_c share_c * loss_c`, with `share_c` the chunk's fraction of all item weights.
  """
  chunk_weight_sums = jnp.sum(jnp.reshape(item_weights, (item_weights.shape[0], -1)), axis=1)
  shares = chunk_weight_sums / jnp.sum(chunk_weight_sums)
  if weighted:
    # A chunk without weight has a 0/0 mean: give it unit weights, it counts 0 anyway.
    empty = (chunk_weight_sums == 0).reshape((-1,) + (1,) * (item_weights.ndim - 1))
    item_weights = jnp.where(empty, jnp.ones_like(item_weights), item_weights)

  def with_gradients(head_weights, xs):
    def one_chunk(carry, chunk):
      total, weights_gradient = carry
      x, target, weight, share = chunk
      shared_loss = lambda w, x: share * chunk_loss(w, x, target, weight)
      loss, (dw, dx) = jax.value_and_grad(shared_loss, argnums=(0, 1))(head_weights, x)
      return (total + loss, fastmath.nested_map_multiarg(jnp.add, weights_gradient, dw)), dx

    zeros = fastmath.nested_map(jnp.zeros_like, head_weights)
    (total, dw), dxs = jax.lax.scan(
      one_chunk, (jnp.zeros((), jnp.float32), zeros), (xs, targets, item_weights, shares)
    )
    return total, (dw, dxs)

  @jax.custom_vjp
  def total_loss(head_weights, xs):
    return with_gradients(head_weights, xs)[0]

  def forward(head_weights, xs):
    return with_gradients(head_weights, xs)

  def backward(gradients, cotangent):
    return fastmath.nested_map(lambda g: (cotangent * g).astype(g.dtype), gradients)

  total_loss.defvjp(forward, backward)
  return total_loss(head_weights, xs)
