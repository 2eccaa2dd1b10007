"""Fixtures shared by the converters tests (computed once per test process)."""

import numpy as np
import pytest

from trax import optimizers
import trax.layers as tl
from trax.supervised import training
from tests.converters import helpers


@pytest.fixture(scope='session')
def lm_run_dir(tmp_path_factory) -> str:
  """The output directory of a (short) `Loop` training `helpers.lm()` on length 8."""

  def batches():
    rng = np.random.default_rng(0)
    while True:
      x = rng.integers(1, 32, (4, 8)).astype(np.int32)
      yield x, x, np.ones_like(x, np.float32)

  directory = tmp_path_factory.mktemp('run')
  task = training.TrainTask(
    batches(), tl.WeightedCategoryCrossEntropy(), optimizers.Adam(0.01), n_steps_per_checkpoint=2
  )
  training.Loop(helpers.lm(), [task], output_dir=str(directory)).run(2)
  return str(directory)
