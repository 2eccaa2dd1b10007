"""Every exact mapping of `converters.keras_mappings`, against Keras itself (random weights,
`training=False`): the built-in layers real models use, one Keras layer per case."""

import keras
import numpy as np
import pytest

import converters
import trax.layers as tl
from converters.keras_mappings import activations
from converters.keras_mappings import core
from tests.converters.keras_helpers import assert_same
from tests.converters.keras_helpers import floats
from tests.converters.keras_helpers import randomize
from tests.converters.keras_helpers import single_layer_model

L = keras.layers
SEQ, IMG, VOL = (7, 5), (9, 9, 4), (5, 6, 5, 3)

CASES = {
  # Padding and cropping.
  'zero_padding_1d': (lambda: L.ZeroPadding1D((1, 2)), SEQ),
  'zero_padding_2d': (lambda: L.ZeroPadding2D(((1, 0), (2, 3))), IMG),
  'zero_padding_3d': (lambda: L.ZeroPadding3D(1), VOL),
  'cropping_1d': (lambda: L.Cropping1D((1, 2)), SEQ),
  'cropping_2d': (lambda: L.Cropping2D(((1, 0), (2, 3))), IMG),
  'cropping_3d': (lambda: L.Cropping3D(1), VOL),
  # Convolutions.
  'conv3d_strided': (lambda: L.Conv3D(4, 2, strides=(1, 2, 1)), VOL),
  'conv2d_grouped': (lambda: L.Conv2D(8, 3, groups=2, padding='same'), IMG),
  'conv2d_dilated': (lambda: L.Conv2D(5, 3, dilation_rate=2, padding='same'), IMG),
  'conv1d_causal_dilated': (lambda: L.Conv1D(4, 3, padding='causal', dilation_rate=2), SEQ),
  'depthwise_2d': (
    lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding='same', strides=2),
    IMG,
  ),
  'depthwise_2d_dilated_relu6': (
    lambda: L.DepthwiseConv2D(3, dilation_rate=2, activation='relu6'),
    IMG,
  ),
  'depthwise_1d': (lambda: L.DepthwiseConv1D(3, depth_multiplier=3, padding='same'), SEQ),
  'separable_2d': (lambda: L.SeparableConv2D(6, 3, depth_multiplier=2, padding='same'), IMG),
  'separable_1d': (lambda: L.SeparableConv1D(6, 3, strides=2, use_bias=False), SEQ),
  'transpose_2d_same': (lambda: L.Conv2DTranspose(3, 3, strides=2, padding='same'), IMG),
  'transpose_2d_valid': (lambda: L.Conv2DTranspose(3, (3, 2), strides=(2, 3)), IMG),
  'transpose_2d_dilated': (lambda: L.Conv2DTranspose(3, 3, dilation_rate=2), IMG),
  'transpose_1d_no_bias': (lambda: L.Conv1DTranspose(3, 4, strides=2, use_bias=False), SEQ),
  'transpose_3d': (lambda: L.Conv3DTranspose(2, 2, strides=2, padding='same'), VOL),
  # ReLU arguments and other activation layers.
  'relu_max_6': (lambda: L.ReLU(max_value=6.0), SEQ),
  'relu_all_arguments': (lambda: L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.3), SEQ),
  'relu_threshold': (lambda: L.ReLU(threshold=0.5), SEQ),
  'relu_slope': (lambda: L.ReLU(negative_slope=0.2), SEQ),
  'prelu_shared': (lambda: L.PReLU(shared_axes=[1, 2]), IMG),
  'softmax_two_axes': (lambda: L.Softmax(axis=(1, 2)), SEQ),
  # Preprocessing, reshaping, upsampling.
  'rescaling': (lambda: L.Rescaling(1 / 127.5, -1), IMG),
  'rescaling_per_channel': (lambda: L.Rescaling([1.0, 2.0, 3.0, 4.0], 0.5), IMG),
  'reshape': (lambda: L.Reshape((5, -1)), SEQ),
  'permute': (lambda: L.Permute((2, 1)), SEQ),
  'repeat_vector': (lambda: L.RepeatVector(3), (5,)),
  'flatten_image': (lambda: L.Flatten(), IMG),
  'upsampling_1d': (lambda: L.UpSampling1D(3), SEQ),
  'upsampling_2d': (lambda: L.UpSampling2D((2, 3)), IMG),
  'upsampling_2d_bilinear': (lambda: L.UpSampling2D(2, interpolation='bilinear'), IMG),
  'upsampling_3d': (lambda: L.UpSampling3D(2), VOL),
  'masking': (lambda: L.Masking(0.5), SEQ),
  # Normalization and pooling.
  'group_norm': (lambda: L.GroupNormalization(2), IMG),
  'group_norm_no_center': (lambda: L.GroupNormalization(5, center=False), SEQ),
  'unit_norm': (lambda: L.UnitNormalization(), SEQ),
  'unit_norm_two_axes': (lambda: L.UnitNormalization(axis=[1, 2]), SEQ),
  'global_average_keepdims': (lambda: L.GlobalAveragePooling2D(keepdims=True), IMG),
  'global_max_3d': (lambda: L.GlobalMaxPooling3D(), VOL),
  'global_max_2d': (lambda: L.GlobalMaxPooling2D(), IMG),
  'global_average_3d': (lambda: L.GlobalAveragePooling3D(), VOL),
  'max_pool_3d': (lambda: L.MaxPooling3D(2), VOL),
  'average_pool_3d_same': (lambda: L.AveragePooling3D(2, padding='same'), VOL),
  # Recurrent layers and wrappers.
  'simple_rnn_sequences': (lambda: L.SimpleRNN(4, return_sequences=True), SEQ),
  'simple_rnn_backwards_relu': (lambda: L.SimpleRNN(4, go_backwards=True, activation='relu'), SEQ),
  'lstm_state': (lambda: L.LSTM(4, return_state=True), SEQ),
  'lstm_backwards': (lambda: L.LSTM(4, return_sequences=True, go_backwards=True), SEQ),
  'gru_state_sequences': (lambda: L.GRU(3, return_state=True, return_sequences=True), SEQ),
  'rnn_of_a_gru_cell': (lambda: L.RNN(L.GRUCell(3, reset_after=False)), SEQ),
  'bidirectional_lstm': (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), SEQ),
  'bidirectional_gru_sum': (lambda: L.Bidirectional(L.GRU(3), merge_mode='sum'), SEQ),
  'bidirectional_states_ave': (
    lambda: L.Bidirectional(L.LSTM(3, return_state=True), merge_mode='ave'),
    SEQ,
  ),
  'bidirectional_no_merge': (
    lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode=None),
    SEQ,
  ),
  'time_distributed_dense': (lambda: L.TimeDistributed(L.Dense(3)), SEQ),
  'time_distributed_conv': (lambda: L.TimeDistributed(L.Conv2D(3, 2)), (3, 5, 5, 2)),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_layer(case):
  make, input_shape = CASES[case]
  assert_same(single_layer_model(make(), input_shape), floats((2, *input_shape)))


def test_every_activation_name():
  x = keras.Input((4, 6))
  names = sorted(activations.ACTIVATIONS)
  model = keras.Model(x, [L.Activation(name)(x) for name in names])
  layer = assert_same(model, floats((2, 4, 6)) * 3)
  assert layer.n_out == len(names)


def test_the_refused_activations_say_why():
  with pytest.raises(converters.UnsupportedLayerError, match='not the projection'):
    converters.from_keras(single_layer_model(L.Activation('sparsemax'), (4,)))


def test_normalization_with_adapted_statistics_and_inverted():
  data = floats((50, 3, 4)) * np.array([1.0, 2.0, 3.0, 4.0], np.float32) + 5.0
  adapted = L.Normalization()
  adapted.adapt(data)
  given = L.Normalization(axis=(1, 2), mean=data.mean(0), variance=data.var(0), invert=True)
  x = keras.Input((3, 4))
  model = keras.Model(x, [adapted(x), given(x)])
  layer = assert_same(model, data[:2], atol=1e-4)
  flat_weights, flat_state = tl.flatten_weights_and_state(layer.weights, layer.state)
  assert not flat_weights and len(flat_state) == 4  # The statistics are state.


# Arguments of the layers that need some; the rest take none.
_IDENTITY_ARGUMENTS = {
  'Dropout': (0.3,),
  'SpatialDropout1D': (0.3,),
  'SpatialDropout2D': (0.3,),
  'SpatialDropout3D': (0.3,),
  'GaussianDropout': (0.3,),
  'GaussianNoise': (0.3,),
  'AlphaDropout': (0.3,),
  'RandomRotation': (0.2,),
  'RandomTranslation': (0.2, 0.2),
  'RandomZoom': (0.2,),
  'RandomContrast': (0.2,),
  'RandomBrightness': (0.2,),
  'RandomHue': (0.2,),
  'RandomSaturation': (0.2,),
  'RandomSharpness': (0.2,),
  'RandomShear': (0.2,),
  'RandomColorDegeneration': (0.2,),
  'RandomPosterization': (4,),
}
_SHAPES = {'SpatialDropout1D': (6, 3), 'SpatialDropout3D': (4, 4, 4, 3)}


@pytest.mark.parametrize(
  'name', [n for n in core.INFERENCE_IDENTITIES if n not in ('CutMix', 'MixUp')]
)  # (images, labels)
def test_layers_that_are_identities_in_inference(name):
  layer = getattr(L, name)(*_IDENTITY_ARGUMENTS.get(name, ()))
  shape = _SHAPES.get(name, (6, 6, 3))
  x = np.random.default_rng(0).uniform(0, 1, (2, *shape)).astype(np.float32)
  assert_same(single_layer_model(layer, shape), x)


def test_dropout_in_train_mode_drops_like_keras_in_distribution():
  model = single_layer_model(L.Dropout(0.5), (1000,))
  layer, _ = converters.from_keras(model, mode='train')
  y = np.asarray(layer(np.ones((4, 1000), np.float32)))
  assert set(np.unique(y)) == {0.0, 2.0} and 0.45 < np.mean(y == 0.0) < 0.55


@pytest.mark.parametrize(
  'make, shared',
  [
    (lambda: L.Dropout(0.5, noise_shape=(None, 1, 1, 1)), (1, 2, 3)),  # Stochastic depth.
    (lambda: L.SpatialDropout2D(0.5), (1, 2)),
  ],
)
def test_dropout_with_shared_masks_in_train_mode(make, shared):
  model = single_layer_model(make(), (4, 4, 3))
  layer, _ = converters.from_keras(model, mode='train')
  y = np.asarray(layer(np.ones((400, 4, 4, 3), np.float32)))
  assert set(np.unique(y)) == {0.0, 2.0} and 0.4 < np.mean(y == 0.0) < 0.6
  # One mask value along the shared axes: Keras' noise_shape.
  assert np.all(np.ptp(y, axis=shared) == 0.0)
  assert not np.all(np.ptp(y, axis=tuple(range(1, 4))) == 0.0) or shared == (1, 2, 3)


def test_the_custom_layers_of_keras_applications():
  from keras.src.applications import convnext
  from keras.src.applications import inception_resnet_v2

  x = keras.Input((5, 6))
  scaled = convnext.LayerScale(1e-6, 6)(x)
  residual = inception_resnet_v2.CustomScaleLayer(0.17)([x, L.Dense(6)(x)])
  model = randomize(keras.Model(x, [scaled, residual]))
  layer = assert_same(model, floats((2, 5, 6)))
  assert 'LayerScale' in repr(layer) and 'Rescale' in repr(layer)
