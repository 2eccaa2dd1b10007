"""Trax 1.4's `trainer_lib.train`: one call that trains a model from an `Inputs` bundle.

This is the entry point of Trax's `.gin` configs (`train.model = @trax.models.TransformerLM`,
`train.steps = ...`) and of `python -m trax.trainer`. It builds a `training.Loop` as Trax
1.4's `train(use_loop=True)` did: a train task on `inputs.train_stream`, an eval task
computing the default metrics (or `metrics`) on `inputs.eval_stream`, checkpoints every
`eval_frequency` steps, and resumes from `output_dir` if it holds a checkpoint. Trax's
older `Trainer` class (`use_loop=False`) is not provided; its checkpoint dicts still load
(`load_trainer_state`), and its helpers `epochs` and `log` are here.
"""

import collections
import itertools
import logging
import os
import sys
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Sequence

from trax import atomic_files
from trax import data
from trax import fastmath
from trax import file_io
from trax import layers as tl
from trax import optimizers
from trax import history as history_lib
from trax.supervised import lr_schedules
from trax.supervised import training

NamedStream = collections.namedtuple('NamedStream', ['name', 'stream'])
OptState = collections.namedtuple('OptState', ['weights', 'slots', 'opt_params'])
TrainerState = collections.namedtuple(
  'TrainerState', ['step', 'opt_state', 'history', 'model_state']
)

_log = logging.getLogger('trax.supervised')


def default_metrics() -> dict:
  """Trax 1.4's eval metrics of `train`, by name."""
  return {
    'loss': tl.WeightedCategoryCrossEntropy(),
    'accuracy': tl.WeightedCategoryAccuracy(),
    'sequence_accuracy': tl.MaskedSequenceAccuracy(),
    'neg_log_perplexity': tl.Serial(tl.WeightedCategoryCrossEntropy(), tl.Negate()),
    'weights_per_batch_per_core': tl.Serial(tl.Drop(), tl.Drop(), tl.Sum()),
  }


def named_stream(name: str, stream: Iterator[Any]) -> NamedStream:
  """An eval stream with a name (its summaries go to `<output_dir>/<name>/eval`)."""
  return NamedStream(name=name, stream=stream)


def num_devices(value: 'int | None' = None) -> 'int | None':
  """How many devices `train` uses; None for all local ones (a gin knob in Trax)."""
  return value


def log(s: str, stdout: bool = True) -> None:
  """Logs `s` (and prints it if `stdout`)."""
  _log.info(s)
  if stdout:
    print(s, flush=True)


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


def train(
  output_dir: str,
  model: 'Callable[..., tl.Layer] | None' = None,
  loss_fn: 'tl.Layer | None' = None,
  inputs: Any = None,
  optimizer: 'Callable[..., Any] | None' = None,
  lr_schedule_fn: 'Callable[[], Callable] | None' = None,
  trainer_class: Any = None,
  steps: int = 1000,
  checkpoints_at: 'Sequence[int] | None' = None,
  permanent_checkpoints_at: 'Sequence[int] | None' = None,
  eval_steps: int = 10,
  eval_frequency: int = 100,
  permanent_checkpoint_frequency: 'int | None' = None,
  random_seed: 'int | None' = None,
  save_graphs: bool = True,
  metrics: 'dict | None' = None,
  checkpoint_highest: 'str | None' = None,
  checkpoint_lowest: 'str | None' = None,
  use_loop: bool = True,
  loss_chunk_size: 'int | None' = None,
  use_memory_efficient_trainer: bool = False,
  adasum: bool = False,
  init_checkpoint: 'str | None' = None,
  callbacks: 'Sequence[Any] | None' = None,
  n_weights_shards: int = 1,
  additional_train_tasks: 'Sequence[training.TrainTask] | None' = None,
  additional_eval_tasks: 'Sequence[training.EvalTask] | None' = None,
  additional_eval_streams: 'Sequence[NamedStream] | None' = None,
) -> training.Loop:
  """Trains `model` on `inputs` for `steps` steps in total; returns the `Loop`.

  Args:
    output_dir: where checkpoints, summaries and the operative gin config go (any
      `tf.io.gfile` path); training resumes from a checkpoint there.
    model: a model constructor taking `mode=` (e.g. `trax.models.TransformerLM`).
    loss_fn: the loss layer; default `tl.WeightedCategoryCrossEntropy()`.
    inputs: an `Inputs` bundle or a function returning one; default `data.batcher`.
    optimizer: the optimizer class (called without arguments); default `Adafactor`.
    lr_schedule_fn: called without arguments, returns the step -> learning rate schedule;
      default `lr_schedules.multifactor`. (With gin in use, these defaults take the
      config's bindings, as in Trax 1.4.)
    trainer_class: ignored (Trax 1.4's old `Trainer` is not provided).
    steps: total training steps, counting those of a resumed checkpoint.
    checkpoints_at: steps at which to save `model`; default every `eval_frequency`.
    permanent_checkpoints_at: steps at which to save `model_<step>`.
    eval_steps: batches per evaluation.
    eval_frequency: steps between evaluations and checkpoints.
    permanent_checkpoint_frequency: steps between permanent checkpoints.
    random_seed: the loop's seed.
    save_graphs: ignored (Trax saved XLA graphs; use `jax.jit(...).lower`).
    metrics: `{name: layer}` eval metrics; default `default_metrics()`.
    checkpoint_highest: eval metric whose highest value is checkpointed.
    checkpoint_lowest: eval metric whose lowest value is checkpointed.
    use_loop: must be True.
    loss_chunk_size: see `training.Loop`.
    use_memory_efficient_trainer: must be False.
    adasum: must be False.
    init_checkpoint: a checkpoint whose weights start training (fine-tuning).
    callbacks: `Loop` callbacks.
    n_weights_shards: must be 1.
    additional_train_tasks: more train tasks.
    additional_eval_tasks: more eval tasks.
    additional_eval_streams: `NamedStream`s evaluated with the same metrics.

  Raises:
    ValueError: an unsupported Trax 1.4 option, or a missing model.
  """
  del trainer_class, save_graphs
  if model is None:
    raise ValueError(
      'train needs model=, a model constructor such as '
      'trax.models.TransformerLM (train.model in gin).'
    )
  unsupported = {
    'use_loop=False': not use_loop,
    'adasum=True': adasum,
    f'n_weights_shards={n_weights_shards}': n_weights_shards != 1,
  }
  for option, given in unsupported.items():
    if given:
      raise ValueError(
        f'train got {option}: Trax 1.4\'s old Trainer, Adasum and weight '
        'sharding are not provided; the training Loop runs data parallel.'
      )
  if permanent_checkpoint_frequency is not None and permanent_checkpoints_at is not None:
    raise ValueError(
      'Give only one of permanent_checkpoint_frequency and permanent_checkpoints_at.'
    )
  defaults: tuple[tuple[str, Any, Any, str], ...] = (
    ('inputs', inputs, data.batcher, 'trax.data.batcher'),
    ('optimizer', optimizer, optimizers.Adafactor, 'trax.optimizers.Adafactor'),
    (
      'lr_schedule_fn',
      lr_schedule_fn,
      lr_schedules.multifactor,
      'trax.supervised.lr_schedules.multifactor',
    ),
    ('num_devices', None, num_devices, 'trax.supervised.trainer_lib.num_devices'),
  )
  configured: list[Any] = [
    given if given is not None else _configured(default, selector)
    for _, given, default, selector in defaults
  ]
  make_inputs, make_optimizer, make_lr_schedule, devices_fn = configured
  n_devices = devices_fn() or fastmath.local_device_count()
  inputs = make_inputs() if callable(make_inputs) else make_inputs
  train_task = training.TrainTask(
    inputs.train_stream(n_devices),
    loss_layer=loss_fn or tl.WeightedCategoryCrossEntropy(),
    optimizer=make_optimizer(),
    lr_schedule=make_lr_schedule(),
    n_steps_per_checkpoint=eval_frequency,
    n_steps_per_permanent_checkpoint=permanent_checkpoint_frequency,
  )
  names, metric_layers = zip(*(metrics or default_metrics()).items())
  eval_tasks = [
    training.EvalTask(
      inputs.eval_stream(n_devices), metric_layers, metric_names=names, n_eval_batches=eval_steps
    )
  ]
  eval_tasks += list(additional_eval_tasks or [])
  eval_tasks += [
    training.EvalTask(
      s.stream, metric_layers, metric_names=names, n_eval_batches=eval_steps, export_prefix=s.name
    )
    for s in additional_eval_streams or []
  ]

  model_train, model_eval = model(mode='train'), model(mode='eval')
  if init_checkpoint:
    model_train.init_from_file(init_checkpoint, weights_only=True)
    model_eval.init_from_file(init_checkpoint, weights_only=True)
  loop = training.Loop(
    model_train,
    [train_task] + list(additional_train_tasks or []),
    eval_model=model_eval,
    eval_tasks=eval_tasks,
    output_dir=output_dir,
    checkpoint_at=None if checkpoints_at is None else lambda s: s in checkpoints_at,
    checkpoint_low_metric=checkpoint_lowest,
    checkpoint_high_metric=checkpoint_highest,
    permanent_checkpoint_at=(
      None if permanent_checkpoints_at is None else lambda s: s in permanent_checkpoints_at
    ),
    n_devices=n_devices,
    random_seed=random_seed,
    loss_chunk_size=loss_chunk_size,
    use_memory_efficient_trainer=use_memory_efficient_trainer,
    callbacks=callbacks,
  )
  if steps > loop.step:
    loop.run(steps - loop.step)
  else:
    _log.info('Already trained %d of %d steps.', loop.step, steps)
  _save_operative_gin_config(output_dir)
  return loop


def _save_operative_gin_config(output_dir: 'str | None') -> None:
  """Writes `config.gin` (the values gin supplied) when gin is in use, as Trax did."""
  gin = sys.modules.get('gin')
  if gin is None or output_dir is None:
    return
  with atomic_files.atomic_write(os.path.join(output_dir, 'config.gin')) as f:
    f.write(gin.operative_config_str().encode('utf-8'))


def make_trainer_state_dict(
  step: int, opt_state: OptState, history: Any, model_state: Any, input_signature: Any
) -> dict:
  """The dict Trax 1.4's 2020 trainer pickled as `model.pkl.gz`."""
  flat_weights, flat_state = tl.flatten_weights_and_state(opt_state.weights, model_state)
  return {
    'step': step,
    'flat_weights': flat_weights,
    'slots': opt_state.slots,
    'opt_params': opt_state.opt_params,
    'history': history,
    'flat_state': flat_state,
    'input_signature': input_signature,
    'version_timestamp': 'Jun-18-2020',
  }


def trainer_state_from_dict(trainer_state_dict: dict, model: tl.Layer) -> TrainerState:
  """The `TrainerState` of such a dict, the weights and state fitted to `model`."""
  signature = model.weights_and_state_signature(trainer_state_dict['input_signature'])
  weights, model_state = tl.unflatten_weights_and_state(
    trainer_state_dict['flat_weights'], trainer_state_dict['flat_state'], signature
  )
  opt_state = OptState(
    weights=weights, slots=trainer_state_dict['slots'], opt_params=trainer_state_dict['opt_params']
  )
  return TrainerState(
    step=trainer_state_dict['step'],
    opt_state=opt_state,
    history=trainer_state_dict['history'],
    model_state=model_state,
  )


def load_trainer_state(
  output_dir: str, model: tl.Layer, weights_file: 'str | None' = None
) -> TrainerState:
  """The `TrainerState` saved in `output_dir/model.pkl.gz` (or `weights_file`), read with
  the restricted unpickler; an empty state if there is no such file and none was named.

  Raises:
    ValueError: `weights_file` does not exist.
  """
  if weights_file is None:
    weights_file = os.path.join(output_dir, 'model.pkl.gz')
    if not file_io.exists(weights_file):
      return TrainerState(
        step=None, opt_state=None, history=history_lib.History(), model_state=None
      )
  elif not file_io.exists(weights_file):
    raise ValueError(f'File not found: {weights_file}')
  trainer_state = trainer_state_from_dict(
    training.unpickle_from_file(weights_file, gzip=True), model
  )
  log(f'Model loaded from {weights_file} at step {trainer_state.step}')
  return trainer_state


def _configured(obj: Any, selector: str) -> Any:
  """gin's wrapper of `obj` (registered as `selector` by `trax.gin_config`), else `obj`.

  `train`'s defaults (e.g. `inputs=batcher`) go through this, so they get a config's
  bindings (`batcher.batch_size_per_device = ...`) as in Trax 1.4, where the defaults were
  gin-decorated functions. Read from gin itself: this module does not import
  `trax.gin_config`, which imports it.
  """
  gin = sys.modules.get('gin')
  if gin is None:
    return obj
  try:
    return gin.get_configurable(selector)
  except ValueError:  # Not registered: trax's gin configuration was not loaded.
    return obj
