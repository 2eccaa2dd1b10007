"""Where `Loop`'s trained weights live: with the training step's engine, and in the model.

A mixin of `training.Loop`. The loop keeps weights and state where its step wants them:
device arrays of the jax step, or TF tensors of the tensorflow-numpy step
(`tf_trainer`). The model (and the eval model) get them without a copy under jax, as
numpy views of the TF tensors otherwise; evals take them as jax arrays.
"""

from typing import Any

import numpy as np

from trax import fastmath


class TrainedWeights:
  """Weights and state of `training.Loop`, synced with its model."""

  # Set by `training.Loop`.
  _backend: str
  _placement: Any  # devices.Placement
  _model: Any  # tl.Layer
  _evaluation: Any  # evaluation.Evaluation
  _weights: Any
  _state: Any
  _synced_ids: Any
  _look_at_losses: Any  # A method of `training.Loop`.

  @property
  def backend(self) -> str:
    """The engine of the training step: 'jax' or 'tensorflow-numpy'."""
    return self._backend

  @property
  def n_devices(self) -> int:
    """Local devices used (per host)."""
    return self._placement.n_devices

  @property
  def is_chief(self) -> bool:
    """Whether this host writes checkpoints and summaries."""
    return self._placement.is_chief

  def _n_weights(self) -> int:
    """How many numbers the trained weights hold (Trax reports it at step 1)."""
    return sum(np.size(w) for w in fastmath.tree_flatten(self._weights))

  def _on_jax_devices(self) -> tuple[Any, Any]:
    """The current weights and state as jax arrays (for evals)."""
    if self._backend == 'jax':
      return self._weights, self._state
    return self._placement.replicate((self._weights, self._state))

  def _sync_model(self) -> None:
    """Points the model and eval model at the current weights and state."""
    weights, state = self._weights, self._state
    if self._backend != 'jax':
      weights, state = fastmath.nested_map(np.asarray, (weights, state))
    self._model.weights, self._model.state = weights, state
    self._synced_ids = _ids((weights, state))
    self._evaluation.share(weights, state)

  def _adopt_weights_set_from_outside(self) -> None:
    """Takes up weights or state assigned to `model` since the last sync."""
    if _ids((self._model.weights, self._model.state)) != self._synced_ids:
      self.update_weights_and_state(self._model.weights, self._model.state)

  def update_weights_and_state(self, weights: Any = None, state: Any = None) -> None:
    """Replaces the trained model's weights and/or state (those not `None`)."""
    self._look_at_losses()
    if weights is not None:
      self._weights = self._placement.place_weights(weights)
    if state is not None:
      self._state = self._placement.replicate(state)
    self._sync_model()


def _ids(tree: Any) -> list:
  return [id(x) for x in fastmath.tree_leaves(tree)]
