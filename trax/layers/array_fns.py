"""Weightless layers that reshape, reduce, normalize or convert arrays, and the functions
behind them.

Layers: Flatten, ToFloat, Mean, Min, Max, Sum, ArgMax, LogSumExp, LogSoftmax, Softmax,
Negate, StopGradient, ThresholdToBinary, PrintShape. Functions: `one_hot`, `log_softmax`,
`logsoftmax_sample`.
"""

from typing import Any

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers.assert_shape import assert_shape
from trax.layers.config import register

__all__ = [
  'Flatten',
  'ToFloat',
  'Mean',
  'Min',
  'Max',
  'Sum',
  'ArgMax',
  'LogSumExp',
  'LogSoftmax',
  'Softmax',
  'Negate',
  'StopGradient',
  'ThresholdToBinary',
  'PrintShape',
  'one_hot',
  'log_softmax',
  'logsoftmax_sample',
]

Axis = int | tuple[int, ...] | None


@register
def Flatten(n_axes_to_keep: int = 1) -> base.Layer:
  """Collapses all axes after the first `n_axes_to_keep` into one.

  Inputs need rank above `n_axes_to_keep`.

  >>> Flatten(2)(np.zeros((2, 3, 5, 7))).shape
  (2, 3, 35)
  """

  def flatten(x):
    shape = fastmath.shape(x)
    if len(shape) <= n_axes_to_keep:
      raise ValueError(
        f'input rank {len(shape)} must exceed n_axes_to_keep = {n_axes_to_keep} (shape {shape}).'
      )
    return jnp.reshape(x, (*shape[:n_axes_to_keep], -1))

  return base.Fn(f'Flatten_keep{n_axes_to_keep}', flatten)


@register
def ToFloat() -> base.Layer:
  """Casts to float32."""
  return base.Fn('ToFloat', lambda x: jnp.astype(x, jnp.float32))


@register
def Mean(axis: Axis = -1, keepdims: bool = False) -> base.Layer:
  """The mean over `axis` (all axes if None), keeping it as size 1 if `keepdims`."""
  return base.Fn('Mean', lambda x: jnp.mean(x, axis=axis, keepdims=keepdims))


@register
def Min(axis: Axis = -1, keepdims: bool = False) -> base.Layer:
  """The minimum over `axis` (all axes if None), keeping it as size 1 if `keepdims`."""
  return base.Fn('Min', lambda x: jnp.min(x, axis=axis, keepdims=keepdims))


@register
def Max(axis: Axis = -1, keepdims: bool = False) -> base.Layer:
  """The maximum over `axis` (all axes if None), keeping it as size 1 if `keepdims`."""
  return base.Fn('Max', lambda x: jnp.max(x, axis=axis, keepdims=keepdims))


@register
def Sum(axis: Axis = None, keepdims: bool = False) -> base.Layer:
  """The sum over `axis` (by default, as in Trax 1.4, over all axes)."""
  return base.Fn('Sum', lambda x: jnp.sum(x, axis=axis, keepdims=keepdims))


@register
def ArgMax(axis: int = -1) -> base.Layer:
  """The (int32) index of the largest value along `axis` (the first one on ties)."""
  return base.Fn('ArgMax', lambda x: jnp.argmax(x, axis=axis))


@register
def LogSumExp(axis: int = -1) -> base.Layer:
  """`log(sum(exp(x)))` along `axis`, computed stably; the axis is kept with size 1."""
  return base.Fn('LogSumExp', lambda x: fastmath.logsumexp(x, axis=axis, keepdims=True))


@register
def LogSoftmax(axis: int = -1) -> base.Layer:
  """Log-probabilities along `axis`: `x - logsumexp(x)`."""
  return base.Fn('LogSoftmax', lambda x: log_softmax(x, axis=axis))


@register
def Softmax(axis: int = -1) -> base.Layer:
  """Probabilities along `axis`: `exp(x) / sum(exp(x))`, computed stably."""
  return base.Fn('Softmax', lambda x: jnp.exp(log_softmax(x, axis=axis)))


@register
@assert_shape('...->...')
def Negate() -> base.Layer:
  """`-x`."""
  return base.Fn('Negate', lambda x: -x)


@register
@assert_shape('...->...')
def StopGradient() -> base.Layer:
  """The identity, with a zero gradient."""
  return base.Fn('StopGradient', fastmath.stop_gradient)


@register
def ThresholdToBinary(threshold: float = 0.5) -> base.Layer:
  """`1` where `x > threshold`, else `0` (int32)."""
  return base.Fn('ThresholdToBinary', lambda x: jnp.astype(x > threshold, jnp.int32))


@register
def PrintShape(n_in: int = 1, msg: str = '') -> base.Layer:
  """Prints the shapes and dtypes of its `n_in` inputs, and returns them unchanged.

  Shapes print when the layer runs eagerly, or once when it is traced under jit (where
  printing costs nothing per step). Unlike Trax 1.x, `n_in=1` prints the input's shape, not
  the shapes of its rows.
  """

  def print_shapes(xs):
    arrays = (xs,) if n_in == 1 else xs
    described = ', '.join(f'{tuple(x.shape)}[{x.dtype}]' for x in arrays)
    print(f'PrintShape: {msg}: [{described}]')
    return xs

  return base.PureLayer(print_shapes, n_in=n_in, n_out=n_in, name=f'PrintShape_{n_in}')


def one_hot(x: Any, n_categories: int, dtype: Any = np.float32) -> Any:
  """One-hot vectors: `y[..., c] = (x[...] == c)`, of shape `(*x.shape, n_categories)`.

  Ids outside `[0, n_categories)` give all-zero vectors.
  """
  return jnp.astype(jnp.expand_dims(x, -1) == jnp.arange(n_categories), dtype)


def log_softmax(x: Any, axis: int = -1) -> Any:
  """Log-probabilities along `axis`: `x - logsumexp(x, axis)`, same shape as `x`."""
  return x - fastmath.logsumexp(x, axis=axis, keepdims=True)


def logsoftmax_sample(log_probs: Any, temperature: float = 1.0, rng: Any = None) -> Any:
  """Samples ids from `softmax(log_probs / temperature)` over the last axis.

  Uses the Gumbel-max trick: `argmax(log_probs + temperature * g)` with standard Gumbel
  noise `g`. Temperature 0 returns the argmax. With an `rng` key the noise comes from
  `fastmath.random` (reproducible, and fresh at every call under jit); without one, from
  numpy's global generator as in Trax 1.x (the same draws as Trax after `np.random.seed`;
  under jit they are drawn once, when tracing).

  >>> logsoftmax_sample(np.log(np.array([[0.2, 0.8]])), temperature=0.).tolist()
  [1]

  Args:
    log_probs: array of shape `(..., n_categories)`.
    temperature: 1 samples the distribution itself; lower values sharpen it.
    rng: a `fastmath.random` key, or None for numpy's global generator.

  Returns:
    int32 ids of shape `log_probs.shape[:-1]`.
  """
  if isinstance(temperature, (int, float)) and temperature == 0:
    return jnp.argmax(log_probs, axis=-1)
  if rng is None:
    u = np.random.uniform(low=1e-6, high=1.0 - 1e-6, size=np.shape(log_probs))
    return jnp.argmax(log_probs + temperature * -np.log(-np.log(u)), axis=-1)
  u = fastmath.random.uniform(rng, fastmath.shape(log_probs), jnp.float32, 1e-6, 1.0 - 1e-6)
  gumbel = -jnp.log(-jnp.log(u))
  return jnp.argmax(log_probs + temperature * gumbel, axis=-1)
