r"""Learning-rate schedules: functions mapping the training step to a learning rate.

A schedule is a function :math:`\text{step} \mapsto \text{learning rate}`. Every schedule
here is written with `fastmath.numpy` and has no Python branch on the step, so the same
function takes a Python int or an integer array traced inside `jit`, and returns a scalar
array.

Steps count from 1: Trax's training `Loop` asks for the rate of step 1 before its first
update, so step 0 (a rate of 0 under the warm-up schedules) is never trained with.

>>> from trax.supervised import lr_schedules
>>> lr = lr_schedules.warmup_and_rsqrt_decay(n_warmup_steps=3, max_value=0.1)
>>> [round(float(lr(step)), 4) for step in (1, 2, 3, 4, 16)]
[0.025, 0.05, 0.075, 0.1, 0.05]
"""

from typing import Any
from collections.abc import Callable

from trax.fastmath import numpy as jnp

# A Python int, or an integer array (traced under jit); the returned rate is an array.
Schedule = Callable[[Any], Any]

_FACTORS = (
  'constant',
  'two_constants',
  'linear_warmup',
  'rsqrt_decay',
  'rsqrt_normalized_decay',
  'decay_every',
  'cosine_decay',
)


def constant(value: float) -> Schedule:
  """Returns a schedule that is `value` at every step from 1 on.

  As in Trax 1.4 it is a warm-up of length zero, so step 0 (never trained with) gets 0.

  Args:
    value: the learning rate.
  """
  return warmup(0, value)


def warmup(n_warmup_steps: int, max_value: float) -> Schedule:
  """Returns a schedule rising linearly to `max_value`, then constant.

  The rate at step `t` is `max_value * min(1, t / (n_warmup_steps + 1))`: steps
  `1 .. n_warmup_steps` warm up, step `n_warmup_steps + 1` is the first at `max_value`.
  (Trax 1.4's docstring described a line through `(n_warmup_steps, max_value)`; its code,
  kept here, reaches `max_value` one step later.)

  Args:
    n_warmup_steps: number of steps below `max_value`.
    max_value: the rate after warm-up.
  """
  body_start = n_warmup_steps + 1

  def learning_rate(step: Any) -> Any:
    return max_value * jnp.minimum(1.0, step / body_start)

  return learning_rate


def warmup_and_rsqrt_decay(n_warmup_steps: int, max_value: float) -> Schedule:
  """Returns a schedule with linear warm-up, then decay as one over the root of the step.

  Warm-up is as in `warmup`; from step `s = n_warmup_steps + 1` on the rate is
  `max_value * sqrt(s / step)`, which joins the warm-up continuously at `max_value`.

  Args:
    n_warmup_steps: number of steps below `max_value`.
    max_value: the peak rate, reached at step `n_warmup_steps + 1`.
  """
  tail_start = n_warmup_steps + 1

  def learning_rate(step: Any) -> Any:
    rise = jnp.minimum(1.0, step / tail_start)
    decay = jnp.sqrt(tail_start / jnp.maximum(step, tail_start))
    return max_value * rise * decay

  return learning_rate


def multifactor(
  factors: str = 'constant * linear_warmup * rsqrt_decay',
  constant: float = 0.1,
  warmup_steps: int = 400,
  decay_factor: float = 0.5,
  steps_per_decay: int = 20000,
  steps_per_cycle: int = 100000,
  second_constant: float = 0.01,
  second_constant_step: int = 10000,
  minimum: float = 0,
) -> Schedule:
  """Returns a schedule that is the product of the named factors, but at least `minimum`.

  Factors, joined by `*` in `factors`:

  - `constant`: `constant`.
  - `two_constants`: `constant` before step `second_constant_step`, then `second_constant`.
  - `linear_warmup`: `min(1, step / warmup_steps)`.
  - `rsqrt_decay`: `1 / sqrt(max(step, warmup_steps))`.
  - `rsqrt_normalized_decay`: `sqrt(warmup_steps / max(step, warmup_steps))`.
  - `decay_every`: `decay_factor ** (step // steps_per_decay)`.
  - `cosine_decay`: half a cosine from 1 to 0 over each `steps_per_cycle` steps after
    `warmup_steps`, restarting at 1 (Loshchilov & Hutter 2017,
    https://arxiv.org/abs/1608.03983).

  Unlike Trax 1.4, `two_constants` and `minimum` work under `jit` (Trax compared the traced
  step in Python), and an unknown factor is reported when the schedule is built rather than
  at its first call.

  Args:
    factors: factor names separated by `*`.
    constant: the value of the `constant` factor (and of `two_constants` at first).
    warmup_steps: length of `linear_warmup`; also where the decays start.
    decay_factor: multiplier applied every `steps_per_decay` steps by `decay_every`.
    steps_per_decay: period of `decay_every`.
    steps_per_cycle: period of `cosine_decay`.
    second_constant: the value of `two_constants` from `second_constant_step` on.
    second_constant_step: the step at which `two_constants` switches.
    minimum: lower bound of the returned rate.

  Raises:
    ValueError: if `factors` names a factor not listed above.
  """
  names = [name.strip() for name in factors.split('*')]
  unknown = [name for name in names if name not in _FACTORS]
  if unknown:
    raise ValueError(
      f'multifactor got unknown factor(s) {unknown} in factors={factors!r}; '
      f'expected names from {list(_FACTORS)} joined by "*".'
    )

  def learning_rate(step: Any) -> Any:
    rate = 1.0
    for name in names:
      if name == 'constant':
        rate *= constant
      elif name == 'two_constants':
        rate *= jnp.where(step < second_constant_step, constant, second_constant)
      elif name == 'linear_warmup':
        rate *= jnp.minimum(1.0, step / warmup_steps)
      elif name == 'rsqrt_decay':
        rate /= jnp.sqrt(jnp.maximum(step, warmup_steps))
      elif name == 'rsqrt_normalized_decay':
        rate *= jnp.sqrt(warmup_steps / jnp.maximum(step, warmup_steps))
      elif name == 'decay_every':
        rate *= decay_factor ** (step // steps_per_decay)
      elif name == 'cosine_decay':
        progress = jnp.maximum(0.0, (step - warmup_steps) / steps_per_cycle)
        rate *= 0.5 * (1.0 + jnp.cos(jnp.pi * (progress % 1.0)))
    return jnp.maximum(rate, minimum)

  return learning_rate
