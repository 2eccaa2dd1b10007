"""SM3's accumulators, momentum types and grafting."""

import numpy as np
import pytest

from trax import optimizers


@pytest.mark.parametrize(
  'shape, mu_shapes',
  [
    ((2, 3, 4), [(2,), (3,), (4,)]),
    ((5,), [(5,)]),
    ((), [()]),  # Trax 1.4 failed on scalar weights.
  ],
)
def test_one_accumulator_per_axis(shape, mu_shapes):
  opt = optimizers.SM3()
  (slot,), _ = opt.tree_init(np.zeros(shape, np.float32))
  m, mu, mu_graft = slot
  assert m.shape == shape and mu_graft == []
  assert [a.shape for a in mu] == mu_shapes


def test_accumulators_keep_the_max_over_other_axes():
  opt = optimizers.SM3(momentum=0.0)
  weights = np.zeros((2, 3), np.float32)
  slots, opt_params = opt.tree_init(weights)
  assert slots[0][0] == []  # No momentum, no momentum slot.
  grads = np.array([[1.0, -3.0, 0.0], [2.0, 0.0, 0.5]], np.float32)
  new, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  _, (rows, cols), _ = slots[0]
  np.testing.assert_allclose(rows, [9.0, 4.0])
  np.testing.assert_allclose(cols, [4.0, 9.0, 0.25])
  # Zero gradients had nu = 0 and take no step; the others move by lr * sign(g).
  np.testing.assert_allclose(new, -0.01 * np.sign(grads), rtol=1e-6)


_P2 = 2 / 8**0.5  # The second preconditioned gradient: g = 2 after g = 2, so nu = 8.


@pytest.mark.parametrize(
  'momentum_type, first, second',
  [
    # The first preconditioned gradient is 2 / sqrt(4) = 1; beta1 = 0.5.
    (optimizers.MomentumType.EMA, 0.5 * 1.0, 0.5 * 0.5 + 0.5 * _P2),
    (optimizers.MomentumType.HEAVY_BALL, 1.0, 0.5 * 1.0 + _P2),
    (optimizers.MomentumType.NESTEROV, 0.5 * 1.0 + 1.0, 0.5 * (0.5 * 1.0 + _P2) + _P2),
  ],
)
def test_momentum_types(momentum_type, first, second):
  opt = optimizers.SM3(1.0, momentum=0.5, momentum_type=momentum_type)
  weights = np.zeros(1, np.float32)
  slots, opt_params = opt.tree_init(weights)
  grads = np.array([2.0], np.float32)
  w1, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  w2, _, _ = opt.tree_update(1, grads, w1, slots, opt_params)
  np.testing.assert_allclose(-w1, [first], rtol=1e-6)
  np.testing.assert_allclose(w1 - w2, [second], rtol=1e-6)


def test_second_moment_averaging_grafts_onto_the_plain_step_norm():
  opt = optimizers.SM3(1.0, momentum=0.0, second_moment_averaging=0.5)
  weights = np.zeros(2, np.float32)
  slots, opt_params = opt.tree_init(weights)
  assert len(slots[0][2]) == 1  # The plain sums for grafting.
  g1, g2 = np.array([2.0, 1.0], np.float32), np.array([1.0, 1.0], np.float32)
  w1, slots, _ = opt.tree_update(0, g1, weights, slots, opt_params)
  w2, slots, _ = opt.tree_update(1, g2, w1, slots, opt_params)
  # Averaged nu: 0.5 * g1^2 = (2, 0.5), then 0.5 * (2, 0.5) + 0.5 * g2^2 = (1.5, 0.75).
  # Plain sums: g1^2 + g2^2 = (5, 2).
  direction = g2 / np.sqrt([1.5, 0.75])
  plain = g2 / np.sqrt([5.0, 2.0])
  direction *= np.linalg.norm(plain) / np.linalg.norm(direction)
  np.testing.assert_allclose(w1 - w2, direction, rtol=1e-5)
  np.testing.assert_allclose(slots[0][1][0], [1.5, 0.75])
  np.testing.assert_allclose(slots[0][2][0], [5.0, 2.0])


def test_weight_decay_is_added_to_the_preconditioned_gradient():
  opt = optimizers.SM3(0.1, momentum=0.0, weight_decay=0.5)
  weights = np.full(2, 2.0, np.float32)
  slots, opt_params = opt.tree_init(weights)
  new, _, _ = opt.tree_update(0, np.array([3.0, -3.0], np.float32), weights, slots, opt_params)
  np.testing.assert_allclose(new, 2.0 - 0.1 * (np.array([1.0, -1.0]) + 0.5 * 2.0), rtol=1e-6)
