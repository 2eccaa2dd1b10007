"""Sharded checkpoints (orbax): what goes in comes out, laid out as the reader asks.

On one device here; sharded layouts and several processes are in test_sharding.py and
test_distributed.py.
"""

import os

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from trax.checkpoint_files import checkpoints
from trax.supervised import history as history_lib
from trax.supervised import orbax_checkpoints

pytest.importorskip('orbax.checkpoint')


def a_checkpoint(step, scale=1.0):
  history = history_lib.History()
  history.append('train', 'metrics/loss', step, 0.5)
  return checkpoints.Checkpoint(
    flat_weights=[jnp.arange(6.0).reshape(2, 3) * scale, jnp.ones(4, ml_dtypes.bfloat16)],
    flat_state=[jnp.int32(7)],
    step=step,
    history=history,
    tasks=[
      checkpoints.TaskCheckpoint(
        flat_slots=[jnp.zeros((2, 3))],
        opt_params={'learning_rate': jnp.float32(0.1)},
        n_batches=step,
      )
    ],
    eval_n_batches=[2],
    rng=np.array([1, 2], np.uint32),
  )


def test_arrays_and_metadata_round_trip_into_the_readers_layout(tmp_path):
  path = str(tmp_path / 'model') + orbax_checkpoints.EXTENSION
  orbax_checkpoints.write(path, a_checkpoint(3))
  orbax_checkpoints.write(path, a_checkpoint(3, scale=2.0))  # The same step again.
  orbax_checkpoints.write(path, a_checkpoint(5, scale=3.0))
  steps = [name for name in os.listdir(path) if name.isdigit()]
  assert steps == ['5']  # Only the newest complete step is kept.
  layout = checkpoints.to_arrays(a_checkpoint(0))
  found = orbax_checkpoints.read(path, layout)
  expected = a_checkpoint(5, scale=3.0)
  assert (found.step, found.tasks[0].n_batches, found.eval_n_batches) == (5, 5, [2])
  assert found.history.get('train', 'metrics/loss') == [(5, 0.5)]
  for name, array in checkpoints.to_arrays(found).items():
    np.testing.assert_array_equal(array, checkpoints.to_arrays(expected)[name])
    assert array.dtype == layout[name].dtype, name
  assert isinstance(found.flat_weights[0], jax.Array) and isinstance(found.rng, np.ndarray)


def test_arrays_the_reader_has_in_another_shape_come_back_on_the_host(tmp_path):
  path = str(tmp_path / 'model.orbax')
  orbax_checkpoints.write(path, a_checkpoint(1))
  layout = checkpoints.to_arrays(a_checkpoint(0))
  layout['weights/0'] = jnp.zeros((3, 2))
  found = orbax_checkpoints.read(path, layout)
  assert isinstance(found.flat_weights[0], np.ndarray)
  assert found.flat_weights[0].shape == (2, 3)  # For the loop's shape check to report.
  with pytest.raises(
    ValueError,
    match=r'model.orbax: weights array 0 has shape \(2, 3\) '
    r'but the layer expects \(3, 2\)',
  ):
    checkpoints.match_arrays(
      found.flat_weights, [layout['weights/0'], layout['weights/1']], 'weights', path
    )


def test_an_orbax_directory_of_something_else_is_refused(tmp_path):
  import orbax.checkpoint as ocp

  path = str(tmp_path / 'other.orbax')
  manager = ocp.CheckpointManager(
    path, options=ocp.CheckpointManagerOptions(create=True, enable_async_checkpointing=False)
  )
  manager.save(1, args=ocp.args.Composite(other=ocp.args.StandardSave({'a': np.ones(3)})))
  manager.close()
  with pytest.raises(ValueError, match='orbax checkpoint but not a trax one'):
    orbax_checkpoints.read(path, {})
  os.makedirs(tmp_path / 'empty.orbax')
  with pytest.raises(ValueError, match='holds no complete orbax checkpoint'):
    orbax_checkpoints.read(str(tmp_path / 'empty.orbax'), {})
