"""Trax 1.4's private `Loop` members, kept so Trax 1.4 subclasses of `Loop` run.

Trax 1.4 programs subclass `training.Loop` and replace `run` with a copy of Trax 1.4's own
loop body, changed a little (its `earlystopping.ipynb` breaks out of it when a callback
says so). That body is written on members Trax 1.4 kept private: `_open_summary_writers`,
`_run_one_step(task_index, task_changed)`, `_log_step`, `_log_training_progress`,
`_at_lowest`/`_at_highest`, `_checkpoint_low_metric`/`_checkpoint_high_metric`,
`_n_devices`, `_use_memory_efficient_trainer`, `_eval_model`, `_history`; and on members
`Loop` has under Trax's names anyway (`_model`, `_step`, `_tasks`, `_eval_tasks`,
`_output_dir`, `_checkpoint_at`, `_permanent_checkpoint_at`, `_eval_at`, `_which_task`,
`_callbacks`, `run_evals(summary_writers)`, `save_checkpoint`, `load_checkpoint`,
`log_summary`). This mixin of `training.Loop` gives the former, with Trax 1.4's
signatures and results.

The contract they keep is Trax 1.4's, which was synchronous: after `_run_one_step` returns,
the model and the eval model hold that step's weights and state, so the code between steps
may read them, save them or replace them (assigning `model.weights` is taken up by the next
step, as between `Loop.run`s). `Loop.run` does not use these members: it keeps the weights
with the devices, steps ahead, and points the model at them only around callbacks and at
the end of `run` (`loop_weights`), so it does not pay for the sync (a few pointer
assignments per step under jax, numpy views of TF tensors otherwise). One difference stays:
a step donates the weights it starts from, so arrays taken from the model before a step
are gone after it; take them again (Trax 1.4's arrays outlived their step).

Also kept from Trax 1.4: `_run_one_step` calls the callbacks' `on_step_begin` and
`on_step_end`, and its metrics are the optimizer's (the learning rate is reported by
`_log_training_progress`, from the task). Not kept: `task_changed` re-replicated the
weights for the next task's trainer in Trax 1.4; here all tasks train the same weights, so
it changes nothing. `Loop.run` does not call `_run_one_step`, so overriding it changes
only loop bodies that call it. `_log_training_progress` does not write `config.gin` (`trainer_lib`
does, as in Trax); `_use_memory_efficient_trainer` is always False (`Loop` refuses True).
"""

import contextlib
from collections.abc import Iterator
from typing import Any


from trax import fastmath
from trax.supervised import reporting


class Trax14LoopMembers:
  """Trax 1.4's private members of `training.Loop` (see the module docstring)."""

  # Set by `training.Loop`.
  _placement: Any  # devices.Placement
  _evaluation: Any  # evaluation.Evaluation
  _reporter: Any  # reporting.Reporter
  _best_metrics: 'tuple[str | None, str | None]'  # (checkpoint_low_metric, ..._high_metric)
  _step: int
  _weights: Any
  # Methods of `training.Loop` and `loop_weights.TrainedWeights`.
  _train_step: Any
  _sync_model: Any
  _adopt_weights_set_from_outside: Any
  _n_weights: Any
  _look_at_losses: Any
  log_summary: Any

  # Trax 1.4's reversible trainer is not implemented; `Loop` refuses to be asked for it.
  _use_memory_efficient_trainer = False

  @property
  def _n_devices(self) -> int:
    return self._placement.n_devices

  @property
  def _eval_model(self) -> Any:
    return self._evaluation.eval_model

  @property
  def _history(self) -> Any:
    return self._reporter.history

  @_history.setter
  def _history(self, history: Any) -> None:
    self._reporter.history = history

  @property
  def _checkpoint_low_metric(self) -> 'str | None':
    return self._best_metrics[0]

  @property
  def _checkpoint_high_metric(self) -> 'str | None':
    return self._best_metrics[1]

  def _at_lowest(self) -> bool:
    """Whether the last eval value of `_checkpoint_low_metric` is its lowest so far."""
    return self._reporter.at_extreme(self._checkpoint_low_metric, 'lowest')

  def _at_highest(self) -> bool:
    """Whether the last eval value of `_checkpoint_high_metric` is its highest so far."""
    return self._reporter.at_extreme(self._checkpoint_high_metric, 'highest')

  def _run_one_step(self, task_index: int, task_changed: bool = False) -> tuple[Any, dict]:
    """Takes training step `_step` (already counted) of train task `task_index`.

    Weights assigned to the model since the last step are trained from; afterwards the
    model and the eval model hold the new weights and state (the contract above).

    Args:
      task_index: the train task of the step.
      task_changed: whether the previous step was another task's; nothing to do here.

    Returns:
      `(loss, optimizer_metrics)`: the step's loss (a scalar array) and a dict of the
      optimizer's metrics, as Trax 1.4 returned them.
    """
    del task_changed  # All tasks train the same weights.
    with fastmath.use_backend('jax'):
      self._adopt_weights_set_from_outside()
      loss, metrics = self._train_step(task_index)
      self._sync_model()
    return loss, {name: value for name, value in metrics.items() if name != 'learning_rate'}

  def _log_step(self, msg: str, stdout: bool = True) -> None:
    """Logs `msg` labeled with the current step (`Step     10: msg`)."""
    reporting.log_step(self._step, msg, stdout)

  @contextlib.contextmanager
  def _open_summary_writers(self) -> Iterator[tuple[list, list]]:
    """Yields `(train_writers, eval_writers)`: one event-file writer per train (eval) task.

    They write where `Loop.run` writes (`reporting.Reporter`); each is `None` when the loop
    writes no summaries (no `output_dir`, or not the chief). They are the loop's own, open
    while it lives: leaving the context closes nothing (each write is flushed).
    """
    yield list(self._reporter.train_writers), list(self._reporter.eval_writers)

  def _log_training_progress(
    self,
    task: Any,
    total_loss: Any,
    n_steps: int,
    elapsed_time: float,
    optimizer_metrics: dict,
    summary_writer: 'reporting.SummaryWriter | None',
  ) -> None:
    """Reports training as Trax 1.4 did, from the caller's sums over `n_steps` steps.

    Logs and records (history 'train', event files) the mean loss under
    `metrics/<task.loss_name>`, and under `training/` the task's learning rate, the steps
    per second and the mean of each optimizer metric. Like `Loop.run`, it first checks
    the steps' losses: a NaN or infinite one raises `NonFiniteLossError`.
    """
    self._look_at_losses()
    self._reporter.discard_training()  # Reported here, from the caller's sums.
    n_steps = max(1, n_steps)
    reporting.log('')
    if self._step == 1:
      self._log_n_weights()
    self._log_step(f'Ran {n_steps} train steps in {elapsed_time:0.2f} secs')
    self.log_summary({task.loss_name: total_loss / n_steps}, summary_writer, 'metrics/', 'train')
    training = {
      'learning_rate': task.learning_rate(self._step),
      'steps per second': n_steps / max(elapsed_time, 1e-9),
      **{name: value / n_steps for name, value in optimizer_metrics.items()},
    }
    self.log_summary(training, summary_writer, 'training/', 'train', stdout=False)

  def _log_n_weights(self) -> None:
    """Logs the number of trained weights (Trax 1.4 did at step 1)."""
    self._log_step(f'Total number of trainable weights: {self._n_weights()}')
