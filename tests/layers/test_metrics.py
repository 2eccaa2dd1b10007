"""Tests of the loss and metric layers against float64 numpy references."""

import jax
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from trax.layers import metrics
from tests.layers import harness

S = shapes.ShapeDtype
LOGITS, TARGETS, WEIGHTS = S((2, 3, 8)), S((2, 3), np.int32), S((2, 3))
LABELS = {'int_high': 2}  # 0/1 targets

PARITY_CASES = [
  harness.Case('CategoryCrossEntropy', lambda: tl.CategoryCrossEntropy(0.1), (LOGITS, TARGETS)),
  harness.Case(
    'WeightedCategoryCrossEntropy',
    lambda: tl.WeightedCategoryCrossEntropy(0.1, cutoff=1.0),
    (LOGITS, TARGETS, WEIGHTS),
  ),
  harness.Case('CategoryAccuracy', tl.CategoryAccuracy, (LOGITS, TARGETS)),
  harness.Case('WeightedCategoryAccuracy', tl.WeightedCategoryAccuracy, (LOGITS, TARGETS, WEIGHTS)),
  harness.Case('Accuracy', tl.Accuracy, (LOGITS, TARGETS, WEIGHTS)),
  harness.Case(
    'SequenceAccuracy', tl.SequenceAccuracy, (LOGITS, TARGETS, S((2, 3), np.int32)), LABELS
  ),
  harness.Case(
    'MaskedSequenceAccuracy',
    tl.MaskedSequenceAccuracy,
    (LOGITS, TARGETS, S((2, 3), np.int32)),
    LABELS,
  ),
  harness.Case(
    'BinaryCrossEntropy', tl.BinaryCrossEntropy, (S((2, 3)), S((2, 3), np.int32)), LABELS
  ),
  harness.Case('CrossEntropyLoss', tl.CrossEntropyLoss, (LOGITS, TARGETS, WEIGHTS)),
  harness.Case('L2Loss', tl.L2Loss, (WEIGHTS, WEIGHTS, WEIGHTS)),
  harness.Case('SmoothL1Loss', tl.SmoothL1Loss, (WEIGHTS, WEIGHTS, WEIGHTS)),
  harness.Case('MacroAveragedFScore', lambda: tl.MacroAveragedFScore(2.0, 1), (LOGITS, TARGETS)),
  harness.Case('WeightedFScore', lambda: tl.WeightedFScore(0.5, 1), (LOGITS, TARGETS)),
  harness.Case('WeightedSum', tl.WeightedSum, (WEIGHTS, WEIGHTS)),
]


def _data(seed=0, shape=(4, 6), n_categories=5):
  rng = np.random.default_rng(seed)
  logits = (3.0 * rng.normal(size=shape + (n_categories,))).astype(np.float32)
  targets = rng.integers(0, n_categories, shape).astype(np.int32)
  weights = (rng.random(shape) < 0.7).astype(np.float32)
  return logits, targets, weights


def _cross_entropy_reference(logits, targets, label_smoothing=0.0):
  """Per-item -sum(p * log softmax(logits)) in float64, with smoothed one-hot p."""
  x = logits.astype(np.float64)
  x = x - x.max(-1, keepdims=True)
  log_probs = x - np.log(np.exp(x).sum(-1, keepdims=True))
  n = logits.shape[-1]
  p = (1.0 - label_smoothing) * np.eye(n)[targets] + label_smoothing / n
  return -(p * log_probs).sum(-1)


@pytest.mark.parametrize('label_smoothing', [None, 0.1])
def test_category_cross_entropy(label_smoothing):
  logits, targets, weights = _data()
  per_item = _cross_entropy_reference(logits, targets, label_smoothing or 0.0)
  np.testing.assert_allclose(
    tl.CategoryCrossEntropy(label_smoothing)((logits, targets)), per_item.mean(), rtol=1e-5
  )
  weighted = tl.WeightedCategoryCrossEntropy(label_smoothing)((logits, targets, weights))
  np.testing.assert_allclose(weighted, (per_item * weights).sum() / weights.sum(), rtol=1e-5)


def test_weights_mask_items_out():
  logits, targets, weights = _data()
  masked = weights.astype(bool)
  garbage = np.where(masked[..., None], logits, 1e4).astype(np.float32)
  layer = tl.WeightedCategoryCrossEntropy()
  expected = _cross_entropy_reference(logits[masked], targets[masked]).mean()
  np.testing.assert_allclose(layer((garbage, targets, weights)), expected, rtol=1e-5)


def test_cutoff_zeroes_small_losses():
  logits, targets, weights = _data()
  per_item = _cross_entropy_reference(logits, targets)
  cutoff = float(np.median(per_item))
  expected = ((np.maximum(per_item, cutoff) - cutoff) * weights).sum() / weights.sum()
  layer = tl.WeightedCategoryCrossEntropy(cutoff=cutoff)
  np.testing.assert_allclose(layer((logits, targets, weights)), expected, rtol=1e-5)


def test_cross_entropy_is_stable_and_has_the_softmax_gradient():
  logits = np.array([[1e4, -1e4, 0.0], [50.0, 51.0, 52.0]], np.float32)
  targets = np.array([1, 0], np.int32)
  layer = tl.CategoryCrossEntropy()
  loss = layer((logits, targets))
  np.testing.assert_allclose(loss, _cross_entropy_reference(logits, targets).mean(), rtol=1e-6)
  weights, state = layer.init((S((2, 3)), S((2,), np.int32)))
  grad = jax.grad(lambda x: layer.pure_fn((x, targets), weights, state, harness.RNG)[0])(logits)
  softmax = jax.nn.softmax(logits.astype(np.float64), -1)
  np.testing.assert_allclose(grad, (softmax - np.eye(3)[targets]) / 2.0, atol=1e-6)


def test_label_smoothing_must_be_a_probability():
  with pytest.raises(ValueError, match=r'\[0, 1\]'):
    tl.CategoryCrossEntropy(1.5)


def test_accuracies():
  logits, targets, weights = _data()
  targets[0] = logits[0].argmax(-1)  # make some predictions right
  correct = (logits.argmax(-1) == targets).astype(np.float64)
  np.testing.assert_allclose(tl.CategoryAccuracy()((logits, targets)), correct.mean())
  for layer in (tl.WeightedCategoryAccuracy(), tl.Accuracy()):
    np.testing.assert_allclose(
      layer((logits, targets, weights)), (correct * weights).sum() / weights.sum(), rtol=1e-6
    )


def test_sequence_accuracies_ignore_masked_positions():
  logits, targets, weights = _data()
  predictions = logits.argmax(-1)
  targets[:2] = predictions[:2]
  targets[1, 0] = (predictions[1, 0] + 1) % 5  # wrong, and masked below
  targets[2, 0] = (predictions[2, 0] + 1) % 5  # wrong, not masked
  weights[:] = 1.0
  weights[1, 0] = 0.0
  expected = np.mean([np.all((predictions[b] == targets[b]) | (weights[b] == 0)) for b in range(4)])
  assert expected == 0.5
  for layer in (tl.SequenceAccuracy(), tl.MaskedSequenceAccuracy()):
    np.testing.assert_allclose(layer((logits, targets, weights)), expected)


def test_binary_cross_entropy_is_stable():
  logits = np.array([-100.0, -3.0, 0.0, 2.0, 100.0], np.float32)
  targets = np.array([1, 0, 1, 1, 0], np.int32)
  x = logits.astype(np.float64)
  q = 1.0 / (1.0 + np.exp(-x))
  with np.errstate(divide='ignore'):
    naive = -(targets * np.log(q) + (1 - targets) * np.log(1.0 - q))
  exact = np.logaddexp(0.0, x) - targets * x  # the same where naive is finite
  np.testing.assert_allclose(exact[1:4], naive[1:4])
  np.testing.assert_allclose(tl.BinaryCrossEntropy()((logits, targets)), exact.mean(), rtol=1e-6)


def test_cross_entropy_loss_takes_log_probabilities():
  logits, targets, weights = _data()
  log_probs = np.asarray(tl.LogSoftmax()(logits))
  np.testing.assert_allclose(
    tl.CrossEntropyLoss()((log_probs, targets, weights)),
    tl.WeightedCategoryCrossEntropy()((logits, targets, weights)),
    rtol=1e-5,
  )


def test_l2_and_smooth_l1_losses():
  rng = np.random.default_rng(1)
  y, t = rng.normal(size=(2, 3, 4)).astype(np.float32) * 2.0
  w = (rng.random((3, 4)) < 0.6).astype(np.float32)
  d = (y - t).astype(np.float64)
  huber = np.where(np.abs(d) < 1.0, 0.5 * d**2, np.abs(d) - 0.5)
  np.testing.assert_allclose(tl.L2Loss()((y, t, w)), (w * d**2).sum() / w.sum(), rtol=1e-5)
  np.testing.assert_allclose(tl.SmoothL1Loss()((y, t, w)), (w * huber).sum() / w.sum(), rtol=1e-5)
  with pytest.raises(tl.LayerError, match=r'L2Loss.*\n.*\n.*\n.*equal shapes'):
    tl.L2Loss()((y, t, w[:2]))


def _f_scores_reference(predictions, targets, n_categories, beta, first):
  """Per-category F-beta by counting; a category absent from targets and predictions scores
  0 (Trax 1.4 turned its 0/0 into 0 and kept it in the mean)."""
  scores, supports = [], []
  for k in range(first, n_categories):
    tp = np.sum((predictions == k) & (targets == k))
    fp = np.sum((predictions == k) & (targets != k))
    fn = np.sum((predictions != k) & (targets == k))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    denominator = beta**2 * precision + recall
    scores.append((1 + beta**2) * precision * recall / denominator if denominator else 0.0)
    supports.append(tp + fn)
  return np.array(scores), np.array(supports, np.float64)


@pytest.mark.parametrize('beta,first', [(1.0, 0), (2.0, 1), (0.5, 0)])
def test_f_scores(beta, first):
  n = 6  # category 5 is never predicted nor a target: it counts as 0, as in Trax 1.4
  logits, targets, _ = _data(seed=3, n_categories=n)
  logits[..., 5] = -1e3
  targets = np.where(targets == 5, 0, targets)
  targets[0] = logits[0].argmax(-1)
  scores, supports = _f_scores_reference(logits.argmax(-1), targets, n, beta, first)
  macro = tl.MacroAveragedFScore(beta, first)((logits, targets))
  weighted = tl.WeightedFScore(beta, first)((logits, targets))
  np.testing.assert_allclose(macro, scores.mean(), rtol=1e-6)
  np.testing.assert_allclose(weighted, (scores * supports).sum() / supports.sum(), rtol=1e-6)


def test_f_score_by_hand():
  # Predictions 0 0 1 1, targets 0 1 1 1: F1(0) = 2/3, F1(1) = 4/5.
  logits = np.eye(2, dtype=np.float32)[[0, 0, 1, 1]]
  targets = np.array([0, 1, 1, 1], np.int32)
  np.testing.assert_allclose(
    tl.MacroAveragedFScore()((logits, targets)), (2 / 3 + 4 / 5) / 2, rtol=1e-6
  )
  np.testing.assert_allclose(
    tl.WeightedFScore()((logits, targets)), (2 / 3 + 3 * 4 / 5) / 4, rtol=1e-6
  )


def test_f_scores_give_trax_14_numbers():
  # Trax 1.4's own test: predictions 1 1 2 1 1, targets 1 2 2 3 1, four categories.
  logits = np.eye(4, dtype=np.float32)[[1, 1, 2, 1, 1]]
  targets = np.array([1, 2, 2, 3, 1])
  np.testing.assert_allclose(tl.MacroAveragedFScore()((logits, targets)), 1 / 3, rtol=1e-6)
  np.testing.assert_allclose(
    tl.MacroAveragedFScore(initial_category_index=1)((logits, targets)), 4 / 9, rtol=1e-6
  )
  for first in (0, 1):
    np.testing.assert_allclose(
      tl.WeightedFScore(initial_category_index=first)((logits, targets)), 8 / 15, rtol=1e-6
    )


def test_cross_entropies_take_float_targets_as_trax_did():
  logits, targets, weights = _data(seed=5, n_categories=6)
  for layer, inputs in [
    (tl.CategoryCrossEntropy(), (logits, targets)),
    (tl.WeightedCategoryCrossEntropy(), (logits, targets, weights)),
    (tl.CrossEntropyLoss(), (logits, targets, weights)),
    (tl.CategoryAccuracy(), (logits, targets)),
  ]:
    as_float = (*inputs[:1], inputs[1].astype(np.float32), *inputs[2:])
    np.testing.assert_allclose(layer(as_float), layer(inputs), rtol=1e-6)


def test_weighted_sum():
  values, weights = np.arange(6.0).reshape(2, 3), np.array([1.0, 0.0, 2.0])
  np.testing.assert_allclose(tl.WeightedSum()((values, weights)), (values * weights).sum())


@pytest.mark.parametrize(
  'make',
  [
    tl.L2Loss,
    tl.SmoothL1Loss,
    tl.WeightedCategoryCrossEntropy,
    tl.WeightedCategoryAccuracy,
    tl.CrossEntropyLoss,
    tl.Accuracy,
  ],
)
def test_all_zero_weights_give_zero_with_finite_gradients(make):
  """An all-padding batch: Trax 1.4 divided 0 by 0 (NaN), stopping training."""
  rng = np.random.default_rng(0)
  categorical = make not in (tl.L2Loss, tl.SmoothL1Loss)
  outputs = rng.normal(size=(2, 3, 4) if categorical else (2, 3)).astype(np.float32)
  targets = (
    rng.integers(0, 4, (2, 3)).astype(np.int32)
    if categorical
    else rng.normal(size=(2, 3)).astype(np.float32)
  )
  layer, weights = make(), np.zeros((2, 3), np.float32)
  layer_weights, state = layer.init(shapes.signature((outputs, targets, weights)))
  loss = lambda o: layer.pure_fn((o, targets, weights), layer_weights, state, harness.RNG)[0]
  assert float(loss(outputs)) == 0.0
  gradient = jax.grad(loss)(outputs)
  assert np.isfinite(gradient).all() and not gradient.any()


@pytest.mark.parametrize(
  'make',
  [
    tl.CategoryCrossEntropy,
    tl.WeightedCategoryCrossEntropy,
    tl.CategoryAccuracy,
    tl.WeightedCategoryAccuracy,
    tl.CrossEntropyLoss,
    tl.MaskedSequenceAccuracy,
    tl.MacroAveragedFScore,
  ],
)
@pytest.mark.parametrize('bad_label', [99, 4, -1])
def test_targets_out_of_range_raise_when_concrete(make, bad_label):
  """Label 99 gave NaN or an accuracy of 0.5, and -1 a plausible loss (the last class)."""
  layer = make()
  logits, targets = np.zeros((2, 4), np.float32), np.array([bad_label, 1], np.int32)
  inputs = (logits, targets) if layer.n_in == 2 else (logits, targets, np.ones(2, np.float32))
  weights, state = layer.init(shapes.signature(inputs))
  with pytest.raises(
    tl.LayerError,
    match=r'targets \(class ids of 4 classes\) must lie in '
    r'\[0, 4\), but 1 of 2 do not',
  ):
    layer(inputs)
  traced = jax.jit(lambda x: layer.pure_fn(x, weights, state, harness.RNG)[0])
  traced(inputs)  # Compiled code cannot raise; Loop checks its batches instead.


def test_takes_class_targets():
  for layer in (
    tl.WeightedCategoryCrossEntropy(),
    tl.CategoryAccuracy(),
    tl.Accuracy(),
    tl.CrossEntropyLoss(),
    tl.WeightedFScore(),
  ):
    assert metrics.takes_class_targets(layer), layer.name
  for layer in (
    tl.L2Loss(),
    tl.BinaryCrossEntropy(),
    tl.Accuracy(tl.Fn('Sign', lambda x: np.sign(x))),
    tl.Fn('Custom', lambda x, y: x),
  ):
    assert not metrics.takes_class_targets(layer), layer.name
