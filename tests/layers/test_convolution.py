"""Tests for trax/layers/convolution.py against naive numpy convolutions and Keras."""

import itertools

import numpy as np
import pytest

import trax.layers as tl
from trax.shapes import ShapeDtype
from tests.layers import harness

PARITY_CASES = [
  harness.Case('Conv', lambda: tl.Conv(4, (2, 3)), ShapeDtype((2, 5, 6, 3))),
  harness.Case(
    'Conv', lambda: tl.Conv(4, (3, 3), strides=(2, 1), padding='SAME'), ShapeDtype((2, 5, 4, 3))
  ),
  harness.Case('Conv', lambda: tl.Conv(3, (2, 2), use_bias=False), ShapeDtype((2, 2, 4, 4, 3))),
  harness.Case('Conv1d', lambda: tl.Conv1d(4, 3, stride=2, padding='SAME'), ShapeDtype((2, 7, 3))),
  harness.Case('CausalConv', lambda: tl.CausalConv(4, kernel_width=3), ShapeDtype((2, 6, 3))),
  harness.Case('CausalDepthwiseConv', lambda: tl.CausalDepthwiseConv(3), ShapeDtype((2, 6, 4))),
  harness.Case(
    'ConvTranspose', lambda: tl.ConvTranspose(4, (3, 2), strides=(2, 3)), ShapeDtype((2, 3, 4, 3))
  ),
  harness.Case(
    'ConvTranspose',
    lambda: tl.ConvTranspose(2, (4, 3), strides=(2, 1), padding='SAME'),
    ShapeDtype((2, 3, 4, 3)),
  ),
]


def _random(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _same_padding(n, k, s):
  """TensorFlow's SAME padding of one axis: (before, after)."""
  total = max((-(-n // s) - 1) * s + k - n, 0)
  return total // 2, total - total // 2


def _conv_reference(x, w, strides, padding):
  """Naive N-d convolution: x (batch, *spatial, c_in), w (*kernel, c_in, c_out)."""
  kernel = w.shape[:-2]
  if padding == 'SAME':
    pads = [_same_padding(n, k, s) for n, k, s in zip(x.shape[1:-1], kernel, strides)]
    x = np.pad(x, [(0, 0), *pads, (0, 0)])
  out_spatial = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:-1], kernel, strides)]
  y = np.zeros((x.shape[0], *out_spatial, w.shape[-1]), np.float64)
  for position in itertools.product(*map(range, out_spatial)):
    window = tuple(slice(o * s, o * s + k) for o, s, k in zip(position, strides, kernel))
    patch = x[(slice(None), *window, slice(None))]
    y[(slice(None), *position, slice(None))] = np.tensordot(
      patch, w, axes=(list(range(1, patch.ndim)), list(range(w.ndim - 1)))
    )
  return y


def _conv_transpose_reference(x, w, strides, padding):
  """Naive transposed convolution (no kernel flip, as lax.conv_transpose) by scatter-add."""
  kernel = w.shape[:-2]
  spatial = x.shape[1:-1]
  full = [(n - 1) * s + k for n, s, k in zip(spatial, strides, kernel)]
  y = np.zeros((x.shape[0], *full, w.shape[-1]), np.float64)
  flipped = w[tuple(slice(None, None, -1) for _ in kernel)]
  for position in itertools.product(*map(range, spatial)):
    target = tuple(slice(i * s, i * s + k) for i, s, k in zip(position, strides, kernel))
    contribution = np.tensordot(
      x[(slice(None), *position, slice(None))], flipped, axes=([1], [len(kernel)])
    )  # (batch, *kernel, c_out)
    y[(slice(None), *target, slice(None))] += contribution
  if padding == 'VALID':
    sizes = [n * s + max(k - s, 0) for n, s, k in zip(spatial, strides, kernel)]
    starts = [0] * len(kernel)
  else:
    sizes = [n * s for n, s in zip(spatial, strides)]
    starts = [max(k - s, 0) // 2 for k, s in zip(kernel, strides)]
  ends = [b + n for b, n in zip(starts, sizes)]
  y = np.pad(y, [(0, 0)] + [(0, max(e - f, 0)) for e, f in zip(ends, full)] + [(0, 0)])
  return y[(slice(None), *(slice(b, e) for b, e in zip(starts, ends)), slice(None))]


def _run(layer, x):
  layer.init(ShapeDtype(x.shape, x.dtype))
  return np.asarray(layer(x)), [
    np.asarray(w) for w in tl.flatten_weights_and_state(layer.weights, layer.state)[0]
  ]


@pytest.mark.parametrize(
  'kernel, strides, padding',
  [
    ((2, 3), None, 'VALID'),
    ((3, 3), (2, 1), 'SAME'),
    ((3, 2), (2, 2), 'VALID'),
    ((4, 1), (3, 1), 'SAME'),
  ],
)
def test_conv_matches_naive_convolution(kernel, strides, padding):
  x = _random((2, 7, 6, 3))
  y, (w, b) = _run(tl.Conv(5, kernel, strides=strides, padding=padding), x)
  expected = _conv_reference(x, w, strides or (1, 1), padding) + b
  np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-5)


def test_conv_weights_layout_and_shapes():
  layer = tl.Conv(5, (2, 3))
  w, b = layer.init(ShapeDtype((1, 6, 6, 4)))[0]
  assert (w.shape, b.shape) == ((2, 3, 4, 5), (5,))
  layer = tl.Conv(5, (2, 3), dimension_numbers=('NCHW', 'OIHW', 'NCHW'))
  w, b = layer.init(ShapeDtype((1, 4, 6, 6)))[0]
  assert (w.shape, b.shape) == ((5, 4, 2, 3), (5, 1, 1))
  assert tl.Conv(5, (2, 3), use_bias=False).init(ShapeDtype((1, 6, 6, 4)))[0].shape == (2, 3, 4, 5)
  assert (layer.n_in, layer.n_out) == (1, 1)


def test_conv_default_kernel_initializer_is_glorot_normal():
  w, _ = tl.Conv(64, (3, 3)).init(ShapeDtype((1, 8, 8, 32)))[0]
  fan_in, fan_out = 9 * 32, 9 * 64
  np.testing.assert_allclose(np.std(np.asarray(w)), np.sqrt(2 / (fan_in + fan_out)), rtol=0.05)


def test_conv_channels_first_equals_channels_last():
  x = _random((2, 6, 5, 3))
  y_last, (w, b) = _run(tl.Conv(4, (3, 2), strides=(2, 1)), x)
  first = tl.Conv(4, (3, 2), strides=(2, 1), dimension_numbers=('NCHW', 'OIHW', 'NCHW'))
  x_first = np.transpose(x, (0, 3, 1, 2))
  first.init(ShapeDtype(x_first.shape))
  weights = (np.transpose(w, (3, 2, 0, 1)), b[:, None, None])
  y_first = np.asarray(first(x_first, weights=weights))
  np.testing.assert_allclose(np.transpose(y_first, (0, 2, 3, 1)), y_last, atol=1e-5)


def test_conv_folds_extra_batch_axes():
  x = _random((2, 3, 5, 5, 3))
  layer = tl.Conv(4, (2, 2))
  y, (w, b) = _run(layer, x)
  flat = np.asarray(layer(x.reshape(6, 5, 5, 3)))
  assert y.shape == (2, 3, 4, 4, 4)
  np.testing.assert_allclose(y.reshape(6, 4, 4, 4), flat, atol=1e-6)


def test_conv3d():
  x = _random((1, 4, 5, 3, 2))
  y, (w, b) = _run(tl.Conv(3, (2, 3, 2), dimension_numbers=('NDHWC', 'DHWIO', 'NDHWC')), x)
  np.testing.assert_allclose(y, _conv_reference(x, w, (1, 1, 1), 'VALID') + b, atol=1e-5)


@pytest.mark.parametrize('stride, padding', [(1, 'VALID'), (2, 'SAME'), (3, 'VALID')])
def test_conv1d_matches_naive_convolution(stride, padding):
  x = _random((2, 9, 3))
  y, (w, b) = _run(tl.Conv1d(4, 3, stride=stride, padding=padding), x)
  assert w.shape == (3, 3, 4)
  np.testing.assert_allclose(y, _conv_reference(x, w, (stride,), padding) + b, atol=1e-5)


def test_conv_and_conv1d_match_keras():
  import keras

  x2, x1 = _random((2, 7, 6, 3)), _random((2, 9, 3), seed=1)
  for layer, keras_layer, x in [
    (
      tl.Conv(4, (3, 2), strides=(2, 1), padding='SAME'),
      keras.layers.Conv2D(4, (3, 2), strides=(2, 1), padding='same'),
      x2,
    ),
    (tl.Conv1d(4, 3, stride=2), keras.layers.Conv1D(4, 3, strides=2), x1),
  ]:
    y, weights = _run(layer, x)
    keras_layer.build(x.shape)
    keras_layer.set_weights(weights)  # Same layout: (*kernel, in, out) and (out,).
    np.testing.assert_allclose(y, keras.ops.convert_to_numpy(keras_layer(x)), atol=1e-5)


def test_causal_conv_is_causal_and_left_padded():
  x = _random((2, 8, 3))
  layer = tl.CausalConv(4, kernel_width=3)
  y, (w, b) = _run(layer, x)
  assert y.shape == (2, 8, 4) and w.shape == (3, 3, 4)
  padded = np.pad(x, [(0, 0), (2, 0), (0, 0)])
  np.testing.assert_allclose(y, _conv_reference(padded, w, (1,), 'VALID') + b, atol=1e-5)
  changed = x.copy()
  changed[:, 5] += 1.0
  y_changed = np.asarray(layer(changed))
  np.testing.assert_array_equal(y_changed[:, :5], y[:, :5])
  assert np.all(np.abs(y_changed[:, 5] - y[:, 5]) > 0)


def test_causal_depthwise_conv():
  x = _random((2, 7, 4))
  layer = tl.CausalDepthwiseConv(kernel_size=3)
  y, (w,) = _run(layer, x)
  assert w.shape == (3, 4)
  expected = np.zeros_like(x)
  for t in range(7):
    for i in range(3):
      if t - i >= 0:
        expected[:, t] += w[i] * x[:, t - i]
  np.testing.assert_allclose(y, expected, atol=1e-6)
  assert tl.CausalDepthwiseConv(use_bfloat16=True).init(ShapeDtype((1, 3, 4)))[0].dtype == (
    'bfloat16'
  )


@pytest.mark.parametrize(
  'kernel, strides, padding',
  [
    ((3, 2), (2, 3), 'VALID'),
    ((3, 2), (2, 3), 'SAME'),
    ((4, 1), (2, 1), 'SAME'),
    ((2, 2), (3, 3), 'SAME'),
    ((3, 3), None, 'SAME'),
    ((1, 2), (3, 1), 'VALID'),
  ],
)
def test_conv_transpose_matches_naive_and_lax(kernel, strides, padding):
  from jax import lax

  x = _random((2, 3, 4, 3))
  y, (w, b) = _run(tl.ConvTranspose(5, kernel, strides=strides, padding=padding), x)
  strides = strides or (1, 1)
  np.testing.assert_allclose(y, _conv_transpose_reference(x, w, strides, padding) + b, atol=1e-5)
  expected = lax.conv_transpose(x, w, strides, padding, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(y, np.asarray(expected) + b, atol=1e-5)


def test_conv_transpose_rhs_dilation_matches_lax():
  from jax import lax

  x = _random((2, 4, 3, 2))
  y, (w, b) = _run(tl.ConvTranspose(3, (2, 3), strides=(2, 1), rhs_dilation=(2, 1)), x)
  expected = lax.conv_transpose(
    x, w, (2, 1), 'VALID', rhs_dilation=(2, 1), dimension_numbers=('NHWC', 'HWIO', 'NHWC')
  )
  np.testing.assert_allclose(y, np.asarray(expected) + b, atol=1e-5)


def test_conv_transpose_channels_first_matches_lax():
  from jax import lax

  x = _random((2, 3, 4, 5))
  specs = ('NCHW', 'OIHW', 'NCHW')
  y, (w, b) = _run(
    tl.ConvTranspose(2, (3, 2), strides=(2, 2), padding='SAME', dimension_numbers=specs), x
  )
  assert (w.shape, b.shape) == ((2, 3, 3, 2), (2, 1, 1))
  expected = lax.conv_transpose(x, w, (2, 2), 'SAME', dimension_numbers=specs)
  np.testing.assert_allclose(y, np.asarray(expected) + b, atol=1e-5)


@pytest.mark.parametrize('padding', ['VALID', 'SAME'])
def test_conv_transpose_matches_keras(padding):
  import keras

  x = _random((2, 3, 4, 3))
  y, (w, b) = _run(tl.ConvTranspose(5, (4, 3), strides=(2, 2), padding=padding), x)
  keras_layer = keras.layers.Conv2DTranspose(5, (4, 3), strides=(2, 2), padding=padding.lower())
  keras_layer.build(x.shape)
  # Keras' kernel is (h, w, out, in) and applied flipped (the true transpose of a conv).
  keras_layer.set_weights([np.transpose(w[::-1, ::-1], (0, 1, 3, 2)), b])
  np.testing.assert_allclose(y, keras.ops.convert_to_numpy(keras_layer(x)), atol=1e-5)


@pytest.mark.parametrize(
  'make, shape, message',
  [
    (lambda: tl.Conv(4, (2, 2)), (5, 5, 3), 'rank >= 4'),
    (lambda: tl.Conv1d(4, 2), (5, 3), 'rank >= 3'),
    (
      lambda: tl.Conv(4, (2, 2), dimension_numbers=('NCHW', 'OIHW', 'NCHW')),
      (1, 2, 3, 5, 5),
      'rank 4',
    ),
    (lambda: tl.CausalConv(4), (7, 3), 'rank >= 3'),
    (lambda: tl.CausalDepthwiseConv(), (7, 3), 'batch, length, depth'),
    (lambda: tl.ConvTranspose(4, (2, 2)), (5, 5, 3), 'rank >= 4'),
  ],
)
def test_bad_input_rank_names_layer(make, shape, message):
  layer = make()
  with pytest.raises(tl.LayerError, match=message) as error:
    layer.init(ShapeDtype(shape))
  assert layer.name in str(error.value)


def test_channel_mismatch_is_reported():
  layer = tl.Conv(4, (2, 2))
  layer.init(ShapeDtype((1, 5, 5, 3)))
  with pytest.raises(tl.LayerError, match='2 channels, but its weights expect 3'):
    layer(np.zeros((1, 5, 5, 2), np.float32))


@pytest.mark.parametrize(
  'make, message',
  [
    (lambda: tl.Conv(4, (2, 2), padding='same'), "padding must be 'VALID' or 'SAME'"),
    (lambda: tl.Conv(4, 3), 'kernel_size must be a sequence of ints'),
    (lambda: tl.Conv(4, (2, 2), strides=(1,)), 'one entry per spatial axis'),
    (lambda: tl.Conv(4, (2, 2), dimension_numbers=('NWC', 'WIO', 'NWC')), 'dimension_numbers'),
    (lambda: tl.ConvTranspose(4, (2, 2), rhs_dilation=(2,)), 'rhs_dilation'),
  ],
)
def test_bad_arguments(make, message):
  with pytest.raises(ValueError, match=message):
    make()
