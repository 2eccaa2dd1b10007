"""trax/layers/padding.py: ZeroPad, Crop and UpSample against numpy."""

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case('ZeroPad', lambda: tl.ZeroPad(((1, 0), (2, 1))), ShapeDtype((2, 4, 5, 3))),
  harness.Case('Crop', lambda: tl.Crop(((1, 1), (0, 2), (1, 0))), ShapeDtype((2, 4, 5, 4, 2))),
  harness.Case('UpSample', lambda: tl.UpSample((2, 3), 'bilinear'), ShapeDtype((2, 3, 4, 2))),
]
X = np.random.default_rng(0).normal(size=(2, 4, 5, 3)).astype(np.float32)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_pad_crop_and_nearest_upsampling_against_numpy(backend):
  with fastmath.use_backend(backend):
    padded = np.asarray(tl.ZeroPad(((1, 2), (0, 3)))(X))
    cropped = np.asarray(tl.Crop(((1, 2), (0, 3)))(X))
    upsampled = np.asarray(tl.UpSample((2, 3))(X))
  np.testing.assert_array_equal(padded, np.pad(X, [(0, 0), (1, 2), (0, 3), (0, 0)]))
  np.testing.assert_array_equal(cropped, X[:, 1:-2, 0:-3])
  np.testing.assert_array_equal(upsampled, X.repeat(2, axis=1).repeat(3, axis=2))


def _bilinear_reference(x, factor):
  """Half-pixel bilinear resizing, written out per output pixel."""
  n, m = x.shape[1:3]
  y = np.zeros((x.shape[0], n * factor[0], m * factor[1], x.shape[3]))
  for i in range(n * factor[0]):
    for j in range(m * factor[1]):
      u = min(max((i + 0.5) / factor[0] - 0.5, 0), n - 1)
      v = min(max((j + 0.5) / factor[1] - 0.5, 0), m - 1)
      i0, j0 = int(u), int(v)
      i1, j1 = min(i0 + 1, n - 1), min(j0 + 1, m - 1)
      a, b = u - i0, v - j0
      y[:, i, j] = (
        (1 - a) * (1 - b) * x[:, i0, j0]
        + (1 - a) * b * x[:, i0, j1]
        + a * (1 - b) * x[:, i1, j0]
        + a * b * x[:, i1, j1]
      )
  return y


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_bilinear_upsampling_against_half_pixel_interpolation(backend):
  with fastmath.use_backend(backend):
    y = np.asarray(tl.UpSample((2, 3), 'bilinear')(X))
  np.testing.assert_allclose(y, _bilinear_reference(X, (2, 3)), atol=1e-6)


def test_bad_arguments_and_inputs_are_refused_clearly():
  with pytest.raises(ValueError, match='must not be negative'):
    tl.ZeroPad(((-1, 0),))
  with pytest.raises(ValueError, match="'nearest' or 'bilinear'"):
    tl.UpSample((2, 2), 'bicubic')
  with pytest.raises(tl.LayerError, match='leaves nothing'):
    tl.Crop(((2, 2), (0, 0)))(X)
  with pytest.raises(tl.LayerError, match='expects inputs of rank 3'):
    tl.ZeroPad(((1, 1),))(X)
