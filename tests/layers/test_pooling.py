"""Tests for trax/layers/pooling.py against numpy windows and Keras pooling layers."""

import itertools

import numpy as np
import pytest

import trax.layers as tl
from trax.shapes import ShapeDtype
from tests.layers import harness

PARITY_CASES = [
  harness.Case('MaxPool', lambda: tl.MaxPool(), ShapeDtype((2, 5, 4, 3))),
  harness.Case(
    'MaxPool', lambda: tl.MaxPool((3,), strides=(2,), padding='SAME'), ShapeDtype((2, 7, 3))
  ),
  harness.Case('SumPool', lambda: tl.SumPool((2, 3), strides=(2, 2)), ShapeDtype((2, 5, 7, 3))),
  harness.Case(
    'AvgPool', lambda: tl.AvgPool((3, 2), strides=(2, 2), padding='SAME'), ShapeDtype((2, 5, 5, 3))
  ),
  harness.Case(
    'MaskedMean',
    lambda: tl.MaskedMean(keepdims=True),
    (ShapeDtype((2, 5, 3)), ShapeDtype((2, 5), np.bool_)),
  ),
]


def _pool_reference(x, reduce, pool_size, strides, padding):
  """Naive pooling: `reduce` over each in-bounds window of the spatial axes."""
  starts, sizes = [], []
  for n, k, s in zip(x.shape[1:-1], pool_size, strides):
    if padding == 'SAME':
      count = -(-n // s)
      before = max((count - 1) * s + k - n, 0) // 2
    else:
      count, before = (n - k) // s + 1, 0
    starts.append([i * s - before for i in range(count)])
    sizes.append(count)
  y = np.zeros((x.shape[0], *sizes, x.shape[-1]), np.float64)
  for position in itertools.product(*map(range, sizes)):
    window = tuple(
      slice(max(axis_starts[i], 0), axis_starts[i] + k)
      for axis_starts, i, k in zip(starts, position, pool_size)
    )
    patch = x[(slice(None), *window, slice(None))]
    flat = patch.reshape(x.shape[0], -1, x.shape[-1])
    y[(slice(None), *position, slice(None))] = reduce(flat, axis=1)
  return y


REDUCERS = {'MaxPool': np.max, 'SumPool': np.sum, 'AvgPool': np.mean}


@pytest.mark.parametrize('kind', sorted(REDUCERS))
@pytest.mark.parametrize(
  'pool_size, strides, padding',
  [
    ((2, 2), None, 'VALID'),
    ((3, 2), (2, 2), 'VALID'),
    ((3, 3), (2, 1), 'SAME'),
    ((2, 3), (3, 2), 'SAME'),
  ],
)
def test_pooling_matches_numpy_windows(kind, pool_size, strides, padding):
  x = np.random.default_rng(0).normal(size=(2, 7, 6, 3)).astype(np.float32)
  y = getattr(tl, kind)(pool_size, strides=strides, padding=padding)(x)
  expected = _pool_reference(x, REDUCERS[kind], pool_size, strides or (1, 1), padding)
  np.testing.assert_allclose(np.asarray(y), expected, atol=1e-5, rtol=1e-5)


def test_strides_default_to_one_as_in_trax():
  x = np.arange(16, dtype=np.float32).reshape((1, 4, 4, 1))
  y = np.asarray(tl.MaxPool()(x))
  assert y.shape == (1, 3, 3, 1)
  np.testing.assert_array_equal(y[0, :, :, 0], [[5, 6, 7], [9, 10, 11], [13, 14, 15]])


def test_one_and_three_spatial_axes():
  x1 = np.random.default_rng(1).normal(size=(2, 9, 3)).astype(np.float32)
  y1 = tl.AvgPool((3,), strides=(2,))(x1)
  np.testing.assert_allclose(
    np.asarray(y1), _pool_reference(x1, np.mean, (3,), (2,), 'VALID'), atol=1e-6
  )
  x3 = np.random.default_rng(2).normal(size=(1, 4, 5, 6, 2)).astype(np.float32)
  y3 = tl.MaxPool((2, 2, 3), strides=(2, 2, 3))(x3)
  np.testing.assert_allclose(
    np.asarray(y3), _pool_reference(x3, np.max, (2, 2, 3), (2, 2, 3), 'VALID')
  )


@pytest.mark.parametrize('padding', ['VALID', 'SAME'])
def test_pooling_matches_keras(padding):
  import keras

  x = np.random.default_rng(3).normal(size=(2, 7, 6, 3)).astype(np.float32)
  options = dict(pool_size=(3, 2), strides=(2, 2), padding=padding)
  keras_options = dict(pool_size=(3, 2), strides=(2, 2), padding=padding.lower())
  to_numpy = keras.ops.convert_to_numpy
  np.testing.assert_allclose(
    np.asarray(tl.MaxPool(**options)(x)), to_numpy(keras.layers.MaxPooling2D(**keras_options)(x))
  )
  np.testing.assert_allclose(
    np.asarray(tl.AvgPool(**options)(x)),
    to_numpy(keras.layers.AveragePooling2D(**keras_options)(x)),
    atol=1e-6,
  )
  x1 = x[:, :, 0, :]
  np.testing.assert_allclose(
    np.asarray(tl.MaxPool((3,), strides=(1,), padding=padding)(x1)),
    to_numpy(keras.layers.MaxPooling1D(3, strides=1, padding=padding.lower())(x1)),
  )


def test_names_and_arity():
  layer = tl.SumPool((2, 3))
  assert (layer.name, layer.n_in, layer.n_out) == ('SumPool(2,3)', 1, 1)
  assert not layer.init(ShapeDtype((1, 4, 4, 2)))[0]


@pytest.mark.parametrize('kind', sorted(REDUCERS))
def test_bad_input_rank_names_layer(kind):
  layer = getattr(tl, kind)((2, 2))
  with pytest.raises(tl.LayerError, match='expects inputs of rank 4') as error:
    layer(np.zeros((3, 4, 4), np.float32))
  assert f'{kind}(2,2)' in str(error.value)


@pytest.mark.parametrize(
  'make, message',
  [
    (lambda: tl.MaxPool((2, 2), strides=(2,)), 'one entry per axis'),
    (lambda: tl.AvgPool(padding='same'), "padding must be 'VALID' or 'SAME'"),
  ],
)
def test_bad_arguments(make, message):
  with pytest.raises(ValueError, match=message):
    make()


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_masked_mean_averages_the_kept_steps(backend):
  from trax import fastmath

  x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
  mask = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], bool)
  with fastmath.use_backend(backend):
    y = np.asarray(tl.MaskedMean()((x, mask)))
  expected = [x[i][mask[i]].mean(axis=0) for i in range(2)]
  np.testing.assert_allclose(y, expected, rtol=1e-6)
