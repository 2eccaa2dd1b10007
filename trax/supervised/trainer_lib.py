"""Trax 1.4's `trainer_lib`: `train()`, the entry point of its gin configs, on `Loop`.

`train(output_dir, model=..., inputs=..., ...)` builds a `TrainTask` and an `EvalTask` from
an `Inputs` object (its `train_stream(n_devices)` and `eval_stream(n_devices)`), the model
in 'train' and 'eval' mode, and runs a `training.Loop` to `steps`, as Trax 1.4 did with its
default `use_loop=True`. Trax's older `Trainer` class (`use_loop=False`) is not here: `Loop`
replaces it. The 2020 trainer's checkpoint dicts still load (`load_trainer_state`).
"""

import collections
import itertools
import os
from typing import Any, Callable, Iterable, Iterator, Sequence

from trax import layers as tl
from trax import optimizers
from trax.supervised import history as history_lib
from trax.supervised import lr_schedules
from trax.supervised import reporting
from trax.supervised import training

__all__ = ['train', 'num_devices', 'log', 'epochs', 'NamedStream', 'named_stream',
           'OptState', 'TrainerState', 'make_trainer_state_dict', 'trainer_state_from_dict',
           'load_trainer_state']

NamedStream = collections.namedtuple('NamedStream', ['name', 'stream'])
OptState = collections.namedtuple('OptState', ['weights', 'slots', 'opt_params'])
TrainerState = collections.namedtuple('TrainerState',
                                      ['step', 'opt_state', 'history', 'model_state'])


def _default_metrics() -> dict:
  return {
      'loss': tl.WeightedCategoryCrossEntropy(),
      'accuracy': tl.WeightedCategoryAccuracy(),
      'sequence_accuracy': tl.MaskedSequenceAccuracy(),
      'neg_log_perplexity': tl.Serial(tl.WeightedCategoryCrossEntropy(), tl.Negate()),
      'weights_per_batch_per_core': tl.Serial(tl.Drop(), tl.Drop(), tl.Sum()),
  }


def named_stream(name: str, stream: Iterator) -> NamedStream:
  return NamedStream(name=name, stream=stream)


def num_devices(value: 'int | None' = None) -> 'int | None':
  """How many devices to use; `None` (the default) means all (gin sets it in Trax)."""
  return value


def log(s: str, stdout: bool = True) -> None:
  """Logs `s` (and prints it if `stdout`)."""
  reporting.log(s, stdout=stdout)


def epochs(total_steps: int, steps_to_skip: int, epoch_steps: Iterable[int]) -> Iterator[int]:
  """The steps of each epoch up to `total_steps`, after skipping `steps_to_skip` (Trax's).

  >>> list(epochs(10, 3, [1, 4, 4, 4]))
  [2, 4, 1]
  """
  steps_to_go = total_steps - steps_to_skip
  epoch_steps = iter(epoch_steps)
  for steps_this_epoch in epoch_steps:
    if steps_this_epoch > steps_to_skip:
      epoch_steps = itertools.chain([steps_this_epoch - steps_to_skip], epoch_steps)
    if steps_this_epoch >= steps_to_skip:
      break
    steps_to_skip -= steps_this_epoch
  for steps_this_epoch in epoch_steps:
    if steps_to_go <= 0:
      break
    steps_this_epoch = min(steps_this_epoch, steps_to_go)
    yield steps_this_epoch
    steps_to_go -= steps_this_epoch


def train(output_dir: str, model: Callable[..., tl.Layer],
          loss_fn: 'tl.Layer | None' = None, inputs: Any = None,
          optimizer: Callable[[], Any] = optimizers.Adafactor,
          lr_schedule_fn: Callable[[], Callable] = lr_schedules.multifactor,
          trainer_class: Any = None, steps: int = 1000,
          checkpoints_at: 'Sequence[int] | None' = None,
          permanent_checkpoints_at: 'Sequence[int] | None' = None, eval_steps: int = 10,
          eval_frequency: 'int | None' = 100,
          permanent_checkpoint_frequency: 'int | None' = None,
          random_seed: 'int | None' = None, save_graphs: bool = True,
          metrics: 'dict | None' = None, checkpoint_highest: 'str | None' = None,
          checkpoint_lowest: 'str | None' = None, use_loop: bool = True,
          loss_chunk_size: int = 0, use_memory_efficient_trainer: bool = False,
          adasum: bool = False, init_checkpoint: 'str | None' = None,
          callbacks: 'Sequence | None' = None, n_weights_shards: int = 1,
          additional_train_tasks: 'Sequence | None' = None,
          additional_eval_tasks: 'Sequence | None' = None,
          additional_eval_streams: 'Sequence[NamedStream] | None' = None) -> training.Loop:
  """Trains `model(mode='train')` on `inputs` with a `Loop`; returns the loop (Trax 1.4).

  Args are Trax 1.4's. `model` is a factory taking `mode`; `inputs` an `Inputs` object (or
  a function returning one) with `train_stream(n_devices)` and `eval_stream(n_devices)`;
  `optimizer` and `lr_schedule_fn` are called with no arguments; `metrics` maps names to
  layers (Trax's default set when None); evals run `eval_steps` batches every
  `eval_frequency` steps, when checkpoints are also written. `save_graphs` is accepted and
  ignored (Trax wrote XLA graph dumps).

  Raises:
    ValueError: `use_loop=False`, `trainer_class`, `adasum` or `n_weights_shards != 1`
      (Trax 1.4's older trainer and pmap-era options), or both permanent checkpoint
      arguments.
  """
  del save_graphs
  if not use_loop or trainer_class is not None:
    raise ValueError('trainer_lib.train runs training.Loop (Trax 1.4\'s use_loop=True); its '
                     'older Trainer class is not available. Drop use_loop/trainer_class.')
  if adasum or n_weights_shards != 1:
    raise ValueError('adasum and n_weights_shards were pmap-era options; Loop shards the '
                     'batch over a jax.sharding.Mesh. Leave them at their defaults.')
  if permanent_checkpoint_frequency is not None and permanent_checkpoints_at is not None:
    raise ValueError('Only one of permanent_checkpoint_frequency and '
                     'permanent_checkpoints_at may be set.')
  n_devices = num_devices()
  inputs = inputs() if callable(inputs) else inputs
  train_task = training.TrainTask(
      inputs.train_stream(n_devices or 1), loss_layer=loss_fn or tl.WeightedCategoryCrossEntropy(),
      optimizer=optimizer(), lr_schedule=lr_schedule_fn(),
      n_steps_per_checkpoint=eval_frequency,
      n_steps_per_permanent_checkpoint=permanent_checkpoint_frequency)
  names, metric_layers = zip(*(metrics or _default_metrics()).items())

  def eval_task(stream, prefix=None):
    return training.EvalTask(stream, list(metric_layers), metric_names=list(names),
                             n_eval_batches=eval_steps, export_prefix=prefix)
  eval_tasks = ([eval_task(inputs.eval_stream(n_devices or 1))]
                + list(additional_eval_tasks or [])
                + [eval_task(s.stream, s.name) for s in additional_eval_streams or []])
  model_train, model_eval = model(mode='train'), model(mode='eval')
  if init_checkpoint:
    model_train.init_from_file(init_checkpoint, weights_only=True)
    model_eval.init_from_file(init_checkpoint, weights_only=True)
  loop = training.Loop(
      model_train, [train_task] + list(additional_train_tasks or []), eval_model=model_eval,
      eval_tasks=eval_tasks if eval_steps and eval_frequency else None,
      output_dir=output_dir,
      checkpoint_at=(lambda step: step in checkpoints_at) if checkpoints_at else None,
      checkpoint_low_metric=checkpoint_lowest, checkpoint_high_metric=checkpoint_highest,
      permanent_checkpoint_at=((lambda step: step in permanent_checkpoints_at)
                               if permanent_checkpoints_at else None),
      n_devices=n_devices, random_seed=random_seed, loss_chunk_size=loss_chunk_size,
      use_memory_efficient_trainer=use_memory_efficient_trainer, callbacks=callbacks)
  if steps - loop.step <= 0:
    log(f'Stop training, already reached the total training steps {steps}')
    return loop
  loop.run(steps - loop.step)
  return loop


def make_trainer_state_dict(step: int, opt_state: OptState, history: Any, model_state: Any,
                            input_signature: Any) -> dict:
  """The dict Trax 1.4's 2020 trainer pickled as `model.pkl.gz`."""
  flat_weights, flat_state = tl.flatten_weights_and_state(opt_state.weights, model_state)
  return {'step': step, 'flat_weights': flat_weights, 'slots': opt_state.slots,
          'opt_params': opt_state.opt_params, 'history': history, 'flat_state': flat_state,
          'input_signature': input_signature, 'version_timestamp': 'Jun-18-2020'}


def trainer_state_from_dict(trainer_state_dict: dict, model: tl.Layer) -> TrainerState:
  """The `TrainerState` of such a dict, the weights and state fitted to `model`."""
  signature = model.weights_and_state_signature(trainer_state_dict['input_signature'])
  weights, model_state = tl.unflatten_weights_and_state(
      trainer_state_dict['flat_weights'], trainer_state_dict['flat_state'], signature)
  opt_state = OptState(weights=weights, slots=trainer_state_dict['slots'],
                       opt_params=trainer_state_dict['opt_params'])
  return TrainerState(step=trainer_state_dict['step'], opt_state=opt_state,
                      history=trainer_state_dict['history'], model_state=model_state)


def load_trainer_state(output_dir: str, model: tl.Layer,
                       weights_file: 'str | None' = None) -> TrainerState:
  """The `TrainerState` saved in `output_dir/model.pkl.gz` (or `weights_file`), read with
  the restricted unpickler; an empty state if there is no such file and none was named.

  Raises:
    ValueError: `weights_file` does not exist.
  """
  if weights_file is None:
    weights_file = os.path.join(output_dir, 'model.pkl.gz')
    if not os.path.exists(weights_file):
      return TrainerState(step=None, opt_state=None, history=history_lib.History(),
                          model_state=None)
  elif not os.path.exists(weights_file):
    raise ValueError(f'File not found: {weights_file}')
  trainer_state = trainer_state_from_dict(
      training.unpickle_from_file(weights_file, gzip=True), model)
  log(f'Model loaded from {weights_file} at step {trainer_state.step}')
  return trainer_state
