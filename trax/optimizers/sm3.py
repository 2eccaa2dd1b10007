"""SM3: AdaGrad-like steps with one accumulator per row, column, ... of each array."""

import enum
import functools
from typing import Any

from trax.fastmath import numpy as jnp
from trax.optimizers import base


class MomentumType(enum.IntEnum):
  """How SM3 averages its preconditioned gradients."""

  EMA = 1  # m = beta1 m + (1 - beta1) g;  step by m.
  HEAVY_BALL = 2  # m = beta1 m + g;  step by m.
  NESTEROV = 3  # m = beta1 m + g;  step by beta1 m + g.


class SM3(base.Optimizer):
  r"""SM3-II, with momentum, optional second-moment averaging, and weight decay.

  Algorithm SM3-II of Anil et al., "Memory-Efficient Adaptive Optimization",
  https://arxiv.org/abs/1901.11150. An array of shape :math:`(n_1, \ldots, n_k)` keeps one
  accumulator vector :math:`\mu^{(j)}` of length :math:`n_j` per axis (the cover sets are
  the slices along each axis). For every entry :math:`i = (i_1, \ldots, i_k)`:

  .. math::
      \nu_t(i) &= \min_j \mu^{(j)}_{t-1}(i_j) + g_t(i)^2 \\
      \theta_t(i) &= \theta_{t-1}(i) - \eta\, g_t(i) / \sqrt{\nu_t(i)} \\
      \mu^{(j)}_t(r) &= \max_{i:\, i_j = r} \nu_t(i)

  Entries with :math:`\nu_t(i) = 0` take no step. Extras, as in Trax 1.4: momentum on the
  preconditioned gradient (see `MomentumType`; the update uses it in place of
  :math:`g_t / \sqrt{\nu_t}`); L2 weight decay, which adds `weight_decay` times the weights
  to the preconditioned gradient; and, when `second_moment_averaging` is
  :math:`\beta_2 \ne 1`, a moving average
  :math:`\nu_t = \beta_2 \min_j \mu^{(j)}_{t-1} + (1 - \beta_2)\, g_t^2` whose step is
  rescaled to the norm of the plain SM3 step ("grafting", which keeps the plain sums in a
  second set of accumulators). Unlike Trax 1.4, scalar weights work (one accumulator).

  >>> import numpy as np
  >>> from trax import optimizers
  >>> opt = optimizers.SM3(learning_rate=0.1, momentum=0.0)
  >>> weights = np.ones((2, 3), np.float32)
  >>> slots, opt_params = opt.tree_init(weights)
  >>> m, mu, mu_graft = slots[0]
  >>> [a.shape for a in mu]  # One accumulator per row and one per column.
  [(2,), (3,)]
  >>> grads = np.full((2, 3), 2.0, np.float32)
  >>> weights, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  >>> np.allclose(weights, 0.9)  # 1 - 0.1 * 2 / sqrt(0 + 2**2)
  True

  Args:
    learning_rate: :math:`\eta`.
    momentum: :math:`\beta_1`; 0 turns momentum off (and drops its slot).
    second_moment_averaging: :math:`\beta_2`; 1 sums squared gradients as in the paper.
    weight_decay: the L2 weight decay coefficient.
    momentum_type: a `MomentumType`.
  """

  def __init__(
    self,
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    second_moment_averaging: float = 1.0,
    weight_decay: float = 0.0,
    momentum_type: MomentumType = MomentumType.EMA,
  ):
    # These choose the shape of the computation (and of the slots), so they are fixed.
    self._has_momentum = momentum > 0.0
    self._momentum_type = MomentumType(momentum_type)
    self._graft = second_moment_averaging != 1.0
    super().__init__(
      learning_rate=learning_rate,
      momentum=momentum,
      second_moment_averaging=second_moment_averaging,
      weight_decay=weight_decay,
    )

  def init(self, weights: Any) -> tuple:
    """Returns Trax's slot tuple `(m, mu, mu_graft)`; `[]` stands for an unused slot."""
    m = jnp.zeros_like(weights) if self._has_momentum else []
    mu = _zero_accumulators(weights)
    mu_graft = _zero_accumulators(weights) if self._graft else []
    return m, mu, mu_graft

  def update(self, step, grads, weights, slots, opt_params):
    del step
    m, mu, mu_graft = slots
    g, beta2 = grads, opt_params['second_moment_averaging']
    # beta2 = 1 is the paper's plain sum, not an average with weight 1 - beta2 = 0.
    nu = beta2 * _cover_min(mu, g.shape) + jnp.where(beta2 == 1, 1.0, 1 - beta2) * g**2
    pg = g * _inv_sqrt(nu)
    if self._graft:
      nu_graft = _cover_min(mu_graft, g.shape) + g**2
      pg_graft = g * _inv_sqrt(nu_graft)
      pg *= _norm(pg_graft) / (_norm(pg) + 1e-16)
      mu_graft = _cover_max(nu_graft)
    pg += opt_params['weight_decay'] * weights  # Extra: L2 weight decay.
    direction = pg
    if self._has_momentum:  # Extra: momentum.
      m, direction = self._momentum(pg, m, opt_params['momentum'])
    return weights - opt_params['learning_rate'] * direction, (m, _cover_max(nu), mu_graft)

  def _momentum(self, g, m, beta1):
    """Returns `(new m, direction to step in)` for this optimizer's `MomentumType`."""
    if self._momentum_type == MomentumType.EMA:
      m = beta1 * m + (1 - beta1) * g
      return m, m
    m = beta1 * m + g
    if self._momentum_type == MomentumType.HEAVY_BALL:
      return m, m
    return m, beta1 * m + g


def _zero_accumulators(weights: Any) -> list:
  """One zero vector per axis of `weights`; a scalar gets one scalar."""
  return [jnp.zeros(n, weights.dtype) for n in weights.shape] or [jnp.zeros((), weights.dtype)]


def _cover_min(mu: list, shape: tuple) -> Any:
  """The entrywise minimum over the axes' accumulators, broadcast to `shape`."""
  if not shape:
    return mu[0]
  return functools.reduce(
    jnp.minimum,
    [jnp.expand_dims(mu_j, [k for k in range(len(shape)) if k != j]) for j, mu_j in enumerate(mu)],
  )


def _cover_max(nu: Any) -> list:
  """For each axis, the maximum of `nu` over every other axis."""
  if not nu.shape:
    return [nu]
  return [jnp.max(nu, axis=tuple(k for k in range(nu.ndim) if k != j)) for j in range(nu.ndim)]


def _inv_sqrt(nu: Any) -> Any:
  """`1 / sqrt(nu)`, and 0 where `nu` is 0 (entries that never had a gradient)."""
  return jnp.where(nu > 0, 1.0 / (jnp.sqrt(nu) + 1e-16), 0.0)


def _norm(x: Any) -> Any:
  return jnp.sqrt(jnp.sum(x * x))
