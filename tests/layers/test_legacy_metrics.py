"""Trax 1.x's older losses (legacy_metrics.py) against float64 numpy references."""

import numpy as np

from trax import shapes
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
LOGITS, TARGETS, WEIGHTS = S((2, 3, 8)), S((2, 3), np.int32), S((2, 3))
PROBABILITIES = {
  'inputs': (
    np.array([[0.9, 0.2], [0.6, 0.4]], np.float32),
    np.array([[1, 0], [1, 1]], np.int32),
    np.ones((2, 2), np.float32),
  )
}

PARITY_CASES = [
  harness.Case(
    'CrossEntropyLossWithLogSoftmax', tl.CrossEntropyLossWithLogSoftmax, (LOGITS, TARGETS, WEIGHTS)
  ),
  harness.Case('CrossEntropySum', tl.CrossEntropySum, (LOGITS, TARGETS, WEIGHTS)),
  harness.Case(
    'BinaryCrossEntropyLoss',
    tl.BinaryCrossEntropyLoss,
    (S((2, 2)), S((2, 2), np.int32), S((2, 2))),
    PROBABILITIES,
  ),
  harness.Case(
    'BinaryCrossEntropySum',
    tl.BinaryCrossEntropySum,
    (S((2, 2)), S((2, 2), np.int32), S((2, 2))),
    PROBABILITIES,
  ),
]


def _log_softmax(x):
  x = x.astype(np.float64)
  return (
    x
    - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True))
    - x.max(-1, keepdims=True)
  )


def _data(seed=0):
  rng = np.random.default_rng(seed)
  logits = (2.0 * rng.normal(size=(4, 6, 5))).astype(np.float32)
  targets = rng.integers(0, 5, (4, 6)).astype(np.int32)
  weights = (rng.random((4, 6)) < 0.7).astype(np.float32)
  return logits, targets, weights


def test_cross_entropy_with_log_softmax_and_sum():
  logits, targets, weights = _data()
  nll = -np.take_along_axis(_log_softmax(logits), targets[..., None], -1)[..., 0]
  np.testing.assert_allclose(
    tl.CrossEntropyLossWithLogSoftmax()((logits, targets, weights)),
    (nll * weights).sum() / weights.sum(),
    rtol=1e-5,
  )
  log_probs = _log_softmax(logits).astype(np.float32)
  np.testing.assert_allclose(
    tl.CrossEntropySum()((log_probs, targets, weights)), (nll * weights).sum(), rtol=1e-5
  )
  # Float targets, as Trax 1.x's one-hot comparison took them.
  np.testing.assert_allclose(
    tl.CrossEntropySum()((log_probs, targets.astype(np.float32), weights)),
    (nll * weights).sum(),
    rtol=1e-5,
  )


def test_binary_cross_entropy_of_probabilities_as_trax_computed_it():
  rng = np.random.default_rng(1)
  probabilities = rng.uniform(0.05, 0.95, (8,)).astype(np.float32)
  targets = rng.integers(0, 2, (8,))
  weights = rng.uniform(0.5, 2.0, (8,)).astype(np.float32)
  per_item = -(
    targets * np.log(probabilities.astype(np.float64))
    + (1 - targets) * np.log(1 - probabilities.astype(np.float64))
  )
  # Trax 1.4: -1/batch * (t . log p + (1 - t) . log(1 - p)), then a weighted mean of that
  # one number (the weights divide out), or its weighted sum.
  expected = per_item.sum() / 8
  np.testing.assert_allclose(
    tl.BinaryCrossEntropyLoss()((probabilities, targets, weights)), expected, rtol=1e-5
  )
  np.testing.assert_allclose(
    tl.BinaryCrossEntropySum()((probabilities, targets, weights)),
    expected * weights.sum(),
    rtol=1e-5,
  )


def test_names_as_in_trax():
  for layer, name in [
    (tl.BinaryCrossEntropyLoss(), 'BinaryCrossEntropyLoss_in3'),
    (tl.BinaryCrossEntropySum(), 'BinaryCrossEntropySum_in3'),
    (tl.CrossEntropySum(), 'CrossEntropySum_in3'),
    (tl.CrossEntropyLossWithLogSoftmax(), 'CrossEntropyLossWithLogSoftmax_in3'),
  ]:
    assert str(layer) == name
