"""Our checkpoint format: safe, atomic, complete; Loop resumes exactly from it."""

import json
import os
import zipfile

import ml_dtypes
import numpy as np
import pytest

import trax.layers as tl
from trax import optimizers
from trax import shapes
from trax.checkpoint_files import checkpoints
from trax.supervised import history as history_lib
from trax.supervised import training
from tests.supervised import helpers


def _checkpoint(seed: int = 0) -> checkpoints.Checkpoint:
  rng = np.random.default_rng(seed)
  history = history_lib.History()
  history.append('eval', 'metrics/loss', 10, 0.5)
  return checkpoints.Checkpoint(
    flat_weights=[
      rng.normal(size=(3, 4)).astype(np.float32),
      rng.normal(size=(4,)).astype(ml_dtypes.bfloat16),
    ],
    flat_state=[np.array(0.1, np.float32)],
    step=10,
    history=history,
    input_signature=(shapes.ShapeDtype((8, 3), np.float32), shapes.ShapeDtype((8, None), np.int32)),
    model_config={'factory': 'Dense', 'args': [4]},
    tasks=[
      checkpoints.TaskCheckpoint(
        flat_slots=[np.ones((3, 4), np.float32)],
        opt_params={'learning_rate': np.array(0.01, np.float32)},
        n_batches=11,
      )
    ],
    eval_n_batches=[3],
    rng=np.array([1, 2], np.uint32),
  )


def _assert_same(a: checkpoints.Checkpoint, b: checkpoints.Checkpoint) -> None:
  for x, y in zip(a.flat_weights + a.flat_state, b.flat_weights + b.flat_state):
    assert x.dtype == y.dtype and x.shape == y.shape
    np.testing.assert_array_equal(np.asarray(x, np.float32), np.asarray(y, np.float32))
  assert len(a.flat_weights) == len(b.flat_weights)
  assert (a.step, a.history, a.input_signature, a.model_config, a.eval_n_batches) == (
    b.step,
    b.history,
    b.input_signature,
    b.model_config,
    b.eval_n_batches,
  )
  np.testing.assert_array_equal(a.tasks[0].flat_slots[0], b.tasks[0].flat_slots[0])
  assert a.tasks[0].opt_params == b.tasks[0].opt_params
  assert a.tasks[0].n_batches == b.tasks[0].n_batches
  np.testing.assert_array_equal(a.rng, b.rng)


def test_write_read_round_trip_including_bfloat16(tmp_path):
  path = str(tmp_path / 'model.npz')
  checkpoints.write(path, _checkpoint())
  _assert_same(checkpoints.read(path), _checkpoint())


def test_file_is_an_npz_with_json_metadata_and_no_pickles(tmp_path):
  path = str(tmp_path / 'model.npz')
  checkpoints.write(path, _checkpoint())
  with zipfile.ZipFile(path) as archive:
    metadata = json.loads(archive.read('metadata.json'))
  assert metadata['format'] == 'trax-checkpoint' and metadata['step'] == 10
  assert metadata['special_dtypes'] == {'weights/1': 'bfloat16'}
  arrays = np.load(path, allow_pickle=False)
  np.testing.assert_array_equal(arrays['weights/0'], _checkpoint().flat_weights[0])


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
  path = str(tmp_path / 'model.npz')
  checkpoints.write(path, _checkpoint(seed=0))
  write_array = np.lib.format.write_array
  calls = []

  def failing_write_array(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
      raise OSError('disk full')
    return write_array(*args, **kwargs)

  monkeypatch.setattr(np.lib.format, 'write_array', failing_write_array)
  with pytest.raises(OSError, match='disk full'):
    checkpoints.write(path, _checkpoint(seed=1))
  assert os.listdir(tmp_path) == ['model.npz']  # No partial or temporary file left.
  _assert_same(checkpoints.read(path), _checkpoint(seed=0))


def test_other_files_are_refused_clearly(tmp_path):
  not_ours = tmp_path / 'other.npz'
  np.savez(not_ours, a=np.ones(2))
  with pytest.raises(ValueError, match='without metadata.json'):
    checkpoints.read(str(not_ours))
  text = tmp_path / 'text.npz'
  text.write_text('hello')
  with pytest.raises(ValueError, match='neither a trax checkpoint'):
    checkpoints.read_any(str(text))


def test_save_to_file_and_init_from_file(tmp_path):
  path = str(tmp_path / 'layer.npz')
  signature = shapes.ShapeDtype((2, 3), np.float32)
  model = tl.Serial(tl.Dense(4), tl.Relu(), tl.Dense(2), tl.Dropout(0.3))
  model.init(signature, rng=np.array([0, 7], np.uint32))
  model.save_to_file(path, input_signature=signature)
  assert checkpoints.read(path).model_config == model.config()

  restored = tl.Serial(tl.Dense(4), tl.Relu(), tl.Dense(2), tl.Dropout(0.3))
  restored.init_from_file(path)  # The signature comes from the file.
  for w, v in zip(helpers.flat_weights(model), helpers.flat_weights(restored)):
    np.testing.assert_array_equal(w, v)
  np.testing.assert_array_equal(restored.state[3], np.float32(0.3))  # Dropout's state.


def test_weights_only_and_mismatch_errors(tmp_path):
  path = str(tmp_path / 'layer.npz')
  signature = shapes.ShapeDtype((2, 3), np.float32)
  model = tl.Serial(tl.Dense(4), tl.Dense(2))
  model.init(signature)
  model.save_to_file(path, weights_only=True)
  with pytest.raises(ValueError, match='weights only'):
    tl.Serial(tl.Dense(4), tl.Dense(2)).init_from_file(path, input_signature=signature)
  restored = tl.Serial(tl.Dense(4), tl.Dense(2))
  restored.init_from_file(path, weights_only=True, input_signature=signature)
  np.testing.assert_array_equal(restored.weights[1][0], model.weights[1][0])

  with pytest.raises(
    ValueError,
    match=r'layer.npz: weights array 0 has shape \(3, 4\) but '
    r'the layer expects \(3, 5\)',
  ):
    tl.Serial(tl.Dense(5), tl.Dense(2)).init_from_file(
      path, weights_only=True, input_signature=signature
    )
  with pytest.raises(ValueError, match='holds 4 weights arrays but the layer has 2'):
    tl.Serial(tl.Dense(2)).init_from_file(path, weights_only=True, input_signature=signature)


def _loop(output_dir, random_seed=0, n_steps_per_permanent_checkpoint=None, **kwargs):
  task = training.TrainTask(
    helpers.regression_stream(0),
    tl.L2Loss(),
    optimizers.Adam(0.01),
    n_steps_per_checkpoint=5,
    n_steps_per_permanent_checkpoint=n_steps_per_permanent_checkpoint,
  )
  eval_task = training.EvalTask(helpers.regression_stream(1), [tl.L2Loss()], n_eval_batches=2)
  return training.Loop(
    helpers.mlp(dropout=0.2),
    task,
    eval_tasks=[eval_task],
    output_dir=str(output_dir),
    random_seed=random_seed,
    **kwargs,
  )


def _without_timing(history):
  d = history.to_dict()['_values']
  d['train'].pop('training/steps per second')
  return d


def test_twenty_steps_equal_ten_plus_restart_plus_ten(tmp_path):
  straight = _loop(tmp_path / 'straight')
  straight.run(20)

  first = _loop(tmp_path / 'resumed')
  first.run(10)
  # A new loop on the same directory loads model.npz. Another seed: the checkpoint's
  # random key replaces it, so dropout masks continue as in the straight run.
  second = _loop(tmp_path / 'resumed', random_seed=123)
  assert second.step == 10
  assert second.tasks[0].n_batches_taken == 10  # Skipped, as the first loop took them.
  second.run(10)

  for w, v in zip(helpers.flat_weights(straight.model), helpers.flat_weights(second.model)):
    np.testing.assert_array_equal(w, v)
  for s, t in zip(straight._trainers[0].slots, second._trainers[0].slots):
    np.testing.assert_array_equal(np.asarray(s.m), np.asarray(t.m))
    np.testing.assert_array_equal(np.asarray(s.v), np.asarray(t.v))
  assert _without_timing(straight.history) == _without_timing(second.history)
  assert [s for s, _ in second.history.get('eval', 'metrics/L2Loss')] == [1, 5, 10, 15, 20]


def test_permanent_and_best_metric_checkpoints(tmp_path):
  loop = _loop(
    tmp_path,
    n_steps_per_permanent_checkpoint=10,
    checkpoint_low_metric='L2Loss',
    checkpoint_high_metric='L2Loss',
  )
  loop.run(20)
  assert sorted(os.listdir(tmp_path)) == [
    'eval',
    'highest_L2Loss.npz',
    'lowest_L2Loss.npz',
    'model.npz',
    'model_1.npz',
    'model_10.npz',
    'model_20.npz',
    'train',
  ]  # Trax 1.4's names.
  for step in (1, 10, 20):
    assert checkpoints.read(str(tmp_path / f'model_{step}.npz')).step == step
  evals = loop.history.get('eval', 'metrics/L2Loss')
  lowest = min(evals, key=lambda pair: pair[1])[0]
  highest = max(evals, key=lambda pair: pair[1])[0]
  assert checkpoints.read(str(tmp_path / 'lowest_L2Loss.npz')).step == lowest
  assert checkpoints.read(str(tmp_path / 'highest_L2Loss.npz')).step == highest


def test_a_corrupt_checkpoint_in_a_run_directory_names_the_file(tmp_path):
  """A bit-flipped model.npz raised zipfile.BadZipFile, without the file name."""
  path = tmp_path / 'model.npz'
  checkpoints.write(str(path), _checkpoint())
  data = bytearray(path.read_bytes())
  data[len(data) // 2] ^= 0x10  # Array data: the member's CRC no longer matches.
  path.write_bytes(bytes(data))
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.Adam(0.01))
  with pytest.raises(
    checkpoints.CheckpointError,
    match=f'{path} is not a readable trax '
    r'checkpoint: BadZipFile: Bad CRC-32',
  ):
    training.Loop(tl.Serial(tl.Dense(1)), task, output_dir=str(tmp_path))


def test_compressed_members_and_bad_special_dtypes_are_refused(tmp_path):
  path = str(tmp_path / 'model.npz')
  checkpoints.write(path, _checkpoint())
  with zipfile.ZipFile(path) as archive:
    members = {name: archive.read(name) for name in archive.namelist()}
  compressed = str(tmp_path / 'compressed.npz')
  with zipfile.ZipFile(compressed, 'w', zipfile.ZIP_DEFLATED) as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  with pytest.raises(
    checkpoints.CheckpointError,
    match='member .* is compressed, but trax stores checkpoint members uncompressed',
  ):
    checkpoints.read(compressed)
  metadata = json.loads(members['metadata.json'])
  for special, expected in (
    ('object', "dtype 'object' is not a numeric dtype"),
    (['x'], 'special_dtypes=.*expected a dict'),
    ('float32', 'stored as uint16, which cannot hold it'),
  ):
    bad = str(tmp_path / 'bad.npz')
    with zipfile.ZipFile(bad, 'w') as archive:
      for name, data in members.items():
        if name == 'metadata.json':
          data = json.dumps(
            dict(
              metadata,
              special_dtypes=(special if isinstance(special, list) else {'weights/1': special}),
            )
          )
        archive.writestr(name, data)
    with pytest.raises(checkpoints.CheckpointError, match=f'{bad}: .*{expected}'):
      checkpoints.read(bad)


def test_describing_a_checkpoint_reads_headers_not_arrays(tmp_path):
  import tracemalloc

  big = np.zeros((2048, 4096), np.float32)  # 32 MB, of zeros: a gzip side file of 32 KB.
  checkpoints.write(str(tmp_path / 'ours.npz'), checkpoints.Checkpoint(flat_weights=[big]))
  trax1_base = str(tmp_path / 'trax1')
  with open(trax1_base + '.pkl.gz', 'wb') as f:
    import gzip
    import pickle

    f.write(gzip.compress(pickle.dumps({'flat_weights': 1, 'step': 1})))
  with gzip.open(trax1_base + '.weights.npy.gz', 'wb') as f:
    np.save(f, big)
  for path in (str(tmp_path / 'ours.npz'), trax1_base + '.pkl.gz'):
    tracemalloc.start()
    description = checkpoints.describe(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert description['weights'] == [((2048, 4096), 'float32')]
    assert peak < 8 * 2**20, (path, peak)  # Of 32 MB.
