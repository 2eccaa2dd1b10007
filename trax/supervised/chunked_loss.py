"""Chunked loss: the model's last layer and the loss, a chunk of positions at a time.

In a language model the last layer (a Dense to the vocabulary) and the loss move more
memory than anything else in the step: the logits of a 16 x 128 batch over 4096 tokens are
32 MB, written by the matmul, then read and written again by the bias, the softmax and its
gradient, a pass each. With `Loop(..., loss_chunk_size=c)` the positions are taken `c` at a
time: a chunk's logits (`batch x c x vocab`) are made, reduced to the chunk's loss and
turned into the chunk's gradients (summed for the last layer's weights, kept for its input)
before the next chunk starts. The logits never exist in full, and a chunk's passes run in
cache: the benchmark TransformerLM step is about 10% faster (bench/README.md).

The gradients are computed in the forward pass, inside a `custom_vjp` whose backward pass
only scales them by the incoming cotangent; so a chunked loss can be differentiated once
(reverse mode, as training does), not twice or in forward mode.

The loss is the same number as the unchunked one: for a (weighted) mean over items, the
total is the sum over chunks of each chunk's mean times the chunk's share of the weight.
That is why the loss must be one of the mean losses listed in `MEAN_LOSSES` and
`WEIGHTED_MEAN_LOSSES`, and the model a `Serial` ending in `Dense`, which acts on each
position alone.
"""

import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from trax import fastmath
from trax.layers import base
from trax.layers import combinators
from trax.layers import core

# Losses that are a plain mean over items (each chunk weighs the same).
MEAN_LOSSES = frozenset({'CategoryCrossEntropy', 'BinaryCrossEntropy'})
# Losses `sum(values * weights) / sum(weights)`, weights as their third input.
WEIGHTED_MEAN_LOSSES = frozenset({'WeightedCategoryCrossEntropy', 'CrossEntropyLoss',
                                  'L2Loss', 'SmoothL1Loss'})


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

  def __init__(self, model: base.Layer, loss_layer: base.Layer, chunk_size: int,
               batch_signature: tuple, name: str):
    sublayers = model.sublayers if isinstance(model, combinators.Serial) else []
    if not sublayers or not isinstance(sublayers[-1], core.Dense) or model.n_out != 1:
      raise ValueError(f'{name}: loss_chunk_size needs a model that is a Serial ending in '
                       f'Dense with one output, got {model.name} ending in '
                       f'{sublayers[-1].name if sublayers else "no sublayers"}.')
    if loss_layer.name not in MEAN_LOSSES | WEIGHTED_MEAN_LOSSES:
      raise ValueError(f'{name}: loss_chunk_size needs a loss that is a mean over items '
                       f'({", ".join(sorted(MEAN_LOSSES | WEIGHTED_MEAN_LOSSES))}), got '
                       f'{loss_layer.name}.')
    if fastmath.tree_leaves((loss_layer.weights, loss_layer.state)):
      raise ValueError(f'{name}: loss_chunk_size needs a loss layer without weights or '
                       f'state; {loss_layer.name} has some.')
    if not isinstance(chunk_size, int) or chunk_size <= 0:
      raise ValueError(f'{name}: loss_chunk_size must be a positive int, got {chunk_size!r}.')
    self._body = combinators.Serial(*sublayers[:-1])
    self._head = sublayers[-1]
    self._loss = loss_layer
    self._weighted = loss_layer.name in WEIGHTED_MEAN_LOSSES
    self._chunk_size = chunk_size
    self._name = name
    self._n_in = model.n_in
    outputs = model.output_signature(combinators.inputs_from_stack(batch_signature, self._n_in))
    self._check_shapes(outputs.shape, batch_signature[self._n_in:])

  def __call__(self, batch: tuple, weights: Any, state: Any, rng: Any) -> tuple[Any, Any]:
    (model_weights, loss_weights), (model_state, loss_state) = weights, state
    x, body_state = self._body.pure_fn(combinators.inputs_from_stack(batch, self._n_in),
                                       tuple(model_weights[:-1]), tuple(model_state[:-1]), rng)
    chunk_loss = functools.partial(self._chunk_loss, model_state[-1], loss_weights, loss_state)
    loss = self._chunked_head_and_loss(chunk_loss, model_weights[-1], x, *batch[self._n_in:])
    new_state = ((*body_state, model_state[-1]), loss_state)
    return loss, new_state

  def _check_shapes(self, output_shape: tuple, rest: tuple) -> None:
    """Raises unless the model's output and the rest of the batch can be chunked."""
    if len(rest) != (3 if self._weighted else 2) - 1:
      raise ValueError(f'{self._name}: {self._loss.name} takes '
                       f'{3 if self._weighted else 2} inputs (model output, targets'
                       f'{", weights" if self._weighted else ""}), but the batch gives '
                       f'{1 + len(rest)}.')
    positions = output_shape[1:-1]
    n_positions = math.prod(positions) if positions else 0
    if n_positions == 0 or n_positions % self._chunk_size:
      raise ValueError(f'{self._name}: loss_chunk_size={self._chunk_size} must divide the '
                       f'positions of the model\'s output, of shape {tuple(output_shape)} '
                       f'(batch, positions..., features): {n_positions} positions.')
    if tuple(rest[0].shape[:len(output_shape) - 1]) != tuple(output_shape[:-1]):
      raise ValueError(f'{self._name}: targets of shape {tuple(rest[0].shape)} do not start '
                       f'with the output\'s batch and positions {tuple(output_shape[:-1])}.')

  def _chunked_head_and_loss(self, chunk_loss: Callable, head_weights: Any, x: Any,
                             targets: Any, item_weights: Any = None) -> Any:
    positions = x.shape[1:-1]
    n_chunks = math.prod(positions) // self._chunk_size
    if self._weighted:
      item_weights = jnp.broadcast_to(item_weights, targets.shape).astype(jnp.float32)
    else:
      item_weights = jnp.ones(targets.shape, jnp.float32)

    def chunked(a):  # (batch, positions..., rest...) -> (n_chunks, batch, chunk, rest...)
      a = jnp.reshape(a, (a.shape[0], n_chunks, self._chunk_size)
                      + a.shape[1 + len(positions):])
      return jnp.moveaxis(a, 1, 0)

    return _head_and_loss(chunk_loss, head_weights, chunked(x), chunked(targets),
                          chunked(item_weights), self._weighted)

  def _chunk_loss(self, head_state: Any, loss_weights: Any, loss_state: Any,
                  head_weights: Any, x: Any, targets: Any, item_weights: Any) -> Any:
    outputs, _ = self._head.pure_fn(x, head_weights, head_state, None)
    loss_inputs = (outputs, targets, item_weights) if self._weighted else (outputs, targets)
    loss, _ = self._loss.pure_fn(loss_inputs, loss_weights, loss_state, None)
    return jnp.astype(loss, jnp.float32)


def _head_and_loss(chunk_loss: Callable, head_weights: Any, xs: Any, targets: Any,
                   item_weights: Any, weighted: bool) -> Any:
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
      return (total + loss, jax.tree.map(jnp.add, weights_gradient, dw)), dx

    zeros = jax.tree.map(jnp.zeros_like, head_weights)
    (total, dw), dxs = jax.lax.scan(one_chunk, (jnp.zeros((), jnp.float32), zeros),
                                    (xs, targets, item_weights, shares))
    return total, (dw, dxs)

  @jax.custom_vjp
  def total_loss(head_weights, xs):
    return with_gradients(head_weights, xs)[0]

  def forward(head_weights, xs):
    return with_gradients(head_weights, xs)

  def backward(gradients, cotangent):
    return jax.tree.map(lambda g: (cotangent * g).astype(g.dtype), gradients)

  total_loss.defvjp(forward, backward)
  return total_loss(head_weights, xs)
