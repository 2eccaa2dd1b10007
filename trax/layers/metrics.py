"""Losses and evaluation metrics: layers reducing a batch of predictions to one scalar.

A metric layer takes the model output, the targets and (for the `Weighted...` ones) weights,
and returns a float scalar. Weights broadcast against the targets and let items count
unevenly; a weight of 0 masks an item out (e.g. padding in a batch of sequences):

    weighted mean = sum(value * weights) / sum(weights)

When all weights are 0 (a batch of padding only), a weighted mean is 0, not 0/0 = NaN, so
such a batch makes a step of zero weight instead of stopping training.

Categorical layers take pre-softmax activations (logits) of shape `(..., n_categories)`
and targets of shape `(...)`: integer category ids, or floats holding them (Trax 1.x
compared targets with the categories, so float targets worked; here they are cast),
in `[0, n_categories)`. Concrete (eager) targets out of range raise an error; inside
compiled code nothing can raise, so a `Loop` checks the targets of the layers for which
`takes_class_targets` holds, on the host, before each batch.
"""

from typing import Any

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import checks
from trax.layers import core
from trax.layers.config import register

__all__ = [
  'CategoryCrossEntropy',
  'WeightedCategoryCrossEntropy',
  'CategoryAccuracy',
  'WeightedCategoryAccuracy',
  'MaskedSequenceAccuracy',
  'BinaryCrossEntropy',
  'L2Loss',
  'SmoothL1Loss',
  'MacroAveragedFScore',
  'WeightedFScore',
  'WeightedSum',
  'takes_class_targets',
]

_CLASS_TARGET_METRICS = frozenset(
  {
    'CategoryCrossEntropy',
    'WeightedCategoryCrossEntropy',
    'CategoryAccuracy',
    'WeightedCategoryAccuracy',
    'MaskedSequenceAccuracy',
    'CrossEntropyLoss',
    'MacroAveragedFScore',
    'WeightedFScore',
    'CrossEntropyLossWithLogSoftmax',
    'CrossEntropySum',
  }
)


@register
def CategoryCrossEntropy(label_smoothing: 'float | None' = None) -> base.Layer:
  r"""Mean cross-entropy between `softmax(logits)` and (smoothed) one-hot targets.

  Inputs: `logits` of shape `(..., N)`, integer `targets` of shape `(...)`.
  Output: the mean over all items of

  .. math::
      -\sum_i p_i \log \mathrm{softmax}(v)_i, \qquad
      p = (1 - \varepsilon)\, \mathrm{one\_hot}(t) + \varepsilon / N

  where :math:`\varepsilon` is `label_smoothing` (0 when None).

  >>> loss = CategoryCrossEntropy()
  >>> value = loss((np.array([[0., 0.]]), np.array([1])))  # log(2)

  Args:
    label_smoothing: the probability mass spread evenly over all categories, in [0, 1].
  """
  _check_label_smoothing(label_smoothing)

  def f(logits, targets):
    check_targets(logits, targets)
    return jnp.mean(_category_cross_entropy(logits, targets, label_smoothing))

  return base.Fn('CategoryCrossEntropy', f)


@register
def WeightedCategoryCrossEntropy(
  label_smoothing: 'float | None' = None, cutoff: float = 0.0
) -> base.Layer:
  """Like `CategoryCrossEntropy`, but a weighted mean over items (weights as 3rd input).

  Inputs: `logits` `(..., N)`, integer `targets` `(...)`, `weights` broadcastable to the
  targets. Each item's cross-entropy `ce` becomes `max(ce, cutoff) - cutoff` before
  averaging, so items already predicted better than `cutoff` contribute nothing.

  >>> loss = WeightedCategoryCrossEntropy(label_smoothing=0.1)
  >>> logits, targets, weights = np.zeros((2, 4, 8)), np.ones((2, 4), int), np.ones((2, 4))
  >>> value = loss((logits, targets, weights))  # log(8)

  Args:
    label_smoothing: the probability mass spread evenly over all categories, in [0, 1].
    cutoff: per-item losses below this value count as 0 (0 disables the cutoff).
  """
  _check_label_smoothing(label_smoothing)

  def f(logits, targets, weights):
    check_targets(logits, targets)
    cross_entropies = _category_cross_entropy(logits, targets, label_smoothing)
    if cutoff > 0.0:
      cross_entropies = jnp.maximum(cross_entropies, cutoff) - cutoff
    return weighted_mean(cross_entropies, weights)

  return base.Fn('WeightedCategoryCrossEntropy', f)


@register
def CategoryAccuracy() -> base.Layer:
  """Fraction of items whose highest-scoring category (argmax) equals the target.

  Inputs: scores `(..., N)`, integer `targets` `(...)`. Output: a float32 scalar.
  """

  def f(model_output, targets):
    check_targets(model_output, targets)
    return jnp.mean(_is_correct(model_output, targets))

  return base.Fn('CategoryAccuracy', f)


@register
def WeightedCategoryAccuracy() -> base.Layer:
  """Weighted mean over items of 1 (argmax equals the target) or 0 (it does not).

  Inputs: scores `(..., N)`, integer `targets` `(...)`, `weights` broadcastable to them.
  """

  def f(model_output, targets, weights):
    check_targets(model_output, targets)
    return weighted_mean(_is_correct(model_output, targets), weights)

  return base.Fn('WeightedCategoryAccuracy', f)


@register
def MaskedSequenceAccuracy() -> base.Layer:
  """Fraction of sequences whose argmax predictions match the targets wherever weight != 0.

  Inputs: scores `(batch, length, N)`, integer `targets` `(batch, length)`, `weights`
  broadcastable to the targets (only zero versus non-zero matters).
  """

  def f(model_output, targets, weights):
    check_targets(model_output, targets)
    predictions = jnp.argmax(model_output, axis=-1)
    shapes.assert_same_shape(predictions, targets)
    position_ok = jnp.logical_or(jnp.equal(predictions, targets), jnp.equal(weights, 0))
    return jnp.mean(jnp.astype(jnp.all(position_ok, axis=-1), jnp.float32))

  return base.Fn('MaskedSequenceAccuracy', f)


@register
def BinaryCrossEntropy() -> base.Layer:
  r"""Mean binary cross-entropy between `sigmoid(logits)` and 0/1 targets.

  Inputs: `logits` and `targets` of the same shape. Per item, with :math:`q = \sigma(x)`,
  :math:`-t \log q - (1 - t) \log(1 - q)`, computed as the equal
  :math:`\mathrm{softplus}(x) - t x`: Trax 1.4 took the log of the sigmoid, which gives
  `inf` once :math:`|x|` passes about 17 in float32.
  """

  def f(logits, targets):
    return jnp.mean(jnp.logaddexp(0.0, logits) - jnp.astype(targets, logits.dtype) * logits)

  return base.Fn('BinaryCrossEntropy', f)


@register
def L2Loss() -> base.Layer:
  """Weighted mean of squared errors `(model_output - targets)**2` (all the same shape)."""

  def f(model_output, targets, weights):
    shapes.assert_same_shape(model_output, targets)
    shapes.assert_same_shape(model_output, weights)
    return weighted_mean((model_output - jnp.astype(targets, model_output.dtype)) ** 2, weights)

  return base.Fn('L2Loss', f)


@register
def SmoothL1Loss() -> base.Layer:
  r"""Weighted mean of the Huber loss of `model_output - targets` (all the same shape).

  .. math::
      h(d) = \tfrac12 d^2 \text{ if } |d| < 1 \text{, else } |d| - \tfrac12
  """

  def f(model_output, targets, weights):
    shapes.assert_same_shape(model_output, targets)
    shapes.assert_same_shape(model_output, weights)
    distance = jnp.abs(model_output - jnp.astype(targets, model_output.dtype))
    return weighted_mean(jnp.where(distance < 1.0, 0.5 * distance**2, distance - 0.5), weights)

  return base.Fn('SmoothL1Loss', f)


@register
def MacroAveragedFScore(beta: float = 1.0, initial_category_index: int = 0) -> base.Layer:
  r"""Unweighted mean over categories of the F-beta score of the argmax predictions.

  Inputs: scores `(..., N)`, integer `targets` `(...)`. For each category
  :math:`k \ge` `initial_category_index`:

  .. math::
      F_k = \frac{(1 + \beta^2)\, \mathrm{correct}_k}
                 {\beta^2\, \mathrm{targets}_k + \mathrm{predicted}_k}

  As in Trax 1.4, the mean runs over all categories from `initial_category_index` on, and
  a category neither predicted nor among the targets scores 0 (scikit-learn would leave it
  out of the mean).

  Args:
    beta: how many times more recall counts than precision.
    initial_category_index: categories below it (e.g. padding) are left out.
  """

  def f(model_output, targets):
    return jnp.mean(_f_scores(model_output, targets, beta, initial_category_index)[0])

  return base.Fn('MacroAveragedFScore', f)


@register
def WeightedFScore(beta: float = 1.0, initial_category_index: int = 0) -> base.Layer:
  """Mean over categories of the F-beta score, weighted by each category's target count.

  Inputs and per-category scores as in `MacroAveragedFScore`.

  Args:
    beta: how many times more recall counts than precision.
    initial_category_index: categories below it (e.g. padding) are left out.
  """

  def f(model_output, targets):
    f_scores, n_targets = _f_scores(model_output, targets, beta, initial_category_index)
    return weighted_mean(f_scores, n_targets)

  return base.Fn('WeightedFScore', f)


@register
def WeightedSum() -> base.Layer:
  """`sum(values * weights)`: inputs `values` and `weights` (broadcastable)."""

  def f(values, weights):
    values = jnp.asarray(values)
    return jnp.sum(values * jnp.astype(weights, values.dtype))

  return base.Fn('WeightedSum', f)


def _category_cross_entropy(logits: Any, targets: Any, label_smoothing: 'float | None') -> Any:
  """Per-item cross-entropy, without materializing log_softmax or a one-hot array.

  With `lse = logsumexp(logits)`, `log_softmax(logits) = logits - lse`, so the smoothed
  cross-entropy is `lse - (1 - eps) * logits[target] - eps * mean(logits)`. Picking
  `logits[target]` with `take_along_axis` beat `sum(log_softmax * one_hot)` under XLA on
  CPU: 20-24 ms against 50 ms (value and gradient) and 6-7 against 24 ms (value only) for
  2048 x 4096 logits, since the gather reads one number per item instead of a full
  one-hot product, and no log_softmax array is written.
  """
  lse = fastmath.logsumexp(logits, axis=-1)
  target_logits = target_entries(logits, targets)
  if not label_smoothing:
    return lse - target_logits
  return lse - (1.0 - label_smoothing) * target_logits - label_smoothing * jnp.mean(logits, axis=-1)


def takes_class_targets(layer: base.Layer) -> bool:
  """Whether `layer` is a metric here taking scores `(..., N)`, then class ids in [0, N)."""
  try:
    config = layer.config()
  except (ValueError, TypeError):  # ConfigError: not one of ours.
    return False
  if config.get('factory') in ('Accuracy', 'SequenceAccuracy'):
    return 'args' not in config and 'kwargs' not in config  # The default ArgMax classifier.
  return config.get('factory') in _CLASS_TARGET_METRICS


def weighted_mean(values: Any, weights: Any) -> Any:
  """`sum(values * weights) / sum(weights)`, 0 if all weights are 0; any numeric weights."""
  values = jnp.asarray(values)
  weights = jnp.astype(weights, values.dtype)
  total = jnp.sum(weights)
  # Dividing by 1 where the total is 0 keeps the gradient finite too (0, not 0 * inf).
  return jnp.sum(values * weights) / jnp.where(total == 0, jnp.ones_like(total), total)


def check_targets(scores: Any, targets: Any) -> None:
  """Raises if concrete `targets` are not class ids of `scores`' last axis."""
  n_classes = scores.shape[-1]
  if isinstance(n_classes, int):
    core.check_ids(
      fastmath.concrete_value(targets), n_classes, f'targets (class ids of {n_classes} classes)'
    )


def _check_label_smoothing(label_smoothing: 'float | None') -> None:
  if label_smoothing is not None:
    checks.check_fraction('', 'label_smoothing', label_smoothing, one_allowed=True)


def _is_correct(model_output: Any, targets: Any) -> Any:
  """Float 1/0 per item: does the argmax of `model_output` equal the target?"""
  predictions = jnp.argmax(model_output, axis=-1)
  shapes.assert_same_shape(predictions, targets)
  return jnp.astype(jnp.equal(predictions, targets), jnp.float32)


def _f_scores(
  model_output: Any, targets: Any, beta: float, initial_category_index: int
) -> tuple[Any, Any]:
  """Per-category F-beta scores and target counts (float32 vectors)."""
  check_targets(model_output, targets)
  predictions = jnp.argmax(model_output, axis=-1)
  shapes.assert_same_shape(predictions, targets)
  categories = jnp.arange(initial_category_index, model_output.shape[-1])
  predicted = jnp.expand_dims(predictions, -1) == categories  # (..., n_categories)
  target = jnp.expand_dims(targets, -1) == categories
  axes = tuple(range(len(predicted.shape) - 1))
  count = lambda x: jnp.sum(jnp.astype(x, jnp.float32), axis=axes)
  n_correct, n_predicted, n_targets = (
    count(jnp.logical_and(predicted, target)),
    count(predicted),
    count(target),
  )
  beta2 = beta**2
  denominators = beta2 * n_targets + n_predicted
  # A category never predicted nor targeted has 0 correct: its score is 0, not 0/0.
  f_scores = (1.0 + beta2) * n_correct / jnp.maximum(denominators, 1e-30)
  return f_scores, n_targets


def target_entries(values: Any, targets: Any) -> Any:
  """`values[..., target]` for each item: the entry of each item's target category."""
  if not jnp.issubdtype(targets.dtype, jnp.integer):
    targets = jnp.astype(targets, jnp.int32)
  return jnp.squeeze(jnp.take_along_axis(values, jnp.expand_dims(targets, -1), axis=-1), -1)
