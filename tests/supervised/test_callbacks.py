"""Callbacks: called before and after the steps they choose, in order, seeing the model."""

import numpy as np

import trax.layers as tl
from trax import optimizers
from trax.supervised import callbacks
from trax.supervised import training
from tests.supervised import helpers


class _Recorder(callbacks.TrainingStepCallback):
  """Records hook calls at even steps, with the model's first weight at each call."""

  events = []

  def call_at(self, step):
    return step % 2 == 0

  def on_step_begin(self, step):
    self.events.append(('begin', step, np.asarray(self._loop.model.weights[0][0]).copy()))

  def on_step_end(self, step):
    self.events.append(('end', step, np.asarray(self._loop.model.weights[0][0]).copy()))


def test_hooks_run_in_order_at_chosen_steps_and_see_current_weights():
  _Recorder.events = []
  model = tl.Serial(tl.Dense(1))
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.1))
  loop = training.Loop(model, task, random_seed=0, callbacks=[_Recorder])
  after_step = []
  for _ in range(4):
    loop.run(1)
    after_step.append(np.asarray(loop.model.weights[0][0]).copy())
  assert [(hook, step) for hook, step, _ in _Recorder.events] == [
    ('begin', 2),
    ('end', 2),
    ('begin', 4),
    ('end', 4),
  ]
  # Before step 2 the weights are those after step 1; after it, those after step 2.
  np.testing.assert_array_equal(_Recorder.events[0][2], after_step[0])
  np.testing.assert_array_equal(_Recorder.events[1][2], after_step[1])
  np.testing.assert_array_equal(_Recorder.events[3][2], after_step[3])
  assert not np.array_equal(after_step[0], after_step[1])


def test_base_class_defaults_call_every_step_and_do_nothing():
  callback = callbacks.TrainingStepCallback(loop=None)
  assert callback.call_at(1) and callback.call_at(7)
  assert callback.on_step_begin(1) is None and callback.on_step_end(1) is None
