"""`fastmath.random` on the tensorflow-numpy and numpy backends: keys, determinism and
distributions (the generators differ from jax's, so numbers are checked statistically)."""

import jax
import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf

from trax import fastmath
from trax.fastmath import numpy as fnp

BACKENDS = ('tensorflow-numpy', 'numpy')
N = 20_000


def _np(x):
  return np.asarray(x.numpy() if tf.is_tensor(x) else x)


@pytest.mark.parametrize('backend', BACKENDS)
def test_same_key_same_numbers_other_key_other_numbers(backend):
  with fastmath.use_backend(backend):
    key = fastmath.random.get_prng(7)
    k1, k2 = fastmath.random.split(key)
    draw = lambda k: _np(fastmath.random.uniform(k, (100,)))
    np.testing.assert_array_equal(draw(key), draw(key))
    assert len({draw(k).tobytes() for k in (key, k1, k2)}) == 3
    folded = [_np(fastmath.random.fold_in(key, d)) for d in (0, 1, np.uint32(1))]
    np.testing.assert_array_equal(folded[1], folded[2])
    big = [_np(fastmath.random.fold_in(key, d)) for d in (2**32 - 1, np.uint32(2**32 - 1))]
    np.testing.assert_array_equal(big[0], big[1])
    assert big[0].dtype == folded[0].dtype == _np(key).dtype
    assert not np.array_equal(folded[0], folded[1])
    assert _np(fastmath.random.split(key, 5)).shape == (5, 2)
    assert len({tuple(k) for k in _np(fastmath.random.split(key, 5))}) == 5


@pytest.mark.parametrize('backend', BACKENDS)
def test_distributions(backend):
  with fastmath.use_backend(backend):
    keys = fastmath.random.split(fastmath.random.get_prng(0), 5)
    uniform = _np(fastmath.random.uniform(keys[0], (N,), fnp.float32, -2.0, 4.0))
    normal = _np(fastmath.random.normal(keys[1], (N,)))
    ints = _np(fastmath.random.randint(keys[2], (N,), 3, 7))
    coins = _np(fastmath.random.bernoulli(keys[3], 0.3, (N,)))
    unit = _np(fastmath.random.uniform(keys[4], (N,)))
  assert uniform.dtype == normal.dtype == unit.dtype == np.float32
  assert ints.dtype == np.int32 and coins.dtype == np.bool_
  assert -2.0 <= uniform.min() and uniform.max() < 4.0
  assert abs(uniform.mean() - 1.0) < 0.05 and abs(uniform.std() - 6 / np.sqrt(12)) < 0.03
  assert 0.0 <= unit.min() and unit.max() < 1.0 and abs(unit.mean() - 0.5) < 0.01
  assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1.0) < 0.03
  assert abs(np.mean(np.abs(normal) < 1.0) - 0.6827) < 0.015  # Normal, not just unit std.
  assert set(np.unique(ints)) == {3, 4, 5, 6}
  assert np.abs(np.bincount(ints - 3) / N - 0.25).max() < 0.02
  assert abs(coins.mean() - 0.3) < 0.015


@pytest.mark.parametrize('seed, n', [(0, 1), (1, 7), (2**31 - 1, 1000), (12345, 65_537)])
def test_jax_bits_are_jax_random_bits_bit_for_bit(seed, n):
  # jax_backend.random_bits computes threefry itself (faster); it must not change a bit.
  key = jax.random.PRNGKey(seed)
  words = np.asarray(jax.random.bits(key, (n,), np.uint32))
  np.testing.assert_array_equal(np.asarray(fastmath.random.bits(key, (n,))), words)
  np.testing.assert_array_equal(
    np.asarray(jax.jit(fastmath.random.bits, static_argnums=1)(key, (n,))), words
  )
  # Narrow numbers are cut from the words of half (a quarter) as many 32-bit draws.
  for dtype, per_word in ((np.uint16, 2), (np.uint8, 4)):
    expected = np.asarray(jax.random.bits(key, (-(-n // per_word),), np.uint32))
    expected = expected.view(dtype)[:n]
    got = np.asarray(fastmath.random.bits(key, (n,), dtype))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize('backend', ('jax',) + BACKENDS)
@pytest.mark.parametrize('dtype', (np.uint8, np.uint16, np.uint32))
def test_every_bit_of_bits_is_a_fair_coin(backend, dtype):
  with fastmath.use_backend(backend):
    numbers = _np(fastmath.random.bits(fastmath.random.get_prng(3), (N,), dtype))
  assert numbers.dtype == dtype and numbers.shape == (N,)
  n_bits = 8 * np.dtype(dtype).itemsize
  ones = (numbers[:, None].astype(np.uint64) >> np.arange(n_bits, dtype=np.uint64)) & 1
  assert np.abs(ones.mean(axis=0) - 0.5).max() < 0.015  # 4.2 sigma at N = 20000.


def test_split_keys_unpack_inside_tf_function():
  # The Trax idiom `rng_a, rng_b = split(rng)` inside a traced TF graph.
  with fastmath.use_backend('tensorflow-numpy'):

    @tf.function(autograph=False, input_signature=[tf.TensorSpec((2,), tf.uint32)])
    def draw(key):
      key_a, key_b = fastmath.random.split(key)
      return fastmath.random.uniform(key_a, (3,)), fastmath.random.uniform(key_b, (3,))

    a, b = draw(tf.constant([0, 7], tf.uint32))
    eager_a = fastmath.random.uniform(fastmath.random.split(np.array([0, 7], np.uint32))[0], (3,))
  assert not np.array_equal(_np(a), _np(b))
  np.testing.assert_array_equal(_np(a), _np(eager_a))


def test_tf_accepts_jax_numpy_and_tf_keys_alike():
  jax_key = jax.random.PRNGKey(3)
  same_bits = [
    jax_key,
    np.asarray(jax_key),
    tf.constant(np.asarray(jax_key)),
    tf.bitcast(tf.constant(np.asarray(jax_key)), tf.int32),
  ]
  with fastmath.use_backend('tensorflow-numpy'):
    draws = [_np(fastmath.random.normal(k, (8,))) for k in same_bits]
    for draw in draws[1:]:
      np.testing.assert_array_equal(draw, draws[0])
    int64_key = fastmath.random.uniform(tf.constant([0, 3], tf.int64), (8,))
    default_rng = fastmath.random.bernoulli(np.zeros(2, np.uint32), 0.5, (8,))
    assert int64_key.shape == (8,) and default_rng.dtype == tf.bool
    with pytest.raises(ValueError, match='shape-\\[2\\]'):
      fastmath.random.uniform(tf.constant([1, 2, 3]), (2,))


@pytest.mark.parametrize('seed', [0, 42, -1, 2**31 + 5, 2**32 + 7])
def test_get_prng_lays_out_a_seed_as_jax_does(seed):
  expected = np.asarray(jax.random.PRNGKey(seed))
  with fastmath.use_backend('tensorflow-numpy'):
    np.testing.assert_array_equal(_np(fastmath.random.get_prng(seed)).view(np.uint32), expected)
  with fastmath.use_backend('numpy'):
    np.testing.assert_array_equal(fastmath.random.get_prng(seed), expected)


def test_tf_random_inside_tf_function_with_dynamic_shape_and_low_precision():
  @tf.function(
    input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([2], tf.int32)], autograph=False
  )
  def dropout_mask(x, key):
    keep = fastmath.random.bernoulli(key, 0.75, fastmath.shape(x))
    noise = fastmath.random.uniform(key, fastmath.shape(x), fnp.bfloat16)
    return fnp.where(keep, x / 0.75, fnp.zeros_like(x)), noise

  with fastmath.use_backend('tensorflow-numpy'):
    key = fastmath.random.get_prng(1)
    masked, noise = dropout_mask(tf.ones((1000, 3)), key)
    again, _ = dropout_mask(tf.ones((1000, 3)), key)
  np.testing.assert_array_equal(masked.numpy(), again.numpy())
  assert set(np.unique(masked.numpy())) == {0.0, np.float32(1 / 0.75)}
  assert abs(np.mean(masked.numpy() > 0) - 0.75) < 0.03
  assert noise.dtype == tf.bfloat16 and _np(noise).dtype == ml_dtypes.bfloat16


def test_jax_truncated_normal_is_jax_random_truncated_normal():
  key = fastmath.random.get_prng(3)
  with fastmath.use_backend('jax'):
    samples = fastmath.random.truncated_normal(key, -2.0, 2.0, (1000,), np.float32)
  np.testing.assert_array_equal(samples, jax.random.truncated_normal(key, -2.0, 2.0, (1000,)))
  assert samples.dtype == np.float32 and -2.0 < samples.min() and samples.max() < 2.0
  with fastmath.use_backend('numpy'), pytest.raises(fastmath.BackendError, match='jax'):
    fastmath.random.truncated_normal(key, -2.0, 2.0, (3,))


@pytest.mark.parametrize('lower, upper', [(-2.0, 2.0), (-1.0, 0.5)])
def test_tf_truncated_normal_matches_jax_in_distribution(lower, upper):
  key = fastmath.random.get_prng(3)
  expected = _np(jax.random.truncated_normal(key, lower, upper, (N,)))
  with fastmath.use_backend('tensorflow-numpy'):
    got = _np(fastmath.random.truncated_normal(key, lower, upper, (N,)))
  assert got.dtype == np.float32 and lower <= got.min() and got.max() <= upper
  for stat in (np.mean, np.std, lambda x: np.mean(x < 0.0)):
    assert abs(stat(got) - stat(expected)) < 0.02
