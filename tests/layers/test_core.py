"""Dense, Embedding, Dropout, Weights, RandomUniform, LocallyConnected1d against numpy."""

import jax
import numpy as np
import pytest

from trax import fastmath
from trax import shapes
from trax.shapes import ShapeDtype
import trax.layers as tl
from trax.layers import core
from tests.layers import harness

PARITY_CASES = [
  harness.Case('Dense', lambda: tl.Dense(4), ShapeDtype((2, 3))),
  harness.Case('Dense', lambda: tl.Dense(5, use_bias=False), ShapeDtype((2, 3, 4))),
  harness.Case('Embedding', lambda: tl.Embedding(10, 4), ShapeDtype((2, 3), np.int32)),
  harness.Case(
    'Dropout', lambda: tl.Dropout(0.4, mode='train'), ShapeDtype((2, 5)), {'deterministic': False}
  ),
  harness.Case(
    'Dropout', lambda: tl.Dropout(0.4, shared_axes=[1], mode='eval'), ShapeDtype((2, 3, 5))
  ),
  harness.Case(
    'Weights',
    lambda: tl.Weights(tl.RandomNormalInitializer(1.0), (2, 3)),
    (),
    {'dynamic_batch': False},
  ),
  harness.Case(
    'RandomUniform',
    lambda: tl.RandomUniform(-1.0, 2.0, (2, 3)),
    (),
    {'deterministic': False, 'dynamic_batch': False},
  ),
  harness.Case('LocallyConnected1d', lambda: tl.LocallyConnected1d(3, 3), ShapeDtype((2, 6, 4))),
  harness.Case(
    'LocallyConnected1d', lambda: tl.LocallyConnected1d(3, 3, padding='SAME'), ShapeDtype((2, 6, 4))
  ),
  harness.Case(
    'LocallyConnected1d', lambda: tl.LocallyConnected1d(2, 5, padding='WRAP'), ShapeDtype((2, 6, 3))
  ),
]

RNG = np.random.default_rng(0)


def _normal(*shape):
  return RNG.normal(size=shape).astype(np.float32)


class TestDense:
  @pytest.mark.parametrize('shape', [(3,), (2, 3), (2, 5, 3), (2, 1, 5, 3)])
  def test_affine_map_matches_numpy(self, shape):
    layer, x = tl.Dense(4), _normal(*shape)
    w, b = layer.init(shapes.signature(x))[0]
    assert (w.shape, b.shape) == ((3, 4), (4,))
    np.testing.assert_allclose(layer(x), x @ np.asarray(w) + np.asarray(b), rtol=1e-5)

  def test_without_bias_the_weights_are_a_bare_matrix(self):
    layer, x = tl.Dense(4, use_bias=False), _normal(2, 3)
    w, _ = layer.init(shapes.signature(x))
    assert w.shape == (3, 4)
    np.testing.assert_allclose(layer(x), x @ np.asarray(w), rtol=1e-5)

  def test_glorot_uniform_kernel_and_tiny_bias(self):
    w, b = tl.Dense(300).init(ShapeDtype((1, 200)))[0]
    limit = np.sqrt(6.0 / (200 + 300))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert np.abs(b).max() < 1e-5

  def test_wrong_last_dimension_names_the_layer(self):
    layer = tl.Dense(4)
    layer.init(ShapeDtype((2, 3)))
    with pytest.raises(tl.LayerError, match=r'(?s)Dense_4 .*last dimension 5.*expect 3'):
      layer(np.ones((2, 5), np.float32))

  def test_bfloat16_weights(self):
    x = _normal(2, 3)
    layer16, layer32 = tl.Dense(4, use_bfloat16=True), tl.Dense(4)
    w16, b16 = layer16.init(shapes.signature(x))[0]
    w32, b32 = layer32.init(shapes.signature(x))[0]
    assert w16.dtype == b16.dtype == jax.numpy.bfloat16
    np.testing.assert_allclose(np.float32(w16), w32, rtol=1e-2)
    np.testing.assert_allclose(layer16(x), layer32(x), rtol=3e-2, atol=3e-2)


class TestEmbedding:
  def test_looks_up_rows_of_the_table(self):
    layer, ids = tl.Embedding(10, 3), np.array([[2, 3, 5], [3, 2, 9]], np.int32)
    table = np.asarray(layer.init(shapes.signature(ids))[0])
    assert table.shape == (10, 3)
    np.testing.assert_array_equal(layer(ids), table[ids])

  def test_out_of_range_ids_raise_when_concrete_and_are_clipped_when_traced(self):
    layer = tl.Embedding(10, 3)
    table = np.asarray(layer.init(ShapeDtype((4,), np.int32))[0])
    ids = np.array([-1, -20, 10, 99], np.int32)
    with pytest.raises(
      tl.LayerError,
      match=r'(?s)Embedding_10_3.*ids must lie in '
      r'\[0, 10\), but 4 of 4 do not \(from -20 to 99',
    ):
      layer(ids)
    # Compiled code cannot raise: there, ids are clipped as Trax 1.x documents.
    y, _ = jax.jit(layer.pure_fn)(ids, layer.weights, layer.state, np.zeros(2, np.uint32))
    np.testing.assert_array_equal(y, table[[0, 0, 9, 9]])
    np.testing.assert_array_equal(layer(np.array([0, 9], np.int32)), table[[0, 9]])

  def test_default_table_is_uniform_with_variance_one_over_d_feature(self):
    table = np.asarray(tl.Embedding(1000, 64).init(ShapeDtype((1,), np.int32))[0])
    assert np.abs(table).max() <= np.sqrt(3.0 / 64)
    np.testing.assert_allclose(table.var(), 1.0 / 64, rtol=0.05)

  def test_float_ids_raise_naming_the_layer(self):
    with pytest.raises(tl.LayerError, match=r'(?s)Embedding_10_3 .*integer ids.*float32'):
      tl.Embedding(10, 3)(np.ones((2,), np.float32))

  def test_bfloat16_table_gives_float32_outputs(self):
    layer = tl.Embedding(10, 3, use_bfloat16=True)
    y = layer(np.array([1, 2], np.int32))
    assert layer.weights.dtype == jax.numpy.bfloat16 and y.dtype == np.float32


class TestDropout:
  def test_eval_and_predict_pass_inputs_through(self):
    x = _normal(4, 50)
    for mode in ('eval', 'predict'):
      np.testing.assert_array_equal(tl.Dropout(0.5, mode=mode)(x), x)

  def test_train_keeps_the_expected_fraction_and_rescales(self):
    x, rate = np.ones((10, 1000), np.float32), 0.3
    y = np.asarray(tl.Dropout(rate, mode='train')(x))
    n_kept = np.count_nonzero(y)
    sigma = np.sqrt(x.size * rate * (1 - rate))
    assert abs(n_kept - x.size * (1 - rate)) < 4 * sigma
    np.testing.assert_allclose(y[y != 0], 1.0 / (1 - rate), rtol=1e-6)

  def test_mask_changes_between_calls_but_not_for_one_rng(self):
    layer, x = tl.Dropout(0.5), np.ones((8, 64), np.float32)
    first, second = np.asarray(layer(x)), np.asarray(layer(x))
    assert not np.array_equal(first != 0, second != 0)
    weights, state = layer.init(shapes.signature(x))
    rng = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(
      layer.pure_fn(x, weights, state, rng)[0], layer.pure_fn(x, weights, state, rng)[0]
    )

  @pytest.mark.parametrize(
    'rate, drop_probability',
    [
      (0.1, round(0.1 * 2**16) / 2**16),  # 16-bit draws: the rate to 2**-16.
      (0.5, 0.5),
      (0.001, 0.001),  # 32-bit draws: 2**-16 would be 1.7% off.
    ],
  )
  def test_keep_mask_drops_with_the_documented_probability(self, rate, drop_probability):
    n = 2_000_000
    keep = np.asarray(core.keep_mask(jax.random.PRNGKey(0), rate, (n,)))
    assert keep.dtype == np.bool_
    sigma = np.sqrt(drop_probability * (1.0 - drop_probability) / n)
    assert abs(1.0 - keep.mean() - drop_probability) < 5 * sigma

  def test_shared_axes_give_a_mask_constant_along_them(self):
    y = np.asarray(tl.Dropout(0.5, shared_axes=[0, 2])(np.ones((6, 40, 5), np.float32)))
    kept = y != 0
    assert (kept == kept[:1, :, :1]).all()
    assert 0 < kept[0, :, 0].sum() < 40

  def test_state_is_the_rate_as_float32(self):
    _, state = tl.Dropout(0.25).init(ShapeDtype((2, 3)))
    assert state.dtype == np.float32 and state.shape == () and float(state) == 0.25

  @pytest.mark.parametrize('rate', [-0.1, 1.0, 1.5])
  def test_rate_outside_zero_one_is_rejected(self, rate):
    with pytest.raises(ValueError, match='rate'):
      tl.Dropout(rate)


class TestWeightsAndRandomUniform:
  def test_weights_layer_outputs_its_weights(self):
    layer = tl.Weights(tl.RandomNormalInitializer(1.0), (5, 2))
    weights, _ = layer.init(())
    assert layer.n_in == 0 and weights.shape == (5, 2)
    np.testing.assert_array_equal(layer(()), weights)

  def test_random_uniform_samples_in_range_and_changes_between_calls(self):
    layer = tl.RandomUniform(1.0, 3.0, (4000,))
    first, second = np.asarray(layer(())), np.asarray(layer(()))
    assert first.shape == (4000,) and first.dtype == np.float32
    assert first.min() >= 1.0 and first.max() < 3.0
    np.testing.assert_allclose(first.mean(), 2.0, atol=4 * np.sqrt(1 / 3 / 4000))
    assert not np.array_equal(first, second)

  def test_random_uniform_rejects_an_empty_range(self):
    with pytest.raises(ValueError, match='min_val < max_val'):
      tl.RandomUniform(1.0, 1.0)


def _locally_connected_reference(x, w, b, padding):
  """y[j] = b[j] + sum_i x[l] @ w[l, i], with l as documented for each padding."""
  length, k = w.shape[:2]
  h = (k - 1) // 2
  n_out = length - k + 1 if padding == 'VALID' else length
  y = np.zeros(x.shape[:-2] + (n_out, w.shape[-1]), np.float64)
  for j in range(n_out):
    for i in range(k):
      l = j + k - 1 - i if padding == 'VALID' else j - h + i
      if padding == 'WRAP':
        l %= length
      if 0 <= l < length:
        y[..., j, :] += x[..., l, :] @ w[l, i]
  return y + b


class TestLocallyConnected1d:
  @pytest.mark.parametrize('padding', ['VALID', 'SAME', 'WRAP'])
  @pytest.mark.parametrize('kernel_size', [1, 3, 5])
  def test_matches_the_documented_formula(self, padding, kernel_size):
    x = _normal(2, 7, 3)
    layer = tl.LocallyConnected1d(4, kernel_size, padding=padding)
    w, b = layer.init(shapes.signature(x))[0]
    b = _normal(*b.shape)
    n_out = 7 - kernel_size + 1 if padding == 'VALID' else 7
    assert w.shape == (7, kernel_size, 3, 4) and b.shape == (n_out, 4)
    np.testing.assert_allclose(
      layer(x, weights=(w, b)),
      _locally_connected_reference(x, np.asarray(w), b, padding),
      rtol=1e-4,
      atol=1e-5,
    )

  def test_kernel_fans_leave_out_the_position_axis(self):
    w, _ = tl.LocallyConnected1d(30, 3).init(ShapeDtype((1, 50, 20)))[0]
    limit = np.sqrt(6.0 / (3 * 20 + 3 * 30))  # Glorot with receptive field 3.
    assert limit * 0.99 < np.abs(w).max() <= limit

  def test_bad_arguments_and_inputs_are_rejected(self):
    with pytest.raises(ValueError, match='odd kernel_size'):
      tl.LocallyConnected1d(3, 2)
    with pytest.raises(ValueError, match='padding'):
      tl.LocallyConnected1d(3, 3, padding='CIRCULAR')
    layer = tl.LocallyConnected1d(3, 3)
    layer.init(ShapeDtype((2, 6, 4)))
    with pytest.raises(tl.LayerError, match=r'must end in \(length, d\) = \(6, 4\)'):
      layer(np.ones((2, 7, 4), np.float32))


class TestOnTensorflowNumpy:
  """Behaviour the parity table cannot compare: clipping and random masks under TF."""

  def test_embedding_checks_eager_ids_and_clips_traced_ones(self):
    layer = tl.Embedding(10, 3)
    table = np.asarray(layer.init(ShapeDtype((4,), np.int32))[0])
    ids = np.array([-3, 0, 9, 12], np.int32)
    with fastmath.use_backend('tensorflow-numpy'):
      with pytest.raises(tl.LayerError, match=r'ids must lie in \[0, 10\), but 2 of 4'):
        layer.pure_fn(ids, table, (), harness.RNG)
      traced = fastmath.jit(lambda x: layer.pure_fn(x, table, (), harness.RNG)[0])
      y = traced(ids)
    np.testing.assert_array_equal(np.asarray(y), table[[0, 0, 9, 9]])

  def test_dropout_keep_ratio_and_shared_axes(self):
    layer, x = tl.Dropout(0.3, shared_axes=[0]), np.ones((4, 5000), np.float32)
    weights, state = layer.init(shapes.signature(x))
    with fastmath.use_backend('tensorflow-numpy'):
      y = np.asarray(layer.pure_fn(x, weights, state, harness.RNG)[0])
    kept = y != 0
    assert (kept == kept[:1]).all()
    assert abs(kept[0].mean() - 0.7) < 4 * np.sqrt(0.3 * 0.7 / 5000)
    np.testing.assert_allclose(y[kept], 1.0 / 0.7, rtol=1e-6)
