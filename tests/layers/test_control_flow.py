"""Tests of Scan, Cond and Cache against plain Python loops and jax references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax import shapes
from trax.fastmath import numpy as fnp
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
RNG = harness.RNG


@tl.register
def _running_sum(x, carry):
  return x + carry, x + carry


@tl.register
def _is_positive(x):
  return fnp.sum(x) > 0


def RunningSum():
  return tl.Fn('RunningSum', _running_sum, n_out=2)


def Positive():
  return tl.Fn('Positive', _is_positive)


def _cell():
  """x, h -> h', h' with h' = tanh(x @ w_x + h @ w_h): a minimal recurrent cell."""
  return tl.Serial(
    tl.Parallel(tl.Dense(3), tl.Dense(3, use_bias=False)), tl.Add(), tl.Tanh(), tl.Dup()
  )


PARITY_CASES = [
  harness.Case('Scan', lambda: tl.Scan(_cell(), axis=1), (S((2, 5, 4)), S((2, 3)))),
  harness.Case(
    'Cond', lambda: tl.Cond(Positive(), tl.Dense(3), tl.Dense(3)), (S((2, 3)), S((2, 3)))
  ),
  harness.Case('Cache', lambda: tl.Cache(tl.Dense(3)), S((2, 3)), {'fixed_state_structure': False}),
]


def _cell_reference(weights, xs, h):
  """The recurrence of `_cell` as a Python loop over axis 1."""
  ((((w_x, b_x), w_h), (), (), ()),) = weights
  outputs = []
  for t in range(xs.shape[1]):
    h = jnp.tanh(xs[:, t] @ w_x + b_x + h @ w_h)
    outputs.append(h)
  return jnp.stack(outputs, 1), h


def test_scan_running_sum_is_cumsum():
  xs = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
  ys, total = tl.Scan(RunningSum())((xs, np.array(10.0, np.float32)))
  np.testing.assert_allclose(ys, 10.0 + np.cumsum(xs))
  np.testing.assert_allclose(total, 20.0)


def test_scan_matches_python_loop_and_shares_weights():
  scan = tl.Scan(_cell(), axis=1)
  xs = harness.random_inputs(S((2, 5, 4)))
  h0 = np.zeros((2, 3), np.float32)
  weights, state = scan.init((S((2, 5, 4)), S((2, 3))), rng=RNG)
  assert len(tl.flatten_weights_and_state(weights, state)[0]) == 3  # one copy, not 5
  (ys, h), _ = jax.jit(scan.pure_fn)((xs, h0), weights, state, RNG)
  expected_ys, expected_h = jax.jit(_cell_reference)(weights, xs, h0)
  np.testing.assert_allclose(ys, expected_ys, atol=1e-6)
  np.testing.assert_allclose(h, expected_h, atol=1e-6)

  # The gradient of the shared weights sums the contributions of every step.
  loss = lambda w: jnp.sum(scan.pure_fn((xs, h0), w, state, RNG)[0][0] ** 2)
  reference_loss = lambda w: jnp.sum(_cell_reference(w, xs, h0)[0] ** 2)
  harness.assert_trees_close(
    jax.jit(jax.grad(loss))(weights),
    jax.jit(jax.grad(reference_loss))(weights),
    atol=1e-5,
    rtol=1e-5,
  )


def test_scan_remat_gives_the_same_gradients():
  xs, h0 = harness.random_inputs((S((2, 5, 4)), S((2, 3))))
  plain, remat = tl.Scan(_cell(), axis=1), tl.Scan(_cell(), axis=1, remat=True)
  weights, state = plain.init((S((2, 5, 4)), S((2, 3))), rng=RNG)
  grads = [
    jax.grad(lambda w, l=l: jnp.sum(l.pure_fn((xs, h0), w, state, RNG)[0][1]))(weights)
    for l in (plain, remat)
  ]
  harness.assert_trees_close(grads[0], grads[1])


def test_scan_folds_the_step_number_into_the_rng():
  scan = tl.Scan(tl.Dropout(0.5), n_carry=0)
  xs = np.ones((4, 50), np.float32)
  ys = scan(xs, rng=RNG)
  dropout = tl.Dropout(0.5)
  for t in range(4):
    expected = dropout(xs[t], rng=jax.random.fold_in(RNG, t))
    np.testing.assert_array_equal(ys[t], expected)
  assert not np.array_equal(ys[0], ys[1])


def test_scan_predict_mode_continues_from_the_kept_carry():
  signature = (S((2, 6, 4)), S((2, 3)))
  xs, h0 = harness.random_inputs(signature)
  full = tl.Scan(_cell(), axis=1, mode='eval')
  weights, state = full.init(signature, rng=RNG)
  (expected_ys, expected_h), _ = full.pure_fn((xs, h0), weights, state, RNG)

  predict = tl.Scan(_cell(), axis=1, mode='predict')
  _, state = predict.init((S((2, 2, 4)), S((2, 3))), rng=RNG)
  step = jax.jit(predict.pure_fn)
  outputs = []
  for start in range(0, 6, 2):
    # Later calls ignore the carry input: the kept carry continues the sequence.
    carry_input = h0 if start == 0 else h0 + 5.0
    (ys, h), new_state = step((xs[:, start : start + 2], carry_input), weights, state, RNG)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    state = new_state
    outputs.append(ys)
  np.testing.assert_allclose(np.concatenate(outputs, 1), expected_ys, atol=1e-6)
  np.testing.assert_allclose(h, expected_h, atol=1e-6)


def test_scan_checks_n_carry():
  with pytest.raises(ValueError, match='n_carry=2'):
    tl.Scan(RunningSum(), n_carry=2)


def test_cond_runs_only_the_chosen_branch():
  double = tl.Fn('Double', lambda x: 2.0 * x)
  cond = tl.Cond(Positive(), double, tl.Serial(tl.Dense(3), tl.Dropout(0.5)))
  assert (cond.n_in, cond.n_out) == (2, 1)
  x = np.arange(6, dtype=np.float32).reshape(2, 3)
  np.testing.assert_allclose(cond((np.ones(2, np.float32), x)), 2.0 * x)
  weights, state = cond.weights, cond.state
  (dense_weights, _), _ = weights[2], None
  expected_false = x @ dense_weights[0] + dense_weights[1]
  eval_cond = tl.Cond(Positive(), double, tl.Serial(tl.Dense(3), tl.Dropout(0.5, mode='eval')))
  y, new_state = jax.jit(eval_cond.pure_fn)((-np.ones(2, np.float32), x), weights, state, RNG)
  np.testing.assert_allclose(y, expected_false, rtol=1e-6)
  harness.assert_trees_close(new_state, state)


def test_cond_keeps_the_stack_below_the_branch_inputs():
  cond = tl.Cond(Positive(), tl.Add(), tl.SubtractTop())
  assert (cond.n_in, cond.n_out) == (3, 1)
  serial = tl.Serial(cond, tl.Fn('Mul', lambda a, b: a * b))
  one = np.ones(1, np.float32)
  out = serial((one, 3.0 * one, 5.0 * one, 7.0 * one))
  np.testing.assert_allclose(out, (3.0 + 5.0) * 7.0)


def test_cond_checks_its_branches():
  with pytest.raises(ValueError, match='equal n_in and n_out'):
    tl.Cond(Positive(), tl.Add())
  with pytest.raises(ValueError, match='one output'):
    tl.Cond(tl.Dup(), tl.Dense(2))


def test_cache_computes_once():
  cache = tl.Cache(tl.Dense(3))
  x = np.ones((2, 3), np.float32)
  first = cache(x)
  np.testing.assert_allclose(cache(5.0 * x), first)
  weights, state = cache.init(S((2, 3)), rng=RNG)
  assert state == ((), ())  # Nothing stored yet (Trax 1.4 had `((), dense state)`).
  step = jax.jit(cache.pure_fn)
  y1, state = step(x, weights, state, RNG)
  y2, state2 = step(5.0 * x, weights, state, RNG)
  np.testing.assert_allclose(y2, y1)
  assert jax.tree.structure(state2) == jax.tree.structure(state)
  dense_w, dense_b = weights[0]
  np.testing.assert_allclose(y1, x @ dense_w + dense_b, rtol=1e-6)


def test_cache_computes_on_the_first_call_whatever_the_shape():
  # As Trax 1.4: initialized for one shape, the first call may bring another.
  cache = tl.Cache(tl.Serial(tl.Dense(3), tl.Relu()))
  weights, state = cache.init(S((1, 1, 4)), rng=RNG)
  x = np.arange(32, dtype=np.float32).reshape(1, 8, 4) / 10.0
  step = jax.jit(cache.pure_fn)
  y1, state = step(x, weights, state, RNG)
  y2, _ = step(np.zeros((1, 1, 4), np.float32), weights, state, RNG)
  (dense_w, dense_b), () = weights[0]
  np.testing.assert_allclose(y1, np.maximum(x @ dense_w + dense_b, 0.0), rtol=1e-6)
  np.testing.assert_array_equal(y2, y1)  # The stored (1, 8, 3) outputs.
