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
  layer = tl.Serial(
    tl.Dense(8),
    tl.Relu(),
    tl.LayerNorm(),
    tl.Dropout(0.2),
    tl.Residual(tl.Dense(8), tl.Gelu()),
    tl.Dense(3),
    tl.LogSoftmax(),
  )
  layer.init(ShapeDtype((2, 5)), rng=helpers.RNG)
  model = _round_trip(layer, ShapeDtype((None, 5)), helpers.random_floats((4, 5)))
  assert _layer_types(model) == [
    'InputLayer',
    'Dense',
    'Activation',
    'LayerNormalization',
    'Dropout',
    'Dense',
    'Activation',
    'Add',
    'Dense',
    'Activation',
  ]


def test_conv_net_takes_batch_norm_eval_statistics():
  layer = helpers.trained_conv_net(ShapeDtype((4, 8, 8, 3)))
  assert int(layer.state[1][2]) == 2  # Two batches: trax's debiasing matters here.
  _round_trip(layer, ShapeDtype((None, 8, 8, 3)), helpers.random_floats((2, 8, 8, 3)), atol=1e-4)


def test_batch_norm_keeping_several_axes_is_named_unmapped_and_wraps():
  # Keras' BatchNormalization keeps exactly one axis: axis=(0,) on (B, T, C) keeps two.
  layer = tl.BatchNorm(axis=(0,), mode='eval')
  layer.init(ShapeDtype((2, 3, 4)), rng=helpers.RNG)
  signature = ShapeDtype((None, 3, 4))
  with pytest.raises(converters.UnsupportedLayerError, match=r'BatchNorm keeping axes \[1, 2\]'):
    converters.to_keras(layer, signature, allow_wrapping=False)
  model = converters.to_keras(layer, signature)
  assert _layer_types(model) == ['InputLayer', 'TraxLayer']
  x = helpers.random_floats((2, 3, 4))
  np.testing.assert_allclose(model(x).numpy(), helpers.jax_outputs(layer, x), atol=1e-5)


@pytest.mark.slow
def test_recurrent_and_sequence_layers():
  layer = tl.Serial(
    tl.LSTM(4),
    tl.GRU(4),
    tl.Conv1d(3, 2),
    tl.CausalConv(3, 2),
    tl.AvgPool((2,), strides=(2,)),
    tl.Mean(axis=1),
    tl.Softmax(),
  )
  layer.init(ShapeDtype((2, 7, 3)), rng=helpers.RNG)
  model = _round_trip(layer, ShapeDtype((None, None, 3)), helpers.random_floats((2, 9, 3)))
  assert {'LSTM', 'GRU', 'Conv1D', 'GlobalAveragePooling1D'} <= set(_layer_types(model))


def _image_model() -> tl.Layer:
  """The layers from_keras makes of keras.applications models, each with its options."""
  standardize = tl.Standardize()
  layer = tl.Serial(
    tl.Rescale(1 / 127.5, -1.0),
    standardize,
    tl.ZeroPad(((1, 1), (1, 1))),
    tl.Conv(8, (3, 3), strides=(2, 2)),
    tl.DepthwiseConv((3, 3), depth_multiplier=2, padding='SAME'),
    tl.Relu6(),
    tl.GroupedConv(8, (3, 3), groups=4, padding='SAME', dilation=(2, 2)),
    tl.HardSwish(),
    tl.SeparableConv(8, (3, 3), padding='SAME'),
    tl.GeneralRelu(max_value=4.0, negative_slope=0.1, threshold=0.5),
    tl.Crop(((1, 0), (0, 1))),
    tl.LayerScale(0.5),
    tl.Residual(tl.NumpyFn('multiply', constants=[(1, 0.5)])),  # x + x * 0.5
    tl.Dropout(0.2, shared_axes=(1, 2), mode='eval'),
    tl.Reshape((-1, 8)),
    tl.Mean(axis=1),
    tl.Dense(3),
  )
  layer.init(ShapeDtype((2, 8, 8, 3)), rng=helpers.RNG)
  standardize.state = (
    np.full((1, 1, 1, 3), 0.1, np.float32),
    np.full((1, 1, 1, 3), 2.0, np.float32),
  )
  return layer


def _pixels(shape):
  return np.random.default_rng(0).uniform(0.0, 255.0, shape).astype(np.float32)


def test_image_model_layers_map_to_native_keras():
  model = _round_trip(_image_model(), ShapeDtype((None, 8, 8, 3)), _pixels((2, 8, 8, 3)))
  assert _layer_types(model) == [
    'InputLayer',
    'Rescaling',
    'Normalization',
    'ZeroPadding2D',
    'Conv2D',
    'DepthwiseConv2D',
    'Activation',
    'Conv2D',
    'Activation',
    'SeparableConv2D',
    'ReLU',
    'Cropping2D',
    'LayerScale',
    'Add',
    'Dropout',
    'Reshape',
    'GlobalAveragePooling1D',
    'Dense',
  ]
  assert 'Multiply' in {type(op).__name__ for op in model.operations}  # A keras.ops node.
  # Keras has no DepthwiseConv3D: one group per channel is the same.
  layer = tl.Serial(tl.DepthwiseConv((2, 2, 2), depth_multiplier=2), tl.Mean(axis=(1, 2, 3)))
  layer.init(ShapeDtype((1, 4, 4, 4, 3)), rng=helpers.RNG)
  volume = _round_trip(
    layer, ShapeDtype((None, 4, 4, 4, 3)), helpers.random_floats((2, 4, 4, 4, 3))
  )
  assert volume.layers[1].get_config()['groups'] == 3


def test_shared_layer_stays_shared_and_stack_moves_map():
  dense = tl.Dense(4)
  layer = tl.Serial(
    tl.Select([0, 1, 0]),
    tl.Parallel(dense, dense),
    tl.Concatenate(3),
    tl.Dup(),
    tl.Swap(),
    tl.SubtractTop(),
  )
  layer.init((ShapeDtype((2, 4)), ShapeDtype((2, 4))), rng=helpers.RNG)
  model = converters.to_keras(layer, (ShapeDtype((None, 4)), ShapeDtype((None, 4))))
  assert _layer_types(model).count('Dense') == 1  # One Keras layer, called twice.
  x = (helpers.random_floats((3, 4)), helpers.random_floats((3, 4), seed=1))
  np.testing.assert_allclose(model(list(x)).numpy(), helpers.jax_outputs(layer, x), atol=1e-6)


@pytest.mark.slow
def test_layers_without_keras_counterpart_wrap_the_model_or_are_named():
  layer = helpers.lm(mode='eval')
  layer.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  signature = ShapeDtype((None, None), np.int32)
  model = converters.to_keras(layer, signature)
  assert _layer_types(model) == ['InputLayer', 'TraxLayer']
  tokens = helpers.random_tokens((2, 6))
  np.testing.assert_allclose(model(tokens).numpy(), helpers.jax_outputs(layer, tokens), atol=1e-5)
  with pytest.raises(converters.UnsupportedLayerError, match='PositionalEncoding'):
    converters.to_keras(layer, signature, allow_wrapping=False)


def test_keras_file_loads_and_runs_without_jax_or_trax(tmp_path):
  layer = _image_model()  # Op nodes and keras.applications' LayerScale in the file too.
  model = converters.to_keras(layer, ShapeDtype((None, 8, 8, 3)), allow_wrapping=False)
  model.save(tmp_path / 'conv.keras')
  x = _pixels((2, 8, 8, 3))
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
  process = subprocess.run(
    [sys.executable, '-c', code],
    cwd=tmp_path,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  assert process.returncode == 0, process.stderr[-3000:]
  assert process.stdout.strip().splitlines()[-1] == '[]'
  np.testing.assert_allclose(np.load(tmp_path / 'y.npy'), helpers.jax_outputs(layer, x), atol=1e-4)
