"""RMSProp: steps scaled by a running root mean square of the gradients."""

from typing import Any

from trax.fastmath import numpy as jnp
from trax.optimizers import base


class RMSProp(base.Optimizer):
  r"""RMSProp: divides each gradient by a moving root mean square of its past values.

  .. math::
      v_t      &= \gamma\, v_{t-1} + (1 - \gamma)\, g_t^2 \\
      \theta_t &= \theta_{t-1} - \alpha\, g_t / (\sqrt{v_t} + \epsilon)

  Tieleman & Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural Networks for Machine
  Learning (2012). As in Trax 1.4, :math:`v_0 = 1` (most libraries start from 0, which
  makes the first steps larger), and :math:`\epsilon` is added outside the square root.

  >>> import numpy as np
  >>> from trax import optimizers
  >>> opt = optimizers.RMSProp(learning_rate=0.1)
  >>> weights = np.ones(2, np.float32)
  >>> slots, opt_params = opt.tree_init(weights)
  >>> grads = np.array([1.0, -1.0], np.float32)
  >>> weights, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  >>> np.allclose(weights, [0.9, 1.1])  # v = 0.9 * 1 + 0.1 * 1 = 1: steps of 0.1
  True

  Args:
    learning_rate: :math:`\alpha`.
    gamma: the decay rate :math:`\gamma` of the mean square.
    eps: :math:`\epsilon`, for numerical stability.
    clip_grad_norm: if set, the global gradient norm is clipped to this value first.
  """

  def __init__(
    self,
    learning_rate: float = 0.001,
    gamma: float = 0.9,
    eps: float = 1e-8,
    clip_grad_norm: 'float | None' = None,
  ):
    super().__init__(
      learning_rate=learning_rate, gamma=gamma, eps=eps, clip_grad_norm=clip_grad_norm
    )

  def init(self, weights: Any) -> Any:
    return jnp.ones_like(weights)  # The mean square v.

  def update(self, step, grads, weights, slots, opt_params):
    del step
    v, g = slots, grads
    alpha, gamma, eps = (opt_params[k] for k in ('learning_rate', 'gamma', 'eps'))
    v = gamma * v + (1 - gamma) * g**2
    return weights - alpha * g / (jnp.sqrt(v) + eps), v
