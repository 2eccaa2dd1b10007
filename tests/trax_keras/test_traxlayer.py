"""TraxLayer as a Keras layer: training, weights, gradients, shapes, Keras conventions."""

import json

import jax
import keras
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers


def test_sequential_mlp_trains_with_fit():
  x, y = helpers.regression_data()
  model = keras.Sequential([TraxLayer(helpers.mlp(), seed=0)])
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  losses = model.fit(x, y, epochs=8, batch_size=32, verbose=0).history['loss']
  assert losses[-1] < 0.3 * losses[0], losses


def test_variables_are_named_by_trax_path_counted_and_ordered():
  layer = TraxLayer(helpers.mlp(), seed=0, name='trax_layer')
  model = keras.Sequential([keras.Input((4,)), layer])
  assert [v.path.removeprefix(model.name + '/') for v in layer.trainable_variables] == [
    'trax_layer/serial/0/dense/w',
    'trax_layer/serial/0/dense/b',
    'trax_layer/serial/2/dense/w',
    'trax_layer/serial/2/dense/b',
  ]
  assert [v.name for v in layer.trainable_variables] == ['w', 'b', 'w', 'b']
  assert layer.count_params() == model.count_params() == 4 * 32 + 32 + 32 + 1
  lines = []
  model.summary(print_fn=lines.append)
  assert '193' in ''.join(lines)
  # Flat Trax order: the trax weights flatten to the Keras variables, one to one.
  expected = jax.tree.leaves(
    helpers.mlp().init(shapes.ShapeDtype((8, 4)), rng=jax.random.PRNGKey(0))[0]
  )
  for variable, value in zip(layer.trainable_variables, expected):
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)


def test_weights_taken_from_an_initialized_trax_layer():
  trax_model = helpers.mlp()
  x, _ = helpers.regression_data(8)
  trax_model.init(shapes.signature(x), rng=jax.random.PRNGKey(42))
  expected = trax_model(x)
  layer = TraxLayer(trax_model)
  np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-6, atol=1e-6)


def test_trax_weights_give_the_trained_model_back_to_trax():
  x, y = helpers.regression_data(64)
  layer = TraxLayer(helpers.mlp(), seed=1)
  model = keras.Sequential([layer])
  model.compile(keras.optimizers.SGD(0.05), 'mse')
  model.fit(x, y, epochs=2, batch_size=16, verbose=0)
  outputs, _ = helpers.mlp().pure_fn(
    x, layer.trax_weights(), layer.trax_state(), jax.random.PRNGKey(0)
  )
  np.testing.assert_allclose(model.predict(x, verbose=0), outputs, rtol=1e-5, atol=1e-5)


def test_gradients_equal_jax_grad_of_the_trax_layer():
  trax_model = tl.Serial(tl.Dense(16), tl.Gelu(), tl.LayerNorm(), tl.Dense(3))
  layer = TraxLayer(trax_model, seed=3)
  x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
  projection = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
  layer(x)
  got = helpers.keras_gradients(layer, x, projection)
  expected = helpers.jax_gradients(
    trax_model, layer.trax_weights(), layer.trax_state(), x, projection, jax.random.PRNGKey(0)
  )
  assert len(got) == len(expected) == 6
  for g, e in zip(got, expected):
    # 1e-6 of the gradient's scale: TF's and XLA's float32 kernels round differently.
    assert np.max(np.abs(g - e)) <= 1e-6 * (1 + np.max(np.abs(e))), (g, e)


def test_matches_native_keras_layers_in_prediction_and_training():
  x, y = helpers.regression_data(64)
  layer = TraxLayer(tl.Serial(tl.Dense(8), tl.Relu(), tl.Dense(1)), seed=0)
  traxed = keras.Sequential([keras.Input((4,)), layer])
  native = keras.Sequential(
    [keras.Input((4,)), keras.layers.Dense(8, activation='relu'), keras.layers.Dense(1)]
  )
  native.set_weights(traxed.get_weights()[:4])  # Dense (w, b) is Keras' (kernel, bias).
  np.testing.assert_allclose(
    traxed.predict(x, verbose=0), native.predict(x, verbose=0), rtol=1e-6, atol=1e-6
  )
  for model in (traxed, native):
    model.compile(keras.optimizers.SGD(0.1), 'mse')
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
  for a, b in zip(traxed.get_weights()[:4], native.get_weights()):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_mixed_with_native_layers_in_sequential_and_functional_models():
  x, y = helpers.regression_data(128)
  sequential = keras.Sequential(
    [
      keras.layers.Dense(16, activation='relu'),
      TraxLayer(tl.Serial(tl.Dense(16), tl.Relu()), seed=0),
      keras.layers.Dense(1),
    ]
  )
  sequential.compile(keras.optimizers.Adam(0.01), 'mse')
  losses = sequential.fit(x, y, epochs=4, batch_size=32, verbose=0).history['loss']
  assert losses[-1] < losses[0]

  # Two inputs in, two outputs out: Branch(Dense(2), Dense(3)) after adding the inputs.
  a, b = keras.Input((4,)), keras.Input((4,))
  features = keras.layers.Dense(4)(a)
  two_outputs = TraxLayer(tl.Serial(tl.Add(), tl.Branch(tl.Dense(2), tl.Dense(3))))([features, b])
  assert [t.shape for t in two_outputs] == [(None, 2), (None, 3)]
  functional = keras.Model([a, b], [keras.layers.Dense(1)(two_outputs[0]), two_outputs[1]])
  out = functional.predict([x, x], verbose=0)
  assert out[0].shape == (128, 1) and out[1].shape == (128, 3)


@tl.register
def _sum_fields(fields):
  return {'total': fields['a'] + fields['b'], 'difference': fields['a'] - fields['b']}


def test_dict_inputs_and_outputs():
  inputs = {'a': keras.Input((3,), name='a'), 'b': keras.Input((3,), name='b')}
  outputs = TraxLayer(tl.Fn('SumFields', _sum_fields))(inputs)
  model = keras.Model(inputs, outputs)
  a = np.ones((2, 3), np.float32)
  result = model.predict({'a': a, 'b': 2 * a}, verbose=0)
  np.testing.assert_allclose(result['total'], 3 * a)
  np.testing.assert_allclose(result['difference'], -a)


def test_compute_output_shape_and_spec_with_dynamic_sequence_length():
  signature = shapes.ShapeDtype((None, None), np.int32)
  layer = TraxLayer(tl.Serial(tl.Embedding(50, 8), tl.Dense(4)), input_signature=signature)
  assert layer.compute_output_shape((None, None)) == (None, None, 4)
  assert layer.compute_output_shape((2, 7)) == (2, 7, 4)
  spec = layer.compute_output_spec(keras.KerasTensor((None, 5), dtype='int32'))
  assert spec.shape == (None, 5, 4) and spec.dtype == 'float32'
  model = keras.Sequential([keras.Input((None,), dtype='int32'), layer])
  for length in (3, 9):
    ids = np.arange(2 * length, dtype=np.int32).reshape(2, length)
    assert model.predict(ids, verbose=0).shape == (2, length, 4)


def test_get_config_is_json_and_from_config_rebuilds_the_same_layer():
  layer = TraxLayer(helpers.mlp(), seed=5, name='mlp')
  x, _ = helpers.regression_data(8)
  expected = keras.ops.convert_to_numpy(layer(x))
  config = layer.get_config()
  assert json.loads(json.dumps(config)) == config
  assert config['layer'] == helpers.mlp().config() and config['seed'] == 5
  assert config['input_signature'] == {'shape': [None, 4], 'dtype': 'float32'}
  rebuilt = TraxLayer.from_config(config)
  rebuilt(x)
  rebuilt.set_weights(layer.get_weights())
  np.testing.assert_allclose(keras.ops.convert_to_numpy(rebuilt(x)), expected, rtol=1e-6)
  assert rebuilt.count_params() == layer.count_params()


def test_dynamic_batch_sizes_in_one_model():
  model = keras.Sequential([keras.Input((4,)), TraxLayer(helpers.mlp(), seed=0)])
  assert model.output_shape == (None, 1)
  x, _ = helpers.regression_data(64)
  full = model.predict(x, verbose=0)
  for batch in (1, 3, 64):
    np.testing.assert_allclose(
      model.predict(x[:batch], verbose=0), full[:batch], rtol=1e-6, atol=1e-6
    )


@helpers.tf_only
def test_one_tf_function_trace_serves_every_batch_size():
  import tensorflow as tf

  model = keras.Sequential([keras.Input((4,)), TraxLayer(helpers.mlp(), seed=0)])
  traces = []

  @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
  def serve(x):
    traces.append(x.shape)
    return model(x, training=False)

  x, _ = helpers.regression_data(64)
  for batch in (1, 3, 64):
    np.testing.assert_allclose(
      serve(x[:batch]), model.predict(x[:batch], verbose=0), rtol=1e-6, atol=1e-6
    )
  assert len(traces) == 1


def test_layer_without_config_is_refused_with_the_reason():
  with pytest.raises(ValueError, match='config'):
    TraxLayer(tl.Fn('Twice', lambda x: 2 * x))


def test_keras_own_layer_test_harness_passes():
  # Keras' internal `run_layer_test` (what its built-in layers pass): symbolic and eager
  # calls, output shapes, weight counts, get_config/from_config, a fit, mixed precision.
  from keras.src.testing import test_case

  model = tl.Serial(tl.Dense(8), tl.BatchNorm(axis=(0,)), tl.Dropout(0.2), tl.Dense(3))
  test_case.TestCase().run_layer_test(
    TraxLayer,
    init_kwargs={'layer': model.config(), 'seed': 1},
    input_shape=(2, 5),
    expected_output_shape=(2, 3),
    expected_num_trainable_weights=6,
    expected_num_non_trainable_weights=4,  # BatchNorm statistics, Dropout's rate
    expected_num_seed_generators=1,
    supports_masking=False,
  )


def test_shared_trax_layer_has_one_set_of_variables():
  dense = tl.Dense(4)
  trax_model = tl.Serial(dense, tl.Relu(), dense)
  x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
  trax_model.init(shapes.signature(x))
  layer = TraxLayer(trax_model)
  np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), trax_model(x), rtol=1e-6)
  assert [v.path for v in layer.trainable_variables] == [
    f'{layer.name}/serial/0/dense/w',
    f'{layer.name}/serial/0/dense/b',
  ]
