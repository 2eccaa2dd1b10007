"""Weight initializers: factories returning `init(shape, rng, nonreceptive_dims=None)`.

An initializer maps a shape and a random key to a float32 array of that shape. Variance
scaling initializers (Glorot, LeCun, Kaiming) size their distribution by the kernel's fans:
for a kernel of shape `(*receptive_field, in, out)` (e.g. HWIO convolutions),
`fan_in = in * prod(receptive_field)` and `fan_out = out * prod(receptive_field)`.
`nonreceptive_dims` names axes that are neither (the per-position axis of
`LocallyConnected1d`); every initializer here accepts it so layers can pass it uniformly.

Each factory is registered, so a layer built with e.g. `GlorotUniformInitializer()` can be
described by `config()` and rebuilt.

Differences from Trax 1.4, all bug fixes:
- Trax 1.4 computed the receptive field but, through a misplaced indent, only applied it
  to rank-0 shapes, so convolution kernels got the fans of a dense kernel. Here it applies.
- Trax 1.4's Kaiming initializers used `scale = 2 / sqrt(1 + param**2)`; He et al. (2015)
  derive `2 / (1 + param**2)`. The two agree for ReLU (`param=0`, the default).
"""

import math
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers.config import register

Initializer = Callable[..., 'jnp.ndarray']

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
  'AtariConvInit',
  'InitializerFromFile',
]

_MODES = ('fan_in', 'fan_out', 'fan_avg')
_DISTRIBUTIONS = ('normal', 'truncated_normal', 'uniform')
# Standard deviation of a standard normal truncated to [-2, 2].
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


@register
def RandomNormalInitializer(stddev: float = 1e-2) -> Initializer:
  """Samples from a normal distribution with mean 0 and standard deviation `stddev`."""

  def init(shape, rng, nonreceptive_dims=None):
    del nonreceptive_dims  # Fans play no part here.
    return stddev * fastmath.random.normal(rng, tuple(shape), jnp.float32)

  return init


@register
def RandomUniformInitializer(lim: float = 1.0) -> Initializer:
  """Samples uniformly from `[-lim, lim)`."""

  def init(shape, rng, nonreceptive_dims=None):
    del nonreceptive_dims  # Fans play no part here.
    return fastmath.random.uniform(rng, tuple(shape), jnp.float32, -lim, lim)

  return init


def fans(
  shape: Sequence[int],
  out_dim: int = -1,
  in_dim: int = -2,
  nonreceptive_dims: 'Sequence[int] | int | None' = None,
) -> tuple[int, int]:
  """`(fan_in, fan_out)` of a kernel of `shape` (see the module docstring).

  Rank-1 shapes have both fans equal to their size; scalars have fans 1.
  """
  shape = tuple(int(d) for d in shape)
  if not shape:
    return 1, 1
  if len(shape) == 1:
    return shape[0], shape[0]
  if isinstance(nonreceptive_dims, int):
    nonreceptive_dims = (nonreceptive_dims,)
  not_receptive = {d % len(shape) for d in (in_dim, out_dim, *(nonreceptive_dims or ()))}
  receptive_field = math.prod(d for i, d in enumerate(shape) if i not in not_receptive)
  return shape[in_dim] * receptive_field, shape[out_dim] * receptive_field


@register
def ScaledInitializer(
  out_dim: int, in_dim: int, scale: float, mode: str, distribution: str
) -> Initializer:
  """Variance scaling: samples with mean 0 and variance `scale / n`.

  Args:
    out_dim: index of the output dimension of the kernel shape.
    in_dim: index of the input dimension of the kernel shape.
    scale: the variance numerator; must be positive.
    mode: `n` is fan-in (`'fan_in'`), fan-out (`'fan_out'`) or their mean (`'fan_avg'`).
    distribution: `'normal'`, `'truncated_normal'` (at two standard deviations, rescaled to
      keep the variance) or `'uniform'` (on `[-sqrt(3 scale / n), sqrt(3 scale / n))`).
  """
  if scale <= 0.0:
    raise ValueError(f'ScaledInitializer: scale must be positive, got {scale}.')
  if mode not in _MODES:
    raise ValueError(f'ScaledInitializer: mode must be one of {_MODES}, got {mode!r}.')
  if distribution not in _DISTRIBUTIONS:
    raise ValueError(
      f'ScaledInitializer: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}.'
    )

  def init(shape, rng, nonreceptive_dims=None):
    shape = tuple(shape)
    fan_in, fan_out = fans(shape, out_dim, in_dim, nonreceptive_dims)
    n = {'fan_in': fan_in, 'fan_out': fan_out, 'fan_avg': (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, n)  # Empty kernels have fans 0.
    if distribution == 'uniform':
      lim = math.sqrt(3.0 * variance)
      return fastmath.random.uniform(rng, shape, jnp.float32, -lim, lim)
    if distribution == 'normal':
      return math.sqrt(variance) * fastmath.random.normal(rng, shape, jnp.float32)
    stddev = math.sqrt(variance) / _TRUNCATED_NORMAL_STDDEV
    return stddev * fastmath.random.truncated_normal(rng, -2.0, 2.0, shape, jnp.float32)

  return init


@register
def GlorotNormalInitializer(out_dim: int = -1, in_dim: int = -2, scale: float = 1.0) -> Initializer:
  """Glorot & Bengio (2010) normal: variance `2 * scale / (fan_in + fan_out)`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_avg', 'normal')


@register
def GlorotUniformInitializer(
  out_dim: int = -1, in_dim: int = -2, scale: float = 1.0
) -> Initializer:
  """Glorot & Bengio (2010) uniform: variance `2 * scale / (fan_in + fan_out)`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_avg', 'uniform')


@register
def LeCunNormalInitializer(out_dim: int = -1, in_dim: int = -2, scale: float = 1.0) -> Initializer:
  """LeCun et al. (1998) normal: variance `scale / fan_in`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_in', 'normal')


@register
def LeCunUniformInitializer(out_dim: int = -1, in_dim: int = -2, scale: float = 1.0) -> Initializer:
  """LeCun et al. (1998) uniform: variance `scale / fan_in`."""
  return ScaledInitializer(out_dim, in_dim, scale, 'fan_in', 'uniform')


@register
def KaimingNormalInitializer(
  out_dim: int = -1, in_dim: int = -2, param: float = 0.0
) -> Initializer:
  """He et al. (2015) normal for leaky ReLUs of negative slope `param`.

  Variance `2 / ((1 + param**2) * fan_in)`.
  """
  return ScaledInitializer(out_dim, in_dim, 2.0 / (1.0 + param**2), 'fan_in', 'normal')


@register
def KaimingUniformInitializer(
  out_dim: int = -1, in_dim: int = -2, param: float = 0.0
) -> Initializer:
  """He et al. (2015) uniform for leaky ReLUs of negative slope `param`.

  Variance `2 / ((1 + param**2) * fan_in)`.
  """
  return ScaledInitializer(out_dim, in_dim, 2.0 / (1.0 + param**2), 'fan_in', 'uniform')


@register
def OrthogonalInitializer(stddev: float = 1.0) -> Initializer:
  """Saxe et al. (2014): `stddev` times a random orthogonal matrix, reshaped to `shape`.

  The last axis holds the columns and the other axes are flattened into rows; the result
  has orthonormal columns (if rows >= columns) or orthonormal rows (otherwise), drawn
  uniformly (Haar measure) from the orthogonal group.
  """

  def init(shape, rng, nonreceptive_dims=None):
    del nonreceptive_dims  # Fans play no part here.
    shape = tuple(shape)
    n_cols = shape[-1] if shape else 1
    n_rows = math.prod(shape[:-1])
    a = fastmath.random.normal(rng, (max(n_rows, n_cols), min(n_rows, n_cols)), jnp.float32)
    q, r = jnp.linalg.qr(a)
    # Fixing the signs of diag(r) makes the factorization unique, hence q Haar-distributed.
    q = q * jnp.sign(jnp.diag(r))
    if n_rows < n_cols:
      q = jnp.transpose(q)
    return stddev * jnp.reshape(q, shape)

  return init


@register
def AtariConvInit(kernel_shape: Sequence[int], rng: Any, dtype: Any = np.float32) -> Any:
  """The initializer of the Atari DQN convolutions, for HWIO kernels.

  Uniform on `[-s, s)` with `s = 1 / sqrt(height * width * in_channels)`. Unlike the
  factories above, this is itself the initializer.
  """
  height, width, in_channels, _ = kernel_shape
  s = 1.0 / math.sqrt(height * width * in_channels)
  return fastmath.random.uniform(rng, tuple(kernel_shape), dtype, -s, s)


@register(reads_files=True)
def InitializerFromFile(path: str) -> Initializer:
  """Loads the array saved at `path` (`.npy`, no pickles) and checks that its shape fits."""

  def init(shape, rng, nonreceptive_dims=None):
    del rng, nonreceptive_dims  # The file fixes the values.
    array = np.load(path, allow_pickle=False)
    if tuple(array.shape) != tuple(shape):
      raise ValueError(
        f'InitializerFromFile: {path} holds an array of shape {array.shape}, '
        f'but the layer expects {tuple(shape)}.'
      )
    return jnp.asarray(array, jnp.float32)

  return init
