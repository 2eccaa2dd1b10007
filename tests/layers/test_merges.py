"""trax/layers/merges.py against numpy."""

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

_PAIR = (ShapeDtype((2, 3)), ShapeDtype((2, 3)))
PARITY_CASES = [
  harness.Case('Maximum', tl.Maximum, _PAIR),
  harness.Case('Minimum', tl.Minimum, _PAIR),
  harness.Case('Average', lambda: tl.Average(3), _PAIR + (ShapeDtype((2, 3)),)),
  harness.Case('BatchDot', lambda: tl.BatchDot((1, 1), normalize=True), _PAIR),
]
RNG = np.random.default_rng(0)
A, B, C = (RNG.normal(size=(2, 3, 4)).astype(np.float32) for _ in range(3))


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_against_numpy(backend):
  with fastmath.use_backend(backend):
    got = [
      np.asarray(tl.Maximum()((A, B))),
      np.asarray(tl.Minimum()((A, B))),
      np.asarray(tl.Average(3)((A, B, C))),
      np.asarray(tl.BatchDot((2, 2))((A, B))),
      np.asarray(tl.BatchDot((1, 1))((A[:, :, 0], B))),
      np.asarray(tl.BatchDot((1, 1), normalize=True)((A[:, 0], B[:, 0]))),
    ]
  unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
  expected = [
    np.maximum(A, B),
    np.minimum(A, B),
    (A + B + C) / 3,
    np.einsum('bij,bkj->bik', A, B),
    np.einsum('bi,bij->bj', A[:, :, 0], B),
    np.sum(unit(A[:, 0]) * unit(B[:, 0]), axis=-1, keepdims=True),
  ]
  for g, e in zip(got, expected):
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_batch_dot_refuses_the_batch_axis():
  with pytest.raises(tl.LayerError, match='cannot contract the batch axis'):
    tl.BatchDot((0, 1))((A, B))
