"""Weights and optimizer slots split over a mesh's model axis (trax.sharding, Loop(mesh=...)).

The oracle is the same loop on one device: a sharded loop must train to the same weights,
hold about 1/model of them per device (computed here from the shapes), and its orbax
checkpoints must restore into one device and back. Runs on 8 forced CPU devices in a
subprocess; rules and errors that need no devices run here.
"""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from trax import sharding
from trax.supervised import devices
from tests.supervised import helpers

_SHARDED_LIKE_ONE_DEVICE = r'''
import os
import tempfile

import jax
import numpy as np
import pytest
import trax.layers as tl
from jax.sharding import PartitionSpec as P
from trax import optimizers, sharding
from trax.supervised import training
from tests.supervised import distributed_worker, helpers

def train(mesh=None, n_steps=4, output_dir=None, model=None):
  loop = distributed_worker.build_loop(output_dir, mesh, with_eval=False, model=model,
                                       n_devices=None if mesh else 1)
  loop.run(n_steps - loop.step)
  return loop

def assert_close(a, b, **tolerance):
  for w, v in zip(helpers.flat_weights(a.model), helpers.flat_weights(b.model)):
    np.testing.assert_allclose(w, v, **(tolerance or dict(rtol=1e-5, atol=1e-6)))

one = train()
# Layout: each weight split along its largest dimension the model axis divides.
sharded = train(sharding.make_mesh(data=2, model=4), output_dir=tempfile.mkdtemp())
specs = [w.sharding.spec for w in tl.flatten_weights_and_state(sharded.model.weights, ())[0]]
assert specs == [P(None, 'model'), P('model'), P('model'), P()], specs
assert_close(sharded, one)

# Memory: weights and Adam's two slots per weight, per device, against replicated.
def expected_bytes(n_model):
  return 3 * sum(4 * (w.size // n_model if w.size % n_model == 0 else w.size)
                 for w in helpers.flat_weights(one.model))
def assert_bytes(loop, n_model):
  used = sharding.bytes_per_device((loop.model.weights, loop._trainers[0].slots))
  assert set(used.values()) == {expected_bytes(n_model)}, (n_model, used)
assert_bytes(sharded, 4)

# The orbax checkpoint of the sharded loop restores into one device, exactly.
directory = sharded.output_dir
sharded.save_checkpoint('model')
assert sorted(os.listdir(directory)) == ['model.orbax'], os.listdir(directory)
resumed = train(n_steps=0, output_dir=directory)
assert resumed.step == 4 and resumed.n_devices == 1
assert_close(resumed, sharded, rtol=0, atol=0)

# Clear errors: a batch the data axis does not divide, a checkpoint of another model, a
# mesh larger than the devices.
task = training.TrainTask(helpers.regression_stream(0, batch_size=12), tl.L2Loss(),
                          optimizers.Adam(0.01))
uneven = training.Loop(helpers.mlp(), task, mesh=sharding.make_mesh(data=8, model=1))
with pytest.raises(ValueError, match='shape \(12, 3\).*data axis.*multiple of 8'):
  uneven.run(1)
wider = train(sharding.make_mesh(data=2, model=4), n_steps=0,
              model=tl.Serial(tl.Dense(32), tl.Relu(), tl.Dense(1)))
def assert_refused(name):
  with pytest.raises(ValueError, match=f'{name}: model weights array 0 has shape \(3, 16\) '
                                       'but the layer expects \(3, 32\)'):
    wider.load_checkpoint(directory, name)
assert_refused('model.orbax')
with pytest.raises(ValueError, match='larger than the 8 devices'):
  sharding.make_mesh(data=4, model=4)
'''

_MORE_LAYOUTS_AND_NPZ = r'''
for loop, n_model in ((train(sharding.make_mesh(data=1, model=8)), 8),
                      (train(sharding.make_mesh(data=8, model=1)), 1)):
  assert_bytes(loop, n_model)
  assert_close(loop, one)
print('bytes per device', {n: expected_bytes(n) for n in (1, 4, 8)})

# The 1-device npz (written after the orbax one, so the newer) into a sharded layout.
resumed.run(2)
resumed.save_checkpoint('model')
back = train(sharding.make_mesh(data=1, model=8), n_steps=0, output_dir=directory)
assert back.step == 6
assert_close(back, resumed, rtol=0, atol=0)
assert back.model.weights[0][0].sharding.spec == P(None, 'model')
back.run(2)
assert_close(back, train(n_steps=8))
assert_refused('model.npz')
'''


def test_a_sharded_loop_trains_like_one_device_in_a_quarter_of_the_memory_and_checks():
  helpers.run_on_eight_devices(_SHARDED_LIKE_ONE_DEVICE + '\nprint("ok")')


@pytest.mark.slow  # 9 loops on 8 devices: ~15 s of CPU.
def test_more_layouts_and_a_one_device_npz_into_a_sharded_loop():
  helpers.run_on_eight_devices(_SHARDED_LIKE_ONE_DEVICE + _MORE_LAYOUTS_AND_NPZ + '\nprint("ok")')


def test_weights_split_along_their_largest_divisible_dimension():
  assert sharding.weight_spec((256, 1024), 4) == P(None, 'model')
  assert sharding.weight_spec((1024, 256), 4) == P('model')
  assert sharding.weight_spec((6, 8), 4) == P(None, 'model')  # 6 is not divisible.
  assert sharding.weight_spec((8, 8), 4) == P('model')  # The first of equals.
  assert sharding.weight_spec((3,), 4) == P()
  assert sharding.weight_spec((), 4) == P()
  assert sharding.weight_spec((256, 1024), 1) == P()


def test_meshes_and_placements_refuse_what_cannot_be():
  n = jax.device_count()
  with pytest.raises(
    ValueError, match=f'data=2 x model={n} = {2 * n} devices is larger than the {n} devices'
  ):
    sharding.make_mesh(data=2, model=n)
  with pytest.raises(ValueError, match='must be positive'):
    sharding.make_mesh(model=0)
  mesh = sharding.make_mesh()
  assert mesh.axis_names == ('data', 'model') and mesh.devices.shape == (n, 1)
  with pytest.raises(ValueError, match='n_devices .* or mesh, not both'):
    devices.Placement(n_devices=1, mesh=mesh)
  one_axis = jax.sharding.Mesh(np.array(jax.devices()), ('batch',))
  with pytest.raises(ValueError, match=r"axes \('data', 'model'\).*axes \('batch',\)"):
    devices.Placement(mesh=one_axis)


def test_split_batch_splits_leading_axes_the_data_axis_divides_and_replicate_copies():
  mesh = sharding.make_mesh(data=1, local_only=True)
  batch = {'x': np.arange(6.0).reshape(3, 2), 'scalar': np.float32(2.0), 'ids': [np.arange(4)]}
  placed = sharding.split_batch(batch, mesh)
  assert placed['x'].sharding.spec == P(sharding.DATA_AXIS)
  assert placed['scalar'].sharding.spec == P()
  np.testing.assert_array_equal(placed['ids'][0], np.arange(4))
  np.testing.assert_array_equal(placed['x'], batch['x'])
  copied = sharding.replicate((np.ones(3), np.zeros((2, 2))), mesh)
  assert [c.sharding.spec for c in copied] == [P(), P()]
  np.testing.assert_array_equal(copied[0], np.ones(3))
