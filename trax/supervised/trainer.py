"""The compiled step of training: one jitted function per train task.

A training step is ONE `jax.jit`-compiled function doing everything a step needs: the
forward pass of model and loss, the backward pass (`jax.value_and_grad` with respect to the
weights), the learning-rate schedule and the optimizer update. It returns new weights,
state and slots plus the loss and the optimizer's metrics, all left on the devices:

- weights, state and slots are donated, so XLA updates them in place;
- the step number arrives as an int32 array and the step's rng is derived inside,
  `fold_in(base_rng, step)`, so nothing is computed on the host between steps and the
  function compiles once;
- nothing is pulled to the host: the caller decides when to look at the loss.

Step numbers count from 1 (the step being taken, as `Loop.step` after it): the schedule
gets that number, as in Trax 1.4, and the optimizer gets the number of updates made before
(`step - 1`), which is what `trax.optimizers` counts.

Random bits: the per-step key is a raw threefry key (uint32[2]), as everywhere in trax.
Other generators were measured for dropout on this project's 2-core CPU, in the
benchmark TransformerLM step (d_model 256, 2 layers, batch 16x128, dropout 0.1, Adam; CPU
time per step, the stable measure on a shared machine): 673 ms without dropout, 805 ms
with threefry keys, 857 ms with 'rbg' and 860 ms with 'unsafe_rbg' keys (typed keys,
which the layers accept); alone, 1M bernoulli draws took 5 ms with threefry and 18 ms
with either rbg. So threefry stays: it is also the one whose bits do not depend on how the
batch is sharded (partitionable threefry), which keeps multi-device runs equal to
single-device ones.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from trax import host_memory
from trax import shapes
from trax.layers import base
from trax.layers import combinators as cb
from trax.supervised import batch_checks
from trax.supervised import chunked_loss
from trax.supervised import devices
from trax.supervised import reporting


_HOST_MEMORY_LOGGED = []


def _log_host_memory_once() -> None:
  """Says once per process how host memory serves CPU steps (`trax.host_memory`)."""
  if not _HOST_MEMORY_LOGGED:
    _HOST_MEMORY_LOGGED.append(True)
    reporting.log(f'Host memory: {host_memory.STATUS}.', stdout=host_memory.MISSED)


class TaskTrainer:
  """Trains a model on one `TrainTask`, one compiled step at a time.

  Holds what belongs to the task alone: the optimizer's slots and hyper-parameters, and
  the weights and state of the loss layer. The model's weights and state, shared by all
  tasks, are passed in and returned by `one_step`.

  Args:
    model: the model, initialized.
    task: the `TrainTask`; its loss layer takes the model's outputs followed by the rest
      of the batch and returns a scalar.
    placement: where arrays live (`devices.Placement`).
    name: how errors refer to the task (e.g. 'Train task 0').
    loss_chunk_size: if > 0, the model's last layer and the loss run on chunks of this
      many positions (`chunked_loss.ChunkedLoss`); 0 turns chunks off; `None` chunks
      where it pays (`chunked_loss.choose_chunk_size`), and logs the choice.

  Raises:
    ValueError: the task's batches do not fit model and loss, or the loss is no scalar.
  """

  def __init__(
    self,
    model: base.Layer,
    task: Any,
    placement: devices.Placement,
    name: str,
    loss_chunk_size: 'int | None' = None,
  ):
    signature = shapes.signature(task.sample_batch)
    self._model_with_loss = model_with_ends(model, [task.loss_layer], signature, name)
    loss = self._model_with_loss.output_signature(cb.inputs_from_stack(signature, len(signature)))
    if not isinstance(loss, shapes.ShapeDtype) or loss.shape:
      raise ValueError(
        f'{name}: the loss layer {task.loss_layer.name} must output one scalar, but outputs {loss}.'
      )
    if placement.mesh.devices.flat[0].platform == 'cpu':
      _log_host_memory_once()
    if loss_chunk_size is None:
      loss_chunk_size, why = chunked_loss.choose_chunk_size(
        model,
        task.loss_layer,
        signature,
        placement.n_devices // placement.n_model,
        placement.mesh.devices.flat[0].platform,
      )
      reporting.log(
        f'{name}: loss {"in chunks" if loss_chunk_size else "not chunked"} '
        f'(loss_chunk_size=None, chosen; 0 turns chunks off): {why}.',
        stdout=bool(loss_chunk_size),
      )
    self.loss_chunk_size = loss_chunk_size
    self._loss_fn = (
      chunked_loss.ChunkedLoss(model, task.loss_layer, loss_chunk_size, signature, name)
      if loss_chunk_size
      else self._model_with_loss.pure_fn
    )
    self._name = name
    self._check_batch = batch_checks.BatchCheck(model, [task.loss_layer], signature, name)
    self._placement = placement
    self._optimizer = task.optimizer
    self._lr_schedule = task.lr_schedule
    slots, opt_params = self._optimizer.tree_init(self._model_with_loss.weights)
    self.loss_weights = placement.place_weights(task.loss_layer.weights)
    self.loss_state = placement.replicate(task.loss_layer.state)
    self.slots = placement.place_weights(slots)
    self.opt_params = placement.replicate(opt_params)
    self.n_traces = 0  # How often `_step` was traced; tests check it stays at 1.
    replicated, batch = placement.replicated, placement.batch_sharded
    # Weights and slots keep their layout (split over the model axis or replicated).
    weights = placement.weight_shardings(self._model_with_loss.weights)
    slots = placement.weight_shardings(slots)
    self._compiled_step = jax.jit(
      self._step,
      donate_argnums=(0, 1, 2),
      in_shardings=(weights, replicated, slots, replicated, replicated, batch, replicated),
      out_shardings=(weights, replicated, slots, replicated, replicated),
    )

  def take_batch(self, task: Any, step: int) -> Any:
    """The task's next batch, checked (see `place_batch`) and split over the devices.

    Raises:
      tasks.DataStreamEndedError: the task's stream ended (naming the task and step).
    """
    return self.place_batch(batch_checks.next_batch(task, self._name, step), step)

  def place_batch(self, batch: tuple, step: int) -> Any:
    """`batch` split over the devices, after checking its arrays (`batch_checks`).

    Raises:
      ValueError: the batch does not have its task's arrays, or holds ids out of range.
    """
    self._check_batch(batch, step)
    return self._placement.shard_batch(batch)

  def one_step(
    self, model_weights: Any, model_state: Any, batch: Any, step: int, rng: Any
  ) -> tuple[Any, Any, Any, dict]:
    """Dispatches one training step; returns without waiting for it.

    Args:
      model_weights: the model's weights on the devices (donated: do not reuse them).
      model_state: the model's state on the devices (donated).
      batch: the batch, placed by `place_batch`.
      step: the number of the step being taken, from 1.
      rng: the base key; the step uses `fold_in(rng, step)`.

    Returns:
      `(new_model_weights, new_model_state, loss, metrics)`, device arrays; `metrics` holds
      the optimizer's metrics and the step's `learning_rate`.
    """
    weights = (model_weights, self.loss_weights)
    state = (model_state, self.loss_state)
    (
      (model_weights, self.loss_weights),
      (model_state, self.loss_state),
      self.slots,
      loss,
      metrics,
    ) = self._compiled_step(weights, state, self.slots, self.opt_params, np.int32(step), batch, rng)
    return model_weights, model_state, loss, metrics

  def _step(self, weights, state, slots, opt_params, step, batch, rng):
    """One update; traced once by `jax.jit`."""
    self.n_traces += 1
    rng = jax.random.fold_in(rng, step)

    def loss_fn(weights):
      return self._loss_fn(batch, weights, state, rng)

    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(weights)
    if self._lr_schedule is not None:
      learning_rate = opt_params['learning_rate']
      opt_params = dict(
        opt_params, learning_rate=jnp.asarray(self._lr_schedule(step), learning_rate.dtype)
      )
    new_weights, new_slots, metrics = self._optimizer.tree_update(
      step - 1, grads, weights, slots, opt_params
    )
    metrics = dict(metrics, learning_rate=opt_params['learning_rate'])
    return new_weights, new_state, new_slots, loss, metrics


def model_with_ends(
  model: base.Layer, end_layers: list, batch_signature: tuple, name: str
) -> base.Layer:
  """`Serial(model, Branch(*end_layers))` on an initialized `model`, keeping its weights.

  The end layers (losses or metrics) take the model's outputs followed by the rest of the
  batch (targets, weights), so they are initialized on that signature.

  Raises:
    ValueError: batches of `batch_signature` do not feed model and end layers exactly.
  """
  ends = cb.Branch(*end_layers)
  outputs = model.output_signature(cb.inputs_from_stack(batch_signature, model.n_in))
  n_needed = max(model.n_in, model.n_in - model.n_out + ends.n_in)
  if len(batch_signature) != n_needed:
    raise ValueError(
      f'{name}: its batches hold {len(batch_signature)} arrays {batch_signature}, but '
      f'the model takes {model.n_in} input(s) and returns {model.n_out} output(s), after '
      f'which {ends.name} takes {ends.n_in} input(s): {n_needed} arrays in all. Make '
      'the batches (inputs..., targets[, weights]) match the loss or metrics.'
    )
  rest = tuple(batch_signature[model.n_in :])
  ends.init(shapes.splice_signatures(outputs, *rest) if rest else outputs)
  return cb.Serial(model, ends)
