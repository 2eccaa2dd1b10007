"""Momentum SGD: heavy-ball and Nesterov momentum."""

from typing import Any

from trax.fastmath import numpy as jnp
from trax.optimizers import base


class Momentum(base.Optimizer):
  r"""SGD with heavy-ball or Nesterov momentum, and weight decay.

  With velocity :math:`v`, mass :math:`\mu`, learning rate :math:`\alpha` and weight decay
  rate :math:`\lambda`:

  .. math::
      v_t      &= \mu\, v_{t-1} + g_t \\
      \theta_t &= (1 - \lambda)\, \theta_{t-1} - \alpha\, v_t
          && \text{(heavy ball)} \\
      \theta_t &= (1 - \lambda)\, \theta_{t-1} - \alpha\, (\mu\, v_t + g_t)
          && \text{(Nesterov)}

  Heavy ball: Polyak, "Some methods of speeding up the convergence of iteration methods"
  (1964). Nesterov momentum in the form of Sutskever et al., "On the importance of
  initialization and momentum in deep learning" (ICML 2013), rewritten as in Bengio et al.,
  https://arxiv.org/abs/1212.0901 (eqs. 6-7) to need only the gradient at the current
  weights. The papers put :math:`\alpha` inside :math:`v`; like Trax's code (not its
  docstring) we keep :math:`v` free of it, which is the same while :math:`\alpha` is
  constant. Weight decay, an extra, shrinks the weights by :math:`\lambda` per step,
  independently of :math:`\alpha`.

  >>> import numpy as np
  >>> from trax import optimizers
  >>> opt = optimizers.Momentum(learning_rate=0.1, weight_decay_rate=0.0)
  >>> weights = np.ones(2, np.float32)
  >>> slots, opt_params = opt.tree_init(weights)
  >>> grads = np.array([1.0, -1.0], np.float32)
  >>> weights, slots, _ = opt.tree_update(0, grads, weights, slots, opt_params)
  >>> np.allclose(weights, [0.81, 1.19])  # Nesterov: 1 -/+ 0.1 * (0.9 * 1 + 1)
  True

  Args:
    learning_rate: :math:`\alpha`.
    mass: the momentum coefficient :math:`\mu`.
    weight_decay_rate: :math:`\lambda`, the fraction of each weight removed per step.
    nesterov: whether to use Nesterov momentum (Trax 1.4's default) or heavy ball.
  """

  def __init__(
    self,
    learning_rate: float = 0.01,
    mass: float = 0.9,
    weight_decay_rate: float = 1e-5,
    nesterov: bool = True,
  ):
    super().__init__(learning_rate=learning_rate, mass=mass, weight_decay_rate=weight_decay_rate)
    self._nesterov = nesterov

  def init(self, weights: Any) -> Any:
    return jnp.zeros_like(weights)  # The velocity v.

  def update(self, step, grads, weights, slots, opt_params):
    del step
    v, g = slots, grads
    mu, alpha = opt_params['mass'], opt_params['learning_rate']
    v = mu * v + g
    direction = mu * v + g if self._nesterov else v
    # (1 - weight_decay_rate): weight decay, an extra not in the papers.
    new_weights = (1 - opt_params['weight_decay_rate']) * weights - alpha * direction
    return new_weights, v
