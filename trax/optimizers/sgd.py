"""Stochastic gradient descent."""

from typing import Any

from trax.optimizers import base


class SGD(base.Optimizer):
  r"""Stochastic gradient descent: a step of size `learning_rate` against the gradient.

  .. math::
      \theta_t = \theta_{t-1} - \alpha\, g_t

  Robbins & Monro, "A Stochastic Approximation Method" (1951). SGD keeps no slots: `init`
  returns `None` for every weight array.

  >>> import numpy as np
  >>> from trax import optimizers
  >>> opt = optimizers.SGD(learning_rate=0.1)
  >>> weights = np.ones(2, np.float32)
  >>> slots, opt_params = opt.tree_init(weights)
  >>> grads = np.array([1.0, -2.0], np.float32)
  >>> weights, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  >>> np.allclose(weights, [0.9, 1.2])
  True

  Args:
    learning_rate: the step size :math:`\alpha`.
    clip_grad_norm: if set, the global gradient norm is clipped to this value first.
  """

  def __init__(self, learning_rate: float = 0.01, clip_grad_norm: 'float | None' = None):
    super().__init__(learning_rate=learning_rate, clip_grad_norm=clip_grad_norm)

  def init(self, weights: Any) -> None:
    return None

  def update(self, step, grads, weights, slots, opt_params):
    del step, slots
    return weights - opt_params['learning_rate'] * grads, None
