"""`converters.trax1`: Trax 1.x checkpoints listed, converted safely, and exported."""

import gzip
import os
import pickle

import numpy as np
import pytest

import converters
from converters import trax1
from trax import models
from trax import shapes
from trax.checkpoint_files import checkpoints
from trax.checkpoint_files import trax1_checkpoints
from tests.converters import helpers

needs_checkpoint = pytest.mark.skipif(
  not helpers.TRAX1_CHECKPOINT.exists(), reason='no Trax 1.x test checkpoint'
)


def _trax1_file(path, payload):
  with gzip.open(path, 'wb') as f:
    pickle.dump(payload, f)
  return str(path)


@needs_checkpoint
def test_describe_lists_the_arrays_without_a_model():
  info = trax1.describe(str(helpers.TRAX1_CHECKPOINT))
  assert info['format'] == 'trax1-trainer-2020' and info['step'] == 5100
  assert len(info['weights']) == 38 and info['weights'][1] == ((1, 256, 64), 'float32')
  assert info['n_parameters'] == 85133 and info['n_bytes'] == 4 * 85133
  assert 'metrics/accuracy' in info['history']['eval']
  lines = trax1.summary(info)
  assert lines[0] == 'format: trax1-trainer-2020' and 'model config: not recorded' in lines


@needs_checkpoint
def test_convert_checks_against_the_config_and_the_result_exports(tmp_path):
  config = models.TransformerLM(**helpers.TRAX1_MODEL).config()
  output = str(tmp_path / 'model.npz')
  converted = trax1.convert(str(helpers.TRAX1_CHECKPOINT), output, model_config=config)
  assert converted.model_config == config and converted.step == 5100
  assert checkpoints.read(output).model_config == config
  # The file now holds all an export needs: it still copies (Trax's copy task).
  result = converters.to_saved_model(
    output, tmp_path / 'serving', shapes.ShapeDtype((None, None), np.int32), verify=False
  )
  words = np.random.default_rng(0).integers(1, 12, (4, 5))
  zeros = np.zeros((4, 1), np.int64)
  tokens = np.concatenate([zeros, words, zeros, words], axis=1).astype(np.int32)
  logits = helpers.serve_in_process(result.path, tokens=tokens)['logits']
  copied = np.argmax(logits, axis=-1)[:, 7:]  # Position t scores token t: the copy.
  np.testing.assert_array_equal(copied, words)


@needs_checkpoint
def test_a_config_that_does_not_fit_is_refused(tmp_path):
  wrong = models.TransformerLM(**{**helpers.TRAX1_MODEL, 'd_model': 32}).config()
  with pytest.raises(converters.ExportError, match='has shape'):
    trax1.convert(str(helpers.TRAX1_CHECKPOINT), str(tmp_path / 'm.npz'), model_config=wrong)
  assert not os.path.exists(tmp_path / 'm.npz')


def test_a_crafted_pickle_runs_nothing_and_writes_nothing(tmp_path):
  class Exploit:
    def __reduce__(self):
      return (os.system, (f'touch {tmp_path}/pwned',))

  path = _trax1_file(tmp_path / 'evil.pkl.gz', {'flat_weights': [Exploit()]})
  with pytest.raises(trax1_checkpoints.UnsafeCheckpointError, match='system'):
    trax1.convert(path, str(tmp_path / 'out.npz'))
  assert sorted(os.listdir(tmp_path)) == ['evil.pkl.gz']


def test_a_small_2020_checkpoint_round_trips(tmp_path):
  weights = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]
  path = _trax1_file(
    tmp_path / 'model.pkl.gz',
    {
      'flat_weights': weights,
      'flat_state': [],
      'step': 7,
      'input_signature': shapes.ShapeDtype((4, 2), np.float32),
    },
  )
  trax1.convert(path, str(tmp_path / 'model.npz'))
  info = trax1.describe(str(tmp_path / 'model.npz'))
  assert info['format'] == 'trax-checkpoint' and info['step'] == 7
  assert info['weights'] == [((2, 3), 'float32'), ((3,), 'float32')]
  restored = checkpoints.read(str(tmp_path / 'model.npz'))
  for got, expected in zip(restored.flat_weights, weights):
    np.testing.assert_array_equal(got, expected)
