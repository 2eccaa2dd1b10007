"""Checkpoint, vocabulary and export paths on any tf.io.gfile file system (here ram://)."""

import os

import uuid

import numpy as np
import pytest

import trax.layers as tl
from trax import data
from trax import file_io
from trax import optimizers
from trax import shapes
from trax.data import tokenizers
from trax.checkpoint_files import checkpoints
from trax.supervised import training
from tests.supervised import helpers
from tests.supervised import trax14_files

tf = pytest.importorskip('tensorflow')


@pytest.fixture
def ram_dir():
  path = f'ram://trax-test-{uuid.uuid4().hex[:8]}'
  tf.io.gfile.makedirs(path)
  yield path
  try:
    tf.io.gfile.rmtree(path)
  except tf.errors.NotFoundError:  # ram:// lists some files it then cannot find.
    pass


def _loop(output_dir):
  task = training.TrainTask(
    helpers.regression_stream(0), tl.L2Loss(), optimizers.Adam(0.01), n_steps_per_checkpoint=5
  )
  eval_task = training.EvalTask(helpers.regression_stream(1), [tl.L2Loss()])
  return training.Loop(
    helpers.mlp(), task, eval_tasks=eval_task, output_dir=output_dir, random_seed=0
  )


def test_file_io_tells_local_from_remote(tmp_path):
  assert file_io.is_remote('gs://bucket/x') and file_io.is_remote('ram://x')
  assert not file_io.is_remote(str(tmp_path)) and not file_io.is_remote('C:/x')
  with file_io.local_copy(str(tmp_path / 'a')) as local:
    assert local == str(tmp_path / 'a')


def test_loop_checkpoints_summaries_and_resume_on_ram(ram_dir):
  run = f'{ram_dir}/run'
  loop = _loop(run)
  loop.run(5)
  names = tf.io.gfile.listdir(run)
  assert 'model.npz' in names
  assert tf.io.gfile.glob(f'{run}/train/events.out.tfevents.*')
  assert tf.io.gfile.glob(f'{run}/eval/events.out.tfevents.*')
  assert not [n for n in names if '.tmp-' in n]
  resumed = _loop(run)
  assert resumed.step == 5
  for w, v in zip(helpers.flat_weights(loop.model), helpers.flat_weights(resumed.model)):
    np.testing.assert_array_equal(w, v)
  model = helpers.mlp()
  model.init_from_file(f'{run}/model.npz', weights_only=True)
  np.testing.assert_array_equal(helpers.flat_weights(model)[0], helpers.flat_weights(loop.model)[0])
  model.save_to_file(f'{ram_dir}/saved/layer.npz')
  assert checkpoints.read_any(f'{ram_dir}/saved/layer.npz').flat_weights[0].shape == (3, 16)


def test_trax1_loop_checkpoint_with_side_files_on_ram(ram_dir, tmp_path):
  loop = _loop(str(tmp_path / 'ours'))
  loop.run(1)
  ours = checkpoints.read(str(tmp_path / 'ours' / 'model.npz'))
  trax14_files.write_loop_checkpoint(str(tmp_path), 'model_1', ours)
  for name in os.listdir(tmp_path):
    if name.startswith('model_1.'):
      tf.io.gfile.copy(str(tmp_path / name), f'{ram_dir}/{name}')
  read = checkpoints.read_any(f'{ram_dir}/model_1.pkl.gz')
  assert read.source_format == 'trax1-loop-2021' and read.step == 1
  for w, v in zip(read.flat_weights, ours.flat_weights):
    np.testing.assert_array_equal(w, v)
  assert len(read.tasks[0].flat_slots) == len(ours.tasks[0].flat_slots)


def test_vocabularies_and_data_counters_on_ram(ram_dir):
  for name in ('en_tiny.subwords', 'en_tiny.model'):
    tf.io.gfile.copy(os.path.join(tokenizers.TESTDATA_DIR, name), f'{ram_dir}/{name}')
  text = 'The quick brown fox.'
  for vocab_type, name in (('subword', 'en_tiny.subwords'), ('sentencepiece', 'en_tiny.model')):
    remote = next(
      data.tokenize(iter([text]), vocab_type=vocab_type, vocab_file=name, vocab_dir=ram_dir)
    )
    local = next(data.tokenize(iter([text]), vocab_type=vocab_type, vocab_file=name))
    np.testing.assert_array_equal(remote, local)
    assert data.detokenize(remote, vocab_type, name, vocab_dir=ram_dir) == text
  built = data.build_subword_vocab(iter(['red green'] * 5), f'{ram_dir}/built.subwords', 20)
  assert data.vocab_size(vocab_file=built) > 2
  saved = dict(data.inputs.data_counters)
  try:
    data.inputs.data_counters.clear()
    data.inputs.data_counters['x'] = 3
    data.save_data_counters(ram_dir, host_id=0)
    data.inputs.data_counters.clear()
    data.load_data_counters(ram_dir, host_id=0)
    assert data.inputs.data_counters == {'x': 3}
  finally:
    data.inputs.data_counters.clear()
    data.inputs.data_counters.update(saved)


def test_exports_to_ram(ram_dir):
  converters = pytest.importorskip('converters')
  model = tl.Serial(tl.Dense(3))
  model.init(shapes.ShapeDtype((1, 4), np.float32))
  export = converters.to_saved_model(
    model, f'{ram_dir}/serving', shapes.ShapeDtype((None, 4), np.float32)
  )
  assert export.path == f'{ram_dir}/serving/1'
  assert tf.io.gfile.exists(f'{ram_dir}/serving/1/saved_model.pb')
  loaded = tf.saved_model.load(f'{ram_dir}/serving/1')
  x = np.ones((2, 4), np.float32)
  outputs = loaded.signatures['serving_default'](tf.constant(x))
  np.testing.assert_allclose(
    list(outputs.values())[0].numpy(), np.asarray(model(x)), rtol=1e-5, atol=1e-6
  )
  assert converters.saved_model.next_version(f'{ram_dir}/serving') == 2
  tflite = converters.to_tflite(
    model, f'{ram_dir}/model.tflite', shapes.ShapeDtype((1, 4), np.float32)
  )
  assert tf.io.gfile.stat(f'{ram_dir}/model.tflite').length == tflite.size_bytes
