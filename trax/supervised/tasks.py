"""`TrainTask` and `EvalTask`: what to train on and how, what to measure and on what.

Both draw batches from an iterator of labeled data: tuples of one or more inputs followed
by the targets (and, for weighted losses, the per-example weights), numpy arrays. Both count
the batches they hand out, so a `Loop` resuming from a checkpoint can skip as many batches
of a fresh stream as the checkpointed run had used (see `Loop`).
"""

from typing import Any
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from trax.layers import base


class DataStreamEndedError(ValueError):
  """A task's stream of batches ended before training or evaluation was done."""


class _LabeledDataTask:
  """What train and eval tasks share: a stream of labeled batches, counted as taken."""

  def __init__(self, labeled_data: Iterator, sample_batch: Any, export_prefix: 'str | None'):
    self._labeled_data = labeled_data
    self._export_prefix = export_prefix
    self._sample_batch = _as_batch(next(labeled_data) if sample_batch is None else sample_batch)
    self.n_batches_taken = 0

  @property
  def labeled_data(self) -> Iterator:
    return self._labeled_data

  @property
  def sample_batch(self) -> tuple:
    return self._sample_batch

  @property
  def export_prefix(self) -> 'str | None':
    return self._export_prefix

  def next_batch(self) -> tuple:
    """The next batch of labeled data: a tuple of input(s), targets (and weights).

    Raises:
      DataStreamEndedError: the stream has no more batches.
    """
    try:
      batch = _as_batch(next(self._labeled_data))
    except StopIteration:
      raise DataStreamEndedError(
        f'its labeled_data stream ended after {self.n_batches_taken} batches.'
      ) from None
    self.n_batches_taken += 1
    return batch


class TrainTask(_LabeledDataTask):
  """A supervised task for training: labeled data, a loss layer and an optimizer.

  Args:
    labeled_data: iterator of batches, each a tuple `(inputs..., targets[, weights])` of
      numpy arrays.
    loss_layer: layer computing a scalar loss from the model's outputs followed by the
      rest of the batch (targets and weights).
    optimizer: a `trax.optimizers.Optimizer` updating the weights from the gradients.
    lr_schedule: function from the step number (from 1) to the learning rate; it runs
      inside the compiled step, so it must work on a traced integer (the schedules in
      `trax.supervised.lr_schedules` do). `None` keeps the optimizer's learning rate.
    n_steps_per_checkpoint: how many steps between checkpoints (and, by default, evals).
    n_steps_per_permanent_checkpoint: how many steps between permanent checkpoints
      (`model_<step>` files, never overwritten); `None` for none.
    loss_name: name of the loss in logs and summaries; the loss layer's name by default.
    sample_batch: a batch to initialize the model with; if `None`, the first batch of
      `labeled_data` is taken for it (and not trained on), as in Trax 1.4.
    export_prefix: name of this task's subdirectory of the output directory, used when a
      loop has several train tasks (the task's index otherwise).
  """

  def __init__(
    self,
    labeled_data: Iterator,
    loss_layer: base.Layer,
    optimizer: Any,
    lr_schedule: 'Callable | None' = None,
    n_steps_per_checkpoint: int = 100,
    n_steps_per_permanent_checkpoint: 'int | None' = None,
    loss_name: 'str | None' = None,
    sample_batch: Any = None,
    export_prefix: 'str | None' = None,
  ):
    super().__init__(labeled_data, sample_batch, export_prefix)
    self._loss_layer = loss_layer
    self._optimizer = optimizer
    self._lr_schedule = lr_schedule
    self._n_steps_per_checkpoint = n_steps_per_checkpoint
    self._n_steps_per_permanent_checkpoint = n_steps_per_permanent_checkpoint
    self._loss_name = loss_name or loss_layer.name

  @property
  def loss_layer(self) -> base.Layer:
    return self._loss_layer

  @property
  def loss_name(self) -> str:
    return self._loss_name

  @property
  def n_steps_per_checkpoint(self) -> int:
    return self._n_steps_per_checkpoint

  @property
  def n_steps_per_permanent_checkpoint(self) -> 'int | None':
    return self._n_steps_per_permanent_checkpoint

  @property
  def optimizer(self) -> Any:
    return self._optimizer

  @property
  def lr_schedule(self) -> 'Callable | None':
    return self._lr_schedule

  def learning_rate(self, step: int) -> float:
    """The learning rate at `step`: the schedule's, else the optimizer's own."""
    if self._lr_schedule is not None:
      return float(self._lr_schedule(step))
    return float(self._optimizer.opt_params['learning_rate'])


class EvalTask(_LabeledDataTask):
  """Labeled data plus metrics, for measuring a model now and then during training.

  Each metric is averaged over `n_eval_batches` batches (a plain mean of per-batch values).

  Args:
    labeled_data: iterator of batches, as for `TrainTask`.
    metrics: layers, each computing a scalar from the model's outputs followed by the rest
      of the batch.
    metric_names: one name per metric, for logs and summaries; the layers' names by
      default.
    n_eval_batches: how many batches each evaluation averages over.
    sample_batch: a batch to initialize the metrics with; if `None`, the first batch of
      `labeled_data` is taken for it.
    export_prefix: name of this task's subdirectory of the output directory, used when a
      loop has several eval tasks (the task's index otherwise).

  Raises:
    ValueError: `metric_names` is not one name per metric.
  """

  def __init__(
    self,
    labeled_data: Iterator,
    metrics: Sequence[base.Layer],
    metric_names: 'Sequence[str] | None' = None,
    n_eval_batches: int = 1,
    sample_batch: Any = None,
    export_prefix: 'str | None' = None,
  ):
    super().__init__(labeled_data, sample_batch, export_prefix)
    self._metrics = list(metrics)
    self._metric_names = list(metric_names or [m.name for m in self._metrics])
    if len(self._metric_names) != len(self._metrics):
      raise ValueError(
        f'EvalTask got {len(self._metrics)} metrics but '
        f'{len(self._metric_names)} metric names: {self._metric_names}.'
      )
    self._n_eval_batches = n_eval_batches

  @property
  def metrics(self) -> list:
    return self._metrics

  @property
  def metric_names(self) -> list:
    return self._metric_names

  @property
  def n_eval_batches(self) -> int:
    return self._n_eval_batches


def _as_batch(batch: Any) -> tuple:
  """A batch as a tuple of arrays (a lone array is a batch of one item)."""
  if isinstance(batch, (tuple, list)):
    return tuple(batch)
  if isinstance(batch, np.ndarray) or hasattr(batch, 'shape'):
    return (batch,)
  raise TypeError(
    f'A batch must be a tuple of arrays (inputs..., targets[, weights]), '
    f'got {type(batch).__name__}.'
  )
