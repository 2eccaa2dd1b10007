"""Core layers: Dense, Embedding, Dropout, Weights."""

from typing import Any, Sequence

import numpy as np

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import initializers as init

__all__ = [
    'Dense',
    'Embedding',
    'Dropout',
    'Weights',
]


class Dense(base.Layer):
  """A dense (fully connected) affine layer: `y = x @ w + b`.

  Inputs: `x` of shape `(..., d_in)`. Outputs: `y` of shape `(..., n_units)`.
  Weights: `(w, b)` with `w` of shape `(d_in, n_units)` and `b` of shape `(n_units,)`; just
  `w` when `use_bias=False`.

  >>> layer = Dense(4)
  >>> y = layer(np.ones((2, 3), np.float32))  # y.shape == (2, 4)
  """

  def __init__(self, n_units: int,
               kernel_initializer: init.Initializer = init.GlorotUniformInitializer(),
               bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
               use_bias: bool = True):
    super().__init__(name=f'Dense_{n_units}')
    self._n_units = n_units
    self._kernel_initializer = kernel_initializer
    self._bias_initializer = bias_initializer
    self._use_bias = use_bias

  def init_weights_and_state(self, input_signature: Any) -> None:
    d_in = input_signature.shape[-1]
    rng_w, rng_b = fastmath.random.split(self.rng, 2)
    w = self._kernel_initializer((d_in, self._n_units), rng_w)
    if self._use_bias:
      self.weights = (w, self._bias_initializer((self._n_units,), rng_b))
    else:
      self.weights = w

  def forward(self, x: Any) -> Any:
    w, b = self.weights if self._use_bias else (self.weights, None)
    if x.shape[-1] is not None and x.shape[-1] != w.shape[0]:
      raise ValueError(f'input shape {tuple(x.shape)} has last dimension {x.shape[-1]}, but '
                       f'the weights expect {w.shape[0]}.')
    y = jnp.dot(x, w)
    return y + b if self._use_bias else y


class Embedding(base.Layer):
  """Maps integer ids to learned vectors: `y = table[x]`.

  Inputs: `x` of integer shape `(...)`, values in `[0, vocab_size)`.
  Outputs: `y` of shape `(..., d_feature)`.
  Weights: the table, of shape `(vocab_size, d_feature)` (a bare array, as in Trax 1.x).
  """

  def __init__(self, vocab_size: int, d_feature: int,
               kernel_initializer: init.Initializer = init.ScaledInitializer(
                   out_dim=-1, in_dim=-2, scale=1., mode='fan_out', distribution='uniform')):
    super().__init__(name=f'Embedding_{vocab_size}_{d_feature}')
    self._vocab_size = vocab_size
    self._d_feature = d_feature
    self._kernel_initializer = kernel_initializer

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.weights = self._kernel_initializer((self._vocab_size, self._d_feature), self.rng)

  def forward(self, x: Any) -> Any:
    if not np.issubdtype(shapes.as_numpy_dtype(x.dtype), np.integer):
      raise TypeError(f'Embedding expects integer ids, got dtype {x.dtype}.')
    return jnp.take(self.weights, x, axis=0)


class Dropout(base.Layer):
  """In train mode, zeroes each element with probability `rate` and scales the rest up.

  `y = x * keep / (1 - rate)` with `keep ~ Bernoulli(1 - rate)`; in eval and predict mode
  `y = x`. Axes listed in `shared_axes` share one mask value (e.g. the same mask for every
  position of a sequence). Input and output shapes are equal.

  State: the rate as a float32 scalar, kept for Trax 1.x checkpoint compatibility (the
  computation uses the constructor's `rate`).
  """

  def __init__(self, rate: float = 0.0, shared_axes: 'Sequence[int] | None' = None,
               mode: str = 'train'):
    super().__init__(name='Dropout')
    if not 0. <= rate < 1.:
      raise ValueError(f'Dropout rate must be in [0, 1), got {rate}.')
    self._rate = rate
    self._shared_axes = tuple(shared_axes or ())
    self._mode = mode

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.state = np.array(self._rate, np.float32)

  def forward(self, x: Any) -> Any:
    if self._mode != 'train' or self._rate == 0.:
      return x
    mask_shape = list(fastmath.shape(x))
    for axis in self._shared_axes:
      mask_shape[axis] = 1
    keep_prob = 1. - self._rate
    keep = fastmath.random.bernoulli(self.rng, keep_prob, tuple(mask_shape))
    return jnp.where(keep, x / keep_prob, jnp.zeros_like(x))


class Weights(base.Layer):
  """A layer with no inputs that outputs its weights, an array of `shape`.

  Useful for learned constants (e.g. a learned bias or positional table).
  """

  def __init__(self, initializer: init.Initializer, shape: Sequence[int] = tuple()):
    super().__init__(n_in=0, name='Weights')
    self._initializer = initializer
    self._shape = tuple(shape)

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.weights = self._initializer(self._shape, self.rng)

  def forward(self, inputs: Any) -> Any:
    return self.weights
