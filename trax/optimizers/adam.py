"""Adam: steps from bias-corrected moving averages of the gradient and its square."""

from typing import Any, NamedTuple

from trax.fastmath import numpy as jnp
from trax.optimizers import base


class AdamSlots(NamedTuple):
  """Adam's slots for one weight array, in Trax's order."""

  m: Any  # Moving average of the gradient (first moment).
  v: Any  # Moving average of the squared gradient (second moment).


class Adam(base.Optimizer):
  r"""Adam, with decoupled weight decay.

  Algorithm 1 of Kingma & Ba, "Adam: A Method for Stochastic Optimization",
  https://arxiv.org/abs/1412.6980, at update :math:`t = \text{step} + 1`:

  .. math::
      m_t       &= \beta_1\, m_{t-1} + (1 - \beta_1)\, g_t \\
      v_t       &= \beta_2\, v_{t-1} + (1 - \beta_2)\, g_t^2 \\
      \hat m_t  &= m_t / (1 - \beta_1^t) \\
      \hat v_t  &= v_t / (1 - \beta_2^t) \\
      \theta_t  &= (1 - \lambda)\, \theta_{t-1} - \alpha\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

  The weight decay :math:`\lambda` is an extra, not in the paper: each step removes the
  fraction :math:`\lambda` of every weight, independently of :math:`\alpha` and of the
  gradient (decoupled, as in Loshchilov & Hutter, https://arxiv.org/abs/1711.05101, which
  however scales it by the learning-rate schedule). For Trax 1.4 compatibility the
  defaults differ from the paper's :math:`\alpha = 10^{-3}`, :math:`\epsilon = 10^{-8}`,
  :math:`\lambda = 0`: here :math:`\alpha = 10^{-4}`, :math:`\epsilon = 10^{-5}`,
  :math:`\lambda = 10^{-5}`.

  >>> import numpy as np
  >>> from trax import optimizers
  >>> opt = optimizers.Adam(learning_rate=0.1, weight_decay_rate=0.0)
  >>> weights = np.ones(2, np.float32)
  >>> slots, opt_params = opt.tree_init(weights)
  >>> grads = np.array([3.0, -0.5], np.float32)
  >>> weights, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  >>> np.allclose(weights, [0.9, 1.1])  # The first step moves by about alpha.
  True

  Args:
    learning_rate: the step size :math:`\alpha`.
    weight_decay_rate: :math:`\lambda`, the fraction of each weight removed per step.
    b1: :math:`\beta_1`, the decay rate of the first moment.
    b2: :math:`\beta_2`, the decay rate of the second moment.
    eps: :math:`\epsilon`, for numerical stability.
    clip_grad_norm: if set, the global gradient norm is clipped to this value first.
  """

  def __init__(
    self,
    learning_rate: float = 0.0001,
    weight_decay_rate: float = 1e-5,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-5,
    clip_grad_norm: 'float | None' = None,
  ):
    super().__init__(
      learning_rate=learning_rate,
      weight_decay_rate=weight_decay_rate,
      b1=b1,
      b2=b2,
      eps=eps,
      clip_grad_norm=clip_grad_norm,
    )

  def init(self, weights: Any) -> AdamSlots:
    return AdamSlots(m=jnp.zeros_like(weights), v=jnp.zeros_like(weights))

  def update(self, step, grads, weights, slots, opt_params):
    m, v = slots
    g, t = grads, step + 1
    alpha, b1, b2, eps = (opt_params[k] for k in ('learning_rate', 'b1', 'b2', 'eps'))
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    mhat = m / (1 - b1**t)
    vhat = v / (1 - b2**t)
    # (1 - weight_decay_rate): decoupled weight decay, an extra not in the paper.
    decayed = (1 - opt_params['weight_decay_rate']) * weights
    return decayed - alpha * mhat / (jnp.sqrt(vhat) + eps), AdamSlots(m, v)
