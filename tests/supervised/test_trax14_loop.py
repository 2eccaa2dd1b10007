"""Trax 1.4's private `Loop` members (`trax.supervised.trax14_loop`), against `Loop.run`."""

import collections
import os

import numpy as np
import pytest

import trax.layers as tl
from trax import fastmath
from trax import optimizers
from trax.supervised import reporting
from trax.supervised import training
from tests.supervised import helpers


def _loop(output_dir=None, n_tasks=1, eval_tasks=True, **kwargs):
  tasks = [
    training.TrainTask(
      helpers.regression_stream(i),
      tl.L2Loss(),
      optimizers.SGD(0.05),
      n_steps_per_checkpoint=2,
      export_prefix=f'task{i}' if n_tasks > 1 else None,
    )
    for i in range(n_tasks)
  ]
  evals = [training.EvalTask(helpers.regression_stream(9), [tl.L2Loss()])] if eval_tasks else []
  model = tl.Serial(tl.Dense(4), tl.Relu(), tl.Dense(1))
  return training.Loop(
    model, tasks, eval_tasks=evals, output_dir=output_dir, random_seed=0, **kwargs
  )


def _trax14_steps(loop, n_steps):
  """Steps taken as Trax 1.4's `Loop.run` took them; the weights the model holds after
  each (read between steps) and the losses returned."""
  weights, losses = [], []
  for _ in range(n_steps):
    loop._step += 1
    loss, metrics = loop._run_one_step(loop._which_task(loop._step), False)
    assert set(metrics) == {'gradients_l2', 'weights_l2'}  # The optimizer's, as in Trax.
    weights.append(helpers.flat_weights(loop.model))
    losses.append(float(loss))
  return weights, losses


def _assert_close(flat, expected):
  assert len(flat) == len(expected)
  for w, e in zip(flat, expected):
    np.testing.assert_allclose(w, e, rtol=1e-6)


def test_run_one_step_leaves_each_steps_weights_in_the_model():
  trax14 = _loop(eval_tasks=False)
  weights, losses = _trax14_steps(trax14, 3)
  _assert_close(helpers.flat_weights(trax14._eval_model), weights[-1])

  plain = _loop(eval_tasks=False, eval_at=lambda step: True)  # Reports every step's loss.
  for step in range(3):
    plain.run(1)
    _assert_close(weights[step], helpers.flat_weights(plain.model))
  train_losses = [loss for _, loss in plain.history.get('train', 'metrics/L2Loss')]
  np.testing.assert_allclose(losses, train_losses, rtol=1e-6)
  assert losses[2] < losses[0]


def test_run_one_step_on_the_tensorflow_backend():
  pytest.importorskip('tensorflow')
  trax14 = _loop(eval_tasks=False, backend='tensorflow-numpy')
  weights, _ = _trax14_steps(trax14, 2)
  plain = _loop(eval_tasks=False, backend='tensorflow-numpy')
  plain.run(2)
  _assert_close(weights[-1], helpers.flat_weights(plain.model))


def test_weights_assigned_between_steps_are_trained_from():
  trax14, plain = _loop(eval_tasks=False), _loop(eval_tasks=False)
  _trax14_steps(trax14, 1)
  plain.run(1)
  halve = lambda model: fastmath.nested_map(lambda w: np.asarray(w) / 2, model.weights)
  trax14.model.weights = halve(trax14.model)  # As Trax 1.4 code may, between steps.
  plain.update_weights_and_state(halve(plain.model))
  weights, _ = _trax14_steps(trax14, 1)
  plain.run(1)
  _assert_close(weights[0], helpers.flat_weights(plain.model))


def test_callbacks_run_in_run_one_step_on_the_steps_weights():
  seen = []

  class Recorder:
    def __init__(self, loop):
      self._loop = loop

    def call_at(self, step):
      return step == 2

    def on_step_begin(self, step):
      seen.append(('begin', step, helpers.flat_weights(self._loop.model)))

    def on_step_end(self, step):
      seen.append(('end', step, helpers.flat_weights(self._loop.model)))

  loop = _loop(eval_tasks=False, callbacks=[Recorder])
  weights, _ = _trax14_steps(loop, 3)
  assert [(hook, step) for hook, step, _ in seen] == [('begin', 2), ('end', 2)]
  _assert_close(seen[0][2], weights[0])
  _assert_close(seen[1][2], weights[1])


def test_open_summary_writers_gives_one_writer_per_task(tmp_path):
  loop = _loop(str(tmp_path), n_tasks=2, which_task=lambda step: step % 2)
  with loop._open_summary_writers() as (train_writers, eval_writers):
    assert [w.log_dir for w in train_writers] == [
      os.path.join(str(tmp_path), f'task{i}', 'train') for i in range(2)
    ]
    assert [w.log_dir for w in eval_writers] == [os.path.join(str(tmp_path), 'eval')]
  with _loop(n_tasks=2)._open_summary_writers() as writers:
    assert writers == ([None, None], [None])


def test_log_training_progress_reports_the_callers_sums(tmp_path, capsys):
  loop = _loop(str(tmp_path))
  _trax14_steps(loop, 1)
  with loop._open_summary_writers() as (train_writers, _):
    loop._log_training_progress(
      task=loop._tasks[0],
      total_loss=6.0,
      n_steps=3,
      elapsed_time=1.5,
      optimizer_metrics=collections.defaultdict(float, gradients_l2=3.0),
      summary_writer=train_writers[0],
    )
  printed = capsys.readouterr().out
  assert 'Step      1: Total number of trainable weights: 21\n' in printed  # 3*4+4+4+1
  assert 'Step      1: Ran 3 train steps in 1.50 secs\n' in printed
  train = loop.history
  assert train.metrics_for_mode('train') == [
    'metrics/L2Loss',
    'training/gradients_l2',
    'training/learning_rate',
    'training/steps per second',
  ]
  assert train.get('train', 'metrics/L2Loss') == [(1, 2.0)]  # 6 / 3
  assert train.get('train', 'training/gradients_l2') == [(1, 1.0)]
  assert train.get('train', 'training/steps per second') == [(1, 2.0)]  # 3 / 1.5
  assert train.get('train', 'training/learning_rate') == [(1, pytest.approx(0.05))]
  assert any(f.startswith('events.out') for f in os.listdir(tmp_path / 'train'))

  # Loop.run then reports its own steps only (the first step was reported above).
  loop.run(1)
  assert 'Step      2: Ran 1 train steps in' in capsys.readouterr().out


def test_run_evals_writes_to_the_writers_given(tmp_path):
  loop = _loop(str(tmp_path / 'loop'))
  _trax14_steps(loop, 1)
  writer = reporting.SummaryWriter(str(tmp_path / 'given'))
  loop.run_evals([writer])
  loop.run_evals()
  assert [step for step, _ in loop.history.get('eval', 'metrics/L2Loss')] == [1, 1]
  assert os.listdir(tmp_path / 'given') and os.listdir(tmp_path / 'loop' / 'eval')


def test_best_metric_members_follow_the_eval_history():
  loop = _loop(checkpoint_low_metric='L2Loss', checkpoint_high_metric='L2Loss')
  assert loop._checkpoint_low_metric == loop._checkpoint_high_metric == 'L2Loss'
  history = type(loop.history)()
  loop._history = history  # Trax 1.4's load_checkpoint replaced it so.
  assert loop.history is history and loop._history is history
  for step, value, lowest, highest in [
    (1, 3.0, True, True),
    (2, 1.0, True, False),
    (3, 2.0, False, False),
    (4, 1.0, True, False),
  ]:
    history.append('eval', 'metrics/L2Loss', step, value)
    assert (loop._at_lowest(), loop._at_highest()) == (lowest, highest)
  assert _loop()._checkpoint_low_metric is None


def test_trax14_loop_body_writes_the_checkpoints_plain_run_writes(tmp_path):
  """Trax 1.4's loop body on its members (as `earlystopping.ipynb` copies it) saves the
  same `model`, `model_<step>` and `lowest_<metric>` checkpoints as `Loop.run`."""
  kwargs = dict(checkpoint_low_metric='L2Loss', permanent_checkpoint_at=lambda step: step == 4)
  trax14, plain = (
    _loop(str(tmp_path / 'trax14'), **kwargs),
    _loop(str(tmp_path / 'plain'), **kwargs),
  )
  with trax14._open_summary_writers() as (train_writers, eval_writers):
    for _ in range(6):
      trax14._step += 1
      loss, _ = trax14._run_one_step(0, False)
      if trax14._checkpoint_at(trax14.step):
        trax14.save_checkpoint('model')
      if trax14._permanent_checkpoint_at(trax14.step):
        trax14.save_checkpoint(f'model_{trax14.step}')
      if trax14._eval_at(trax14.step):
        trax14._log_training_progress(trax14._tasks[0], loss, 1, 0.1, {}, train_writers[0])
        trax14.run_evals(eval_writers)
      if trax14._checkpoint_at(trax14.step) and trax14._at_lowest():
        trax14.save_checkpoint(f'lowest_{trax14._checkpoint_low_metric}')
  plain.run(6)

  files = sorted(f for f in os.listdir(tmp_path / 'plain') if f.endswith('.npz'))
  assert files == ['lowest_L2Loss.npz', 'model.npz', 'model_4.npz']
  assert sorted(f for f in os.listdir(tmp_path / 'trax14') if f.endswith('.npz')) == files
  for name in files:
    saved = []
    for directory in ('trax14', 'plain'):
      model = tl.Serial(tl.Dense(4), tl.Relu(), tl.Dense(1))
      model.init_from_file(str(tmp_path / directory / name))
      saved.append(helpers.flat_weights(model))
    _assert_close(*saved)
  assert trax14.history.get('eval', 'metrics/L2Loss') == plain.history.get('eval', 'metrics/L2Loss')


def test_trax14_constants_and_logging(capsys):
  loop = _loop()
  assert loop._n_devices == loop.n_devices == 1
  assert loop._use_memory_efficient_trainer is False
  assert loop._eval_model is loop.eval_model
  loop._step = 12
  loop._log_step('Loss: 0.5000')
  loop._log_step('not printed', stdout=False)
  assert capsys.readouterr().out == 'Step     12: Loss: 0.5000\n'
