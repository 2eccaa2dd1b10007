"""Reshape, reduction, softmax and conversion layers and functions against numpy."""

import jax
import numpy as np
import pytest

from trax.shapes import ShapeDtype
import trax.layers as tl
from tests.layers import harness

PARITY_CASES = [
  harness.Case('Flatten', lambda: tl.Flatten(), ShapeDtype((2, 3, 4))),
  harness.Case('Flatten', lambda: tl.Flatten(n_axes_to_keep=2), ShapeDtype((2, 3, 4, 5))),
  harness.Case('ToFloat', lambda: tl.ToFloat(), ShapeDtype((2, 3), np.int32)),
  harness.Case('Mean', lambda: tl.Mean(), ShapeDtype((2, 3))),
  harness.Case('Mean', lambda: tl.Mean(axis=1, keepdims=True), ShapeDtype((2, 3, 4))),
  harness.Case('Min', lambda: tl.Min(axis=0), ShapeDtype((2, 3))),
  harness.Case('Max', lambda: tl.Max(keepdims=True), ShapeDtype((2, 3))),
  harness.Case('Sum', lambda: tl.Sum(), ShapeDtype((2, 3))),
  harness.Case('Sum', lambda: tl.Sum(axis=-1), ShapeDtype((2, 3))),
  harness.Case('ArgMax', lambda: tl.ArgMax(), ShapeDtype((2, 5))),
  harness.Case('LogSumExp', lambda: tl.LogSumExp(), ShapeDtype((2, 5))),
  harness.Case('LogSoftmax', lambda: tl.LogSoftmax(), ShapeDtype((2, 5))),
  harness.Case('Softmax', lambda: tl.Softmax(axis=0), ShapeDtype((3, 5))),
  harness.Case('Negate', lambda: tl.Negate(), ShapeDtype((2, 3))),
  harness.Case('StopGradient', lambda: tl.StopGradient(), ShapeDtype((2, 3))),
  harness.Case('ThresholdToBinary', lambda: tl.ThresholdToBinary(), ShapeDtype((2, 3))),
  harness.Case(
    'PrintShape',
    lambda: tl.PrintShape(2, msg='here'),
    (ShapeDtype((2, 3)), ShapeDtype((2,), np.int32)),
  ),
]

X = np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32)


def _log_softmax(x, axis):
  shifted = x - x.max(axis=axis, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize(
  'layer, reference',
  [
    (tl.Flatten(), lambda x: x.reshape(3, 20)),
    (tl.Flatten(n_axes_to_keep=2), lambda x: x.reshape(3, 4, 5)),
    (tl.Mean(), lambda x: x.mean(-1)),
    (tl.Mean(axis=(0, 2), keepdims=True), lambda x: x.mean((0, 2), keepdims=True)),
    (tl.Min(axis=1), lambda x: x.min(1)),
    (tl.Max(axis=None), lambda x: x.max()),
    (tl.Sum(), lambda x: x.sum()),
    (tl.Sum(axis=0, keepdims=True), lambda x: x.sum(0, keepdims=True)),
    (tl.ArgMax(axis=1), lambda x: x.argmax(1).astype(np.int32)),
    (tl.LogSumExp(), lambda x: np.log(np.exp(x).sum(-1, keepdims=True))),
    (tl.LogSoftmax(), lambda x: _log_softmax(x, -1)),
    (tl.LogSoftmax(axis=1), lambda x: _log_softmax(x, 1)),
    (tl.Softmax(axis=0), lambda x: np.exp(_log_softmax(x, 0))),
    (tl.Negate(), lambda x: -x),
    (tl.StopGradient(), lambda x: x),
    (tl.ThresholdToBinary(), lambda x: (x > 0.5).astype(np.int32)),
    (tl.ThresholdToBinary(threshold=-1.0), lambda x: (x > -1.0).astype(np.int32)),
    (tl.ToFloat(), lambda x: x),
  ],
  ids=lambda v: v.name if isinstance(v, tl.Layer) else '',
)
def test_matches_numpy(layer, reference):
  y, expected = np.asarray(layer(X)), reference(X)
  assert y.shape == expected.shape and y.dtype == expected.dtype
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_to_float_casts_integers():
  y = tl.ToFloat()(np.array([1, 2], np.int32))
  assert y.dtype == np.float32 and y.tolist() == [1.0, 2.0]


def test_softmax_does_not_overflow_on_large_inputs():
  # float32 resolves 1000 to about 6e-5, which bounds the accuracy here.
  y = np.asarray(tl.Softmax()(np.array([[1000.0, 1001.0, 999.0]], np.float32)))
  np.testing.assert_allclose(y, np.exp(_log_softmax(np.array([[0.0, 1.0, -1.0]]), -1)), rtol=1e-4)


def test_flatten_needs_more_axes_than_it_keeps():
  tl.Flatten(n_axes_to_keep=2)(np.ones((2, 3, 1)))
  with pytest.raises(tl.LayerError, match='must exceed n_axes_to_keep'):
    tl.Flatten(n_axes_to_keep=3)(np.ones((2, 3, 4)))


def test_stop_gradient_blocks_the_gradient():
  f = lambda x: (tl.StopGradient()(x) * x).sum()
  np.testing.assert_allclose(jax.grad(f)(np.arange(3.0)), np.arange(3.0))


def test_print_shape_prints_and_passes_inputs_through(capsys):
  x = np.ones((2, 3), np.float32)
  assert tl.PrintShape(msg='enc')(x) is x
  assert capsys.readouterr().out == 'PrintShape: enc: [(2, 3)[float32]]\n'
  ids = np.zeros((4,), np.int32)
  outputs = tl.PrintShape(n_in=2)((x, ids))
  assert outputs[0] is x and outputs[1] is ids
  assert capsys.readouterr().out == 'PrintShape: : [(2, 3)[float32], (4,)[int32]]\n'


def test_one_hot():
  y = np.asarray(tl.one_hot(np.array([[0, 2], [1, 5]]), 3))
  np.testing.assert_array_equal(y, np.eye(4, 3)[[[0, 2], [1, 3]]])
  assert y.dtype == np.float32
  assert tl.one_hot(np.array([1]), 2, dtype=np.int32).dtype == np.int32


def test_log_softmax_function():
  np.testing.assert_allclose(tl.log_softmax(X, axis=1), _log_softmax(X, 1), rtol=1e-5, atol=1e-6)


class TestLogsoftmaxSample:
  LOG_PROBS = np.log(np.array([0.1, 0.6, 0.3], np.float32))

  def test_temperature_zero_is_argmax_without_rng(self):
    log_probs = np.array([[0.0, 3.0, 1.0], [2.0, -1.0, 0.0]])
    np.testing.assert_array_equal(tl.logsoftmax_sample(log_probs, 0.0), [1, 0])

  def test_frequencies_follow_the_distribution(self):
    log_probs = np.broadcast_to(self.LOG_PROBS, (20000, 3))
    ids = np.asarray(tl.logsoftmax_sample(log_probs, 1.0, rng=jax.random.PRNGKey(0)))
    assert ids.shape == (20000,) and ids.dtype == np.int32
    np.testing.assert_allclose(np.bincount(ids, minlength=3) / 20000, [0.1, 0.6, 0.3], atol=0.015)

  def test_temperature_sharpens_as_softmax_of_scaled_logits(self):
    log_probs = np.broadcast_to(self.LOG_PROBS, (20000, 3))
    ids = np.asarray(tl.logsoftmax_sample(log_probs, 0.5, rng=jax.random.PRNGKey(1)))
    expected = np.exp(_log_softmax(self.LOG_PROBS / 0.5, -1))
    np.testing.assert_allclose(np.bincount(ids, minlength=3) / 20000, expected, atol=0.015)

  def test_samples_depend_only_on_the_rng(self):
    log_probs = np.zeros((100, 5), np.float32)
    sample = lambda seed: np.asarray(tl.logsoftmax_sample(log_probs, rng=jax.random.PRNGKey(seed)))
    np.testing.assert_array_equal(sample(3), sample(3))
    assert not np.array_equal(sample(3), sample(4))

  def test_without_rng_draws_from_numpys_generator_as_trax(self):
    # Trax 1.4: u = np.random.uniform(1e-6, 1 - 1e-6, shape); argmax(lp - t log(-log u)).
    log_probs = np.log(np.random.default_rng(0).dirichlet(np.ones(5), 50)).astype(np.float32)
    np.random.seed(11)
    got = np.asarray(tl.logsoftmax_sample(log_probs, 0.7))
    np.random.seed(11)
    u = np.random.uniform(low=1e-6, high=1.0 - 1e-6, size=log_probs.shape)
    np.testing.assert_array_equal(got, np.argmax(log_probs - 0.7 * np.log(-np.log(u)), -1))
