r"""Activation layers: elementwise nonlinearities (and `Glu`, which halves the last axis).

Each factory returns an `Fn` layer without weights, except `ThresholdedLinearUnit`, which
learns its threshold. All keep the input shape (checked with `assert_shape`) except `Glu`.
"""

import math
from typing import Any

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.assert_shape import assert_shape
from trax.layers.config import register

__all__ = [
  'Relu',
  'ParametricRelu',
  'LeakyRelu',
  'Elu',
  'Selu',
  'Gelu',
  'FastGelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardTanh',
  'Softplus',
  'Exp',
  'Log',
  'Swish',
  'Glu',
  'ThresholdedLinearUnit',
]


@register
@assert_shape('...->...')
def Relu() -> base.Layer:
  r"""Rectified linear unit: :math:`f(x) = \max(x, 0)` (gradient 0 at 0).

  >>> Relu()(np.array([-1., 2.])).tolist()
  [0.0, 2.0]
  """
  return base.Fn('Relu', fastmath.relu)  # One kernel (and its gradient) per backend.


@register
@assert_shape('...->...')
def ParametricRelu(a: float = 1.0) -> base.Layer:
  r""":math:`f(x) = \max(a x, 0)`: a ReLU with slope `a` for positive inputs."""
  return base.Fn('ParametricRelu', lambda x: jnp.maximum(a * x, jnp.zeros_like(x)))


@register
@assert_shape('...->...')
def LeakyRelu(a: float = 0.01) -> base.Layer:
  r""":math:`f(x) = x` for :math:`x \geq 0`, else :math:`a x`."""
  return base.Fn('LeakyRelu', lambda x: jnp.where(x >= 0, x, a * x))


def _exponential_linear(x: Any, alpha: float) -> Any:
  # expm1 of min(x, 0): the unused branch must stay finite, or its gradient (0 * inf) is NaN.
  return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0.0)))


@register
@assert_shape('...->...')
def Elu(a: float = 1.0) -> base.Layer:
  r"""Exponential linear unit: :math:`f(x) = x` for :math:`x > 0`, else
  :math:`a (e^x - 1)`. Clevert et al. (2015), https://arxiv.org/abs/1511.07289.
  """
  return base.Fn('Elu', lambda x: _exponential_linear(x, a))


@register
@assert_shape('...->...')
def Selu(
  alpha: float = 1.6732632423543772848170429916717, lmbda: float = 1.0507009873554804934193349852946
) -> base.Layer:
  r"""Scaled ELU: :math:`f(x) = \lambda x` for :math:`x > 0`, else
  :math:`\lambda \alpha (e^x - 1)`. The defaults make it self-normalizing (Klambauer et al.
  2017, https://arxiv.org/abs/1706.02515).
  """
  return base.Fn('Selu', lambda x: lmbda * _exponential_linear(x, alpha))


@register
@assert_shape('...->...')
def Gelu() -> base.Layer:
  r"""Gaussian error linear unit, exact: :math:`f(x) = \frac{x}{2}(1 + \mathrm{erf}(x/\sqrt2))`.

  Hendrycks & Gimpel (2016), https://arxiv.org/abs/1606.08415. See `FastGelu` for the tanh
  approximation.
  """
  return base.Fn('Gelu', lambda x: 0.5 * x * (1.0 + fastmath.erf(x / math.sqrt(2.0))))


@register
@assert_shape('...->...')
def FastGelu() -> base.Layer:
  r"""The tanh approximation of `Gelu`: :math:`\frac{x}{2}(1 + \tanh(a x (1 + b x^2)))`.

  With :math:`a = \sqrt{2/\pi} \approx 0.7978845608` and :math:`b = 0.044715`; it stays
  within about 1e-3 of the exact `Gelu`.
  """
  return base.Fn(
    'FastGelu', lambda x: 0.5 * x * (1.0 + jnp.tanh(0.7978845608 * x * (1.0 + 0.044715 * x * x)))
  )


@register
@assert_shape('...->...')
def Sigmoid() -> base.Layer:
  r"""Logistic sigmoid: :math:`f(x) = 1 / (1 + e^{-x})`."""
  return base.Fn('Sigmoid', fastmath.expit)


@register
@assert_shape('...->...')
def Tanh() -> base.Layer:
  r"""Hyperbolic tangent."""
  return base.Fn('Tanh', lambda x: jnp.tanh(x))


@register
@assert_shape('...->...')
def HardSigmoid() -> base.Layer:
  r"""A piecewise linear sigmoid: :math:`f(x) = \min(\max(x + 1, 0), 1)`.

  That is 0 for :math:`x \leq -1`, :math:`x + 1` between -1 and 0, and 1 from 0 on. This is
  what Trax 1.x computed (its docstring claimed :math:`\min(\max(x, 0), 1)`); the
  computation is kept so trained models behave as before.
  """
  return base.Fn('HardSigmoid', lambda x: jnp.maximum(0.0, jnp.minimum(1.0, 1.0 + x)))


@register
@assert_shape('...->...')
def HardTanh() -> base.Layer:
  r"""A piecewise linear tanh: :math:`f(x) = \min(\max(x, -1), 1)`."""
  return base.Fn('HardTanh', lambda x: jnp.maximum(-1.0, jnp.minimum(1.0, x)))


@register
@assert_shape('...->...')
def Softplus() -> base.Layer:
  r"""A smooth ReLU: :math:`f(x) = \ln(1 + e^x)`, computed stably."""
  return base.Fn('Softplus', lambda x: jnp.logaddexp(x, 0.0))


@register
@assert_shape('...->...')
def Exp() -> base.Layer:
  r""":math:`f(x) = e^x`."""
  return base.Fn('Exp', lambda x: jnp.exp(x))


@register
@assert_shape('...->...')
def Log() -> base.Layer:
  r"""Natural logarithm (NaN for negative inputs, -inf at 0)."""
  return base.Fn('Log', lambda x: jnp.log(x))


@register
@assert_shape('...->...')
def Swish() -> base.Layer:
  r"""Swish / SiLU: :math:`f(x) = x \sigma(x)`. Ramachandran et al. (2017),
  https://arxiv.org/abs/1710.05941.
  """
  return base.Fn('Swish', lambda x: x * fastmath.expit(x))


@register
@assert_shape('...a->...b')
def Glu() -> base.Layer:
  r"""Gated linear unit: splits the last axis into halves `a, b` and computes
  :math:`a \cdot \sigma(b)`, so `(..., 2n)` becomes `(..., n)`.

  Dauphin et al. (2017), https://arxiv.org/abs/1612.08083.
  """

  def glu(x):
    if isinstance(x.shape[-1], int) and x.shape[-1] % 2:
      raise ValueError(f'Glu needs an even last dimension, got shape {tuple(x.shape)}.')
    a, b = jnp.split(x, 2, axis=-1)
    return a * fastmath.expit(b)

  return base.Fn('Glu', glu)


@assert_shape('...->...')
class ThresholdedLinearUnit(base.Layer):
  r"""Thresholded linear unit: :math:`f(x) = \max(x, \tau)` with a learned threshold.

  Singh & Krishnan (2019), https://arxiv.org/abs/1911.09737; pairs with
  `FilterResponseNorm`. Weights: :math:`\tau`, a float32 scalar initialized to 0 (a bare
  array, as in Trax 1.x).
  """

  def __init__(self):
    super().__init__(name='ThresholdedLinearUnit')

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.weights = jnp.zeros((), jnp.float32)

  def forward(self, x: Any) -> Any:
    return jnp.maximum(x, self.weights)
