"""Weight initializers: factories returning `init(shape, rng) -> float32 array`.

Each factory is registered, so a layer built with e.g. `GlorotUniformInitializer()` can be
described by `config()` and rebuilt.
"""

import math
from typing import Callable, Sequence

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers.config import register

Initializer = Callable[[Sequence[int], 'jnp.ndarray'], 'jnp.ndarray']

__all__ = [
    'RandomNormalInitializer',
    'RandomUniformInitializer',
    'ScaledInitializer',
    'GlorotNormalInitializer',
    'GlorotUniformInitializer',
    'LeCunNormalInitializer',
    'LeCunUniformInitializer',
    'KaimingNormalInitializer',
    'KaimingUniformInitializer',
    'OrthogonalInitializer',
    'InitializerFromFile',
]


@register
def RandomNormalInitializer(stddev: float = 1e-2) -> Initializer:
  """Samples from a normal distribution with mean 0 and standard deviation `stddev`."""
  def init(shape, rng):
    return stddev * fastmath.random.normal(rng, shape, jnp.float32)
  return init


@register
def RandomUniformInitializer(lim: float = 1.0) -> Initializer:
  """Samples uniformly from `[-lim, lim)`."""
  def init(shape, rng):
    return fastmath.random.uniform(rng, shape, jnp.float32, -lim, lim)
  return init


def _fan_in_fan_out(shape: Sequence[int], out_dim: int, in_dim: int) -> tuple[int, int]:
  """Fans of a kernel: the in/out dimensions times the receptive field (all other dims)."""
  if len(shape) < 2:
    return shape[0], shape[0]
  receptive_field = math.prod(shape) // (shape[in_dim] * shape[out_dim])
  return shape[in_dim] * receptive_field, shape[out_dim] * receptive_field


@register
def ScaledInitializer(out_dim: int, in_dim: int, scale: float, mode: str,
                      distribution: str) -> Initializer:
  """Variance scaling: samples with variance `scale / n`.

  Args:
    out_dim: index of the output dimension of the kernel shape.
    in_dim: index of the input dimension of the kernel shape.
    scale: the variance numerator.
    mode: `n` is fan-in (`'fan_in'`), fan-out (`'fan_out'`) or their mean (`'fan_avg'`).
    distribution: `'normal'` (truncated at 2 stddev, as Trax 1.x), `'uniform'`.
  """
  if mode not in ('fan_in', 'fan_out', 'fan_avg'):
    raise ValueError(f"ScaledInitializer: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                     f'got {mode!r}.')
  if distribution not in ('normal', 'uniform'):
    raise ValueError("ScaledInitializer: distribution must be 'normal' or 'uniform', got "
                     f'{distribution!r}.')

  def init(shape, rng):
    fan_in, fan_out = _fan_in_fan_out(shape, out_dim, in_dim)
    n = {'fan_in': fan_in, 'fan_out': fan_out, 'fan_avg': (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1., n)
    if distribution == 'uniform':
      lim = math.sqrt(3. * variance)
      return fastmath.random.uniform(rng, shape, jnp.float32, -lim, lim)
    # A normal truncated to [-2, 2] has stddev 0.8796: correct for it.
    stddev = math.sqrt(variance) / 0.87962566103423978
    import jax  # Truncated normals are initialization-only, which always runs on jax.
    return stddev * jax.random.truncated_normal(rng, -2., 2., shape, jnp.float32)
  return init


@register
def GlorotNormalInitializer(out_dim: int = -1, in_dim: int = -2,
                            scale: float = 1.) -> Initializer:
  """Glorot & Bengio (2010) normal: variance `2 * scale / (fan_in + fan_out)`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_avg', 'normal')


@register
def GlorotUniformInitializer(out_dim: int = -1, in_dim: int = -2,
                             scale: float = 1.) -> Initializer:
  """Glorot & Bengio (2010) uniform: variance `2 * scale / (fan_in + fan_out)`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_avg', 'uniform')


@register
def LeCunNormalInitializer(out_dim: int = -1, in_dim: int = -2,
                           scale: float = 1.) -> Initializer:
  """LeCun normal: variance `scale / fan_in`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_in', 'normal')


@register
def LeCunUniformInitializer(out_dim: int = -1, in_dim: int = -2,
                            scale: float = 1.) -> Initializer:
  """LeCun uniform: variance `scale / fan_in`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_in', 'uniform')


@register
def KaimingNormalInitializer(out_dim: int = -1, in_dim: int = -2,
                             param: float = 0.) -> Initializer:
  """He et al. (2015) normal for (leaky) ReLUs of negative slope `param`."""
  return ScaledInitializer(out_dim, in_dim, 2. / (1. + param**2), 'fan_in', 'normal')


@register
def KaimingUniformInitializer(out_dim: int = -1, in_dim: int = -2,
                              param: float = 0.) -> Initializer:
  """He et al. (2015) uniform for (leaky) ReLUs of negative slope `param`."""
  return ScaledInitializer(out_dim, in_dim, 2. / (1. + param**2), 'fan_in', 'uniform')


@register
def OrthogonalInitializer(stddev: float = 1.0) -> Initializer:
  """Saxe et al. (2014): a (scaled) random orthogonal matrix, reshaped to `shape`.

  The last dimension is the output; the others are flattened into rows.
  """
  def init(shape, rng):
    n_rows, n_cols = math.prod(shape[:-1]), shape[-1]
    a = fastmath.random.normal(rng, (max(n_rows, n_cols), min(n_rows, n_cols)), jnp.float32)
    q, r = jnp.linalg.qr(a)
    q = q * jnp.sign(jnp.diag(r))  # Makes the decomposition unique, hence uniform.
    if n_rows < n_cols:
      q = q.T
    return stddev * jnp.reshape(q, shape)
  return init


@register
def InitializerFromFile(path: str) -> Initializer:
  """Loads the array saved at `path` (`.npy`) and checks that its shape fits."""
  def init(shape, rng):
    del rng
    array = np.load(path, allow_pickle=False)
    if tuple(array.shape) != tuple(shape):
      raise ValueError(f'InitializerFromFile: {path} holds an array of shape {array.shape}, '
                       f'but the layer expects {tuple(shape)}.')
    return jnp.asarray(array, jnp.float32)
  return init
