"""`trainer_lib.train` (Trax 1.4's gin entry point) on `Loop`, and its helpers."""

import gzip
import pickle

import numpy as np
import pytest

from trax import models
from trax import optimizers
from trax import shapes
import trax.layers as tl
from trax.data import synthetic
from trax.supervised import history as history_lib
from trax.supervised import lr_schedules
from trax.supervised import trainer_lib


def _copy_inputs():
  def stream(n_devices):
    del n_devices
    rng = np.random.default_rng(0)
    while True:
      ids = rng.integers(1, 6, (8, 6)).astype(np.int32)
      yield ids, ids, np.ones((8, 6), np.float32)
  return synthetic.Inputs(stream, stream)


def test_train_runs_a_loop_with_trax_defaults(tmp_path):
  model = lambda mode: models.TransformerLM(6, d_model=16, d_ff=32, n_layers=1, n_heads=2,
                                            max_len=8, mode=mode)
  loop = trainer_lib.train(str(tmp_path), model=model, inputs=_copy_inputs, steps=6,
                           eval_steps=2, eval_frequency=3, random_seed=0,
                           optimizer=lambda: optimizers.Adam(0.01),
                           lr_schedule_fn=lambda: lr_schedules.constant(0.01))
  assert loop.step == 6
  assert sorted(loop.history.metrics_for_mode('eval')) == [
      'metrics/accuracy', 'metrics/loss', 'metrics/neg_log_perplexity',
      'metrics/sequence_accuracy', 'metrics/weights_per_batch_per_core']
  assert loop.history.get('eval', 'metrics/weights_per_batch_per_core')[-1][1] == 48.
  # A second call resumes from the checkpoint and stops at once.
  again = trainer_lib.train(str(tmp_path), model=model, inputs=_copy_inputs(), steps=6,
                            optimizer=lambda: optimizers.Adam(0.01),
                            lr_schedule_fn=lambda: lr_schedules.constant(0.01))
  assert again.step == 6


def test_train_refuses_the_older_trainer():
  with pytest.raises(ValueError, match='Loop'):
    trainer_lib.train('/tmp/unused', model=models.MLP, use_loop=False)


def test_epochs_as_trax():
  assert list(trainer_lib.epochs(10, 3, [1, 4, 4, 4])) == [2, 4, 1]
  assert list(trainer_lib.epochs(10, 0, iter([1, 3, 3, 3, 3]))) == [1, 3, 3, 3]
  assert list(trainer_lib.epochs(5, 5, [1, 4])) == []


def test_2020_trainer_state_round_trip(tmp_path):
  model = tl.Serial(tl.Dense(2), tl.Relu())
  signature = shapes.ShapeDtype((1, 3))
  weights, state = model.init(signature)
  opt_state = trainer_lib.OptState(weights=weights, slots=[np.zeros(2)],
                                   opt_params={'learning_rate': np.float32(0.1)})
  d = trainer_lib.make_trainer_state_dict(7, opt_state, history_lib.History(), state,
                                          signature)
  assert d['version_timestamp'] == 'Jun-18-2020' and len(d['flat_weights']) == 2
  with gzip.open(tmp_path / 'model.pkl.gz', 'wb') as f:
    pickle.dump(d, f)
  loaded = trainer_lib.load_trainer_state(str(tmp_path), tl.Serial(tl.Dense(2), tl.Relu()))
  assert loaded.step == 7
  np.testing.assert_array_equal(loaded.opt_state.weights[0][0], weights[0][0])
  empty = trainer_lib.load_trainer_state(str(tmp_path / 'none'), model)
  assert empty.step is None
