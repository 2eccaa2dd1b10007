"""trainer_lib's helpers from Trax 1.4's 2020 trainer (`train` itself: test_gin_trainer.py)."""

import gzip
import pickle

import numpy as np

from trax import shapes
import trax.layers as tl
from trax.supervised import history as history_lib
from trax.supervised import trainer_lib


def test_epochs_as_trax():
  assert list(trainer_lib.epochs(10, 3, [1, 4, 4, 4])) == [2, 4, 1]
  assert list(trainer_lib.epochs(10, 0, iter([1, 3, 3, 3, 3]))) == [1, 3, 3, 3]
  assert list(trainer_lib.epochs(5, 5, [1, 4])) == []


def test_2020_trainer_state_round_trip(tmp_path):
  model = tl.Serial(tl.Dense(2), tl.Relu())
  signature = shapes.ShapeDtype((1, 3))
  weights, state = model.init(signature)
  opt_state = trainer_lib.OptState(
    weights=weights, slots=[np.zeros(2)], opt_params={'learning_rate': np.float32(0.1)}
  )
  d = trainer_lib.make_trainer_state_dict(7, opt_state, history_lib.History(), state, signature)
  assert d['version_timestamp'] == 'Jun-18-2020' and len(d['flat_weights']) == 2
  with gzip.open(tmp_path / 'model.pkl.gz', 'wb') as f:
    pickle.dump(d, f)
  loaded = trainer_lib.load_trainer_state(str(tmp_path), tl.Serial(tl.Dense(2), tl.Relu()))
  assert loaded.step == 7
  np.testing.assert_array_equal(loaded.opt_state.weights[0][0], weights[0][0])
  empty = trainer_lib.load_trainer_state(str(tmp_path / 'none'), model)
  assert empty.step is None
