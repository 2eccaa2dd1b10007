"""Trax 1.4 Loop output directories: init_from_file, resuming with data counters, names."""

import os

import numpy as np

import trax.layers as tl
from trax import data
from trax import optimizers
from trax.checkpoint_files import checkpoints
from trax.supervised import training
from tests.supervised import helpers
from tests.supervised import trax14_files


def _counted(name, seed):
  return data.Serial(lambda _: helpers.regression_stream(seed), data.CountAndSkip(name))()


def _loop(output_dir, **kwargs):
  task = training.TrainTask(
    _counted('train', 0), tl.L2Loss(), optimizers.Adam(0.01), n_steps_per_checkpoint=5
  )
  eval_task = training.EvalTask(_counted('eval', 1), [tl.L2Loss()], n_eval_batches=2)
  return training.Loop(
    helpers.mlp(), task, eval_tasks=[eval_task], output_dir=output_dir, random_seed=0, **kwargs
  )


def _fresh_process():
  data.inputs.data_counters.clear()  # As a new Python process starts.


def _history(loop):
  values = loop.history.to_dict()['_values']
  values['train'].pop('training/steps per second')
  return values


def test_resuming_from_a_trax14_directory_continues_exactly(tmp_path):
  _fresh_process()
  straight = _loop(str(tmp_path / 'straight'))
  straight.run(20)

  _fresh_process()
  first = _loop(str(tmp_path / 'ours'))
  first.run(10)
  counters = dict(data.inputs.data_counters)
  assert counters == {'train': 11, 'eval': 1 + 2 * 3}  # Sample batches included.
  trax14_dir = tmp_path / 'trax14'
  trax14_dir.mkdir()
  trax14_files.write_loop_checkpoint(
    str(trax14_dir), 'model', checkpoints.read(str(tmp_path / 'ours' / 'model.npz'))
  )
  trax14_files.write_data_counters(str(trax14_dir), counters)

  _fresh_process()
  resumed = _loop(str(trax14_dir))
  assert resumed.step == 10
  assert [s for s, _ in resumed.history.get('eval', 'metrics/L2Loss')] == [1, 5, 10]
  resumed.run(10)

  for w, v in zip(helpers.flat_weights(straight.model), helpers.flat_weights(resumed.model)):
    np.testing.assert_array_equal(w, v)
  for s, t in zip(straight._trainers[0].slots, resumed._trainers[0].slots):
    np.testing.assert_array_equal(np.asarray(s.m), np.asarray(t.m))
  assert _history(straight) == _history(resumed)
  assert sorted(os.listdir(trax14_dir))[:2] == ['data_counters0.pkl', 'eval']
  assert data.inputs.data_counters == {'train': 21, 'eval': 1 + 2 * 5}
  _fresh_process()


def test_init_from_file_reads_every_checkpoint_of_a_trax14_directory(tmp_path):
  _fresh_process()
  loop = _loop(str(tmp_path / 'ours'), checkpoint_low_metric='L2Loss')
  loop.run(5)
  ours = checkpoints.read(str(tmp_path / 'ours' / 'model.npz'))
  trax14_dir = str(tmp_path / 'trax14')
  os.makedirs(trax14_dir)
  for basename in ('model', 'model_5', 'lowest_L2Loss'):
    trax14_files.write_loop_checkpoint(trax14_dir, basename, ours)
  for basename in ('model', 'model_5', 'lowest_L2Loss'):
    model = helpers.mlp(mode='eval')
    model.init_from_file(
      os.path.join(trax14_dir, basename + '.pkl.gz'),
      weights_only=True,
      input_signature=ours.input_signature,
    )
    for w, v in zip(helpers.flat_weights(model), ours.flat_weights):
      np.testing.assert_array_equal(w, v)
  _fresh_process()


def test_best_metric_and_permanent_checkpoints_use_trax_names(tmp_path):
  _fresh_process()
  task = training.TrainTask(
    helpers.regression_stream(0),
    tl.L2Loss(),
    optimizers.Adam(0.01),
    n_steps_per_checkpoint=5,
    n_steps_per_permanent_checkpoint=10,
  )
  eval_task = training.EvalTask(helpers.regression_stream(1), [tl.L2Loss()])
  loop = training.Loop(
    helpers.mlp(),
    task,
    eval_tasks=eval_task,
    output_dir=str(tmp_path),
    checkpoint_low_metric='L2Loss',
    random_seed=0,
  )
  loop.run(10)
  names = sorted(n for n in os.listdir(tmp_path) if n.endswith('.npz'))
  assert names == ['lowest_L2Loss.npz', 'model.npz', 'model_1.npz', 'model_10.npz']
  assert 'data_counters0.pkl' not in os.listdir(tmp_path)  # No CountAndSkip in use.
  # The restored history holds the evals of the checkpoint's own step.
  restored = checkpoints.read(str(tmp_path / 'model.npz')).history
  assert [s for s, _ in restored.get('eval', 'metrics/L2Loss')] == [1, 5, 10]


def test_summaries_go_to_per_task_directories_as_in_trax(tmp_path):
  tasks = [
    training.TrainTask(
      helpers.regression_stream(s),
      tl.L2Loss(),
      optimizers.SGD(0.01),
      n_steps_per_checkpoint=2,
      export_prefix=prefix,
    )
    for s, prefix in ((0, 'first'), (1, None))
  ]
  eval_tasks = [
    training.EvalTask(helpers.regression_stream(s), [tl.L2Loss()], export_prefix=prefix)
    for s, prefix in ((2, None), (3, 'heldout'))
  ]
  loop = training.Loop(
    helpers.mlp(), tasks, eval_tasks=eval_tasks, output_dir=str(tmp_path), random_seed=0
  )
  loop.run(2)
  written = sorted(
    str(p.parent.relative_to(tmp_path)) for p in tmp_path.glob('*/*/events.out.tfevents.*')
  )
  assert written == ['0/eval', '1/train', 'first/train', 'heldout/eval']
  single = tmp_path / 'single'
  _fresh_process()
  _loop(str(single)).run(1)
  assert sorted(p.parent.name for p in single.glob('*/events.out.tfevents.*')) == ['eval', 'train']
  _fresh_process()
