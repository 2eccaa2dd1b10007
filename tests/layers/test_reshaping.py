"""trax/layers/reshaping.py and NumpyFn: array rearrangements against numpy."""

import json

import numpy as np
import pytest

from trax import fastmath
from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case('Reshape', lambda: tl.Reshape((3, -1)), ShapeDtype((2, 6, 4))),
  harness.Case('Transpose', lambda: tl.Transpose((0, 2, 1)), ShapeDtype((2, 3, 5))),
  harness.Case('RepeatVector', lambda: tl.RepeatVector(3), ShapeDtype((2, 4))),
  harness.Case(
    'GetItem',
    lambda: tl.GetItem([[None, None, None], [1, None, 2], None, '...']),
    ShapeDtype((2, 5, 3)),
  ),
  harness.Case(
    'NumpyFn', lambda: tl.NumpyFn('matmul', n_in=2), (ShapeDtype((2, 3, 4)), ShapeDtype((2, 4, 5)))
  ),
  harness.Case(
    'NumpyFn', lambda: tl.NumpyFn('split', constants=[(1, 2)], n_out=2, axis=-1), ShapeDtype((2, 4))
  ),
]
X = np.random.default_rng(0).normal(size=(2, 6, 4)).astype(np.float32)


@pytest.mark.parametrize('backend', ['jax', 'tensorflow-numpy'])
def test_against_numpy(backend):
  index = (slice(None), slice(1, None, 2), None, Ellipsis)
  with fastmath.use_backend(backend):
    results = [
      np.asarray(tl.Reshape((3, -1))(X)),
      np.asarray(tl.Transpose((2, 0, 1))(X)),
      np.asarray(tl.RepeatVector(3)(X[:, 0])),
      np.asarray(tl.GetItem(tl.index_spec(index))(X)),
      np.asarray(tl.NumpyFn('where', n_in=2, constants=[(2, -1.0)])((X > 0, X))),
    ]
  expected = [
    X.reshape(2, 3, 8),
    X.transpose(2, 0, 1),
    np.repeat(X[:, None, 0], 3, axis=1),
    X[index],
    np.where(X > 0, X, -1.0),
  ]
  for got, want in zip(results, expected):
    np.testing.assert_array_equal(got, want)


def test_get_item_and_numpy_fn_describe_themselves_as_json():
  for layer in (
    tl.GetItem(tl.index_spec((slice(None, -1), 0, None, Ellipsis))),
    tl.NumpyFn('clip', constants=[(1, 0.0), (2, 1.0)]),
  ):
    rebuilt = tl.from_config(json.loads(json.dumps(layer.config())))
    np.testing.assert_array_equal(np.asarray(rebuilt(X)), np.asarray(layer(X)))


def test_bad_arguments_are_refused_clearly():
  with pytest.raises(ValueError, match='basic indices'):
    tl.index_spec((np.array([0, 1]),))
  with pytest.raises(ValueError, match='permutation'):
    tl.Transpose((0, 0, 1))
  with pytest.raises(ValueError, match='public numpy function'):
    tl.NumpyFn('__import__')
  with pytest.raises(tl.LayerError, match='not the 3 outputs'):
    tl.NumpyFn('split', constants=[(1, 2)], n_out=3, axis=-1)(X)
