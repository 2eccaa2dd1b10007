"""A training loop's state as a checkpoint, and back: what `Loop` saves and resumes from.

The state is: the model's weights and state, each train task's optimizer slots,
hyper-parameters and loss-layer weights and state, the number of batches each task has
taken from its stream, the step, the history and the random key. Restoring it into a loop
built the same way continues training exactly where the checkpoint was taken.

Formats: a loop whose weights are replicated writes `<name>.npz` (`checkpoints`) from
process 0's copy; a loop whose weights are split over a mesh's model axis writes
`<name>.orbax` (`orbax_checkpoints`), each process its own shards. Either restores into
any layout: arrays are placed as the reading loop lays them out.
"""

import os
from typing import Any
from collections.abc import Callable, Sequence


from trax import fastmath
from trax import file_io
from trax.supervised import batch_checks
from trax.checkpoint_files import checkpoints
from trax.supervised import devices
from trax.supervised import orbax_checkpoints
from trax.supervised import reporting

_EXTENSIONS = ('.npz', '.pkl.gz')  # Ours first, then Trax 1.x's.


def to_checkpoint(
  placement: devices.Placement,
  weights: Any,
  state: Any,
  trainers: Sequence[Any],
  tasks: Sequence[Any],
  eval_tasks: Sequence[Any],
  on_host: 'bool | None' = None,
  **fields: Any,
) -> checkpoints.Checkpoint:
  """The loop's arrays as a `Checkpoint`: numpy copies, or the device arrays themselves.

  Args:
    placement: where the arrays live.
    weights: the model's weights (on the devices).
    state: the model's state.
    trainers: the train tasks' trainers (`TaskTrainer`s, or `TfTaskTrainer`s on
      tensorflow-numpy): slots, hyper-parameters, loss weights and state.
    tasks: the train tasks (for their batch counts).
    eval_tasks: the eval tasks (for their batch counts).
    on_host: copy the arrays to the host; by default unless the weights are split over
      devices (`is_sharded`), which no host need hold whole.
    **fields: the other `Checkpoint` fields (step, history, input_signature, ...).
  """
  per_task = [(t.slots, t.opt_params, t.loss_weights, t.loss_state) for t in trainers]
  if on_host is None:
    on_host = not is_sharded(placement)
  if on_host:
    weights, state, per_task = placement.to_host((weights, state, per_task))
  task_checkpoints = []
  for (slots, opt_params, loss_weights, loss_state), task in zip(per_task, tasks):
    task_checkpoints.append(
      checkpoints.TaskCheckpoint(
        flat_slots=fastmath.tree_leaves(slots),  # No Nones: SGD's slots are Nones.
        opt_params=dict(opt_params),
        flat_loss_weights=fastmath.tree_flatten(loss_weights),
        flat_loss_state=fastmath.tree_flatten(loss_state),
        n_batches=task.n_batches_taken,
      )
    )
  return checkpoints.Checkpoint(
    flat_weights=fastmath.tree_flatten(weights),
    flat_state=fastmath.tree_flatten(state),
    tasks=task_checkpoints,
    eval_n_batches=[t.n_batches_taken for t in eval_tasks],
    **fields,
  )


def is_sharded(placement: devices.Placement) -> bool:
  """Whether the loop's weights are split over devices (and so saved by `orbax`)."""
  return placement.n_model > 1


def write(
  directory: str, basename: str, placement: devices.Placement, checkpoint: checkpoints.Checkpoint
) -> 'str | None':
  """Writes `checkpoint` (from `to_checkpoint`) in the loop's format; every process calls.

  Returns once the checkpoint is complete on disk for every process: the path on the
  chief, `None` on the other processes.
  """
  if is_sharded(placement):
    path = os.path.join(directory, basename + orbax_checkpoints.EXTENSION)
    orbax_checkpoints.write(path, checkpoint)
  else:
    path = os.path.join(directory, basename + '.npz')
    if placement.is_chief:
      checkpoints.write(path, checkpoint)
  placement.wait_for_all(f'checkpoint {basename}')
  return path if placement.is_chief else None


def read(
  path: str,
  placement: devices.Placement,
  weights: Any,
  state: Any,
  trainers: Sequence[Any],
  tasks: Sequence[Any],
  eval_tasks: Sequence[Any],
  rng: Any,
) -> checkpoints.Checkpoint:
  """Reads the checkpoint at `path` for a loop whose state is given (see `to_checkpoint`).

  `.npz` and Trax 1.x `.pkl.gz` files are read onto the host; an `.orbax` checkpoint is
  read straight into the shapes, dtypes and shardings of the loop's arrays, each process
  reading its own shards.
  """
  if not orbax_checkpoints.is_checkpoint(path):
    return checkpoints.read_any(path)
  layout = to_checkpoint(
    placement, weights, state, trainers, tasks, eval_tasks, on_host=False, rng=rng
  )
  return orbax_checkpoints.read(path, checkpoints.to_arrays(layout))


def find(directory: str, filename: 'str | None') -> 'str | None':
  """Path of checkpoint `filename` (default 'model') in `directory`, or `None`.

  A name without extension is looked up as `.npz` or `.orbax` (ours; the newer of the two
  if both exist, as after a change of layout), then `.pkl.gz` (Trax 1.x).
  """
  name = os.path.join(directory, filename or 'model')
  if name.endswith(_EXTENSIONS + (orbax_checkpoints.EXTENSION,)):
    return name if file_io.exists(name) else None
  ours = [name + e for e in ('.npz', orbax_checkpoints.EXTENSION) if file_io.exists(name + e)]
  if len(ours) == 2 and not file_io.is_remote(name):
    return max(ours, key=os.path.getmtime)
  if ours:
    return ours[0]
  for extension in _EXTENSIONS:
    if file_io.exists(name + extension):
      return name + extension
  return None


def restore(
  checkpoint: checkpoints.Checkpoint,
  path: str,
  placement: devices.Placement,
  weights: Any,
  state: Any,
  trainers: Sequence[Any],
  tasks: Sequence[Any],
  eval_tasks: Sequence[Any],
  skip_batches: bool = True,
) -> tuple[Any, Any]:
  """Puts `checkpoint` into a loop; returns the model's new `(weights, state)`.

  The trainers get their slots and loss-layer weights and state (hyper-parameters stay as
  the loop's optimizers set them); each task's stream skips the batches the checkpointed
  run had taken beyond those this task has taken.

  Args:
    checkpoint: what was read from `path`.
    path: the file (for messages).
    placement: where the arrays go.
    weights: the loop's current model weights (the tree to fill).
    state: the loop's current model state.
    trainers: the loop's trainers, updated in place.
    tasks: the train tasks.
    eval_tasks: the eval tasks.
    skip_batches: skip the batches the checkpointed run had taken; False when the
      streams resume themselves (`trax.data.CountAndSkip` with loaded data counters).

  Raises:
    ValueError: the checkpoint does not fit the loop (counts or shapes), naming the file.
  """
  weights = _fill(weights, checkpoint.flat_weights, 'model weights', path, placement.place_weights)
  if checkpoint.flat_state is not None:
    try:
      state = _fill(state, checkpoint.flat_state, 'model state', path, placement.replicate)
    except ValueError as e:
      reporting.log(f'Not restoring the model state: {e}', stdout=False)
  if checkpoint.tasks and len(checkpoint.tasks) != len(trainers):
    raise ValueError(
      f'{path} holds optimizer slots of {len(checkpoint.tasks)} train '
      f'task(s), but the loop has {len(trainers)}.'
    )
  for i, (trainer, task) in enumerate(zip(trainers, checkpoint.tasks)):
    trainer.slots = _fill(
      trainer.slots,
      task.flat_slots,
      f'task {i} optimizer slots',
      path,
      placement.place_weights,
      ignore_nones=True,
    )
    if task.flat_loss_weights or task.flat_loss_state:
      trainer.loss_weights = _fill(
        trainer.loss_weights,
        task.flat_loss_weights,
        f'task {i} loss weights',
        path,
        placement.place_weights,
      )
      trainer.loss_state = _fill(
        trainer.loss_state, task.flat_loss_state, f'task {i} loss state', path, placement.replicate
      )
  if skip_batches:
    _skip_batches(tasks, [t.n_batches for t in checkpoint.tasks], 'train')
    _skip_batches(eval_tasks, checkpoint.eval_n_batches, 'eval')
  return weights, state


def _fill(
  tree: Any,
  found: list,
  what: str,
  path: str,
  place: Callable[[Any], Any],
  ignore_nones: bool = False,
) -> Any:
  """`tree` with its leaves (not its `None`s, if `ignore_nones`) replaced by the `found`
  arrays (checked), `place`d."""
  leaves = fastmath.tree_leaves(tree) if ignore_nones else fastmath.tree_flatten(tree)
  matched = checkpoints.match_arrays(found, leaves, what, path)
  filled, _ = fastmath.tree_unflatten(matched, tree, ignore_nones=ignore_nones)
  return place(filled)


def _skip_batches(tasks: Sequence[Any], counts: Sequence[int], kind: str) -> None:
  for i, (task, count) in enumerate(zip(tasks, counts)):
    n_skip = count - task.n_batches_taken
    if n_skip > 0:
      reporting.log(
        f'Skipping {n_skip} batches of {kind} task {i} to resume its stream '
        'where the checkpoint left it.'
      )
      for _ in range(n_skip):
        batch_checks.next_batch(
          task,
          f'{kind.capitalize()} task {i} (skipping the batches the checkpointed run had taken)',
        )
