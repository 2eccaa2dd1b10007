"""Every optimizer against an independent oracle: optax, and hand-computed steps.

Optax oracles. `tree_update` counts steps from 0 and corrects Adam's bias with
`t = step + 1`; optax's transforms count from 0 and use `count + 1`, so step k of both sides
is update t = k + 1. Trax's weight decay is `(1 - wd) * w`, independent of the learning
rate, so it is `add_decayed_weights(-wd)` placed AFTER `scale(-lr)` (placed before, as in
optax's AdamW, it would be scaled by lr). Each oracle below is composed that way, with
Trax's epsilon placement:

- Adam: `eps` outside the square root, `eps_root=0` (optax's `scale_by_adam` default).
- RMSProp: Trax starts the mean square at 1 and adds `eps` outside the root:
  `scale_by_rms(initial_scale=1, eps_in_sqrt=False)`.
- Adafactor: optax factors the two largest axes, Trax the last two; the shapes here have
  the last two largest, and `min_dim_size_to_factor=1` factors every matrix. Optax adds
  epsilon1 to G^2 (as the paper), Trax to R, C and V: the same to float32 precision for
  gradients far above epsilon1.
- SM3: optax's `scale_by_sm3` with `eps=0`; Trax adds 1e-16 to the root instead.
"""

import jax
import numpy as np
import optax
import pytest

from trax import optimizers
from trax.supervised import lr_schedules

N_STEPS = 5


def _weights(seed=0):
  """A small model tree: a dict, nested tuples, a matrix, a vector and a rank-3 array."""
  rng = np.random.default_rng(seed)
  normal = lambda *shape: rng.normal(size=shape).astype(np.float32)
  return {'dense': (normal(3, 4), normal(4)), 'conv': (normal(2, 3, 4),)}


def _adafactor_oracle(lr=0.05, factored=True, param_scale=True, beta1=None, wd=1e-5):
  chain = [
    optax.scale_by_factored_rms(
      factored=factored, decay_rate=0.8, min_dim_size_to_factor=1, epsilon=1e-16
    ),
    optax.clip_by_block_rms(1.0),
  ]
  if param_scale:
    chain.append(optax.scale_by_param_block_rms(1e-3))
  chain.append(optax.scale(-lr))
  if beta1 is not None:
    chain.append(optax.ema(beta1, debias=False))
  return optax.chain(*chain, optax.add_decayed_weights(-wd))


# (name, trax optimizer, optax oracle)
CASES = [
  ('sgd', optimizers.SGD(0.1), optax.sgd(0.1)),
  (
    'momentum_nesterov',
    optimizers.Momentum(0.1, mass=0.8, weight_decay_rate=0.01),
    optax.chain(
      optax.trace(0.8, nesterov=True), optax.scale(-0.1), optax.add_decayed_weights(-0.01)
    ),
  ),
  (
    'momentum_heavy_ball',
    optimizers.Momentum(0.1, weight_decay_rate=0.01, nesterov=False),
    optax.chain(optax.trace(0.9), optax.scale(-0.1), optax.add_decayed_weights(-0.01)),
  ),
  (
    'rms_prop',
    optimizers.RMSProp(0.01, gamma=0.8, eps=1e-3),
    optax.chain(
      optax.scale_by_rms(0.8, eps=1e-3, initial_scale=1.0, eps_in_sqrt=False), optax.scale(-0.01)
    ),
  ),
  (
    'adam',
    optimizers.Adam(0.01, weight_decay_rate=0.01, b1=0.8, b2=0.9, eps=1e-3),
    optax.chain(
      optax.scale_by_adam(0.8, 0.9, eps=1e-3), optax.scale(-0.01), optax.add_decayed_weights(-0.01)
    ),
  ),
  (
    'adam_defaults',
    optimizers.Adam(),
    optax.chain(
      optax.scale_by_adam(0.9, 0.999, eps=1e-5),
      optax.scale(-1e-4),
      optax.add_decayed_weights(-1e-5),
    ),
  ),
  ('adafactor_defaults', optimizers.Adafactor(), _adafactor_oracle()),
  (
    'adafactor_unfactored',
    optimizers.Adafactor(0.1, factored=False, multiply_by_parameter_scale=False),
    _adafactor_oracle(0.1, factored=False, param_scale=False),
  ),
  (
    'adafactor_momentum',
    optimizers.Adafactor(do_momentum=True, beta1=0.9, weight_decay_rate=0.01),
    _adafactor_oracle(beta1=0.9, wd=0.01),
  ),
  (
    'sm3',
    optimizers.SM3(0.1),
    optax.chain(optax.scale_by_sm3(0.9, 1.0, eps=0.0), optax.scale(-0.1)),
  ),
  (
    'sm3_no_momentum',
    optimizers.SM3(0.1, momentum=0.0),
    optax.chain(optax.scale_by_sm3(0.0, 1.0, eps=0.0), optax.scale(-0.1)),
  ),
]


@pytest.mark.parametrize('name, opt, oracle', CASES, ids=[c[0] for c in CASES])
def test_steps_match_optax(name, opt, oracle):
  del name
  weights = expected = _weights()
  slots, opt_params = opt.tree_init(weights)
  oracle_state = oracle.init(expected)
  update, oracle_update = jax.jit(opt.tree_update), jax.jit(oracle.update)
  rng = np.random.default_rng(1)
  for step in range(N_STEPS):
    grads = jax.tree.map(lambda w: rng.normal(size=w.shape).astype(np.float32), weights)
    weights, slots, _ = update(step, grads, weights, slots, opt_params)
    oracle_updates, oracle_state = oracle_update(grads, oracle_state, expected)
    expected = optax.apply_updates(expected, oracle_updates)
    jax.tree.map(
      lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), weights, expected
    )
  assert jax.tree.structure(weights) == jax.tree.structure(_weights())


# Hand-computed updates of one weight array: (optimizer, w0, [g1, g2], [w1, w2]).
_G = np.array([[1.0, 2.0], [3.0, 4.0]])
_X = np.array([[1.0, 2.0], [3.0, 4.0]])
# Adafactor's first step: R = mean_cols G^2 = (2.5, 12.5), C = mean_rows G^2 = (5, 10),
# Vhat = R C / mean(R) = [[5/3, 10/3], [25/3, 50/3]], so U^2 = G^2 / Vhat =
# [[0.6, 1.2], [1.08, 0.96]] (RMS 0.98, under the clipping threshold 1), and the step
# size is lr * RMS(X) = 0.1 * sqrt(7.5).
_U = np.sqrt([[0.6, 1.2], [1.08, 0.96]])
# SM3's second step: after g1 = _G the row accumulators are max_j g1^2 = (4, 16), the
# column ones max_i g1^2 = (9, 16); with g2 = 1, nu = min(row, column) + 1.
_NU2 = np.array([[4.0, 4.0], [9.0, 16.0]]) + 1.0

HAND_CASES = [
  ('sgd', optimizers.SGD(0.1), 1.0, [2.0, 1.0], [0.8, 0.7]),
  # v = 2, then 0.9 * 2 + 1 = 2.8; w = 0.99 w - 0.1 (0.9 v + g) (Nesterov).
  (
    'momentum',
    optimizers.Momentum(0.1, weight_decay_rate=0.01),
    1.0,
    [2.0, 1.0],
    [0.99 - 0.1 * 3.8, 0.99 * 0.61 - 0.1 * (0.9 * 2.8 + 1.0)],
  ),
  (
    'momentum_heavy_ball',
    optimizers.Momentum(0.1, weight_decay_rate=0.01, nesterov=False),
    1.0,
    [2.0, 1.0],
    [0.99 - 0.1 * 2.0, 0.99 * 0.79 - 0.1 * 2.8],
  ),
  # v = 0.9 * 1 + 0.1 * 4 = 1.3, then 0.9 * 1.3 + 0.1 * 1 = 1.27.
  (
    'rms_prop',
    optimizers.RMSProp(0.1),
    1.0,
    [2.0, 1.0],
    [
      1.0 - 0.2 / (np.sqrt(1.3) + 1e-8),
      1.0 - 0.2 / (np.sqrt(1.3) + 1e-8) - 0.1 / (np.sqrt(1.27) + 1e-8),
    ],
  ),
  # t = 1: mhat = g, vhat = g^2. t = 2: m = 0.28, v = 0.004996, corrected by
  # 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999. A large eps shows where it is added.
  (
    'adam',
    optimizers.Adam(0.1, weight_decay_rate=0.01, eps=0.5),
    1.0,
    [2.0, 1.0],
    [
      0.99 - 0.1 * 2.0 / (2.0 + 0.5),
      0.99 * 0.91 - 0.1 * (0.28 / 0.19) / (np.sqrt(0.004996 / 0.001999) + 0.5),
    ],
  ),
  (
    'adafactor',
    optimizers.Adafactor(0.1, weight_decay_rate=0.0),
    _X,
    [_G],
    [_X - 0.1 * np.sqrt(7.5) * _U],
  ),
  (
    'adafactor_clipped',
    optimizers.Adafactor(0.1, weight_decay_rate=0.0, clipping_threshold=0.5),
    _X,
    [_G],
    [_X - 0.1 * np.sqrt(7.5) * _U / (np.sqrt(0.96) / 0.5)],
  ),
  (
    'adafactor_vector',
    optimizers.Adafactor(0.1, multiply_by_parameter_scale=False, weight_decay_rate=0.0),
    np.ones(2),
    [np.array([3.0, -0.5])],
    [np.array([0.9, 1.1])],
  ),
  (
    'sm3',
    optimizers.SM3(0.1, momentum=0.0),
    _X,
    [_G, np.ones((2, 2))],
    [_X - 0.1, _X - 0.1 - 0.1 / np.sqrt(_NU2)],
  ),
  # EMA momentum: m = 0.1 * g / sqrt(g^2) = 0.1 at the first step.
  (
    'sm3_momentum',
    optimizers.SM3(0.1),
    np.ones(3),
    [np.array([2.0, -1.0, 0.5])],
    [np.array([0.99, 1.01, 0.99])],
  ),
]


@pytest.mark.parametrize(
  'name, opt, w0, grads, expected', HAND_CASES, ids=[c[0] for c in HAND_CASES]
)
def test_hand_computed_steps(name, opt, w0, grads, expected):
  del name
  weights = np.asarray(w0, np.float32)
  slots, opt_params = opt.tree_init(weights)
  for step, (g, want) in enumerate(zip(grads, expected)):
    g = np.asarray(g, np.float32)
    weights, slots, _ = opt.tree_update(step, g, weights, slots, opt_params)
    np.testing.assert_allclose(weights, want, rtol=1e-5, atol=1e-6)


DOCUMENTED = [
  optimizers.SGD,
  optimizers.Momentum,
  optimizers.RMSProp,
  optimizers.Adam,
  optimizers.Adafactor,
  optimizers.SM3,
  lr_schedules,
]


@pytest.mark.parametrize('obj', DOCUMENTED, ids=lambda o: o.__name__)
def test_has_a_docstring_example(obj):
  # The examples run with the package's doctests (`pytest --doctest-modules`).
  assert '>>>' in (obj.__doc__ or ''), f'{obj.__name__} has no >>> example'
