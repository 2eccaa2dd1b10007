"""What `Optimizer` does once for every optimizer: tree walk, clipping, dtypes, metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax import optimizers
from trax.layers import base as layers_base
from trax.supervised import lr_schedules


def _f32(*values):
  return np.array(values, np.float32)


def test_slots_are_a_list_in_flat_weight_order():
  zeros = lambda n: np.zeros(n, np.float32)
  weights = ({'b': zeros(2), 'a': zeros(3)}, zeros(4))  # Flat: a, b, then (4,).
  opt = optimizers.Adam()
  assert opt.slots is None
  slots, opt_params = opt.tree_init(weights)
  assert isinstance(slots, list) and opt.slots is slots
  assert [s.m.shape for s in slots] == [(3,), (2,), (4,)]
  assert set(opt_params) == {'learning_rate', 'weight_decay_rate', 'b1', 'b2', 'eps'}
  assert opt.opt_params is opt_params


def test_adam_slots_are_m_then_v():
  opt = optimizers.Adam(0.1, b1=0.5, b2=0.75)
  slots, opt_params = opt.tree_init(_f32(0.0))
  _, (slot,), _ = opt.tree_update(0, _f32(2.0), _f32(0.0), slots, opt_params)
  m, v = slot  # Trax 1.x checkpoints hold the plain tuple (m, v).
  assert isinstance(slot, optimizers.AdamSlots)
  np.testing.assert_allclose(m, 0.5 * 2.0)
  np.testing.assert_allclose(v, 0.25 * 4.0)
  assert slot.m is m and slot.v is v


@pytest.mark.parametrize(
  'opt, check',
  [
    (optimizers.SGD(), lambda s: s is None),
    (optimizers.Momentum(), lambda s: s.shape == (2, 3) and not s.any()),
    (optimizers.RMSProp(), lambda s: s.shape == (2, 3) and (s == 1).all()),
  ],
  ids=['sgd', 'momentum', 'rms_prop'],
)
def test_slot_layouts(opt, check):
  (slot,), _ = opt.tree_init(np.zeros((2, 3), np.float32))
  assert check(slot)


def test_new_weights_keep_the_tree_and_cache_markers():
  marker = layers_base.GET_WEIGHTS_FROM_CACHE
  weights = (_f32(1.0, 2.0), marker, [(), {'w': _f32(3.0)}])
  grads = (_f32(1.0, 1.0), marker, [(), {'w': _f32(1.0)}])
  opt = optimizers.SGD(0.5)
  new, _, _ = opt.tree_update(0, grads, weights, *opt.tree_init(weights))
  assert new[1] == marker and new[2][0] == () and isinstance(new[2], list)
  np.testing.assert_allclose(new[0], [0.5, 1.5])
  np.testing.assert_allclose(new[2][1]['w'], [2.5])


def test_metrics_are_global_norms_before_clipping_and_update():
  opt = optimizers.SGD(1.0, clip_grad_norm=1.0)
  weights, grads = (_f32(1.0, 2.0), _f32(2.0)), (_f32(3.0, 0.0), _f32(4.0))
  _, _, metrics = opt.tree_update(0, grads, weights, *opt.tree_init(weights))
  np.testing.assert_allclose(metrics['gradients_l2'], 5.0)
  np.testing.assert_allclose(metrics['weights_l2'], 3.0)


def test_clipping_scales_all_gradients_by_one_factor():
  opt = optimizers.SGD(1.0, clip_grad_norm=1.0)
  weights, grads = (_f32(0.0, 0.0), _f32(0.0)), (_f32(3.0, 0.0), _f32(4.0))
  new, _, _ = opt.tree_update(0, grads, weights, *opt.tree_init(weights))
  np.testing.assert_allclose(new[0], [-0.6, 0.0], rtol=1e-6)
  np.testing.assert_allclose(new[1], [-0.8], rtol=1e-6)


@pytest.mark.parametrize('grads', [_f32(0.3, -0.4), _f32(0.0, 0.0)], ids=['small', 'zero'])
def test_clipping_leaves_gradients_under_the_norm_alone(grads):
  opt = optimizers.SGD(1.0, clip_grad_norm=1.0)
  new, _, _ = opt.tree_update(0, grads, _f32(0.0, 0.0), *opt.tree_init(_f32(0.0, 0.0)))
  np.testing.assert_array_equal(new, -grads)


def test_clip_grads_matches_optax():
  import optax

  grads = {'a': _f32(1.0, 2.0, 3.0), 'b': (_f32(-4.0),)}
  clipped = optimizers.clip_grads(grads, 2.0)
  expected, _ = optax.clip_by_global_norm(2.0).update(grads, None)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), clipped, expected)


@pytest.mark.parametrize('dtype', [jnp.bfloat16, jnp.float16])
def test_low_precision_weights_update_in_float32(dtype):
  opt = optimizers.Adam(0.01, b2=0.999)
  weights = jnp.array([1.0, -2.0, 3.0], dtype)
  slots, opt_params = opt.tree_init(weights)
  assert slots[0].m.dtype == slots[0].v.dtype == jnp.float32
  reference = optimizers.Adam(0.01, b2=0.999)
  ref_weights = weights
  ref_slots, _ = reference.tree_init(ref_weights.astype(jnp.float32))
  update = jax.jit(opt.tree_update)
  for step, g in enumerate([[0.5, 0.25, -1.0], [0.1, 0.2, 0.3], [1e-3, -1e-3, 2e-3]]):
    grads = jnp.array(g, dtype)
    weights, slots, _ = update(step, grads, weights, slots, opt_params)
    # The reference: weights rounded to `dtype` after each step, everything else float32.
    ref_new, ref_slots, _ = reference.tree_update(
      step, grads.astype(jnp.float32), ref_weights.astype(jnp.float32), ref_slots, opt_params
    )
    ref_weights = ref_new.astype(dtype)
    assert weights.dtype == dtype and slots[0].v.dtype == jnp.float32
    np.testing.assert_array_equal(weights, ref_weights)
    np.testing.assert_allclose(slots[0].v, ref_slots[0].v, rtol=1e-6)


def test_opt_params_changed_inside_jit_take_effect_without_retracing():
  opt = optimizers.SGD()
  schedule = lr_schedules.warmup(n_warmup_steps=3, max_value=1.0)
  traces = []

  @jax.jit
  def train_step(step, grads, weights, slots, opt_params):
    traces.append(step)
    opt_params = {**opt_params, 'learning_rate': schedule(step)}
    return opt.tree_update(step, grads, weights, slots, opt_params)[:2]

  weights = _f32(0.0)
  slots, opt_params = opt.tree_init(weights)
  for step in (1, 2, 3, 4):
    new, slots = train_step(step, _f32(1.0), weights, slots, opt_params)
    np.testing.assert_allclose(weights - new, min(step / 4, 1.0))
    weights = new
  assert len(traces) == 1


def test_opt_params_passed_in_override_the_initial_ones():
  opt = optimizers.Momentum(0.1, mass=0.0, weight_decay_rate=0.0)
  slots, opt_params = opt.tree_init(_f32(0.0))
  opt_params = {**opt_params, 'learning_rate': jnp.array(0.5)}
  new, _, _ = jax.jit(opt.tree_update)(0, _f32(2.0), _f32(0.0), slots, opt_params)
  np.testing.assert_allclose(new, -1.0)


def test_tree_update_is_pure_unless_asked_to_store_slots():
  opt = optimizers.Momentum()
  slots, opt_params = opt.tree_init(_f32(0.0))
  _, new_slots, _ = opt.tree_update(0, _f32(1.0), _f32(0.0), slots, opt_params)
  assert opt.slots is slots
  _, new_slots, _ = opt.tree_update(0, _f32(1.0), _f32(0.0), slots, opt_params, store_slots=True)
  assert opt.slots is new_slots


def test_mismatched_slots_are_reported():
  opt = optimizers.Adam()
  slots, opt_params = opt.tree_init((_f32(0.0), _f32(0.0)))
  with pytest.raises(ValueError, match='2 gradient arrays, 1 weight arrays and 2 slot'):
    opt.tree_update(0, (_f32(1.0), _f32(1.0)), (_f32(0.0),), slots, opt_params)


def test_base_class_needs_init_and_update():
  with pytest.raises(TypeError, match='abstract'):
    optimizers.Optimizer()
