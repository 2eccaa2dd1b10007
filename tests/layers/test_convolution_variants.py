"""trax/layers/convolution_variants.py against a naive numpy convolution."""

import itertools

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case(
    'GroupedConv',
    lambda: tl.GroupedConv(4, (3, 2), groups=2, padding='SAME'),
    ShapeDtype((2, 5, 5, 4)),
  ),
  harness.Case(
    'DepthwiseConv', lambda: tl.DepthwiseConv((3, 3), 2, strides=(2, 2)), ShapeDtype((2, 6, 6, 3))
  ),
  harness.Case(
    'SeparableConv',
    lambda: tl.SeparableConv(5, (3, 3), 2, padding='SAME'),
    ShapeDtype((2, 5, 5, 3)),
  ),
]


def _naive_conv(x, w, b, strides, dilation, groups):
  """VALID grouped, dilated convolution of (batch, *spatial, c) by (*k, c/groups, filters)."""
  kernel, (c_in, filters) = w.shape[:-2], w.shape[-2:]
  effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
  out_sizes = [(n - e) // s + 1 for n, e, s in zip(x.shape[1:-1], effective, strides)]
  y = np.zeros((x.shape[0], *out_sizes, filters))
  per_group = filters // groups
  for position in itertools.product(*map(range, out_sizes)):
    for offsets in itertools.product(*map(range, kernel)):
      index = tuple(p * s + o * d for p, s, o, d in zip(position, strides, offsets, dilation))
      patch = x[(slice(None), *index)]  # (batch, channels)
      for f in range(filters):
        g = f // per_group
        y[(slice(None), *position, f)] += patch[:, g * c_in : (g + 1) * c_in] @ w[offsets][:, f]
  return y + (0.0 if b is None else b)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
@pytest.mark.parametrize(
  'make, shape',
  [
    (lambda: tl.GroupedConv(6, (3, 2), groups=3, strides=(2, 1), dilation=(1, 2)), (2, 7, 6, 6)),
    (lambda: tl.DepthwiseConv((2, 3), depth_multiplier=2, dilation=(2, 1)), (2, 6, 5, 3)),
  ],
)
def test_against_a_naive_convolution(make, shape, backend):
  layer = make()
  x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
  w, b = layer.init(ShapeDtype(shape))[0]
  w, b = np.asarray(w), np.asarray(b) + 0.5
  groups = shape[-1] // w.shape[-2]
  with fastmath.use_backend(backend):
    y = np.asarray(layer(x, weights=(w, b)))
  expected = _naive_conv(x.astype(np.float64), w, b, layer._strides, layer._dilation, groups)
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_separable_conv_is_depthwise_then_pointwise():
  x = np.random.default_rng(1).normal(size=(2, 5, 5, 3)).astype(np.float32)
  layer = tl.SeparableConv(4, (3, 3), depth_multiplier=2)
  (depthwise, (pointwise, bias)) = layer.init(ShapeDtype(x.shape))[0]
  step1 = _naive_conv(x, np.asarray(depthwise), None, (1, 1), (1, 1), 3)
  expected = step1 @ np.asarray(pointwise)[0, 0] + np.asarray(bias)
  np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)


def test_groups_that_do_not_divide_are_refused_clearly():
  with pytest.raises(ValueError, match='divide filters'):
    tl.GroupedConv(5, (3, 3), groups=2)
  with pytest.raises(tl.LayerError, match='not divisible by groups=2'):
    tl.GroupedConv(4, (3, 3), groups=2)(np.ones((1, 5, 5, 3), np.float32))
