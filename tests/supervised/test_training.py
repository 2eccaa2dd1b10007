"""Loop, TrainTask and EvalTask end to end on tiny models, against known numbers."""

import os

import numpy as np
import pytest

import trax.layers as tl
from trax import optimizers
from trax import shapes
from trax.supervised import reporting
from trax.supervised import training
from tests.supervised import helpers


def test_mlp_regression_loss_falls_to_known_level():
  task = training.TrainTask(
    helpers.regression_stream(0), tl.L2Loss(), optimizers.Adam(0.01), n_steps_per_checkpoint=100
  )
  eval_task = training.EvalTask(helpers.regression_stream(1), [tl.L2Loss()], n_eval_batches=4)
  loop = training.Loop(helpers.mlp(), task, eval_tasks=[eval_task], random_seed=0)
  loop.run(300)
  assert loop.step == 300
  evals = loop.history.get('eval', 'metrics/L2Loss')
  assert [step for step, _ in evals] == [1, 100, 200, 300]
  assert evals[0][1] > 5.0  # Targets have variance 14.
  assert evals[-1][1] < 0.1
  train = loop.history.get('train', 'metrics/L2Loss')
  assert [step for step, _ in train] == [1, 100, 200, 300] and train[-1][1] < 0.2
  assert loop.history.metrics_for_mode('train') == [
    'metrics/L2Loss',
    'training/gradients_l2',
    'training/learning_rate',
    'training/steps per second',
    'training/weights_l2',
  ]
  # The model holds the trained weights: its own L2 loss on fresh data is small too.
  x, y, _ = next(helpers.regression_stream(2, batch_size=256))
  assert np.mean((np.asarray(loop.model(x)) - y) ** 2) < 0.1


def test_classification_accuracy_and_cross_entropy():
  model = tl.Serial(tl.Dense(8), tl.Relu(), tl.Dense(2))
  task = training.TrainTask(
    helpers.classification_stream(0),
    tl.WeightedCategoryCrossEntropy(),
    optimizers.Adam(0.01),
    n_steps_per_checkpoint=100,
  )
  eval_task = training.EvalTask(
    helpers.classification_stream(1),
    [tl.WeightedCategoryCrossEntropy(), tl.WeightedCategoryAccuracy()],
    metric_names=['xent', 'accuracy'],
    n_eval_batches=4,
  )
  loop = training.Loop(model, task, eval_tasks=eval_task, random_seed=0)
  loop.run(200)
  accuracy = loop.history.get('eval', 'metrics/accuracy')
  assert accuracy[0][1] < 0.9 and accuracy[-1][1] >= 0.97
  assert loop.history.get('eval', 'metrics/xent')[-1][1] < 0.1


def test_sgd_steps_match_hand_computation_with_schedule():
  # One weight, loss mean((w x - y)^2): gradient 2 mean(x (w x - y)). The schedule is
  # asked for steps 1, 2, 3 (the step being taken), as in Trax.
  x = np.array([[1.0], [2.0]], np.float32)
  y = np.array([[2.0], [4.0]], np.float32)
  batches = iter(lambda: (x, y, np.ones_like(y)), None)
  model = tl.Serial(tl.Dense(1, use_bias=False))
  task = training.TrainTask(
    batches, tl.L2Loss(), optimizers.SGD(1.0), lr_schedule=lambda step: 0.01 * step
  )
  loop = training.Loop(model, task, random_seed=0)
  w = float(np.asarray(model.weights[0]).ravel()[0])
  for step in (1, 2, 3):
    loop.run(1)
    w -= 0.01 * step * 2 * np.mean(x * (w * x - y))
    np.testing.assert_allclose(np.asarray(loop.model.weights[0]).ravel()[0], w, rtol=1e-5)


def test_step_and_eval_compile_once():
  task = training.TrainTask(
    helpers.regression_stream(), tl.L2Loss(), optimizers.Adam(0.01), n_steps_per_checkpoint=3
  )
  eval_task = training.EvalTask(helpers.regression_stream(1), [tl.L2Loss()])
  loop = training.Loop(helpers.mlp(dropout=0.1), task, eval_tasks=[eval_task], random_seed=0)
  loop.run(5)
  loop.run(4)
  assert loop._trainers[0].n_traces == 1
  evaluator = loop._evaluation._evaluators[0]
  assert evaluator._compiled_metrics._cache_size() == 1


def test_multitask_shares_the_model_and_takes_turns():
  # Two tasks fit the same body to the same targets with different losses; which_task
  # picks task (step % 2), so each gets half of the steps.
  model = tl.Serial(tl.Dense(16), tl.Relu(), tl.Dense(1))
  tasks = [
    training.TrainTask(
      helpers.regression_stream(0), tl.L2Loss(), optimizers.Adam(0.01), n_steps_per_checkpoint=100
    ),
    training.TrainTask(helpers.regression_stream(1), tl.SmoothL1Loss(), optimizers.Adam(0.01)),
  ]
  eval_task = training.EvalTask(helpers.regression_stream(2), [tl.L2Loss()], n_eval_batches=4)
  loop = training.Loop(model, tasks, eval_tasks=[eval_task], random_seed=0)
  loop.run(400)
  assert [task.n_batches_taken for task in tasks] == [200, 200]
  assert [t.n_traces for t in loop._trainers] == [1, 1]
  l2 = loop.history.get('train', 'metrics/L2Loss')
  smooth = loop.history.get('train', 'metrics/SmoothL1Loss')
  assert l2[-1][1] < 0.1 * l2[0][1] and smooth[-1][1] < 0.1 * smooth[0][1]
  assert loop.history.get('eval', 'metrics/L2Loss')[-1][1] < 0.1


def test_eval_model_defaults_to_eval_mode_sharing_weights():
  model = helpers.mlp(dropout=0.5)
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.0))
  eval_batch = next(helpers.regression_stream(5))
  eval_task = training.EvalTask(iter(lambda: eval_batch, None), [tl.L2Loss()], n_eval_batches=3)
  loop = training.Loop(model, task, eval_tasks=[eval_task], random_seed=0)
  loop.run(1)
  assert loop.eval_model is not loop.model
  for w, v in zip(helpers.flat_weights(loop.model), helpers.flat_weights(loop.eval_model)):
    np.testing.assert_array_equal(w, v)
  # No dropout in evals: the metric is the deterministic loss of the weights.
  no_dropout = helpers.mlp(dropout=0.5, mode='eval')
  no_dropout.init(shapes.signature(eval_batch[0]))
  no_dropout.weights = loop.model.weights
  x, y, _ = eval_batch
  expected = np.mean((np.asarray(no_dropout(x)) - y) ** 2)
  np.testing.assert_allclose(loop.history.get('eval', 'metrics/L2Loss')[0][1], expected, rtol=1e-5)


def test_eval_model_without_eval_tasks_is_built_when_read_with_the_trained_weights():
  model = helpers.mlp(dropout=0.5)
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.1))
  loop = training.Loop(model, task, random_seed=0)
  loop.run(2)  # No eval model is initialized for this (it is built on first use).
  eval_model = loop.eval_model
  for w, v in zip(helpers.flat_weights(loop.model), helpers.flat_weights(eval_model)):
    np.testing.assert_array_equal(w, v)
  x = next(helpers.regression_stream(5))[0]
  np.testing.assert_array_equal(eval_model(x), eval_model(x))  # Eval mode: no dropout.
  loop.run(1)
  np.testing.assert_array_equal(
    helpers.flat_weights(loop.eval_model)[0], helpers.flat_weights(loop.model)[0]
  )


def test_batches_that_do_not_fit_the_loss_are_refused():
  def pairs():
    for x, y, _ in helpers.regression_stream():
      yield x, y

  task = training.TrainTask(pairs(), tl.L2Loss(), optimizers.SGD(0.1))
  with pytest.raises(ValueError, match='batches hold 2 arrays.*3 arrays in all'):
    training.Loop(helpers.mlp(), task)


def test_memory_efficient_trainer_is_refused():
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.1))
  with pytest.raises(ValueError, match='memory-efficient'):
    training.Loop(helpers.mlp(), task, use_memory_efficient_trainer=True)
  with pytest.raises(ValueError, match='checkpoint on eval metric'):
    training.Loop(helpers.mlp(), task, checkpoint_low_metric='accuracy')


def test_progress_line_names_step_speed_loss_and_eta(monkeypatch, capsys):
  monkeypatch.setattr(reporting, 'PROGRESS_INTERVAL_SECONDS', 0.0)
  task = training.TrainTask(
    helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.01), n_steps_per_checkpoint=None
  )
  loop = training.Loop(helpers.mlp(), task, random_seed=0)
  loop.run(3)
  lines = [l for l in capsys.readouterr().out.splitlines() if 'steps/s' in l]
  assert len(lines) == 3
  assert lines[-1].startswith('Step      3/3:') and 'L2Loss ' in lines[-1]
  assert lines[-1].endswith('ETA 0s')


def test_non_finite_loss_stops_naming_the_step(tmp_path):
  def poisoned():
    for i, (x, y, w) in enumerate(helpers.regression_stream()):
      yield x, (y * np.nan if i == 7 else y), w  # Batch 0 is the sample batch.

  task = training.TrainTask(poisoned(), tl.L2Loss(), optimizers.SGD(0.01), n_steps_per_checkpoint=5)
  loop = training.Loop(
    helpers.mlp(), task, output_dir=str(tmp_path), random_seed=0, eval_at=lambda step: False
  )
  with pytest.raises(training.NonFiniteLossError, match='at step 7;.*of step 5'):
    loop.run(10)
  from trax.checkpoint_files import checkpoints

  kept = checkpoints.read(str(tmp_path / 'model.npz'))
  assert kept.step == 5
  assert all(np.all(np.isfinite(w)) for w in kept.flat_weights)


def _scalars(directory) -> dict:
  """{tag: [(step, value)]} of the TensorBoard event files in `directory`."""
  import tensorflow as tf

  scalars = {}
  for name in sorted(os.listdir(directory)):
    for record in tf.data.TFRecordDataset(os.path.join(directory, name)):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        number = float(tf.make_ndarray(value.tensor))
        scalars.setdefault(value.tag, []).append((event.step, number))
  return scalars


def test_tensorboard_event_files_hold_the_logged_scalars(tmp_path):
  task = training.TrainTask(
    helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.01), n_steps_per_checkpoint=3
  )
  eval_task = training.EvalTask(helpers.regression_stream(1), [tl.L2Loss()], metric_names=['l2'])
  loop = training.Loop(
    helpers.mlp(), task, eval_tasks=[eval_task], output_dir=str(tmp_path), random_seed=0
  )
  loop.run(6)
  train = _scalars(tmp_path / 'train')
  assert set(train) == {
    'metrics/L2Loss',
    'training/learning_rate',
    'training/gradients_l2',
    'training/weights_l2',
    'training/steps per second',
  }
  np.testing.assert_allclose(
    train['metrics/L2Loss'], loop.history.get('train', 'metrics/L2Loss'), rtol=1e-6
  )
  assert [v for _, v in train['training/learning_rate']] == pytest.approx([0.01] * 3)
  eval_scalars = _scalars(tmp_path / 'eval')
  assert list(eval_scalars) == ['metrics/l2']
  np.testing.assert_allclose(
    eval_scalars['metrics/l2'], loop.history.get('eval', 'metrics/l2'), rtol=1e-6
  )
  assert [step for step, _ in eval_scalars['metrics/l2']] == [1, 3, 6]
