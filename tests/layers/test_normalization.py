"""BatchNorm, LayerNorm and FilterResponseNorm against numpy."""

import jax.numpy as jnp
import numpy as np
import pytest

from trax import shapes
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case('BatchNorm', lambda: tl.BatchNorm(), ShapeDtype((2, 3, 4, 5))),
  harness.Case(
    'BatchNorm', lambda: tl.BatchNorm(axis=0, center=False, mode='eval'), ShapeDtype((4, 3))
  ),
  harness.Case('BatchNorm', lambda: tl.BatchNorm(axis=(0, -2), scale=False), ShapeDtype((4, 3, 2))),
  harness.Case('LayerNorm', lambda: tl.LayerNorm(), ShapeDtype((2, 3, 4))),
  harness.Case('LayerNorm', lambda: tl.LayerNorm(center=False, epsilon=1e-3), ShapeDtype((2, 5))),
  harness.Case('FilterResponseNorm', lambda: tl.FilterResponseNorm(), ShapeDtype((2, 3, 3, 4))),
  harness.Case(
    'FilterResponseNorm', lambda: tl.FilterResponseNorm(learn_epsilon=True), ShapeDtype((2, 5, 3))
  ),
]

RNG = np.random.default_rng(0)


def _normal(*shape, loc=0.0, scale=1.0):
  return (loc + scale * RNG.normal(size=shape)).astype(np.float32)


class TestBatchNorm:
  def test_weights_and_state_layout(self):
    (beta, gamma), (mean, var, n) = tl.BatchNorm().init(ShapeDtype((2, 3, 4, 5)))
    assert beta.shape == gamma.shape == (5,)
    np.testing.assert_array_equal(beta, 0.0)
    np.testing.assert_array_equal(gamma, 1.0)
    assert mean.shape == var.shape == (1, 1, 1, 5)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(var, 1.0)
    assert n.shape == () and n.dtype == np.int32 and int(n) == 0

  def test_disabled_center_and_scale_leave_empty_weights(self):
    weights, _ = tl.BatchNorm(axis=0, center=False, scale=False).init(ShapeDtype((4, 3)))
    assert weights == ((), ())

  def test_train_normalizes_with_batch_statistics(self):
    layer, x = tl.BatchNorm(axis=(0, 2)), _normal(6, 4, 3, 2, loc=2.0, scale=3.0)
    _, state = layer.init(shapes.signature(x))
    beta, gamma = _normal(4, 1, 2), _normal(4, 1, 2)
    y, _ = layer.pure_fn(x, (beta.reshape(4, 2), gamma.reshape(4, 2)), state, harness.RNG)
    mean = x.mean((0, 2), keepdims=True)
    var = x.astype(np.float64).var((0, 2), keepdims=True)
    expected = gamma * (x - mean) / np.sqrt(var + 1e-5) + beta
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)

  def test_train_updates_running_averages(self):
    layer = tl.BatchNorm(axis=0, momentum=0.9)
    batches = [_normal(8, 3, loc=1.0, scale=2.0), _normal(8, 3, loc=-1.0)]
    layer.init(shapes.signature(batches[0]))
    running_mean, running_var = np.zeros((1, 3)), np.ones((1, 3))
    for x in batches:
      layer(x)
      running_mean = 0.9 * running_mean + 0.1 * x.mean(0, keepdims=True)
      running_var = 0.9 * running_var + 0.1 * x.var(0, keepdims=True)
    mean, var, n = layer.state
    np.testing.assert_allclose(mean, running_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, running_var, rtol=1e-5)
    assert int(n) == 2

  def test_eval_uses_debiased_running_averages_and_keeps_state(self):
    train, x = tl.BatchNorm(axis=0, momentum=0.9), _normal(8, 3, loc=1.0, scale=2.0)
    train.init(shapes.signature(x))
    for _ in range(3):
      train(_normal(8, 3, loc=1.0, scale=2.0))
    evaluate = tl.BatchNorm(axis=0, momentum=0.9, mode='eval')
    evaluate.init(shapes.signature(x))
    evaluate.state = train.state
    (beta, gamma), (mean, var, _) = train.weights, train.state
    bias = 0.9**3
    mean_hat, var_hat = mean / (1 - bias), (var - bias) / (1 - bias)
    expected = (x - mean_hat) / np.sqrt(var_hat + 1e-5) * gamma + beta
    np.testing.assert_allclose(evaluate(x), expected, rtol=1e-4, atol=1e-4)
    harness.assert_trees_close(evaluate.state, train.state, 0.0, 0.0)

  def test_after_training_on_one_batch_eval_reproduces_train(self):
    # Debiased averages of identical batch statistics are those statistics.
    x = _normal(16, 3, loc=3.0, scale=0.5)
    train = tl.BatchNorm(axis=0)
    train.init(shapes.signature(x))
    for _ in range(4):
      y_train = train(x)
    evaluate = tl.BatchNorm(axis=0, mode='eval')
    evaluate.init(shapes.signature(x))
    evaluate.state = train.state
    np.testing.assert_allclose(evaluate(x), y_train, rtol=1e-2, atol=1e-2)

  def test_untrained_eval_standardizes_with_zero_mean_and_unit_variance(self):
    x = _normal(4, 3)
    np.testing.assert_allclose(
      tl.BatchNorm(axis=0, mode='eval')(x), x / np.sqrt(1 + 1e-5), rtol=1e-6
    )

  def test_keeps_the_input_dtype(self):
    x = jnp.asarray(_normal(4, 3), jnp.bfloat16)
    assert tl.BatchNorm(axis=0)(x).dtype == jnp.bfloat16

  def test_axis_beyond_the_rank_is_rejected(self):
    with pytest.raises(tl.LayerError, match=r'axis \(0, 1, 2\) does not fit inputs of rank 2'):
      tl.BatchNorm().init(ShapeDtype((4, 3)))


class TestLayerNorm:
  def test_matches_numpy(self):
    layer, x = tl.LayerNorm(), _normal(2, 3, 6, loc=1.0, scale=4.0)
    scale, bias = _normal(6), _normal(6)
    layer.init(shapes.signature(x))
    x64 = x.astype(np.float64)
    mean, var = x64.mean(-1, keepdims=True), x64.var(-1, keepdims=True)
    expected = (x64 - mean) / np.sqrt(var + 1e-6) * scale + bias
    np.testing.assert_allclose(layer(x, weights=(scale, bias)), expected, rtol=1e-4, atol=1e-5)

  def test_without_center_it_is_rms_normalization(self):
    layer, x = tl.LayerNorm(center=False, epsilon=1e-3), _normal(4, 5, loc=1.0)
    scale, bias = _normal(5), _normal(5)
    layer.init(shapes.signature(x))
    expected = x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-3) * scale
    np.testing.assert_allclose(layer(x, weights=(scale, bias)), expected, rtol=1e-5, atol=1e-6)

  def test_weights_are_ones_and_zeros_in_the_input_dtype(self):
    scale, bias = tl.LayerNorm().init(ShapeDtype((2, 4), jnp.bfloat16))[0]
    assert scale.dtype == bias.dtype == jnp.bfloat16 and scale.shape == (4,)
    np.testing.assert_array_equal(np.float32(scale), 1.0)
    np.testing.assert_array_equal(np.float32(bias), 0.0)


class TestFilterResponseNorm:
  def test_matches_numpy(self):
    layer, x = tl.FilterResponseNorm(init_epsilon=1e-2), _normal(2, 3, 4, 5, scale=0.3)
    layer.init(shapes.signature(x))
    gamma, beta = _normal(5), _normal(5)
    nu2 = (x.astype(np.float64) ** 2).mean((1, 2), keepdims=True)
    expected = gamma * x / np.sqrt(nu2 + 1e-2) + beta
    np.testing.assert_allclose(layer(x, weights=(gamma, beta, ())), expected, rtol=1e-5, atol=1e-6)

  def test_learnt_epsilon_adds_its_absolute_value(self):
    layer, x = tl.FilterResponseNorm(learn_epsilon=True, init_epsilon=1e-3), _normal(2, 4, 3)
    gamma, beta, (learnt,) = layer.init(shapes.signature(x))[0]
    assert learnt.shape == () and np.isclose(learnt, 1e-4)
    nu2 = (x.astype(np.float64) ** 2).mean(1, keepdims=True)
    y = layer(x, weights=(gamma, beta, (np.float32(-0.5),)))
    np.testing.assert_allclose(y, x / np.sqrt(nu2 + 1e-3 + 0.5), rtol=1e-5)

  def test_needs_a_spatial_axis_and_positive_epsilons(self):
    with pytest.raises(tl.LayerError, match='at least one spatial axis'):
      tl.FilterResponseNorm()(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match='positive'):
      tl.FilterResponseNorm(init_epsilon=0.0)
