"""What a training loop reports: log lines, the history, and TensorBoard event files.

Event files are written without TensorFlow (`event_files`), so a JAX-only install logs
what TensorBoard shows.
"""

import collections
import logging
import os
import sys
import time
from typing import Any
from collections.abc import Sequence

import jax
import numpy as np

from trax.supervised import event_files
from trax import history as history_lib

_logger = logging.getLogger('trax.supervised')

# A progress line (and a look at the losses) at most this often, in seconds.
PROGRESS_INTERVAL_SECONDS = 30.0


SummaryWriter = event_files.EventFileWriter


class NonFiniteLossError(FloatingPointError):
  """The training loss (or, at a checkpoint, a weight) became NaN or infinite."""


class Reporter:
  """Accumulates per-task training values and reports them (log, history, summaries).

  Event files go to `<output_dir>/train` and `<output_dir>/eval`; with several train (or
  eval) tasks, to `<output_dir>/<task>/train` (or `/eval`), where `<task>` is the task's
  `export_prefix` or its index, as in Trax 1.4.

  Args:
    tasks: the train tasks.
    eval_tasks: the eval tasks.
    output_dir: where event files go; `None` to write none.
  """

  def __init__(self, tasks: Sequence[Any], eval_tasks: Sequence[Any], output_dir: 'str | None'):
    self.history = history_lib.History()
    self._loss_names = [task.loss_name for task in tasks]
    metric_names = [name for task in eval_tasks for name in task.metric_names]
    self._rjust_len = max(map(len, self._loss_names + metric_names))
    self.train_writers = _writers(output_dir, 'train', tasks)
    self.eval_writers = _writers(output_dir, 'eval', eval_tasks)
    self._accumulators = [_Accumulator() for _ in tasks]
    self._last_progress = (time.time(), 0)
    self._pending = []  # (task index, step, loss, metrics), still on the devices.
    self.last_checkpoint: tuple[int, str] | None = None  # (step, path) of the last one written.

  def add(self, task_index: int, step: int, loss: Any, metrics: dict) -> None:
    """Keeps a step's loss and optimizer metrics (device arrays) for `look_at_losses`."""
    self._pending.append((task_index, step, loss, metrics))

  def look_at_losses(self) -> None:
    """Pulls the kept losses to the host (one transfer) and adds them up.

    Raises:
      NonFiniteLossError: naming the first step whose loss is NaN or infinite.
    """
    if not self._pending:
      return
    pending, self._pending = self._pending, []
    values = jax.device_get([(loss, metrics) for _, _, loss, metrics in pending])
    for (task_index, step, _, _), (loss, metrics) in zip(pending, values):
      if not np.isfinite(loss):
        self.raise_non_finite(
          f'The loss of train task {task_index} '
          f'({self._loss_names[task_index]}) became {float(loss)} at '
          f'step {step}'
        )
      self._accumulators[task_index].add(loss, metrics)

  def check_finite(self, flat_weights: list, step: int) -> None:
    """Raises `NonFiniteLossError` if any of `flat_weights` holds NaN or inf.

    Device arrays (split over devices, so not on the host) are checked where they are.
    """
    finite = lambda w: (
      bool(jax.numpy.isfinite(w).all()) if isinstance(w, jax.Array) else np.isfinite(w).all()
    )
    bad = [
      i
      for i, w in enumerate(flat_weights)
      if jax.numpy.issubdtype(w.dtype, jax.numpy.inexact)  # bfloat16 too.
      and not finite(w)
    ]
    if bad:
      self.raise_non_finite(
        f'Weights {bad[:5]} (in flat order) became NaN or infinite by step {step}'
      )

  def at_extreme(self, metric: str, extreme: str) -> bool:
    """Whether eval `metric`'s last value is its 'lowest' (or 'highest') so far."""
    values = [value for _, value in self.history.get('eval', f'metrics/{metric}')]
    best = min if extreme == 'lowest' else max
    return bool(values) and values[-1] == best(values)

  def raise_non_finite(self, what: str) -> None:
    """Raises `NonFiniteLossError` about `what`, saying which checkpoint is intact."""
    kept = (
      'no checkpoint was written'
      if self.last_checkpoint is None
      else f'the last checkpoint, of step {self.last_checkpoint[0]}, is intact at '
      f'{self.last_checkpoint[1]}'
    )
    raise NonFiniteLossError(
      f'{what}; stopping ({kept}). Lower the learning rate, clip '
      'gradients (clip_grad_norm) or check the data.'
    )

  def start_progress(self, step: int) -> None:
    """Starts timing progress lines from `step` (at the start of a run)."""
    self._last_progress = (time.time(), step)

  def progress_due(self) -> bool:
    """Whether `PROGRESS_INTERVAL_SECONDS` have passed since the last progress line."""
    return time.time() - self._last_progress[0] >= PROGRESS_INTERVAL_SECONDS

  def log_progress(self, step: int, end_step: int) -> None:
    """Prints a progress line: step, speed, latest losses, time to `end_step`."""
    now = time.time()
    last_time, last_step = self._last_progress
    steps_per_second = (step - last_step) / max(now - last_time, 1e-9)
    self._last_progress = (now, step)
    losses = [
      f'{name} {a.last_loss:.4f}'
      for name, a in zip(self._loss_names, self._accumulators)
      if a.last_loss is not None
    ]
    eta = format_duration((end_step - step) / max(steps_per_second, 1e-9))
    log(
      f'Step {step:6d}/{end_step}: {steps_per_second:.2f} steps/s | {", ".join(losses)} | ETA {eta}'
    )

  def log_training(self, step: int, n_weights: int) -> None:
    """Reports each task's mean loss and optimizer metrics since the last report."""
    log('')
    if step == 1:
      log_step(step, f'Total number of trainable weights: {n_weights}')
    for name, accumulator, writer in zip(self._loss_names, self._accumulators, self.train_writers):
      if not accumulator.n_steps:
        continue
      elapsed = time.time() - accumulator.start_time
      log_step(step, f'Ran {accumulator.n_steps} train steps in {elapsed:0.2f} secs')
      self.log_summary(
        step, {name: accumulator.loss_sum / accumulator.n_steps}, writer, 'metrics/', 'train'
      )
      metrics = accumulator.mean_metrics()
      training = {
        'learning_rate': accumulator.last_learning_rate,
        'steps per second': accumulator.n_steps / max(elapsed, 1e-9),
        **metrics,
      }
      self.log_summary(step, training, writer, 'training/', 'train', stdout=False)
      accumulator.reset()

  def discard_training(self) -> None:
    """Drops the training values kept since the last report (the caller reported its own)."""
    for accumulator in self._accumulators:
      accumulator.reset()

  def restart_timers(self) -> None:
    """Starts timing anew for tasks just reported (so evals and checkpoints don't count)."""
    for accumulator in self._accumulators:
      if not accumulator.n_steps:
        accumulator.start_time = time.time()

  def log_summary(
    self,
    step: int,
    values: dict,
    summary_writer: 'SummaryWriter | None',
    value_prefix: str,
    log_prefix: str,
    stdout: bool = True,
  ) -> None:
    """Logs scalar `values`, appends them to the history and writes them as summaries.

    Args:
      step: the training step the values belong to.
      values: metric name -> scalar.
      summary_writer: where to write them as TensorBoard scalars, or `None`.
      value_prefix: prefix of the names in event files and history (e.g. 'metrics/').
      log_prefix: the history mode and log-line label (e.g. 'train', 'eval').
      stdout: whether the log lines also go to stdout.
    """
    for name, value in values.items():
      value = float(np.asarray(value))
      log_step(
        step, f'{log_prefix.ljust(5)} {name.rjust(self._rjust_len)} | {value: .8f}', stdout=stdout
      )
      if summary_writer is not None:
        summary_writer.scalar(value_prefix + name, value, step)
      self.history.append(log_prefix, value_prefix + name, step, value)

  def close(self) -> None:
    for writer in {*self.train_writers, *self.eval_writers} - {None}:
      writer.close()


def _writers(output_dir: 'str | None', mode: str, tasks: Sequence[Any]) -> list:
  if output_dir is None:
    return [None] * len(tasks)
  if len(tasks) < 2:
    return [SummaryWriter(os.path.join(output_dir, mode))] * len(tasks)
  return [
    SummaryWriter(os.path.join(output_dir, task.export_prefix or str(i), mode))
    for i, task in enumerate(tasks)
  ]


class _Accumulator:
  """Sums of one train task's losses and optimizer metrics since the last report."""

  def __init__(self):
    self.last_loss = None
    self.reset()

  def reset(self) -> None:
    self.loss_sum, self.n_steps, self.start_time = 0.0, 0, time.time()
    self.metric_sums = collections.defaultdict(float)
    self.last_learning_rate = None

  def add(self, loss: float, metrics: dict) -> None:
    self.last_loss = float(loss)
    self.loss_sum += self.last_loss
    self.n_steps += 1
    for name, value in metrics.items():
      if name == 'learning_rate':
        self.last_learning_rate = float(value)
      else:
        self.metric_sums[name] += float(value)

  def mean_metrics(self) -> dict:
    return {name: total / self.n_steps for name, total in self.metric_sums.items()}


def log(message: str, stdout: bool = True) -> None:
  """Logs `message` (logger 'trax.supervised'), and prints it unless `stdout` is False."""
  _logger.info(message)
  if stdout:
    print(message)
    sys.stdout.flush()


def log_step(step: int, message: str, stdout: bool = True) -> None:
  """Logs `message` labeled with the training step, as Trax does."""
  log(f'Step {step:6d}: {message}', stdout=stdout)


def format_duration(seconds: float) -> str:
  """`seconds` as `1h02m`, `3m05s` or `12s`."""
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  if hours:
    return f'{hours}h{minutes:02d}m'
  if minutes:
    return f'{minutes}m{seconds:02d}s'
  return f'{seconds}s'


def summary_scalars(state: Any) -> dict:
  """The scalars that summary layers (`tl.SummaryScalar`) keep in the model state, by name
  (without `summary_`), as Trax 1.4's `Loop` reported them after evals."""
  found = {}

  def visit(tree):
    if isinstance(tree, (tuple, list)):
      for subtree in tree:
        visit(subtree)
    elif isinstance(tree, dict):
      for key, value in tree.items():
        if isinstance(key, str) and key.startswith('summary_') and np.ndim(value) == 0:
          found[key[len('summary_') :]] = float(np.asarray(value))
        else:
          visit(value)

  visit(state)
  return found
