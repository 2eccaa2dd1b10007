"""Adafactor: Adam-like steps from a factored second moment, in sublinear memory."""

from typing import Any

from trax.fastmath import numpy as jnp
from trax.optimizers import base


class Adafactor(base.Optimizer):
  r"""Adafactor, with optional momentum and weight decay.

  Algorithms 4 and 5 of Shazeer & Stern, "Adafactor: Adaptive Learning Rates with
  Sublinear Memory Cost", https://arxiv.org/abs/1804.04235, at update
  :math:`t = \text{step} + 1`, for gradients :math:`G_t` of weights :math:`X`:

  .. math::
      \hat\beta_{2t} &= 1 - t^{-c} \\
      \alpha_t &= \max(\epsilon_2, \mathrm{RMS}(X_{t-1}))\, \rho_t \\
      R_t &= \hat\beta_{2t} R_{t-1} + (1 - \hat\beta_{2t})\, \mathrm{mean}_{\text{cols}}(G_t^2) \\
      C_t &= \hat\beta_{2t} C_{t-1} + (1 - \hat\beta_{2t})\, \mathrm{mean}_{\text{rows}}(G_t^2) \\
      \hat V_t &= R_t C_t / \mathrm{mean}(R_t) \\
      U_t &= G_t / \sqrt{\hat V_t} \\
      \hat U_t &= U_t / \max(1, \mathrm{RMS}(U_t) / d) \\
      X_t &= (1 - \lambda)\, X_{t-1} - \alpha_t \hat U_t

  :math:`R` and :math:`C` factor the second moment of arrays of rank 2 or more over their
  last two axes (`factored=True`); other arrays keep the full
  :math:`V_t = \hat\beta_{2t} V_{t-1} + (1 - \hat\beta_{2t}) G_t^2`. Means instead of the
  paper's sums give the same :math:`\hat V_t`. As in Trax 1.4, :math:`\epsilon_1` is added
  to :math:`R, C` (or :math:`V`) when dividing, rather than to :math:`G^2`.
  `multiply_by_parameter_scale` is the relative step :math:`\alpha_t` (else
  :math:`\alpha_t = \rho_t`, the learning rate), `do_clipping` the update clipping by
  :math:`d`. Extras not in the algorithm boxes: momentum
  :math:`m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, \alpha_t \hat U_t`, stepping by
  :math:`m_t` instead (`do_momentum`), and weight decay :math:`\lambda`, optionally
  ramped down to 0 over `weight_decay_n_steps`.

  >>> import numpy as np
  >>> from trax import optimizers
  >>> opt = optimizers.Adafactor(learning_rate=0.1, multiply_by_parameter_scale=False,
  ...                            weight_decay_rate=0.0)
  >>> weights = np.ones((2, 3), np.float32)
  >>> slots, opt_params = opt.tree_init(weights)
  >>> [s.shape for s in slots[0]]  # Factored: a mean square per row and per column.
  [(2,), (3,)]
  >>> grads = np.full((2, 3), 0.5, np.float32)
  >>> weights, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  >>> np.allclose(weights, 0.9)  # The first update has RMS 1: a step of alpha.
  True

  Args:
    learning_rate: :math:`\rho_t`.
    factored: whether to factor the second moment of arrays of rank 2 or more.
    multiply_by_parameter_scale: whether to scale steps by the weights' RMS.
    do_clipping: whether to clip updates to RMS at most `clipping_threshold`.
    do_momentum: whether to keep a first moment (one more slot, as big as the weights).
    momentum_in_bfloat16: whether to store that slot in bfloat16, to save memory.
    beta1: :math:`\beta_1`, the momentum decay rate.
    decay_rate: :math:`c` in :math:`\hat\beta_{2t} = 1 - t^{-c}`.
    clipping_threshold: :math:`d`.
    weight_decay_rate: :math:`\lambda`, the fraction of each weight removed per step.
    weight_decay_n_steps: if positive, :math:`\lambda` falls linearly to 0 at this step.
    epsilon1: :math:`\epsilon_1`, regularizes the second moment.
    epsilon2: :math:`\epsilon_2`, the smallest parameter scale.
  """

  def __init__(
    self,
    learning_rate: float = 0.05,
    factored: bool = True,
    multiply_by_parameter_scale: bool = True,
    do_clipping: bool = True,
    do_momentum: bool = False,
    momentum_in_bfloat16: bool = False,
    beta1: float = 0.0,
    decay_rate: float = 0.8,
    clipping_threshold: float = 1.0,
    weight_decay_rate: float = 1e-5,
    weight_decay_n_steps: int = 0,
    epsilon1: float = 1e-16,
    epsilon2: float = 1e-3,
  ):
    # These choose the shape of the computation (and of the slots), so they are fixed.
    self._factored = factored
    self._multiply_by_parameter_scale = multiply_by_parameter_scale
    self._do_clipping = do_clipping
    self._do_momentum = do_momentum
    self._momentum_in_bfloat16 = momentum_in_bfloat16
    super().__init__(
      learning_rate=learning_rate,
      beta1=beta1,
      decay_rate=decay_rate,
      clipping_threshold=clipping_threshold,
      weight_decay_rate=weight_decay_rate,
      weight_decay_n_steps=weight_decay_n_steps,
      epsilon1=epsilon1,
      epsilon2=epsilon2,
    )

  def init(self, weights: Any) -> list:
    """Returns Trax's slot list: `[R, C]` or `[V]`, then `m` if `do_momentum`."""
    shape = weights.shape
    if self._is_factored(weights):
      slots = [jnp.zeros(shape[:-1], jnp.float32), jnp.zeros(shape[:-2] + shape[-1:], jnp.float32)]
    else:
      slots = [jnp.zeros_like(weights)]
    if self._do_momentum:
      dtype = jnp.bfloat16 if self._momentum_in_bfloat16 else weights.dtype
      slots.append(jnp.zeros(shape, dtype))
    return slots

  def update(self, step, grads, weights, slots, opt_params):
    p, G, X = opt_params, grads, weights
    t = step + 1.0
    beta2hat = 1 - t ** -p['decay_rate']
    alpha = p['learning_rate']
    if self._multiply_by_parameter_scale:
      alpha *= jnp.maximum(p['epsilon2'], _rms(X))
    vhat, new_slots = self._second_moment(G, slots, beta2hat, p['epsilon1'])
    U = G / jnp.sqrt(vhat)
    if self._do_clipping:
      U /= jnp.maximum(1.0, _rms(U) / p['clipping_threshold'])
    delta = alpha * U
    if self._do_momentum:  # Extra: momentum.
      m = p['beta1'] * slots[-1] + (1 - p['beta1']) * delta
      delta = m
      new_slots.append(jnp.astype(m, slots[-1].dtype))
    return (1 - _weight_decay_rate(step, p)) * X - delta, new_slots

  def _is_factored(self, weights: Any) -> bool:
    return self._factored and len(weights.shape) >= 2

  def _second_moment(self, G, slots, beta2hat, epsilon1):
    """Returns `(vhat, new_slots)`: the estimate of E[G^2] and the updated R, C or V."""
    if self._is_factored(G):
      R = beta2hat * slots[0] + (1 - beta2hat) * jnp.mean(G**2, axis=-1)
      C = beta2hat * slots[1] + (1 - beta2hat) * jnp.mean(G**2, axis=-2)
      R_mean = jnp.mean(R, axis=-1, keepdims=True)
      vhat = ((R + epsilon1) / R_mean)[..., :, None] * (C + epsilon1)[..., None, :]
      return vhat, [R, C]
    V = beta2hat * slots[0] + (1 - beta2hat) * G**2
    return V + epsilon1, [V]


def _rms(x: Any) -> Any:
  return jnp.sqrt(jnp.mean(x * x))


def _weight_decay_rate(step: Any, opt_params: dict) -> Any:
  """Extra: weight decay, falling linearly to 0 at `weight_decay_n_steps` if positive."""
  rate, n_steps = opt_params['weight_decay_rate'], opt_params['weight_decay_n_steps']
  ramp = jnp.maximum(n_steps - step, 0) / jnp.maximum(n_steps, 1)
  return rate * jnp.where(n_steps < 1, 1.0, ramp)
