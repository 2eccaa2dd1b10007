"""Trax 1.x's older losses and metrics, built as a `Serial` of small layers as Trax built them.

Kept for Trax 1.x code and models (Trax 1.4 marked most of them deprecated): prefer
`WeightedCategoryCrossEntropy`, `WeightedCategoryAccuracy`, `MaskedSequenceAccuracy` and
`BinaryCrossEntropy` from `metrics.py`. Their sublayers carry Trax's names (`_CrossEntropy`,
`_WeightedMean`, ...), and weighted means are `sum(values * weights) / sum(weights)`.
"""

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import array_fns
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers.config import register
from trax.layers.metrics import WeightedSum
from trax.layers.metrics import check_targets
from trax.layers.metrics import target_entries
from trax.layers.metrics import weighted_mean

__all__ = [
  'Accuracy',
  'SequenceAccuracy',
  'CrossEntropyLoss',
  'CrossEntropyLossWithLogSoftmax',
  'CrossEntropySum',
  'BinaryCrossEntropyLoss',
  'BinaryCrossEntropySum',
]


@register
def Accuracy(classifier: 'base.Layer | None' = None) -> base.Layer:
  """Weighted mean of `classifier(model_output) == targets` (deprecated in Trax 1.4).

  Inputs: `model_output`, `targets`, `weights`. Prefer `WeightedCategoryAccuracy`.

  Args:
    classifier: maps model outputs to predicted categories; a new `ArgMax()` by default
      (Trax 1.4 shared one default instance between all `Accuracy` layers).
  """
  classifier = array_fns.ArgMax() if classifier is None else classifier
  return cb.Serial(classifier, _Equal(), _WeightedMean(), name='Accuracy', sublayers_to_print=[])


@register
def SequenceAccuracy(classifier: 'base.Layer | None' = None) -> base.Layer:
  """Fraction of sequences predicted right at every position of weight != 0 (deprecated).

  Inputs: `model_output` `(batch, ..., N)`, `targets` `(batch, ...)`, 0/1 `weights`.
  Prefer `MaskedSequenceAccuracy`.

  Args:
    classifier: maps model outputs to predicted categories; a new `ArgMax()` by default.
  """
  classifier = array_fns.ArgMax() if classifier is None else classifier
  return cb.Serial(
    classifier, _Equal(), _WeightedSequenceMean(), name='SequenceAccuracy', sublayers_to_print=[]
  )


@register
def CrossEntropyLoss() -> base.Layer:
  """Weighted mean of `-log_probs[target]`: expects LOG-PROBABILITIES (deprecated).

  Inputs: `log_probs` `(..., N)` (e.g. the output of `LogSoftmax`), integer `targets`
  `(...)`, `weights`. Kept for Trax 1.x models; prefer `WeightedCategoryCrossEntropy`,
  which takes logits and applies the softmax itself.
  """
  return cb.Serial(
    _NegativeLogProb(), _WeightedMean(), name='CrossEntropyLoss', sublayers_to_print=[]
  )


@register
def CrossEntropyLossWithLogSoftmax() -> base.Layer:
  """Weighted mean of `-log_softmax(logits)[target]` (Trax 1.x's loss of older models).

  Inputs: `logits` `(..., N)`, `targets` `(...)`, `weights`. The same number as
  `WeightedCategoryCrossEntropy`, computed as Trax 1.x did: `LogSoftmax`, then
  `CrossEntropyLoss`.
  """
  return cb.Serial(
    array_fns.LogSoftmax(),
    _NegativeLogProb(),
    _WeightedMean(),
    name='CrossEntropyLossWithLogSoftmax',
    sublayers_to_print=[],
  )


@register
def CrossEntropySum() -> base.Layer:
  """`sum(-log_probs[target] * weights)`: the summed cross-entropy of log-probabilities.

  Inputs: `log_probs` `(..., N)` (e.g. from `LogSoftmax`), `targets` `(...)`, `weights`.
  """
  return cb.Serial(_NegativeLogProb(), WeightedSum(), name='CrossEntropySum', sublayers_to_print=[])


@register
def BinaryCrossEntropyLoss() -> base.Layer:
  r"""Binary cross-entropy of PROBABILITIES, per batch item (deprecated in Trax 1.4).

  Inputs: `probabilities` (e.g. after `Sigmoid`) and 0/1 `targets` of the same shape
  `(batch, ...)`, and `weights`. Output, as Trax 1.x computed it:

  .. math::
      -\frac{1}{\text{batch}} \sum_i t_i \log p_i + (1 - t_i) \log(1 - p_i)

  (the weights only divide out: Trax took the weighted mean of this one number). Prefer
  `BinaryCrossEntropy`, which takes logits and is stable for large ones.
  """
  return cb.Serial(
    _BinaryCrossEntropyOfProbabilities(),
    _WeightedMean(),
    name='BinaryCrossEntropyLoss',
    sublayers_to_print=[],
  )


@register
def BinaryCrossEntropySum() -> base.Layer:
  """`BinaryCrossEntropyLoss`'s number times `sum(weights)`, as Trax 1.x computed it.

  Inputs: `probabilities`, 0/1 `targets` (same shape), `weights`.
  """
  return cb.Serial(
    _BinaryCrossEntropyOfProbabilities(),
    WeightedSum(),
    name='BinaryCrossEntropySum',
    sublayers_to_print=[],
  )


def _Equal() -> base.Layer:
  return base.Fn(
    '_Accuracy',
    lambda predictions, targets: jnp.astype(jnp.equal(predictions, targets), jnp.float32),
  )


def _NegativeLogProb() -> base.Layer:
  def f(log_probs, targets):
    check_targets(log_probs, targets)
    return -target_entries(log_probs, targets)

  return base.Fn('_CrossEntropy', f)


def _BinaryCrossEntropyOfProbabilities() -> base.Layer:
  """`-(t log p + (1 - t) log(1 - p))` summed over all items, over the batch size."""

  def f(probabilities, targets):
    shapes.assert_same_shape(probabilities, targets)
    targets = jnp.astype(targets, probabilities.dtype)
    entropies = targets * jnp.log(probabilities) + (1.0 - targets) * jnp.log(1.0 - probabilities)
    batch_size = jnp.astype(fastmath.shape(probabilities)[0], entropies.dtype)
    return -jnp.sum(entropies) / batch_size

  return base.Fn('_BinaryCrossEntropy', f)


def _WeightedMean() -> base.Layer:
  return base.Fn('_WeightedMean', weighted_mean)


def _WeightedSequenceMean() -> base.Layer:
  def f(correct, weights):
    # A sequence is right when no position of non-zero weight is wrong.
    wrong = (1.0 - correct) * jnp.astype(weights, correct.dtype)
    axes = tuple(range(1, len(wrong.shape)))
    return jnp.mean(jnp.astype(jnp.sum(wrong, axis=axes) == 0.0, jnp.float32))

  return base.Fn('_WeightedSequenceMean', f)
