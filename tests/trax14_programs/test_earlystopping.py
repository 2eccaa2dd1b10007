"""Trax 1.4's `earlystopping.ipynb`: its early-stopping callback on a linear regression.

What runs as written: the float64 data stream, `Batch` and `AddLossWeights`, the tasks,
the callback class (built by the `Loop`, its `call_at`/`on_step_begin` checks) and the
prediction. What does not: the notebook's `MyLoop` subclass re-implements `Loop.run` on
Trax 1.4's private `Loop` internals (`_run_one_step(task_index, task_changed)`,
`_open_summary_writers`, `_log_training_progress`, `_at_lowest`, ...), which trax's `Loop`
does not have; the test runs the callback in the plain `Loop`.
"""

import numpy as np

import trax
from trax import layers as tl
from trax.fastmath import numpy as jnp
from trax.supervised import training


def callback_earlystopper(
  monitor=None, min_delta=0, patience=0, mode='auto', restore_best_checkpoint=True
):
  class EarlyStopping:
    def __init__(self, loop):
      self._loop = loop
      self.monitor = monitor
      self.min_delta = jnp.abs(min_delta)
      self.patience = jnp.maximum(patience, 1)
      self.restore_best_checkpoint = restore_best_checkpoint
      if mode == 'min':
        self.monitor_op = jnp.less
      elif mode == 'max':
        self.monitor_op = jnp.greater
      else:
        if self.monitor.endswith('Accuracy'):
          self.monitor_op = jnp.greater
        else:
          self.monitor_op = jnp.less
      if self.monitor_op == np.greater:
        self.min_delta *= 1
      else:
        self.min_delta *= -1
      self.wait = 0
      self.stopped_step = 1
      self.best = jnp.inf if self.monitor_op == jnp.less else -jnp.inf
      self.best_step = 1
      self.best_checkpoint_path = None

    def _is_metric_exist(self):
      metric_names = [
        name for eval_task in self._loop._eval_tasks for name in eval_task.metric_names
      ]
      return self.monitor in metric_names

    def call_at(self, step):
      return self._loop._eval_at(step)

    def on_step_begin(self, step):
      if not self._is_metric_exist():
        raise SystemExit('Monitoring metric not found.')

    def on_step_end(self, step):
      pass

  return EarlyStopping


def get_data_linear():
  while True:
    x = np.random.randint(low=1, high=10) * 1.0
    y = x * 2.0 - 1
    yield (np.array([x]), np.array([y]))


def test_linear_regression_with_the_early_stopping_callback(workdir):
  np.random.seed(0)
  data_linear = get_data_linear()
  x, y = next(data_linear)
  assert x.dtype == np.float64 and y == 2 * x - 1

  data_pipeline = trax.data.Serial(
    trax.data.Batch(50),
    trax.data.AddLossWeights(),
  )
  data_stream = data_pipeline(data_linear)

  # Use the same data_stream for both training and evaluation
  train_task = training.TrainTask(
    labeled_data=data_stream,
    loss_layer=tl.L2Loss(),
    optimizer=trax.optimizers.SGD(0.01),
    n_steps_per_checkpoint=10,
  )
  eval_task = training.EvalTask(
    labeled_data=data_stream,
    metrics=[tl.L2Loss()],
    n_eval_batches=15,
  )
  earlystopping = callback_earlystopper(monitor='L2Loss', min_delta=1e-4)

  model_linear = tl.Serial(tl.Dense(1))
  training_loop = training.Loop(
    model=model_linear,
    tasks=train_task,
    eval_tasks=[eval_task],
    output_dir='./linear_model',
    callbacks=[earlystopping],
    random_seed=0,  # Not in the notebook: its unseeded init makes the end point vary.
  )
  training_loop.run(200)

  (callback,) = training_loop._callbacks
  assert isinstance(callback, earlystopping) and callback.patience == 1
  assert callback.call_at(10) and not callback.call_at(11)
  losses = [loss for _, loss in training_loop.history.get('eval', 'metrics/L2Loss')]
  assert losses[-1] < 0.1 and losses[-1] < min(losses[:3]) / 2, losses

  test_data = np.array([[2.0], [3.0], [10.0], [44.0]])
  np.testing.assert_allclose(model_linear(test_data), 2 * test_data - 1, rtol=0.15)
