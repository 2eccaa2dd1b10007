"""`Loop`'s checkpoints: the whole training state saved to and restored from a directory.

A mixin of `training.Loop`. A checkpoint holds weights, state, optimizer slots, the step,
the history, the data counters and the loop's random key (see `resume` for the files and
their layouts); `Loop` saves one at its `checkpoint_at` steps and loads the newest when
it starts.
"""

from typing import Any

from trax.data import counters as data_counters
from trax.supervised import reporting
from trax.supervised import resume


class Checkpointing:
  """Saving and loading the training state of `training.Loop`."""

  # Set by `training.Loop`.
  _output_dir: 'str | None'
  _placement: Any  # devices.Placement
  _weights: Any
  _state: Any
  _trainers: list
  _tasks: list
  _eval_tasks: list
  _step: int
  _batch_signature: Any
  _model: Any  # tl.Layer
  _model_config: Any
  _base_rng: Any
  _reporter: Any  # reporting.Reporter
  history: Any
  _look_at_losses: Any  # Methods of `training.Loop`.
  _set_base_rng: Any
  _sync_model: Any

  def save_checkpoint(self, basename: str) -> None:
    """Saves the training state to `<output_dir>/<basename>.npz` (see `checkpoints`).

    An existing file of that name is replaced atomically. Pending losses are checked first,
    and a checkpoint whose weights hold NaN or infinities is not written. Split weights go
    to `<basename>.orbax` (every process calls this, each writing its own shards).

    Raises:
      NonFiniteLossError: a pending loss or a weight is NaN or infinite.
    """
    if self._output_dir is None:
      reporting.log('Did not save checkpoint as output_dir is None.', stdout=False)
      return
    self._look_at_losses()
    if data_counters.data_counters and self._placement.is_chief:
      data_counters.save_data_counters(self._output_dir)
    checkpoint = resume.to_checkpoint(
      self._placement,
      self._weights,
      self._state,
      self._trainers,
      self._tasks,
      self._eval_tasks,
      step=self._step,
      history=self.history,
      input_signature=self._batch_signature[: self._model.n_in],
      model_config=self._model_config,
      rng=self._base_rng,
    )
    self._reporter.check_finite(checkpoint.flat_weights, self._step)
    path = resume.write(self._output_dir, basename, self._placement, checkpoint)
    if path is None:  # Not the chief.
      return
    self._reporter.last_checkpoint = (self._step, path)
    reporting.log(f'Checkpoint saved in {path}', stdout=False)

  def load_checkpoint(self, directory: 'str | None' = None, filename: 'str | None' = None) -> None:
    """Loads the training state from a checkpoint, if there is one.

    Args:
      directory: where to look; `output_dir` by default.
      filename: the checkpoint's name, `model` by default; without an extension, `.npz`
        or `.orbax`, then Trax 1.x's `.pkl.gz` are tried.

    Raises:
      ValueError: the checkpoint does not fit this loop's model, tasks or optimizers.
    """
    directory = directory or self._output_dir
    path = None if directory is None else resume.find(directory, filename)
    if path is None:
      reporting.log(f'No checkpoint to load in {directory}.', stdout=False)
      return
    self._look_at_losses()
    checkpoint = resume.read(
      path,
      self._placement,
      self._weights,
      self._state,
      self._trainers,
      self._tasks,
      self._eval_tasks,
      self._base_rng,
    )
    self._weights, self._state = resume.restore(
      checkpoint,
      path,
      self._placement,
      self._weights,
      self._state,
      self._trainers,
      self._tasks,
      self._eval_tasks,
      skip_batches=not data_counters.data_counters,
    )
    self._step = checkpoint.step
    self._reporter.history = checkpoint.history
    if checkpoint.rng is not None:
      self._set_base_rng(checkpoint.rng)
    self._sync_model()
    reporting.log(f'Loaded checkpoint of step {self._step} from {path}', stdout=False)
