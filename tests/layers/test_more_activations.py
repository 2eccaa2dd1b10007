"""trax/layers/more_activations.py against numpy formulas (and the papers' definitions)."""

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

_SIG = ShapeDtype((2, 3))
_NAMES = (
  'Relu6',
  'HSigmoid',
  'HardSwish',
  'Mish',
  'Softsign',
  'Celu',
  'LogSigmoid',
  'HardShrink',
  'SoftShrink',
  'TanhShrink',
  'SparsePlus',
  'SparseSigmoid',
  'Squareplus',
  'Sparsemax',
)

PARITY_CASES = [
  harness.Case(name, lambda name=name: getattr(tl, name)(), _SIG) for name in _NAMES
] + [
  harness.Case('GeneralRelu', lambda: tl.GeneralRelu(1.0, 0.1, 0.3), _SIG),
  harness.Case('ThresholdReplace', lambda: tl.ThresholdReplace(0.2, -1.0), _SIG),
  harness.Case('PRelu', lambda: tl.PRelu(shared_axes=(1,)), ShapeDtype((2, 4, 3))),
]

# Includes the kinks (0, +-0.5, +-1, 3, 6) and large values.
X = np.concatenate([np.linspace(-8.0, 8.0, 65), [-100.0, -3.0, 3.0, 100.0]]).astype(np.float32)
X64 = X.astype(np.float64)
_relu6 = lambda x: np.clip(x, 0.0, 6.0)
_softplus = lambda x: np.logaddexp(x, 0.0)


@pytest.mark.parametrize(
  'layer, reference',
  [
    (tl.Relu6(), _relu6(X64)),
    (tl.GeneralRelu(), np.maximum(X64, 0.0)),
    (
      tl.GeneralRelu(max_value=1.0, negative_slope=0.1, threshold=0.5),
      np.clip(np.where(X64 > 0.5, X64, 0.0), 0.0, 1.0) - 0.1 * np.maximum(0.5 - X64, 0.0),
    ),
    (tl.HSigmoid(), _relu6(X64 + 3.0) / 6.0),
    (tl.HardSwish(), X64 * _relu6(X64 + 3.0) / 6.0),
    (tl.Mish(), X64 * np.tanh(_softplus(X64))),
    (tl.Softsign(), X64 / (np.abs(X64) + 1.0)),
    (tl.Celu(2.0), np.where(X64 > 0, X64, 2.0 * np.expm1(np.minimum(X64, 0.0) / 2.0))),
    (tl.LogSigmoid(), -_softplus(-X64)),
    (tl.HardShrink(0.5), np.where(np.abs(X64) > 0.5, X64, 0.0)),
    (tl.SoftShrink(0.5), np.sign(X64) * np.maximum(np.abs(X64) - 0.5, 0.0)),
    (tl.TanhShrink(), X64 - np.tanh(X64)),
    (tl.SparsePlus(), np.where(X64 <= -1, 0.0, np.where(X64 >= 1, X64, (X64 + 1) ** 2 / 4))),
    (tl.SparseSigmoid(), np.clip((X64 + 1.0) / 2.0, 0.0, 1.0)),
    (tl.Squareplus(4.0), (X64 + np.sqrt(X64**2 + 4.0)) / 2.0),
    (tl.ThresholdReplace(0.5, -2.0), np.where(X64 > 0.5, X64, -2.0)),
  ],
  ids=lambda x: x.name if isinstance(x, tl.Layer) else '',
)
@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_against_numpy(layer, reference, backend):
  with fastmath.use_backend(backend):
    y = np.asarray(layer(X))
  np.testing.assert_allclose(y, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_relu_gradients_are_zero_at_the_kinks_as_in_keras(backend):
  """As TensorFlow's relu and relu6 and jax.nn's (so Keras on either backend)."""
  x = np.array([-1.0, 0.0, 3.0, 6.0, 7.0], np.float32)
  for layer, expected in (
    (tl.Relu6(), [0.0, 0.0, 1.0, 0.0, 0.0]),
    (tl.Relu(), [0.0, 0.0, 1.0, 1.0, 1.0]),
  ):
    with fastmath.use_backend(backend):
      grads = fastmath.grad(lambda v, layer=layer: fastmath.numpy.sum(layer(v)))(x)
    np.testing.assert_array_equal(np.asarray(grads), expected)


def _sparsemax_reference(z):
  """The projection onto the simplex, from its definition (Martins & Astudillo, eq. 2-4)."""
  z_sorted = np.sort(z)[::-1]
  k = max(k for k in range(1, len(z) + 1) if 1 + k * z_sorted[k - 1] > z_sorted[:k].sum())
  tau = (z_sorted[:k].sum() - 1) / k
  return np.maximum(z - tau, 0.0)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_sparsemax_is_the_projection_onto_the_simplex(backend):
  rng = np.random.default_rng(0)
  z = np.concatenate([rng.normal(size=(20, 6)) * 2, [[1.0, 0.8, -1.0, 0.0, 0.0, -0.1]]])
  with fastmath.use_backend(backend):
    y = np.asarray(tl.Sparsemax()(z.astype(np.float32)))
  np.testing.assert_allclose(y, [_sparsemax_reference(row) for row in z], atol=1e-6)
  np.testing.assert_allclose(y.sum(axis=-1), 1.0, atol=1e-6)


def test_prelu_learns_one_slope_per_shared_group():
  layer = tl.PRelu(shared_axes=(1, 2))
  layer.init(ShapeDtype((2, 4, 5, 3)))
  assert layer.weights.shape == (1, 1, 3)
  layer.weights = np.array([[[0.5, 1.0, 2.0]]], np.float32)
  x = np.full((1, 4, 5, 3), -2.0, np.float32)
  np.testing.assert_allclose(np.asarray(layer(x))[0, 0, 0], [-1.0, -2.0, -4.0])
