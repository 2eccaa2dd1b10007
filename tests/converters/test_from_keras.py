"""`from_keras`: every supported Keras layer, and real models, give Keras' numbers in trax."""

import re

import keras
import numpy as np
import pytest

import converters
from tests.converters import helpers
from tests.converters.keras_helpers import assert_same
from tests.converters.keras_helpers import randomize
from tests.converters.keras_helpers import single_layer_model

L = keras.layers


SEQUENCE = (7, 5)
IMAGE = (9, 9, 3)
LAYER_CASES = {
  'dense_relu': (lambda: L.Dense(6, activation='relu'), (5,)),
  'dense_on_sequences_no_bias': (lambda: L.Dense(4, use_bias=False), SEQUENCE),
  'conv2d_same_gelu': (lambda: L.Conv2D(4, 3, padding='same', activation='gelu'), IMAGE),
  'conv2d_strided': (lambda: L.Conv2D(4, (3, 2), strides=2), IMAGE),
  'conv1d_causal': (lambda: L.Conv1D(3, 3, padding='causal'), SEQUENCE),
  'conv1d_valid': (lambda: L.Conv1D(3, 2, strides=2, activation='tanh'), SEQUENCE),
  'max_pool_2d': (lambda: L.MaxPooling2D(), IMAGE),
  'max_pool_1d_same': (lambda: L.MaxPooling1D(3, strides=2, padding='same'), SEQUENCE),
  'average_pool_2d_same': (lambda: L.AveragePooling2D(3, strides=2, padding='same'), IMAGE),
  'average_pool_1d': (lambda: L.AveragePooling1D(2), SEQUENCE),
  'global_average_2d': (lambda: L.GlobalAveragePooling2D(), IMAGE),
  'global_max_1d': (lambda: L.GlobalMaxPooling1D(keepdims=True), SEQUENCE),
  'flatten': (lambda: L.Flatten(), IMAGE),
  'dropout': (lambda: L.Dropout(0.5), (5,)),
  'layer_norm': (lambda: L.LayerNormalization(), SEQUENCE),
  'layer_norm_no_center': (lambda: L.LayerNormalization(center=False, epsilon=1e-5), (5,)),
  'rms_norm': (lambda: L.RMSNormalization(), SEQUENCE),
  'batch_norm': (lambda: L.BatchNormalization(), IMAGE),
  'batch_norm_no_scale': (lambda: L.BatchNormalization(scale=False, epsilon=1e-2), (5,)),
  'activation_softmax': (lambda: L.Activation('softmax'), (5,)),
  'activation_swish': (lambda: L.Activation('swish'), (5,)),
  'relu': (lambda: L.ReLU(), (5,)),
  'leaky_relu': (lambda: L.LeakyReLU(0.1), (5,)),
  'elu': (lambda: L.ELU(0.7), (5,)),
  'softmax_axis_1': (lambda: L.Softmax(axis=1), SEQUENCE),
  'lstm_last': (lambda: L.LSTM(4), SEQUENCE),
  'lstm_sequences_no_bias': (lambda: L.LSTM(4, return_sequences=True, use_bias=False), SEQUENCE),
  'gru_reset_after': (lambda: L.GRU(4, return_sequences=True), SEQUENCE),
  'gru_reset_before_last': (lambda: L.GRU(3, reset_after=False), SEQUENCE),
  'self_attention': (lambda: L.MultiHeadAttention(2, 3), (7, 6)),
}


@pytest.mark.parametrize('case', sorted(LAYER_CASES))
def test_layer(case):
  make, input_shape = LAYER_CASES[case]
  if case == 'self_attention':
    model = single_layer_model(make(), input_shape, call=lambda l, x: l(x, x))
  else:
    model = single_layer_model(make(), input_shape)
  assert_same(model, helpers.random_floats((2, *input_shape), seed=1))


def test_embedding():
  model = single_layer_model(L.Embedding(11, 4), (6,), dtype='int32')
  assert_same(model, helpers.random_tokens((3, 6), vocab=11))


def test_causal_self_attention_and_cross_attention():
  x = keras.Input((7, 6))
  memory = keras.Input((5, 4))
  causal = L.MultiHeadAttention(2, 3)(x, x, use_causal_mask=True)
  cross = L.MultiHeadAttention(3, 2, use_bias=False)(causal, memory)
  model = randomize(keras.Model([x, memory], cross))
  layer = assert_same(
    model, [helpers.random_floats((2, 7, 6)), helpers.random_floats((2, 5, 4), seed=2)]
  )
  assert 'CausalAttention' in repr(layer)


def test_merges_in_a_functional_graph():
  a, b = keras.Input((6,)), keras.Input((6,))
  h, g = L.Dense(5)(a), L.Dense(5)(b)
  total = L.Add()([h, g, h])  # h is used three times.
  difference = L.Subtract()([h, total])  # Order matters.
  joined = L.Concatenate()([difference, a, total])
  product = L.Multiply()([total, total])
  model = randomize(keras.Model([a, b], [L.Dense(2)(joined), product]))
  assert_same(model, [helpers.random_floats((3, 6)), helpers.random_floats((3, 6), 1)])


def test_a_real_text_classifier():
  tokens = keras.Input((12,), dtype='int32')
  x = L.Embedding(50, 16)(tokens)
  x = L.Conv1D(16, 3, padding='same', activation='relu')(x)
  attended = L.MultiHeadAttention(4, 4)(x, x)
  x = L.LayerNormalization()(L.Add()([x, attended]))
  x = L.LSTM(8, return_sequences=True)(x)
  x = L.Concatenate()([L.GlobalAveragePooling1D()(x), L.GlobalMaxPooling1D()(x)])
  x = L.Dropout(0.3)(L.Dense(16, activation='gelu')(x))
  model = randomize(keras.Model(tokens, L.Dense(3, activation='softmax')(x)), seed=4)
  assert_same(model, helpers.random_tokens((4, 12), vocab=50))


def test_a_sequential_chain_compiles_to_a_plain_serial():
  model = randomize(
    keras.Sequential(
      [keras.Input((6,)), L.Dense(8), L.BatchNormalization(), L.ReLU(), L.Dense(3), L.Softmax()]
    )
  )
  layer = assert_same(model, helpers.random_floats((4, 6)))
  assert 'Select' not in repr(layer)


def test_converted_layers_name_the_line_that_called_from_keras():
  model = keras.Sequential([keras.Input((6,)), L.Dense(8), L.ReLU(), L.Dense(3)])
  layer, _ = converters.from_keras(model)
  with pytest.raises(Exception, match=r'created at test_from_keras\.py:(\d+)') as error:
    layer(np.ones((2, 5), np.float32))
  line = int(re.search(r'created at test_from_keras\.py:(\d+)', str(error.value)).group(1))
  assert 'layer, _ = converters.from_keras(model)' in open(__file__).read().splitlines()[line - 1]


@pytest.mark.slow
def test_a_real_image_classifier_sequential():
  model = randomize(
    keras.Sequential(
      [
        keras.Input(IMAGE),
        L.Conv2D(8, 3, padding='same'),
        L.BatchNormalization(),
        L.ReLU(),
        L.MaxPooling2D(),
        L.Conv2D(8, 3, activation='relu'),
        L.BatchNormalization(),
        L.GlobalAveragePooling2D(),
        L.Dense(10),
        L.Softmax(),
      ]
    ),
    seed=5,
  )
  layer = assert_same(model, helpers.random_floats((2, *IMAGE)))
  assert 'Select' not in repr(layer)  # A chain compiles to a plain Serial.


def test_batch_norm_in_train_mode_matches_and_updates_like_keras():
  model = single_layer_model(L.BatchNormalization(momentum=0.9), (4,))
  keras_norm = model.layers[-1]
  layer, _ = converters.from_keras(model, mode='train')
  x = helpers.random_floats((8, 4), seed=3) * 3 + 1
  np.testing.assert_allclose(np.asarray(layer(x)), model(x, training=True).numpy(), atol=1e-4)
  running_mean = np.asarray(layer.state[0][0]).ravel()
  np.testing.assert_allclose(running_mean, keras_norm.moving_mean.numpy(), atol=1e-5)


def test_unsupported_layers_are_all_reported_by_name_and_type():
  model = keras.Sequential(
    [
      keras.Input((4,)),
      L.Dense(4, activation='sparsemax', name='dm'),
      L.Lambda(lambda x: x * 2, name='twice'),
      L.LayerNormalization(rms_scaling=True, name='rms'),
    ]
  )
  with pytest.raises(converters.UnsupportedLayerError) as e:
    converters.from_keras(model)
  assert e.value.layers == [('dm', 'Dense'), ('twice', 'Lambda'), ('rms', 'LayerNormalization')]
  assert "activation 'sparsemax'" in str(e.value) and 'allow_wrapping=True' in str(e.value)


def test_subclassed_or_unbuilt_models_are_refused_clearly():
  with pytest.raises(ValueError, match='no known inputs'):
    converters.from_keras(keras.Sequential([L.Dense(2)]))
