"""A converted Keras CNN trains the same on each of trax's engines as in Keras itself.

The engines: `Loop` on jax (XLA), `Loop(backend='tensorflow-numpy')` (the layers as plain
TF ops in one `tf.function`), and the converted model in a `TraxLayer` trained by Keras'
`train_on_batch` on TensorFlow. The reference is Keras' own `train_on_batch` of the
original model. Three steps of momentum SGD on the same batches must give the same
weights and BatchNorm statistics (a small, well-conditioned model: float rounding stays
small).
"""

import keras
import numpy as np
import pytest

import converters
from trax import fastmath
from trax import optimizers
import trax.layers as tl
from trax.supervised import training
from trax_keras import TraxLayer

N_STEPS, LEARNING_RATE, MASS = 3, 0.05, 0.9


def _keras_cnn() -> keras.Model:
  """Conv, BatchNorm, ReLU6, depthwise conv, ReLU, pooling: a MobileNet in miniature."""
  keras.utils.set_random_seed(0)
  L = keras.layers
  inputs = keras.Input((8, 8, 3))
  x = L.Conv2D(8, 3, padding='same', use_bias=False)(inputs)
  x = L.ReLU(6.0)(L.BatchNormalization(momentum=0.9)(x))
  x = L.DepthwiseConv2D(3, strides=2, padding='same', use_bias=False)(x)
  x = L.ReLU()(L.BatchNormalization(momentum=0.9)(x))
  outputs = L.Dense(4)(L.GlobalAveragePooling2D()(x))
  return keras.Model(inputs, outputs)


def _batches() -> list:
  rng = np.random.default_rng(0)
  return [
    (rng.normal(size=(8, 8, 8, 3)).astype(np.float32), rng.integers(0, 4, 8).astype(np.int32))
    for _ in range(N_STEPS)
  ]


def _arrays(layer: tl.Layer) -> list:
  """Weights then state, flat; the float arrays only (not BatchNorm's batch count)."""
  arrays = [np.asarray(a) for a in fastmath.tree_flatten((layer.weights, layer.state))]
  return [a for a in arrays if a.dtype == np.float32]


def _keras_fit(model: keras.Model) -> None:
  model.compile(
    keras.optimizers.SGD(LEARNING_RATE, momentum=MASS),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
  )
  for x, y in _batches():
    model.train_on_batch(x, y)


def _keras_trained() -> list:
  model = _keras_cnn()
  _keras_fit(model)
  return _arrays(converters.from_keras(model, mode='train')[0])


def _loop_trained(backend: str) -> list:
  layer, _ = converters.from_keras(_keras_cnn(), mode='train')
  batches = _batches()
  task = training.TrainTask(
    iter(batches),
    tl.CategoryCrossEntropy(),
    optimizers.Momentum(LEARNING_RATE, MASS, weight_decay_rate=0.0, nesterov=False),
    sample_batch=batches[0],
  )
  training.Loop(layer, task, random_seed=0, backend=backend).run(N_STEPS)
  return _arrays(layer)


def _traxlayer_trained() -> list:
  layer, _ = converters.from_keras(_keras_cnn(), mode='train')
  inputs = keras.Input((8, 8, 3))
  wrapper = TraxLayer(layer)
  _keras_fit(keras.Model(inputs, wrapper(inputs)))
  return _arrays(wrapper.trax_layer)


@pytest.fixture(scope='module')
def keras_trained() -> list:
  return _keras_trained()


@pytest.mark.parametrize('engine', ['jax', 'tensorflow-numpy', 'traxlayer'])
def test_engine_trains_as_keras(engine, keras_trained):
  got = _traxlayer_trained() if engine == 'traxlayer' else _loop_trained(engine)
  start = _arrays(converters.from_keras(_keras_cnn(), mode='train')[0])
  # 3 kernels, a bias, 2 x 4 arrays of BatchNorm.
  assert len(got) == len(keras_trained) == len(start) == 12
  for i, (g, k, s) in enumerate(zip(got, keras_trained, start)):
    assert not np.allclose(k, s), f'array {i} did not move'
    np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-5, err_msg=f'array {i}')
