"""Reading Trax 1.x checkpoints: both layouts, safely (crafted pickles do not run)."""

import collections
import gzip
import os
import pickle

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import trax.layers as tl
from trax import optimizers
from trax import shapes
from trax.checkpoint_files import checkpoints
from trax.supervised import training
from trax.checkpoint_files import trax1_checkpoints
from tests.supervised import helpers
from tests import shared_data

TRAX1_LM = str(shared_data.TRAX1_LM)


def _write_trax1_loop_checkpoint(
  base: str, flat_weights: list, flat_state: list, flat_slots: list, step: int
) -> None:
  """Writes the 2021 `Loop` layout as Trax 1.4's save_checkpoint did."""
  values = {'train': collections.defaultdict(list)}  # Trax 1.4's History.to_dict().
  values['train']['metrics/L2Loss'].append((step, np.float64(0.25)))
  d = {
    'step': step,
    'flat_weights': 2,
    'flat_state': flat_state,
    'flat_eval_state': flat_state,
    'history': {'_values': values},
    'slots_per_task': 2,
    'input_signature': (shapes.ShapeDtype((16, 3), np.float32),),
    'version_timestamp': 'Mar-10-2021',
  }
  with gzip.open(base + '.pkl.gz', 'wb', compresslevel=2) as f:
    pickle.dump(d, f, protocol=pickle.HIGHEST_PROTOCOL)
  for arrays, suffix in ((flat_weights, '.weights.npy.gz'), (flat_slots, '.opt_slots0.npy.gz')):
    with gzip.open(base + suffix, 'wb', compresslevel=2) as f:
      for x in arrays:  # Trax 1.4 bit-cast bfloat16 to uint16 for np.save.
        x = x.view(np.uint16) if x.dtype == ml_dtypes.bfloat16 else x
        np.save(f, x, allow_pickle=False)


def _gzip_pickle(path, obj) -> None:
  with gzip.open(path, 'wb') as f:
    pickle.dump(obj, f)


class _RunsShellCommand:
  def __init__(self, command):
    self._command = command

  def __reduce__(self):
    return os.system, (self._command,)


class _Evaluates:
  def __init__(self, code):
    self._code = code

  def __reduce__(self):
    return eval, (self._code,)


def test_crafted_pickles_are_refused_without_running(tmp_path):
  marker = tmp_path / 'pwned'
  shell = tmp_path / 'shell.pkl.gz'
  _gzip_pickle(shell, {'flat_weights': [_RunsShellCommand(f'touch {marker}')]})
  with pytest.raises(
    trax1_checkpoints.UnsafeCheckpointError,
    match=r'Refusing to load (posix|nt)\.system from .*shell.pkl.gz',
  ):
    trax1_checkpoints.read(str(shell))
  with pytest.raises(trax1_checkpoints.UnsafeCheckpointError, match='system'):
    tl.Serial(tl.Dense(2)).init_from_file(str(shell))
  evaluates = tmp_path / 'eval.pkl.gz'
  _gzip_pickle(evaluates, {'flat_weights': [_Evaluates(f'open({str(marker)!r}, "w")')]})
  with pytest.raises(trax1_checkpoints.UnsafeCheckpointError, match='builtins.eval'):
    checkpoints.read_any(str(evaluates))
  assert not marker.exists()


def test_jax_arrays_and_numpy_scalars_in_pickles_load_as_numpy(tmp_path):
  path = tmp_path / 'layer.pkl.gz'
  _gzip_pickle(
    path,
    {
      'flat_weights': [jnp.arange(3.0), np.float32(2.0)],
      'flat_state': collections.OrderedDict(a=jnp.ones(2, jnp.bfloat16)),
    },
  )
  checkpoint = trax1_checkpoints.read(str(path))
  assert all(isinstance(w, np.ndarray) for w in checkpoint.flat_weights)
  np.testing.assert_array_equal(checkpoint.flat_weights[0], [0.0, 1.0, 2.0])
  assert checkpoint.flat_state[0].dtype == ml_dtypes.bfloat16


def test_2021_loop_layout_with_side_files(tmp_path):
  base = str(tmp_path / 'model')
  weights = [np.full((3, 2), 1.5, np.float32), np.arange(2).astype(ml_dtypes.bfloat16)]
  slots = [np.ones((3, 2), np.float32), np.zeros((3, 2), np.float32)]
  _write_trax1_loop_checkpoint(base, weights, [], slots, step=7)
  checkpoint = trax1_checkpoints.read(base + '.pkl.gz')
  assert checkpoint.source_format == 'trax1-loop-2021' and checkpoint.step == 7
  assert checkpoint.flat_weights[1].dtype == ml_dtypes.bfloat16
  np.testing.assert_array_equal(checkpoint.flat_weights[1].astype(np.float32), [0, 1])
  assert len(checkpoint.tasks) == 1 and len(checkpoint.tasks[0].flat_slots) == 2
  assert checkpoint.history.get('train', 'metrics/L2Loss') == [(7, 0.25)]
  os.remove(base + '.weights.npy.gz')
  with pytest.raises(ValueError, match='weights in a side file'):
    trax1_checkpoints.read(base + '.pkl.gz')


def test_loop_resumes_from_a_trax1_loop_checkpoint(tmp_path):
  weights = [np.full((3, 1), 0.5, np.float32), np.array([0.25], np.float32)]
  # Adam's slots, flat in Trax 1.x order: (m, v) of w, then of b.
  slots = [
    np.full((3, 1), 0.1, np.float32),
    np.full((3, 1), 0.2, np.float32),
    np.array([0.3], np.float32),
    np.array([0.4], np.float32),
  ]
  _write_trax1_loop_checkpoint(str(tmp_path / 'model'), weights, [], slots, step=7)
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.Adam(0.01))
  loop = training.Loop(
    tl.Serial(tl.Dense(1)), task, output_dir=str(tmp_path), eval_at=lambda step: False
  )
  assert loop.step == 7 and task.n_batches_taken == 0  # Trax 1.x kept no batch counts.
  for w, expected in zip(helpers.flat_weights(loop.model), weights):
    np.testing.assert_array_equal(w, expected)
  for s, expected in zip(jax.tree.leaves(loop._trainers[0].slots), slots):
    np.testing.assert_array_equal(s, expected)
  loop.run(1)
  assert loop.step == 8


def test_convert_and_describe(tmp_path):
  base = str(tmp_path / 'model')
  _write_trax1_loop_checkpoint(base, [np.ones((3, 2), np.float32)], [], [], step=3)
  converted = checkpoints.convert_trax1(base + '.pkl.gz', str(tmp_path / 'ours.npz'))
  ours = checkpoints.read(str(tmp_path / 'ours.npz'))
  np.testing.assert_array_equal(ours.flat_weights[0], converted.flat_weights[0])
  assert ours.step == 3 and ours.history == converted.history
  description = checkpoints.describe(str(tmp_path / 'ours.npz'))
  assert description['format'] == 'trax-checkpoint'
  assert description['weights'] == [((3, 2), 'float32')]
  assert checkpoints.describe(base + '.pkl.gz')['format'] == 'trax1-loop-2021'


@pytest.mark.skipif(not os.path.exists(TRAX1_LM), reason=f'{TRAX1_LM} is absent')
def test_reads_the_trax1_transformer_lm_checkpoint():
  description = checkpoints.describe(TRAX1_LM)
  assert description['format'] == 'trax1-trainer-2020' and description['step'] == 5100
  weights = description['weights']
  assert len(weights) == 38 and len(description['state']) == 7
  assert weights[:4] == [
    ((13, 64), 'float32'),
    ((1, 256, 64), 'float32'),
    ((64,), 'float32'),
    ((64,), 'float32'),
  ]
  assert weights[-2:] == [((64, 13), 'float32'), ((13,), 'float32')]
  assert description['state'] == [((), 'float32')] * 7
  assert description['slots_per_task'] == [76]  # Adam's (m, v) per weight.
  assert description['opt_params'] == [['b1', 'b2', 'eps', 'learning_rate', 'weight_decay_rate']]
  assert 'metrics/accuracy' in description['history']['eval']
  assert description['input_signature'] == (
    shapes.ShapeDtype((128, 12), np.int64),
    shapes.ShapeDtype((128, 12), np.int64),
    shapes.ShapeDtype((128, 12), np.float64),
  )


@pytest.mark.slow  # Initializing the predict-mode model compiles for about 10 s.
@pytest.mark.skipif(not os.path.exists(TRAX1_LM), reason=f'{TRAX1_LM} is absent')
def test_trax1_transformer_lm_decodes_the_copy_task():
  models = pytest.importorskip('trax.models')
  model = models.TransformerLM(
    vocab_size=13,
    d_model=64,
    d_ff=128,
    n_heads=2,
    n_layers=2,
    max_len=256,
    dropout=0.05,
    mode='predict',
  )
  shape11 = shapes.ShapeDtype((1, 1), np.int32)
  # As in Trax 1.x's decoding test; the extra (targets) signature is ignored.
  model.init_from_file(TRAX1_LM, weights_only=True, input_signature=(shape11, shape11))
  predict = jax.jit(model.pure_fn)
  weights, state, rng = model.weights, model.state, np.zeros(2, np.uint32)
  logits = None
  for token in [0, 3, 7, 5, 3, 2, 4, 0]:  # The prompt; greedy decoding follows.
    logits, state = predict(np.array([[token]], np.int32), weights, state, rng)
  decoded = []
  for _ in range(6):
    decoded.append(int(np.argmax(logits[0, -1])))
    logits, state = predict(np.array([[decoded[-1]]], np.int32), weights, state, rng)
  assert decoded == [3, 7, 5, 3, 2, 4]


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_arrays_pickled_at_every_protocol_load(tmp_path, protocol):
  # Protocols 0-2 carry numpy's bytes as latin-1 text through `_codecs.encode`.
  weights = [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.asfortranarray(np.arange(6.0).reshape(3, 2)),
    np.arange(3, dtype='>i4'),
    np.arange(2).astype(ml_dtypes.bfloat16),
    np.float32(1.5),
  ]
  path = tmp_path / 'model.pkl.gz'
  with gzip.open(path, 'wb') as f:
    pickle.dump(
      {
        'flat_weights': weights,
        'step': np.int64(4),
        'flat_state': collections.OrderedDict(a=np.ones(2)),
      },
      f,
      protocol=protocol,
    )
  checkpoint = trax1_checkpoints.read(str(path))
  assert checkpoint.step == 4
  for loaded, expected in zip(checkpoint.flat_weights, weights):
    assert loaded.dtype == np.asarray(expected).dtype.newbyteorder('=')
    np.testing.assert_array_equal(loaded, expected)
  np.testing.assert_array_equal(checkpoint.flat_state[0], [1.0, 1.0])


def test_init_from_file_takes_a_one_tuple_input_signature(tmp_path):
  weights = [np.full((3, 2), 0.5, np.float32), np.array([0.25, -1.0], np.float32)]
  _write_trax1_loop_checkpoint(str(tmp_path / 'model'), weights, [], [], step=2)
  layer = tl.Serial(tl.Dense(2))  # Not initialized: the file's (ShapeDtype,) is used.
  layer.init_from_file(str(tmp_path / 'model.pkl.gz'))
  for w, expected in zip(helpers.flat_weights(layer), weights):
    np.testing.assert_array_equal(w, expected)
