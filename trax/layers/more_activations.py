r"""More activation layers: the clipped, hard, shrinking and sparse nonlinearities.

The names and formulas are those of the common deep-learning libraries (jax.nn, Keras,
PyTorch), so that models written with them compute the same here. `HSigmoid` is the
hard sigmoid of MobileNetV3, :math:`\mathrm{relu6}(x + 3) / 6`; trax's own `HardSigmoid`
(kept from Trax 1.x) is :math:`\min(\max(x + 1, 0), 1)`.

Each factory returns an `Fn` layer without weights that keeps the input shape.
"""

from typing import Any
from collections.abc import Sequence

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.assert_shape import assert_shape
from trax.layers.config import register

__all__ = [
  'PRelu',
  'Relu6',
  'GeneralRelu',
  'HSigmoid',
  'HardSwish',
  'Mish',
  'Softsign',
  'Celu',
  'LogSigmoid',
  'HardShrink',
  'SoftShrink',
  'TanhShrink',
  'SparsePlus',
  'SparseSigmoid',
  'Squareplus',
  'Sparsemax',
  'ThresholdReplace',
]


class PRelu(base.Layer):
  r"""A ReLU with a learned slope for negative inputs: :math:`\max(x, 0) - a \max(-x, 0)`.

  He et al. (2015), https://arxiv.org/abs/1502.01852. The slope `a` has the input's shape
  without the batch axis, with size 1 on `shared_axes` (counted with the batch axis as 0,
  so `(1, 2)` shares one slope per channel over an image's height and width).

  Weights: `a`, starting at 0 (a plain ReLU).

  >>> layer = PRelu()
  >>> layer(np.array([[-2., 3.]], np.float32)).tolist()
  [[0.0, 3.0]]

  Args:
    shared_axes: axes sharing one slope.
  """

  def __init__(self, shared_axes: Sequence[int] = ()):
    super().__init__(name='PRelu')
    self._shared_axes = tuple(shared_axes)

  def init_weights_and_state(self, input_signature: Any) -> None:
    shape = [
      1 if i in self._shared_axes else d for i, d in enumerate(input_signature.shape) if i > 0
    ]
    self.weights = jnp.zeros(shape, input_signature.dtype)

  def forward(self, x: Any) -> Any:
    return jnp.maximum(x, 0.0) - self.weights * jnp.maximum(-x, 0.0)


def _relu6(x):
  # One kernel on each backend, gradient 0 at both kinks (as Keras' relu6 on TensorFlow
  # or JAX): a converted Keras MobileNet trains as Keras does, and exact zeros, so kinks,
  # are common after batch norm.
  return fastmath.relu6(x)


@register
@assert_shape('...->...')
def Relu6() -> base.Layer:
  r""":math:`f(x) = \min(\max(x, 0), 6)` (MobileNet's bounded ReLU; gradient 0 at 0 and 6).

  >>> Relu6()(np.array([-1., 3., 9.])).tolist()
  [0.0, 3.0, 6.0]
  """
  return base.Fn('Relu6', _relu6)


@register
@assert_shape('...->...')
def GeneralRelu(
  max_value: 'float | None' = None, negative_slope: float = 0.0, threshold: float = 0.0
) -> base.Layer:
  r"""A ReLU with a ceiling, a slope below the threshold, and a moved threshold.

  .. math::
      f(x) = \mathrm{clip}(x \cdot [x > t], 0, m) - s \cdot \max(t - x, 0)

  with threshold :math:`t`, ceiling :math:`m` (no clipping when `max_value` is None; the
  lower clip at 0 applies only with a ceiling) and slope :math:`s`. With the defaults it
  is `Relu`. These are the arguments of Keras' `ReLU` layer and `relu` activation.

  >>> GeneralRelu(max_value=6., negative_slope=0.5)(np.array([-2., 3., 9.])).tolist()
  [-1.0, 3.0, 6.0]

  Args:
    max_value: the ceiling :math:`m`, or None.
    negative_slope: the slope :math:`s` below the threshold.
    threshold: the threshold :math:`t`; inputs at or below it give 0 (before the slope).
  """

  def relu(x):
    y = jnp.where(x > threshold, x, jnp.zeros_like(x))
    if max_value is not None:
      y = jnp.clip(y, 0.0, max_value)
    if negative_slope:
      y = y - negative_slope * jnp.maximum(threshold - x, 0.0)
    return y

  return base.Fn('GeneralRelu', relu)


@register
@assert_shape('...->...')
def HSigmoid() -> base.Layer:
  r"""MobileNetV3's hard sigmoid: :math:`f(x) = \mathrm{relu6}(x + 3) / 6`.

  Howard et al. (2019), https://arxiv.org/abs/1905.02244 (Keras' and jax's `hard_sigmoid`).
  """
  return base.Fn('HSigmoid', lambda x: _relu6(x + 3.0) / 6.0)


@register
@assert_shape('...->...')
def HardSwish() -> base.Layer:
  r"""Hard swish (hard SiLU): :math:`f(x) = x \cdot \mathrm{relu6}(x + 3) / 6`.

  Howard et al. (2019), https://arxiv.org/abs/1905.02244.
  """
  return base.Fn('HardSwish', lambda x: x * (_relu6(x + 3.0) / 6.0))


@register
@assert_shape('...->...')
def Mish() -> base.Layer:
  r"""Mish: :math:`f(x) = x \tanh(\ln(1 + e^x))`. Misra (2019),
  https://arxiv.org/abs/1908.08681.
  """
  return base.Fn('Mish', lambda x: x * jnp.tanh(jnp.logaddexp(x, 0.0)))


@register
@assert_shape('...->...')
def Softsign() -> base.Layer:
  r""":math:`f(x) = x / (|x| + 1)`."""
  return base.Fn('Softsign', lambda x: x / (jnp.abs(x) + 1.0))


@register
@assert_shape('...->...')
def Celu(alpha: float = 1.0) -> base.Layer:
  r"""Continuously differentiable ELU: :math:`f(x) = x` for :math:`x > 0`, else
  :math:`\alpha (e^{x / \alpha} - 1)`. Barron (2017), https://arxiv.org/abs/1704.07483.
  """
  return base.Fn(
    'Celu', lambda x: jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha))
  )


@register
@assert_shape('...->...')
def LogSigmoid() -> base.Layer:
  r""":math:`f(x) = \ln \sigma(x) = -\ln(1 + e^{-x})`, computed stably."""
  return base.Fn('LogSigmoid', lambda x: -jnp.logaddexp(-x, 0.0))


@register
@assert_shape('...->...')
def HardShrink(threshold: float = 0.5) -> base.Layer:
  r""":math:`f(x) = x` where :math:`|x| > t`, else 0."""
  return base.Fn('HardShrink', lambda x: jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x)))


@register
@assert_shape('...->...')
def SoftShrink(threshold: float = 0.5) -> base.Layer:
  r""":math:`f(x) = x - t` above :math:`t`, :math:`x + t` below :math:`-t`, else 0."""
  return base.Fn(
    'SoftShrink',
    lambda x: jnp.where(
      x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, jnp.zeros_like(x))
    ),
  )


@register
@assert_shape('...->...')
def TanhShrink() -> base.Layer:
  r""":math:`f(x) = x - \tanh(x)`."""
  return base.Fn('TanhShrink', lambda x: x - jnp.tanh(x))


@register
@assert_shape('...->...')
def SparsePlus() -> base.Layer:
  r"""A piecewise smooth softplus: 0 for :math:`x \leq -1`, :math:`(x + 1)^2 / 4` on
  :math:`(-1, 1)`, :math:`x` from 1 on.
  """
  return base.Fn(
    'SparsePlus',
    lambda x: jnp.where(x <= -1.0, jnp.zeros_like(x), jnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4.0)),
  )


@register
@assert_shape('...->...')
def SparseSigmoid() -> base.Layer:
  r"""A piecewise linear sigmoid: :math:`\mathrm{clip}((x + 1) / 2, 0, 1)`."""
  return base.Fn('SparseSigmoid', lambda x: jnp.clip((x + 1.0) / 2.0, 0.0, 1.0))


@register
@assert_shape('...->...')
def Squareplus(b: float = 4.0) -> base.Layer:
  r"""A smooth ReLU: :math:`f(x) = (x + \sqrt{x^2 + b}) / 2`. Barron (2021),
  https://arxiv.org/abs/2112.11687.
  """
  return base.Fn('Squareplus', lambda x: (x + jnp.sqrt(x * x + b)) / 2.0)


@register
@assert_shape('...->...')
def Sparsemax(axis: int = -1) -> base.Layer:
  r"""Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`.

  :math:`f(x) = \max(x - \tau, 0)` with :math:`\tau` chosen so the outputs sum to 1;
  unlike softmax, small entries get exactly 0. Martins & Astudillo (2016),
  https://arxiv.org/abs/1602.02068.

  >>> Sparsemax()(np.array([[2., 1., -1.]])).tolist()
  [[1.0, 0.0, 0.0]]
  """

  def sparsemax(x):
    descending = -jnp.sort(-x, axis=axis)
    cumulative = jnp.cumsum(descending, axis=axis)
    ranks = jnp.cumsum(jnp.ones_like(x), axis=axis)  # 1, 2, ... along the axis
    # The support is the first k sorted entries; tau comes from the k-th cumulative sum.
    thresholds = (cumulative - 1.0) / ranks
    # The sorted copy's dtype, not x's: a float64 numpy x is float32 under jax.
    k = jnp.sum(jnp.astype(descending > thresholds, descending.dtype), axis=axis, keepdims=True)
    tau = jnp.sum(
      jnp.where(ranks == k, thresholds, jnp.zeros_like(thresholds)), axis=axis, keepdims=True
    )
    return jnp.maximum(x - tau, 0.0)

  return base.Fn('Sparsemax', sparsemax)


@register
@assert_shape('...->...')
def ThresholdReplace(threshold: float, default_value: float) -> base.Layer:
  r""":math:`f(x) = x` where :math:`x > t`, else `default_value`."""
  return base.Fn(
    'ThresholdReplace', lambda x: jnp.where(x > threshold, x, jnp.full_like(x, default_value))
  )
