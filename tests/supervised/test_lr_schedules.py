"""Learning-rate schedules against hand-computed values, eagerly and inside jit."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax.supervised import lr_schedules


def _assert_schedule(schedule, expected_by_step):
  """Checks `schedule` at each step, with a Python int and a traced int32 step."""
  steps = list(expected_by_step)
  expected = [expected_by_step[s] for s in steps]
  eager = [float(schedule(s)) for s in steps]
  jitted = jax.jit(jax.vmap(schedule))(jnp.array(steps, jnp.int32))
  np.testing.assert_allclose(eager, expected, rtol=1e-5, atol=1e-12)
  np.testing.assert_allclose(jitted, expected, rtol=1e-5, atol=1e-12)


def test_constant_from_step_one():
  _assert_schedule(
    lr_schedules.constant(0.02), {0: 0.0, 1: 0.02, 20: 0.02, 4000: 0.02, 900_000_000: 0.02}
  )


def test_warmup_reaches_max_value_one_step_after_n_warmup_steps():
  _assert_schedule(
    lr_schedules.warmup(9, 0.01),
    {0: 0.0, 1: 0.001, 5: 0.005, 9: 0.009, 10: 0.01, 11: 0.01, 4000: 0.01},
  )


def test_warmup_and_rsqrt_decay():
  _assert_schedule(
    lr_schedules.warmup_and_rsqrt_decay(24, 0.25),
    {
      1: 0.01,
      2: 0.02,
      23: 0.23,
      24: 0.24,
      25: 0.25,
      26: 0.25 * 5 / math.sqrt(26),
      100: 0.125,
      50_000: 0.25 * 5 / math.sqrt(50_000),
    },
  )


def test_multifactor_default_is_transformer_schedule():
  # 0.1 * min(1, step / 400) / sqrt(max(step, 400)).
  _assert_schedule(
    lr_schedules.multifactor(),
    {
      1: 0.1 / 400 / 20,
      200: 0.1 * 0.5 / 20,
      400: 0.1 / 20,
      1600: 0.1 / 40,
    },
  )


@pytest.mark.parametrize(
  'kwargs, expected',
  [
    (
      dict(factors='two_constants', constant=0.1, second_constant=0.01, second_constant_step=100),
      {1: 0.1, 99: 0.1, 100: 0.01, 5000: 0.01},
    ),
    (
      dict(factors='constant * decay_every', constant=2.0, decay_factor=0.5, steps_per_decay=10),
      {1: 2.0, 9: 2.0, 10: 1.0, 25: 0.5},
    ),
    (
      dict(factors='cosine_decay', warmup_steps=10, steps_per_cycle=40),
      {
        5: 1.0,
        10: 1.0,
        20: 0.5 * (1 + math.cos(math.pi / 4)),
        30: 0.5,
        45: 0.5 * (1 + math.cos(math.pi * 35 / 40)),
        50: 1.0,
      },
    ),
    (dict(factors='rsqrt_normalized_decay', warmup_steps=100), {1: 1.0, 100: 1.0, 400: 0.5}),
    (
      dict(factors='constant * rsqrt_decay', constant=1.0, warmup_steps=1, minimum=0.1),
      {1: 1.0, 4: 0.5, 100: 0.1, 400: 0.1},
    ),
    (
      dict(factors=' constant*linear_warmup ', constant=0.5, warmup_steps=4),
      {1: 0.125, 2: 0.25, 4: 0.5, 8: 0.5},
    ),
  ],
  ids=[
    'two_constants',
    'decay_every',
    'cosine_decay',
    'rsqrt_normalized_decay',
    'minimum',
    'spaces',
  ],
)
def test_multifactor_factors(kwargs, expected):
  _assert_schedule(lr_schedules.multifactor(**kwargs), expected)


def test_multifactor_reports_unknown_factors_when_built():
  with pytest.raises(ValueError, match=r"unknown factor\(s\) \['rsqrt_dacay'\]"):
    lr_schedules.multifactor('constant * rsqrt_dacay')


def test_schedule_of_a_traced_step_compiles_once():
  traces = []

  @jax.jit
  def rate(step):
    traces.append(step)
    return lr_schedules.multifactor('constant * two_constants', minimum=0.005)(step)

  assert [float(rate(jnp.int32(s))) for s in (1, 20_000)] == pytest.approx([0.01, 0.005])
  assert len(traces) == 1
