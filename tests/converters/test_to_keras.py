"""`to_keras`: native Keras models with trax's numbers; `.keras` files that need no trax."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import converters
from trax import shapes
import trax.layers as tl
from tests.converters import helpers

ShapeDtype = shapes.ShapeDtype


def _layer_types(model):
  return [type(layer).__name__ for layer in model.layers]


def _round_trip(layer, signature, x, atol=1e-5):
  """to_keras must be native and equal; from_keras of it must be equal again."""
  model = converters.to_keras(layer, signature, allow_wrapping=False)
  assert 'TraxLayer' not in _layer_types(model)
  expected = helpers.jax_outputs(layer, x)
  np.testing.assert_allclose(model(x, training=False).numpy(), expected, atol=atol)
  back, _ = converters.from_keras(model)
  np.testing.assert_allclose(np.asarray(back(x)), expected, atol=atol)
  return model


def test_mlp_with_residual_and_normalization():
  layer = tl.Serial(tl.Dense(8), tl.Relu(), tl.LayerNorm(), tl.Dropout(0.2),
                    tl.Residual(tl.Dense(8), tl.Gelu()), tl.Dense(3), tl.LogSoftmax())
  layer.init(ShapeDtype((2, 5)), rng=helpers.RNG)
  model = _round_trip(layer, ShapeDtype((None, 5)), helpers.random_floats((4, 5)))
  assert _layer_types(model) == ['InputLayer', 'Dense', 'Activation', 'LayerNormalization',
                                 'Dropout', 'Dense', 'Activation', 'Add', 'Dense',
                                 'Activation']


def test_conv_net_takes_batch_norm_eval_statistics():
  layer = helpers.trained_conv_net(ShapeDtype((4, 8, 8, 3)))
  assert int(layer.state[1][2]) == 2  # Two batches: trax's debiasing matters here.
  _round_trip(layer, ShapeDtype((None, 8, 8, 3)), helpers.random_floats((2, 8, 8, 3)),
              atol=1e-4)


@pytest.mark.slow
def test_recurrent_and_sequence_layers():
  layer = tl.Serial(tl.LSTM(4), tl.GRU(4), tl.Conv1d(3, 2), tl.CausalConv(3, 2),
                    tl.AvgPool((2,), strides=(2,)), tl.Mean(axis=1), tl.Softmax())
  layer.init(ShapeDtype((2, 7, 3)), rng=helpers.RNG)
  model = _round_trip(layer, ShapeDtype((None, None, 3)), helpers.random_floats((2, 9, 3)))
  assert {'LSTM', 'GRU', 'Conv1D', 'GlobalAveragePooling1D'} <= set(_layer_types(model))


def test_shared_layer_stays_shared_and_stack_moves_map():
  dense = tl.Dense(4)
  layer = tl.Serial(tl.Select([0, 1, 0]), tl.Parallel(dense, dense), tl.Concatenate(3),
                    tl.Dup(), tl.Swap(), tl.SubtractTop())
  layer.init((ShapeDtype((2, 4)), ShapeDtype((2, 4))), rng=helpers.RNG)
  model = converters.to_keras(layer, (ShapeDtype((None, 4)), ShapeDtype((None, 4))))
  assert _layer_types(model).count('Dense') == 1  # One Keras layer, called twice.
  x = (helpers.random_floats((3, 4)), helpers.random_floats((3, 4), seed=1))
  np.testing.assert_allclose(model(list(x)).numpy(), helpers.jax_outputs(layer, x),
                             atol=1e-6)


@pytest.mark.slow
def test_layers_without_keras_counterpart_wrap_the_model_or_are_named():
  layer = helpers.lm(mode='eval')
  layer.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  signature = ShapeDtype((None, None), np.int32)
  model = converters.to_keras(layer, signature)
  assert _layer_types(model) == ['InputLayer', 'TraxLayer']
  tokens = helpers.random_tokens((2, 6))
  np.testing.assert_allclose(model(tokens).numpy(), helpers.jax_outputs(layer, tokens),
                             atol=1e-5)
  with pytest.raises(converters.UnsupportedLayerError, match='PositionalEncoding'):
    converters.to_keras(layer, signature, allow_wrapping=False)


def test_keras_file_loads_and_runs_without_jax_or_trax(tmp_path):
  layer = helpers.trained_conv_net(ShapeDtype((4, 8, 8, 3)))
  model = converters.to_keras(layer, ShapeDtype((None, 8, 8, 3)), allow_wrapping=False)
  model.save(tmp_path / 'conv.keras')
  x = helpers.random_floats((2, 8, 8, 3))
  np.save(tmp_path / 'x.npy', x)
  code = textwrap.dedent('''
      import importlib.abc, sys
      class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
          if name.split('.')[0] in ('jax', 'jaxlib', 'trax', 'trax_keras', 'converters'):
            raise ImportError(name + ' is blocked')
      sys.meta_path.insert(0, Blocker())
      import numpy as np, keras
      model = keras.saving.load_model('conv.keras')
      np.save('y.npy', model(np.load('x.npy'), training=False).numpy())
      print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'trax')))
  ''')
  env = {**os.environ, 'KERAS_BACKEND': 'tensorflow', 'TF_CPP_MIN_LOG_LEVEL': '2'}
  process = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600, check=False)
  assert process.returncode == 0, process.stderr[-3000:]
  assert process.stdout.strip().splitlines()[-1] == '[]'
  np.testing.assert_allclose(np.load(tmp_path / 'y.npy'), helpers.jax_outputs(layer, x),
                             atol=1e-4)
