"""Data parallel training: the same numbers on 8 devices as on 1 (forced CPU devices)."""

import jax
import numpy as np
import pytest

from trax.supervised import devices
from tests.supervised import helpers

_EIGHT_DEVICES = r'''
import tempfile

import jax
import numpy as np
import trax.layers as tl
from trax import optimizers
from trax.supervised import training
from tests.supervised import helpers

assert jax.local_device_count() == 8, jax.devices()


def train(n_devices, output_dir=None, n_steps=20):
  task = training.TrainTask(helpers.regression_stream(0, batch_size=16), tl.L2Loss(),
                            optimizers.Adam(0.01), n_steps_per_checkpoint=5)
  eval_task = training.EvalTask(helpers.regression_stream(1, batch_size=16), [tl.L2Loss()],
                                n_eval_batches=2)
  loop = training.Loop(helpers.mlp(dropout=0.2), task, eval_tasks=[eval_task],
                       n_devices=n_devices, random_seed=0, output_dir=output_dir)
  loop.run(n_steps)
  return loop


output_dir = tempfile.mkdtemp()
one, eight = train(1), train(8, output_dir)
# The 8-device checkpoint resumes on one device.
resumed = train(1, output_dir, n_steps=0)
assert resumed.step == 20
for w, v in zip(helpers.flat_weights(eight.model), helpers.flat_weights(resumed.model)):
  np.testing.assert_array_equal(w, v)
assert (one.n_devices, eight.n_devices) == (1, 8)
for w in jax.tree.leaves(eight.model.weights):
  assert len(w.sharding.device_set) == 8 and w.sharding.is_fully_replicated
batch = eight._trainers[0].place_batch(next(helpers.regression_stream(3)), step=1)
assert {shard.data.shape[0] for shard in batch[0].addressable_shards} == {2}
for mode in ('train', 'eval'):
  a = np.array(one.history.get(mode, 'metrics/L2Loss'))
  b = np.array(eight.history.get(mode, 'metrics/L2Loss'))
  assert a.shape == b.shape == (5, 2), (a.shape, b.shape)
  np.testing.assert_allclose(a, b, rtol=2e-5)
for w, v in zip(helpers.flat_weights(one.model), helpers.flat_weights(eight.model)):
  np.testing.assert_allclose(w, v, rtol=1e-5, atol=1e-6)
print('ok')
'''


@pytest.mark.slow  # A subprocess importing jax and tensorflow, compiling three loops.
def test_eight_devices_match_one_device():
  helpers.run_on_eight_devices(_EIGHT_DEVICES)


def test_batches_must_split_evenly_and_n_devices_must_exist():
  placement = devices.Placement(n_devices=1)
  n_local = jax.local_device_count()
  with pytest.raises(ValueError, match=f'between 1 and the {n_local} local device'):
    devices.Placement(n_devices=n_local + 1)
  placed = placement.shard_batch((np.ones((4, 3), np.float32),))
  np.testing.assert_array_equal(placement.to_host(placed)[0], np.ones((4, 3)))
  with pytest.raises(ValueError, match='first \\(batch\\) dimension'):
    placement.shard_batch((np.float32(1.0),))
