"""Supervised training: `Loop` runs `TrainTask`s on a model and measures it on `EvalTask`s::

    loop = Loop(model, [TrainTask(train_stream, tl.L2Loss(), optimizers.Adam(0.01))],
                eval_tasks=[EvalTask(eval_stream, [tl.L2Loss()])], output_dir='run/')
    loop.run(1000)

Speed: each train task has one compiled step (`trainer`, or `tf_trainer` on the
tensorflow-numpy backend); weights, state and slots stay with the step, and losses are
pulled to the host only to report, evaluate or checkpoint.

Behaviour follows Trax 1.4's `Loop`, with fixes: training metrics are reported at `eval_at`
steps even without eval tasks (Trax 1.4 never reported them then); a step's checkpoint is
written after its evals, so its history holds them (a failing eval still writes it); the
eval model defaults to the model rebuilt in eval mode (`tl.from_config(model.config(),
mode='eval')`) sharing its weights, so evals run without dropout (Trax 1.4 evaluated the
training model, still the fallback for models that cannot describe themselves); and a
NaN or infinite loss stops training (`NonFiniteLossError`) instead of being saved.
"""

import collections
import os
from typing import Any
from collections.abc import Callable, Sequence

import jax
import numpy as np

from trax import atomic_files
from trax import fastmath
from trax import file_io
from trax import layers as tl
from trax.layers import combinators as cb
from trax import shapes
from trax.data import counters as data_counters
from trax.fastmath.backend import as_backend
from trax.supervised import callbacks as callbacks_lib
from trax.supervised import checkpoint_policy as policy
from trax.layers import files
from trax.supervised import devices
from trax.supervised import evaluation
from trax import history as history_lib
from trax.supervised import loop_checkpoints
from trax.supervised import loop_weights
from trax.supervised import reporting
from trax.supervised import trainer as trainer_lib
from trax.supervised import trax14_loop
from trax.supervised.tasks import EvalTask
from trax.supervised.reporting import NonFiniteLossError
from trax.supervised.tasks import TrainTask
from trax.supervised.training_helpers import init_host_and_devices
from trax.supervised.training_helpers import pickle_to_file
from trax.supervised.training_helpers import unpickle_from_file

__all__ = [
  'Loop',
  'TrainTask',
  'EvalTask',
  'NonFiniteLossError',
  'init_host_and_devices',
  'pickle_to_file',
  'unpickle_from_file',
]

# Steps dispatched ahead of the devices: batches waiting in device memory, at most.
_MAX_STEPS_IN_FLIGHT = 2


class Loop(
  loop_weights.TrainedWeights, loop_checkpoints.Checkpointing, trax14_loop.Trax14LoopMembers
):
  """Trains a model for a number of steps, with periodic evals and checkpoints.

  Train tasks share the model: each task's loss layer takes the model's outputs (and the
  rest of its batch), and `which_task` picks the task of each step.

  Resuming: a new `Loop` whose `output_dir` holds a checkpoint (`model.npz`, or Trax 1.x's
  `model.pkl.gz`) loads it: weights, state, optimizer slots, step, history, random key, and
  how many batches each task had taken, which it skips (one `next()` each) so fresh streams
  continue where the checkpointed run was; streams with `trax.data.CountAndSkip` skip by
  the data counters saved beside the checkpoint instead, as in Trax 1.4.

  Non-finite losses: losses stay on the devices until the loop looks at them: at progress
  lines (every `reporting.PROGRESS_INTERVAL_SECONDS`), at steps that report, evaluate or
  checkpoint, and at the end of `run`. A NaN or infinite loss then raises
  `NonFiniteLossError` naming its step; no checkpoint is written from that state.

  Args:
    model: the model (a layer); loss and metric layers are added after it.
    tasks: a `TrainTask` or a list of them.
    eval_model: the model evaluated; `model` rebuilt in eval mode by default (see above).
    eval_tasks: an `EvalTask`, a list of them, or `None`.
    output_dir: directory for checkpoints and TensorBoard files; `None` writes nothing.
    checkpoint_at: step -> bool, when to save the `model` checkpoint; by default at step 1
      and every `tasks[0].n_steps_per_checkpoint` steps.
    checkpoint_low_metric: name of an eval metric: at checkpoint steps where it is at its
      lowest so far, the checkpoint is also saved as `lowest_<metric>` (Trax's name).
    checkpoint_high_metric: likewise for the highest value (`highest_<metric>`).
    permanent_checkpoint_at: step -> bool, when to save a `model_<step>` checkpoint; by
      default at step 1 and every `tasks[0].n_steps_per_permanent_checkpoint` steps.
    eval_at: step -> bool, when to report training metrics and run evals; by default as
      `checkpoint_at`'s default.
    which_task: step -> index of the step's train task; by default `step % len(tasks)`.
    n_devices: local devices to train on (data parallel); all by default.
    mesh: a `(data, model)` mesh (`trax.sharding.make_mesh`) instead of `n_devices`:
      batches split over 'data', weights and slots over 'model' (see `devices`).
    random_seed: seed of all randomness; from the OS if `None` (the same on all hosts).
    loss_chunk_size: if > 0, each train task runs the model's last layer (a `Dense`) and
      its loss (a mean such as `WeightedCategoryCrossEntropy`) on chunks of this many
      positions (which it must divide), making each chunk's gradients at once: the same
      loss up to rounding, the logits never in memory in full. `None` (default): chunks
      where that pays (jax backend; on CPU only where freed memory is not kept for reuse,
      `trax.host_memory`), logged per task; 0: never (`trax.supervised.chunked_loss`).
    use_memory_efficient_trainer: must be False: Trax 1.4's reversible trainer is not
      implemented here.
    callbacks: `TrainingStepCallback` subclasses (or callables taking the loop).
    backend: the training step's engine: 'jax' (jitted XLA, data parallel) or
      'tensorflow-numpy' (`tf.function` + `tf.GradientTape`, one device; `tf_trainer`);
      by default the `fastmath` backend selected when the loop is built, as in Trax.

  Raises:
    ValueError: inconsistent arguments; the message says which and why.
  """

  def __init__(
    self,
    model: tl.Layer,
    tasks: 'TrainTask | Sequence[TrainTask]',
    eval_model: 'tl.Layer | None' = None,
    eval_tasks: 'EvalTask | Sequence[EvalTask] | None' = None,
    output_dir: 'str | None' = None,
    checkpoint_at: 'Callable[[int], bool] | None' = None,
    checkpoint_low_metric: 'str | None' = None,
    checkpoint_high_metric: 'str | None' = None,
    permanent_checkpoint_at: 'Callable[[int], bool] | None' = None,
    eval_at: 'Callable[[int], bool] | None' = None,
    which_task: 'Callable[[int], int] | None' = None,
    n_devices: 'int | None' = None,
    random_seed: 'int | None' = None,
    loss_chunk_size: 'int | None' = None,
    use_memory_efficient_trainer: bool = False,
    callbacks: 'Sequence[Callable] | None' = None,
    backend: 'str | None' = None,
    mesh: 'jax.sharding.Mesh | None' = None,
  ):
    self._backend = as_backend(backend or fastmath.backend_name()).value
    if self._backend not in ('jax', 'tensorflow-numpy'):
      raise ValueError(
        f"Loop trains with backend 'jax' or 'tensorflow-numpy', got {self._backend!r}."
      )
    if self._backend != 'jax' and (loss_chunk_size or (n_devices or 1) > 1 or mesh):
      raise ValueError('loss_chunk_size, n_devices > 1 and mesh need the jax backend.')
    with fastmath.use_backend('jax'):  # Keys, initialization and placement are jax's.
      if use_memory_efficient_trainer:
        raise ValueError(
          'Loop got use_memory_efficient_trainer=True, but Trax 1.4\'s '
          'memory-efficient (reversible) trainer is not implemented here; '
          'loss_chunk_size works without it.'
        )
      self._tasks, self._eval_tasks = _as_list(tasks), _as_list(eval_tasks)
      if not self._tasks:
        raise ValueError('Loop needs at least one TrainTask.')
      metric_names = [n for task in self._eval_tasks for n in task.metric_names]
      for metric in (checkpoint_low_metric, checkpoint_high_metric):
        if metric is not None and metric not in metric_names:
          raise ValueError(
            f'Cannot checkpoint on eval metric {metric!r}: the eval tasks compute {metric_names}.'
          )
      self._placement = devices.Placement(n_devices if self._backend == 'jax' else 1, mesh)
      if random_seed is None:
        random_seed = devices.same_seed_on_all_hosts(
          int.from_bytes(os.urandom(4), 'little') % 2**31
        )
      self._rng = fastmath.random.get_prng(random_seed)
      self._output_dir = file_io.expanduser(output_dir) if output_dir else None
      if self._output_dir:
        atomic_files.make_directory(self._output_dir)  # Removes what killed runs left.
        data_counters.load_data_counters(self._output_dir)  # For CountAndSkip, as Trax.

      self._step = 0
      default_at = policy.at_step_1_and_every_nth_step(self._tasks[0].n_steps_per_checkpoint)
      self._checkpoint_at = checkpoint_at or default_at
      self._permanent_checkpoint_at = permanent_checkpoint_at or (
        policy.at_step_1_and_every_nth_step(self._tasks[0].n_steps_per_permanent_checkpoint)
      )
      self._eval_at = eval_at or default_at
      self._best_metrics = (checkpoint_low_metric, checkpoint_high_metric)
      self._which_task = which_task or (lambda step: step % len(self._tasks))

      self._model = model
      self._batch_signature = shapes.signature(self._tasks[0].sample_batch)
      model_inputs = cb.inputs_from_stack(self._batch_signature, model.n_in)
      model.rng = self.new_rng()
      if not fastmath.tree_flatten(model.weights):
        model.init(model_inputs)
      self._model_config = files.describe_layer(model)

      if self._backend == 'jax':
        self._trainers = [
          trainer_lib.TaskTrainer(model, task, self._placement, f'Train task {i}', loss_chunk_size)
          for i, task in enumerate(self._tasks)
        ]
      else:
        from trax.supervised import tf_trainer

        self._trainers = [
          tf_trainer.TfTaskTrainer(model, task, f'Train task {i}')
          for i, task in enumerate(self._tasks)
        ]
      self._evaluation = evaluation.Evaluation(
        model, eval_model, self._eval_tasks, self._placement, model_inputs, self.new_rng()
      )
      self._weights = self._placement.place_weights(model.weights)
      self._state = self._placement.replicate(model.state)
      self._set_base_rng(self.new_rng())
      self._in_flight = collections.deque()
      self._reporter = reporting.Reporter(
        self._tasks, self._eval_tasks, self._output_dir if self._placement.is_chief else None
      )
      self._sync_model()
      self.load_checkpoint()
      self._callbacks = [
        c if isinstance(c, callbacks_lib.TrainingStepCallback) else c(self) for c in callbacks or []
      ]

  def _set_base_rng(self, rng: Any) -> None:
    """Training steps and evals take keys derived from `rng` (checkpoints keep it)."""
    self._base_rng = np.asarray(rng)
    self._train_rng, self._eval_rng = self._placement.replicate(
      tuple(fastmath.random.split(self._base_rng, 2))
    )

  # Training.

  def run(self, n_steps: int = 1) -> None:
    """Trains for `n_steps` steps, evaluating and checkpointing when due.

    Raises:
      NonFiniteLossError: a loss became NaN or infinite (see the class docstring).
    """
    with fastmath.use_backend('jax'):
      self._run(n_steps)

  def _run(self, n_steps: int) -> None:
    self._adopt_weights_set_from_outside()
    end_step = self._step + n_steps
    self._reporter.start_progress(self._step)
    try:
      for _ in range(n_steps):
        self._step += 1
        step = self._step
        self._train_step(self._which_task(step))
        due = (self._eval_at(step), self._checkpoint_at(step), self._permanent_checkpoint_at(step))
        if any(due):
          self._evaluate_and_checkpoint(*due)
        elif self._reporter.progress_due():
          self._look_at_losses()
          self._reporter.log_progress(step, end_step)
      self._look_at_losses()
    finally:
      self._sync_model()

  def _train_step(self, task_index: int) -> tuple[Any, dict]:
    """Dispatches step `self._step` of train task `task_index`; returns its loss and metrics,
    left on the devices (Trax 1.4's `_run_one_step` is `trax14_loop`'s)."""
    step = self._step
    self._call_callbacks('on_step_begin', step)
    batch = self._trainers[task_index].take_batch(self._tasks[task_index], step)
    if len(self._in_flight) >= _MAX_STEPS_IN_FLIGHT:
      oldest = self._in_flight.popleft()
      if hasattr(oldest, 'block_until_ready'):  # A TF step has finished already.
        oldest.block_until_ready()
    self._weights, self._state, loss, metrics = self._trainers[task_index].one_step(
      self._weights, self._state, batch, step, self._train_rng
    )
    self._in_flight.append(loss)
    self._reporter.add(task_index, step, loss, metrics)
    self._call_callbacks('on_step_end', step)
    return loss, metrics

  def _call_callbacks(self, hook: str, step: int) -> None:
    due = [c for c in self._callbacks if c.call_at(step)]
    if due:
      self._sync_model()
      for callback in due:
        getattr(callback, hook)(step)
      self._adopt_weights_set_from_outside()

  def _evaluate_and_checkpoint(
    self, eval_due: bool, checkpoint_due: bool, permanent_due: bool
  ) -> None:
    step = self._step
    self._look_at_losses()
    if eval_due:
      self._reporter.log_training(step, self._n_weights())
      try:
        self.run_evals()
      except BaseException:
        if checkpoint_due:  # Keep the step's training even if its evals fail.
          self.save_checkpoint('model')
        raise
    if checkpoint_due:
      self.save_checkpoint('model')
    if permanent_due:
      self.save_checkpoint(f'model_{step}')
    for basename in policy.best_metric_basenames(*self._best_metrics, self._reporter.at_extreme):
      if checkpoint_due:
        self.save_checkpoint(basename)
    self._reporter.restart_timers()

  def _look_at_losses(self) -> None:
    self._in_flight.clear()
    self._reporter.look_at_losses()

  def run_evals(self, summary_writers: 'Sequence | None' = None) -> None:
    """Runs every eval task on the current weights; logs and records the mean metrics.

    Args:
      summary_writers: one event-file writer (or `None`) per eval task, as Trax 1.4's
        loop body passes them; the loop's own by default.
    """
    with fastmath.use_backend('jax'):
      rng = fastmath.random.fold_in(self._eval_rng, self._step)
      all_means = self._evaluation.run(*self._on_jax_devices(), rng)
    summaries = reporting.summary_scalars(self._model.state)
    writers = self._reporter.eval_writers if summary_writers is None else summary_writers
    for i, (means, writer) in enumerate(zip(all_means, writers)):
      self.log_summary(means, writer, 'metrics/', 'eval')
      if summaries and i == 0:
        self.log_summary(summaries, writer, 'summary_', 'eval')

  def log_summary(
    self,
    values: dict,
    summary_writer: 'reporting.SummaryWriter | None',
    value_prefix: str,
    log_prefix: str,
    stdout: bool = True,
  ) -> None:
    """Logs scalars at the current step, adds them to `history`, writes event files.

    See `reporting.Reporter.log_summary`; Trax 1.4's callbacks call this.
    """
    self._reporter.log_summary(self._step, values, summary_writer, value_prefix, log_prefix, stdout)

  # Properties.

  @property
  def step(self) -> int:
    """The number of training steps taken (the number of the last step)."""
    return self._step

  @property
  def history(self) -> history_lib.History:
    return self._reporter.history

  @property
  def model(self) -> tl.Layer:
    """The trained model; holds the current weights after `run`."""
    return self._model

  @property
  def eval_model(self) -> tl.Layer:
    return self._evaluation.eval_model

  @property
  def tasks(self) -> list:
    return self._tasks

  @property
  def eval_tasks(self) -> list:
    return self._eval_tasks

  @property
  def output_dir(self) -> 'str | None':
    return self._output_dir

  def new_rng(self) -> Any:
    """A new single-use random key, split off the loop's."""
    with fastmath.use_backend('jax'):
      self._rng, rng = fastmath.random.split(self._rng)
    return rng


def _as_list(tasks: Any) -> list:
  return [] if tasks is None else list(tasks) if isinstance(tasks, (list, tuple)) else [tasks]
