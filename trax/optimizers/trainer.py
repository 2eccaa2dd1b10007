"""`Trainer`: Trax 1.x's low-level training step of a model-with-loss and an optimizer.

Trax 1.4's `Loop` was built on it; trax's `Loop` has its own step (`supervised.trainer`),
and this class serves code that drives training by hand::

    model_with_loss = tl.Serial(model, tl.L2Loss())
    model_with_loss.init(batch_signature)
    optimizer.tree_init(model_with_loss.weights)
    trainer = optimizers.Trainer(model_with_loss, optimizer)
    loss, stats = trainer.one_step(batch, rng, step=0)

One jitted function computes the loss, its gradients and the optimizer update; the batch
is split over `n_devices` devices along its leading axis (a `jax.sharding.Mesh`; Trax 1.4
used `pmap`), weights and slots replicated. The model's weights and state and the
optimizer's slots are updated in place.
"""

from typing import Any

import jax
from jax import sharding
import numpy as np

from trax import fastmath
from trax.optimizers.base import Optimizer

__all__ = ['Trainer']


class Trainer:
  """Runs training steps of `model_with_loss` (a layer outputting a scalar loss).

  Args:
    model_with_loss: the model followed by its loss, initialized.
    optimizer: an optimizer whose `tree_init` was called on the model's weights.
    n_devices: how many local devices split each batch; all by default.
    adasum: Trax 1.4's adaptive summation of per-device gradients; must be False (here
      the gradients of a split batch are summed exactly by XLA).

  Raises:
    ValueError: `adasum`, an uninitialized optimizer, or too many devices.
  """

  def __init__(
    self,
    model_with_loss: Any,
    optimizer: Optimizer,
    n_devices: 'int | None' = None,
    adasum: bool = False,
  ):
    if adasum:
      raise ValueError(
        'Trainer(adasum=True): adaptive summation combined pmap replicas\' '
        'gradients; with sharded batches XLA sums them exactly. Drop adasum.'
      )
    if optimizer.slots is None:
      raise ValueError(
        'Trainer needs an initialized optimizer: call '
        'optimizer.tree_init(model_with_loss.weights) first.'
      )
    devices = jax.local_devices()
    n_devices = n_devices or len(devices)
    if not 1 <= n_devices <= len(devices):
      raise ValueError(f'Trainer: n_devices={n_devices}, but this host has {len(devices)}.')
    self._model_with_loss = model_with_loss
    self._optimizer = optimizer
    self._n_devices = n_devices
    mesh = sharding.Mesh(np.array(devices[:n_devices]), ('batch',))
    self._batch_sharding = sharding.NamedSharding(mesh, sharding.PartitionSpec('batch'))
    self._step_fn = jax.jit(self._step)

  @property
  def model_with_loss(self) -> Any:
    return self._model_with_loss

  @property
  def accelerated_model_with_loss(self) -> Any:
    """The model with loss (its weights are what the steps update; no replicated copy)."""
    return self._model_with_loss

  @property
  def optimizer(self) -> Optimizer:
    return self._optimizer

  @property
  def slots(self) -> Any:
    return self._optimizer.slots

  @slots.setter
  def slots(self, slots: Any) -> None:
    self._optimizer.slots = slots

  def one_step(
    self, batch: Any, rng: Any, step: int = 0, learning_rate: 'float | None' = None
  ) -> tuple[Any, dict]:
    """One update of the model's weights and state and the optimizer's slots.

    Args:
      batch: the arrays the model with loss takes (inputs, targets, weights...).
      rng: a random key for the step.
      step: the number of updates made before this one (the optimizer's step).
      learning_rate: overrides the optimizer's learning rate from now on.

    Returns:
      `(loss, stats)`: the loss before the update, and a dict of the optimizer's metrics
      and `loss`.
    """
    if learning_rate is not None:
      self._optimizer.opt_params = dict(
        self._optimizer.opt_params, learning_rate=np.asarray(learning_rate, np.float32)
      )
    batch = jax.device_put(batch, self._batch_sharding)
    model = self._model_with_loss
    weights, state, slots, loss, stats = self._step_fn(
      model.weights,
      model.state,
      self._optimizer.slots,
      self._optimizer.opt_params,
      np.int32(step),
      batch,
      rng,
    )
    model.weights, model.state, self._optimizer.slots = weights, state, slots
    return loss, stats

  def _step(self, weights, state, slots, opt_params, step, batch, rng):
    with fastmath.use_backend('jax'):

      def loss_fn(weights):
        return self._model_with_loss.pure_fn(batch, weights, state, rng)

      (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(weights)
      new_weights, new_slots, metrics = self._optimizer.tree_update(
        step, grads, weights, slots, opt_params
      )
      return new_weights, new_state, new_slots, loss, dict(metrics, loss=loss)
