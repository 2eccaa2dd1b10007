"""State, modes and randomness: BatchNorm statistics, Dropout, seeds, no writes in inference."""

import keras
import numpy as np

from trax import shapes
import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers


def _numpy(variables):
  return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def _batch_norm_model():
  return tl.Serial(tl.Dense(8), tl.BatchNorm(axis=(0,), momentum=0.9), tl.Dense(1))


def test_batch_norm_statistics_change_in_fit_not_in_predict():
  x, y = helpers.regression_data(64)
  layer = TraxLayer(_batch_norm_model(), seed=0)
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.SGD(0.01), 'mse')
  assert [v.path.split('/')[-1] for v in layer.non_trainable_weights] == [
    'running_mean',
    'running_var',
    'n_batches',
  ]
  before = _numpy(layer.non_trainable_weights)
  model.predict(x, verbose=0)
  model.evaluate(x, y, verbose=0)
  for a, b in zip(before, _numpy(layer.non_trainable_weights)):
    np.testing.assert_array_equal(a, b)
  model.fit(x, y, epochs=1, batch_size=16, verbose=0)
  mean, var, n_batches = _numpy(layer.non_trainable_weights)
  assert n_batches == 4  # one update per training step
  assert not np.allclose(mean, before[0]) and not np.allclose(var, before[1])
  # predict uses the running statistics (eval build): one example alone gives the same
  # output as within a batch, which batch statistics would not.
  np.testing.assert_allclose(
    model.predict(x[:1], verbose=0), model.predict(x, verbose=0)[:1], rtol=1e-5, atol=1e-6
  )
  eval_model = tl.Serial(
    tl.Dense(8), tl.BatchNorm(axis=(0,), momentum=0.9, mode='eval'), tl.Dense(1)
  )
  outputs, _ = eval_model.pure_fn(
    x, layer.trax_weights(), layer.trax_state(), np.zeros(2, np.uint32)
  )
  np.testing.assert_allclose(model.predict(x, verbose=0), outputs, rtol=1e-5, atol=1e-5)


def test_dropout_differs_between_training_calls_and_is_off_in_predict():
  x = np.ones((4, 64), np.float32)
  layer = TraxLayer(tl.Dropout(0.5), seed=11)
  model = keras.Sequential([keras.Input((64,)), layer])
  first = keras.ops.convert_to_numpy(layer(x, training=True))
  second = keras.ops.convert_to_numpy(layer(x, training=True))
  assert set(np.unique(first)) == {0.0, 2.0} and not np.array_equal(first, second)
  np.testing.assert_array_equal(model.predict(x, verbose=0), x)
  np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
  # The same seed gives the same masks.
  again = TraxLayer(tl.Dropout(0.5), seed=11)
  np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(x, training=True)), first)
  np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(x, training=True)), second)


def test_fit_draws_a_fresh_key_every_step_and_inference_draws_none():
  x, y = helpers.regression_data(64)
  layer = TraxLayer(tl.Serial(tl.Dense(16), tl.Dropout(0.3), tl.Dense(1)), seed=0)
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.SGD(0.01), 'mse')
  seed_state = lambda: keras.ops.convert_to_numpy(layer.seed_generator.state).copy()
  start = seed_state()
  model.predict(x, verbose=0)
  np.testing.assert_array_equal(seed_state(), start)
  model.fit(x, y, epochs=1, batch_size=16, verbose=0)
  np.testing.assert_array_equal(seed_state(), start + [0, 4])  # 4 steps, 4 keys


def test_training_flag_selects_train_and_eval_builds_sharing_weights():
  layer = TraxLayer(tl.Serial(tl.Dense(8), tl.Dropout(0.9)), seed=0)
  x = np.ones((2, 4), np.float32)
  layer(x)
  # Both builds compute from the one set of Keras variables.
  expected, _ = tl.Dense(8).pure_fn(x, layer.trax_weights()[0], (), np.zeros(2, np.uint32))
  np.testing.assert_allclose(
    keras.ops.convert_to_numpy(layer(x, training=False)), expected, rtol=1e-6
  )
  assert np.mean(keras.ops.convert_to_numpy(layer(x, training=True)) == 0) > 0.5


@helpers.tf_only
def test_inference_graph_has_no_state_writes():
  import tensorflow as tf

  model = keras.Sequential(
    [
      keras.Input((4,)),
      TraxLayer(tl.Serial(tl.Dense(8), tl.BatchNorm(axis=(0,)), tl.Dropout(0.5), tl.Dense(1))),
    ]
  )
  spec = tf.TensorSpec([None, 4], tf.float32)
  ops = lambda training: {
    op.type
    for op in tf.function(lambda x: model(x, training=training))
    .get_concrete_function(spec)
    .graph.get_operations()
  }
  assert 'AssignVariableOp' in ops(True)
  assert not {op for op in ops(False) if op.startswith('Assign')}


def test_state_of_an_initialized_trax_layer_is_kept():
  trax_model = tl.Serial(tl.Dense(4), tl.BatchNorm(axis=(0,)))
  x, _ = helpers.regression_data(16)
  trax_model.init(shapes.signature(x))
  trax_model(x)  # one training step of statistics
  layer = TraxLayer(trax_model)
  layer(x)
  mean, var, n_batches = layer.trax_state()[1]
  np.testing.assert_allclose(mean, trax_model.state[1][0], rtol=1e-6)
  assert n_batches == 1
