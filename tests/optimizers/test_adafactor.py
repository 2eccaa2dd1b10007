"""Adafactor's slot layouts and the options its table cases do not reach."""

import jax.numpy as jnp
import numpy as np
import pytest

from trax import optimizers


@pytest.mark.parametrize(
  'factored, shape, slot_shapes',
  [
    (True, (3, 5), [(3,), (5,)]),  # R per row (mean over columns), C per column.
    (True, (2, 3, 5), [(2, 3), (2, 5)]),  # Leading axes are batched over.
    (True, (5,), [(5,)]),  # Vectors are never factored.
    (True, (), [()]),
    (False, (3, 5), [(3, 5)]),
  ],
)
def test_second_moment_slot_shapes(factored, shape, slot_shapes):
  opt = optimizers.Adafactor(factored=factored)
  (slots,), _ = opt.tree_init(np.zeros(shape, np.float32))
  assert [s.shape for s in slots] == slot_shapes
  assert all(s.dtype == jnp.float32 for s in slots)


@pytest.mark.parametrize('in_bfloat16, dtype', [(False, jnp.float32), (True, jnp.bfloat16)])
def test_momentum_is_the_last_slot(in_bfloat16, dtype):
  opt = optimizers.Adafactor(
    0.1,
    multiply_by_parameter_scale=False,
    do_momentum=True,
    momentum_in_bfloat16=in_bfloat16,
    beta1=0.75,
    weight_decay_rate=0.0,
  )
  weights = np.zeros((2, 3), np.float32)
  slots, opt_params = opt.tree_init(weights)
  assert [s.shape for s in slots[0]] == [(2,), (3,), (2, 3)]
  assert slots[0][-1].dtype == dtype
  grads = np.ones((2, 3), np.float32)
  new, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  # First step: U = G / |G| = 1, so m = (1 - beta1) * lr * U, and the step is m.
  assert slots[0][-1].dtype == dtype
  np.testing.assert_allclose(slots[0][-1].astype(np.float32), 0.025, rtol=1e-3)  # bf16
  np.testing.assert_allclose(new, -0.025, rtol=1e-6)


def test_weight_decay_ramps_down_over_n_steps():
  opt = optimizers.Adafactor(learning_rate=0.0, weight_decay_rate=0.1, weight_decay_n_steps=4)
  weights = np.ones(3, np.float32)
  slots, opt_params = opt.tree_init(weights)
  for step, rate in enumerate([0.1, 0.075, 0.05, 0.025, 0.0, 0.0]):
    new, slots, _ = opt.tree_update(step, np.ones(3, np.float32), weights, slots, opt_params)
    np.testing.assert_allclose(new, 1.0 - rate, rtol=1e-6)


def test_second_moment_decay_follows_one_minus_t_to_the_minus_c():
  opt = optimizers.Adafactor(factored=False, decay_rate=0.5)
  weights = np.zeros(1, np.float32)
  slots, opt_params = opt.tree_init(weights)
  _, slots, _ = opt.tree_update(0, np.array([2.0], np.float32), weights, slots, opt_params)
  np.testing.assert_allclose(slots[0][0], [4.0])  # beta2hat(1) = 0: V = G^2.
  _, slots, _ = opt.tree_update(1, np.array([1.0], np.float32), weights, slots, opt_params)
  beta2hat = 1 - 2**-0.5
  np.testing.assert_allclose(slots[0][0], [beta2hat * 4.0 + (1 - beta2hat) * 1.0], rtol=1e-6)
