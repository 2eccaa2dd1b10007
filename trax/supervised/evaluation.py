"""Evaluation during training: an eval model sharing the trained weights, compiled metrics.

The eval model is by default the trained model rebuilt in eval mode (no dropout) from its
`config()`. It shares the trained model's weights, and also its state (batch statistics
and the like) when the two states have the same form, as Trax 1.4 did; otherwise (say, a
predict-mode eval model) it keeps its own state. It is built and initialized when first
needed (by an eval task, or a read of `eval_model`): initializing a large model's copy
costs seconds of compiling initializers, whose values the trained weights replace anyway.
"""

import logging
from typing import Any
from collections.abc import Sequence

import jax
import numpy as np

from trax import shapes
from trax.layers import base
from trax.supervised import batch_checks
from trax.supervised import devices
from trax.supervised import trainer


class Evaluation:
  """Runs a loop's eval tasks on its eval model.

  Args:
    model: the trained model, initialized.
    eval_model: the model to evaluate, or `None` for `model` rebuilt in eval mode.
    eval_tasks: the `EvalTask`s.
    placement: where arrays live.
    model_inputs: signature of the model's inputs (to initialize the eval model).
    rng: key to initialize the eval model with.
  """

  def __init__(
    self,
    model: base.Layer,
    eval_model: 'base.Layer | None',
    eval_tasks: Sequence[Any],
    placement: devices.Placement,
    model_inputs: Any,
    rng: Any,
  ):
    self._model, self._given_eval_model = model, eval_model
    self._eval_tasks, self._placement = eval_tasks, placement
    self._model_inputs, self._rng = model_inputs, rng
    self._eval_model = None
    self._shared = None  # The latest (weights, state) to share.
    if eval_tasks:
      self._build()

  @property
  def eval_model(self) -> base.Layer:
    return self._eval_model or self._build()

  def _build(self) -> base.Layer:
    """Builds the eval model and its evaluators; returns the model."""
    eval_model = self._given_eval_model or eval_mode_copy(self._model)
    eval_model.rng = self._rng
    if eval_model is not self._model:
      eval_model.init(self._model_inputs)
    self._evaluators = [
      Evaluator(eval_model, task, self._placement, f'Eval task {i}')
      for i, task in enumerate(self._eval_tasks)
    ]
    self._own_state = None
    if not _same_form(self._model.state, eval_model.state):
      self._own_state = self._placement.replicate(eval_model.state)
    self._eval_model = eval_model
    if self._shared is not None:
      self.share(*self._shared)
    return eval_model

  def share(self, weights: Any, state: Any) -> None:
    """Points the eval model at the trained weights (and state, if it shares it)."""
    self._shared = (weights, state)
    if self._eval_model is None:
      return
    self._eval_model.weights = weights
    if self._own_state is None:
      self._eval_model.state = state

  def run(self, weights: Any, state: Any, rng: Any) -> list[dict]:
    """For each eval task, its metrics' means by name (see `Evaluator.evaluate`)."""
    if not self._eval_tasks:
      return []
    state = state if self._own_state is None else self._own_state
    return [evaluator.evaluate(weights, state, rng) for evaluator in self._evaluators]


class Evaluator:
  """Computes the metrics of one `EvalTask` on a model, compiled.

  Args:
    eval_model: the model evaluated, initialized.
    task: the `EvalTask`.
    placement: where arrays live (`devices.Placement`).
    name: how errors refer to the task (e.g. 'Eval task 0').
  """

  def __init__(self, eval_model: base.Layer, task: Any, placement: devices.Placement, name: str):
    self._task = task
    self._name = name
    self._placement = placement
    self._check_batch = batch_checks.BatchCheck(
      eval_model, task.metrics, shapes.signature(task.sample_batch), name
    )
    model_with_metrics = trainer.model_with_ends(
      eval_model, task.metrics, shapes.signature(task.sample_batch), name
    )
    _, metrics_layer = model_with_metrics.sublayers
    n_metrics = metrics_layer.n_out
    self._metric_weights = placement.place_weights(metrics_layer.weights)
    self._metric_state = placement.replicate(metrics_layer.state)

    def metrics_fn(weights, state, batch, rng):
      values, _ = model_with_metrics.pure_fn(batch, weights, state, rng)
      return values if n_metrics > 1 else (values,)

    replicated = placement.replicated
    weights = placement.weight_shardings(model_with_metrics.weights)
    self._compiled_metrics = jax.jit(
      metrics_fn,
      in_shardings=(weights, replicated, placement.batch_sharded, replicated),
      out_shardings=replicated,
    )

  def evaluate(self, model_weights: Any, model_state: Any, rng: Any) -> dict:
    """Mean of each metric over the task's next `n_eval_batches` batches, by name.

    Batch `i` gets the key `fold_in(rng, i)`. The metrics of all batches are dispatched
    before any is pulled to the host.
    """
    per_batch = []
    for i in range(self._task.n_eval_batches):
      batch = batch_checks.next_batch(self._task, self._name)
      self._check_batch(batch, None)
      batch = self._placement.shard_batch(batch)
      per_batch.append(
        self._compiled_metrics(
          (model_weights, self._metric_weights),
          (model_state, self._metric_state),
          batch,
          jax.random.fold_in(rng, i),
        )
      )
    means = np.mean(np.asarray(jax.device_get(per_batch), np.float64), axis=0)
    return dict(zip(self._task.metric_names, means.tolist()))


def eval_mode_copy(model: base.Layer) -> base.Layer:
  """`model` rebuilt in eval mode from its config; `model` itself if it has no config."""
  from trax import layers as tl

  try:
    return tl.from_config(model.config(), mode='eval', safe_mode=False)  # Built here.
  except tl.ConfigError as e:
    logging.getLogger('trax.supervised').warning(
      'Evaluating the training model itself (dropout and all): it cannot be rebuilt in '
      'eval mode (%s). Pass eval_model= to avoid this.',
      e,
    )
    return model


def _same_form(a: Any, b: Any) -> bool:
  """Whether two trees have the same structure, shapes and dtypes."""
  return shapes.signature(a) == shapes.signature(b)
