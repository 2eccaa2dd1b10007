"""Activation layers against numpy formulas."""

import math

import jax
import numpy as np
import pytest

from trax import shapes
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

_SIG = ShapeDtype((2, 3))
_POSITIVE = np.random.default_rng(1).uniform(0.1, 3.0, (2, 3)).astype(np.float32)

PARITY_CASES = [
  harness.Case(name, lambda name=name: getattr(tl, name)(), _SIG)
  for name in (
    'Relu',
    'ParametricRelu',
    'LeakyRelu',
    'Elu',
    'Selu',
    'Gelu',
    'FastGelu',
    'Sigmoid',
    'Tanh',
    'HardSigmoid',
    'HardTanh',
    'Softplus',
    'Exp',
    'Swish',
  )
] + [
  harness.Case('ParametricRelu', lambda: tl.ParametricRelu(0.5), _SIG),
  harness.Case('LeakyRelu', lambda: tl.LeakyRelu(a=0.2), _SIG),
  harness.Case('Elu', lambda: tl.Elu(a=2.0), _SIG),
  harness.Case('Log', lambda: tl.Log(), _SIG, {'inputs': _POSITIVE}),
  harness.Case('Glu', lambda: tl.Glu(), ShapeDtype((2, 3, 4))),
  harness.Case('ThresholdedLinearUnit', lambda: tl.ThresholdedLinearUnit(), _SIG),
]

_erf = np.vectorize(math.erf)
_SELU_ALPHA, _SELU_LAMBDA = 1.6732632423543772, 1.0507009873554805
# Includes the kinks (0, -1, 1) and values large enough to overflow a naive exp.
X = np.concatenate([np.linspace(-6.0, 6.0, 49), [-100.0, -1.0, 0.0, 1.0, 100.0]]).astype(np.float32)
X64 = X.astype(np.float64)


@pytest.mark.parametrize(
  'layer, reference',
  [
    (tl.Relu(), np.maximum(X64, 0.0)),
    (tl.ParametricRelu(), np.maximum(X64, 0.0)),
    (tl.ParametricRelu(a=0.5), np.maximum(0.5 * X64, 0.0)),
    (tl.LeakyRelu(), np.where(X64 >= 0, X64, 0.01 * X64)),
    (tl.LeakyRelu(a=0.3), np.where(X64 >= 0, X64, 0.3 * X64)),
    (tl.Elu(), np.where(X64 > 0, X64, np.exp(np.minimum(X64, 0.0)) - 1.0)),
    (tl.Elu(a=2.0), np.where(X64 > 0, X64, 2.0 * (np.exp(np.minimum(X64, 0.0)) - 1.0))),
    (
      tl.Selu(),
      _SELU_LAMBDA * np.where(X64 > 0, X64, _SELU_ALPHA * (np.exp(np.minimum(X64, 0.0)) - 1.0)),
    ),
    (tl.Gelu(), X64 * 0.5 * (1.0 + _erf(X64 / np.sqrt(2.0)))),
    (tl.FastGelu(), 0.5 * X64 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (X64 + 0.044715 * X64**3)))),
    (tl.Sigmoid(), 1.0 / (1.0 + np.exp(-X64))),
    (tl.Tanh(), np.tanh(X64)),
    (tl.HardSigmoid(), np.clip(X64 + 1.0, 0.0, 1.0)),
    (tl.HardTanh(), np.clip(X64, -1.0, 1.0)),
    (tl.Softplus(), np.log1p(np.exp(-np.abs(X64))) + np.maximum(X64, 0.0)),
    (tl.Swish(), X64 / (1.0 + np.exp(-X64))),
  ],
  ids=lambda v: v.name if isinstance(v, tl.Layer) else '',
)
def test_matches_numpy_formula(layer, reference):
  y = np.asarray(layer(X))
  assert y.dtype == np.float32 and y.shape == X.shape
  np.testing.assert_allclose(y, reference, rtol=2e-6, atol=2e-6)


def test_exp_and_log():
  x = np.array([0.5, 1.0, 3.0], np.float32)
  np.testing.assert_allclose(tl.Exp()(x), np.exp(x), rtol=1e-6)
  np.testing.assert_allclose(tl.Log()(x), np.log(x), rtol=1e-6)


def test_fast_gelu_approximates_exact_gelu():
  exact, fast = np.asarray(tl.Gelu()(X)), np.asarray(tl.FastGelu()(X))
  difference = np.abs(exact - fast)
  assert 0 < difference.max() < 1e-3


@pytest.mark.parametrize('factory', [tl.Relu, tl.Elu, tl.Selu, tl.Softplus, tl.Swish, tl.Gelu])
def test_gradients_are_finite_even_for_extreme_inputs(factory):
  layer = factory()
  gradient = jax.grad(lambda x: layer(x).sum())(X)
  assert np.isfinite(gradient).all()


def test_relu_gradient_at_zero_is_zero():
  assert jax.grad(lambda x: tl.Relu()(x))(0.0) == 0.0


def test_glu_gates_the_first_half_with_the_second():
  x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype(np.float32)
  a, b = x[..., :4], x[..., 4:]
  np.testing.assert_allclose(tl.Glu()(x), a / (1.0 + np.exp(-b)), rtol=1e-5)


def test_glu_rejects_an_odd_last_dimension():
  with pytest.raises(tl.LayerError, match='even last dimension'):
    tl.Glu()(np.ones((2, 3), np.float32))


def test_thresholded_linear_unit():
  layer, x = tl.ThresholdedLinearUnit(), X.reshape(6, 9)
  threshold, _ = layer.init(shapes.signature(x))
  assert threshold.shape == () and threshold.dtype == np.float32 and float(threshold) == 0.0
  np.testing.assert_allclose(layer(x), np.maximum(x, 0.0))
  np.testing.assert_allclose(layer(x, weights=np.float32(-0.5)), np.maximum(x, -0.5))
  gradient = jax.grad(lambda tau: layer.pure_fn(x, tau, (), harness.RNG)[0].sum())(0.3)
  assert gradient == np.sum(x < 0.3)


def test_shape_preserving_activations_check_shapes():
  # `assert_shape('...->...')` wraps the layer's forward without changing the layer.
  layer = tl.Relu()
  assert type(layer) is tl.Fn and layer.name == 'Relu' and layer.config() == {'factory': 'Relu'}
