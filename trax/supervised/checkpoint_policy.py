"""When `Loop` saves which checkpoint, under Trax 1.4's file names.

- `model`: at `checkpoint_at` steps (default: step 1 and every `n_steps_per_checkpoint`),
  overwritten each time; a new `Loop` on the directory resumes from it.
- `model_<step>`: at `permanent_checkpoint_at` steps (default: step 1 and every
  `n_steps_per_permanent_checkpoint`), kept.
- `lowest_<metric>` / `highest_<metric>`: at `checkpoint_at` steps where the eval metric
  named by `checkpoint_low_metric` / `checkpoint_high_metric` is at its lowest / highest
  so far (ties included), overwritten each time.
"""

from collections.abc import Callable


def at_step_1_and_every_nth_step(period: 'int | None') -> Callable[[int], bool]:
  """Step 1 and every `period`-th step; never if `period` is None."""
  if period is None:
    return lambda step: False
  return lambda step: step == 1 or (step > 0 and step % period == 0)


def best_metric_basenames(
  low_metric: 'str | None', high_metric: 'str | None', at_extreme: Callable[[str, str], bool]
) -> list:
  """Basenames of the best-metric checkpoints due now.

  Args:
    low_metric: the eval metric whose lowest value is kept, or None.
    high_metric: the eval metric whose highest value is kept, or None.
    at_extreme: `(metric, 'lowest' | 'highest') -> bool`, whether the metric's last value
      is its extreme so far.
  """
  due = []
  for metric, extreme in ((low_metric, 'lowest'), (high_metric, 'highest')):
    if metric and at_extreme(metric, extreme):
      due.append(f'{extreme}_{metric.replace("/", "_")}')
  return due
