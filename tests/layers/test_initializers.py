"""Initializers: sample statistics against their formulas."""

import jax
import numpy as np
import pytest

from trax.shapes import ShapeDtype
import trax.layers as tl
from trax.layers import initializers

RNG = jax.random.PRNGKey(0)
# 200 x 300 samples: a sample variance is within about 3% of the truth at 5 sigma.
DENSE = (200, 300)
CONV = (3, 3, 20, 30)  # HWIO: receptive field 9.


def _sample(initializer, shape, **kwargs):
  values = np.asarray(initializer(shape, RNG, **kwargs))
  assert values.shape == tuple(shape) and values.dtype == np.float32
  return values


@pytest.mark.parametrize(
  'shape, kwargs, expected',
  [
    ((), {}, (1, 1)),
    ((7,), {}, (7, 7)),
    ((4, 5), {}, (4, 5)),
    (CONV, {}, (9 * 20, 9 * 30)),
    ((6, 5, 4), {'out_dim': 0, 'in_dim': 1}, (5 * 4, 6 * 4)),
    ((10, 3, 4, 5), {'nonreceptive_dims': [0]}, (3 * 4, 3 * 5)),
    ((10, 3, 4, 5), {'nonreceptive_dims': 0}, (3 * 4, 3 * 5)),
  ],
)
def test_fans(shape, kwargs, expected):
  assert initializers.fans(shape, **kwargs) == expected


@pytest.mark.parametrize(
  'factory, fan_in, fan_out, variance',
  [
    (tl.GlorotNormalInitializer, *DENSE, 2.0 / (200 + 300)),
    (tl.GlorotUniformInitializer, *DENSE, 2.0 / (200 + 300)),
    (tl.LeCunNormalInitializer, *DENSE, 1.0 / 200),
    (tl.LeCunUniformInitializer, *DENSE, 1.0 / 200),
    (tl.KaimingNormalInitializer, *DENSE, 2.0 / 200),
    (tl.KaimingUniformInitializer, *DENSE, 2.0 / 200),
  ],
)
def test_variance_scaling_statistics(factory, fan_in, fan_out, variance):
  values = _sample(factory(), (fan_in, fan_out))
  np.testing.assert_allclose(values.mean(), 0.0, atol=5 * np.sqrt(variance / values.size))
  np.testing.assert_allclose(values.var(), variance, rtol=0.03)
  if 'Uniform' in factory.__name__:
    limit = np.sqrt(3.0 * variance)
    assert limit * 0.99 < np.abs(values).max() <= limit
  else:  # Plain (untruncated) normal, as in Trax 1.4: tails reach past 4 stddev.
    assert np.abs(values).max() > 4 * np.sqrt(variance)


def test_convolution_kernels_count_the_receptive_field():
  values = _sample(tl.GlorotUniformInitializer(), CONV)
  np.testing.assert_allclose(values.var(), 2.0 / (9 * 20 + 9 * 30), rtol=0.03)


def test_kaiming_leaky_relu_parameter():
  values = _sample(tl.KaimingNormalInitializer(param=0.5), DENSE)
  np.testing.assert_allclose(values.var(), 2.0 / ((1 + 0.5**2) * 200), rtol=0.03)


def test_scale_and_custom_dims():
  values = _sample(tl.GlorotNormalInitializer(out_dim=0, in_dim=1, scale=3.0), (300, 100))
  np.testing.assert_allclose(values.var(), 3.0 * 2.0 / (100 + 300), rtol=0.03)


def test_truncated_normal_keeps_the_variance_within_two_stddev():
  variance = 1.0 / 200
  values = _sample(tl.ScaledInitializer(-1, -2, 1.0, 'fan_in', 'truncated_normal'), DENSE)
  np.testing.assert_allclose(values.var(), variance, rtol=0.03)
  assert np.abs(values).max() <= 2 * np.sqrt(variance) / 0.8796256610342398 * (1 + 1e-6)


def test_scaled_initializer_rejects_bad_arguments():
  with pytest.raises(ValueError, match='scale must be positive'):
    tl.ScaledInitializer(-1, -2, 0.0, 'fan_in', 'normal')
  with pytest.raises(ValueError, match='mode must be one of'):
    tl.ScaledInitializer(-1, -2, 1.0, 'fan_sum', 'normal')
  with pytest.raises(ValueError, match='distribution must be one of'):
    tl.ScaledInitializer(-1, -2, 1.0, 'fan_in', 'cauchy')


def test_random_normal_and_uniform():
  normal = _sample(tl.RandomNormalInitializer(0.5), DENSE)
  np.testing.assert_allclose(normal.std(), 0.5, rtol=0.02)
  uniform = _sample(tl.RandomUniformInitializer(2.0), DENSE)
  assert -2.0 <= uniform.min() and uniform.max() < 2.0
  np.testing.assert_allclose(uniform.var(), 4.0 / 3.0, rtol=0.03)


def test_initializers_are_deterministic_per_rng():
  init = tl.GlorotUniformInitializer()
  np.testing.assert_array_equal(init((3, 4), RNG), init((3, 4), RNG))
  assert not np.array_equal(init((3, 4), RNG), init((3, 4), jax.random.PRNGKey(1)))


@pytest.mark.parametrize('shape', [(6, 4), (4, 6), (5, 5), (2, 3, 4), (8,)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
  q = _sample(tl.OrthogonalInitializer(stddev=2.0), shape).reshape(-1, shape[-1]) / 2.0
  gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
  np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


def test_orthogonal_is_not_biased_towards_positive_diagonals():
  # Without the sign fix, QR gives a positive diagonal of R and a skewed Q.
  diagonals = [
    np.diag(np.asarray(tl.OrthogonalInitializer()((4, 4), jax.random.PRNGKey(s))))
    for s in range(200)
  ]
  assert abs(np.mean(np.array(diagonals) > 0) - 0.5) < 0.1


def test_atari_conv_init_bounds():
  values = np.asarray(tl.AtariConvInit((8, 8, 4, 32), RNG))
  limit = 1.0 / np.sqrt(8 * 8 * 4)
  assert limit * 0.99 < np.abs(values).max() <= limit


def test_initializer_from_file(tmp_path):
  path = str(tmp_path / 'table.npy')
  table = np.arange(6, dtype=np.float32).reshape(2, 3)
  np.save(path, table)
  np.testing.assert_array_equal(_sample(tl.InitializerFromFile(path), (2, 3)), table)
  with pytest.raises(
    ValueError,
    match=r'holds an array of shape \(2, 3\), but the layer '
    r'expects \(3, 2\)',
  ):
    tl.InitializerFromFile(path)((3, 2), RNG)


def test_initializer_from_file_refuses_pickles(tmp_path):
  path = str(tmp_path / 'objects.npy')
  np.save(path, np.array([{'a': 1}], dtype=object), allow_pickle=True)
  with pytest.raises(ValueError, match='allow_pickle'):
    tl.InitializerFromFile(path)((1,), RNG)


def test_initializers_rebuild_from_layer_configs():
  layer = tl.Dense(3, kernel_initializer=tl.KaimingUniformInitializer(param=0.2))
  assert layer.config()['kwargs']['kernel_initializer'] == {
    'factory': 'KaimingUniformInitializer',
    'kwargs': {'param': 0.2},
  }
  rebuilt = tl.from_config(layer.config())
  signature = ShapeDtype((1, 4))
  np.testing.assert_array_equal(layer.init(signature)[0][0], rebuilt.init(signature)[0][0])
