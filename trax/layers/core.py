"""Core layers with weights or randomness: Dense, Embedding, Dropout, Weights, RandomUniform,
LocallyConnected1d.

Weight layouts are those of Trax 1.x, so its checkpoints load: Dense `(w, b)` (or `w`),
Embedding and Weights a bare array, LocallyConnected1d `(w, b)`; Dropout keeps its rate as
state.
"""

import functools
import operator
from typing import Any
from collections.abc import Sequence

import numpy as np

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import checks
from trax.layers import initializers as init
from trax.layers.assert_shape import assert_shape

__all__ = [
  'Dense',
  'Embedding',
  'Dropout',
  'Weights',
  'RandomUniform',
  'LocallyConnected1d',
]


@assert_shape('...a->...b')
class Dense(base.Layer):
  """A dense (fully connected) affine layer: `y = x @ w + b`.

  Inputs: `x` of shape `(..., d_in)`. Outputs: `y` of shape `(..., n_units)`.
  Weights: `(w, b)` with `w` of shape `(d_in, n_units)` and `b` of shape `(n_units,)`; just
  `w` when `use_bias=False`.

  >>> layer = Dense(4)
  >>> layer(np.ones((2, 3), np.float32)).shape
  (2, 4)

  Args:
    n_units: the output width.
    kernel_initializer: initializer of `w`.
    bias_initializer: initializer of `b`.
    use_bias: compute `x @ w + b` (else `x @ w`).
    use_bfloat16: keep the weights in bfloat16 (saves memory; outputs follow jax's dtype
      promotion, so float32 inputs still give float32 outputs).
  """

  weight_names = ('w', 'b')

  def __init__(
    self,
    n_units: int,
    kernel_initializer: init.Initializer = init.GlorotUniformInitializer(),
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
    use_bias: bool = True,
    use_bfloat16: bool = False,
  ):
    super().__init__(name=f'Dense_{n_units}')
    self._n_units = n_units
    self._kernel_initializer = kernel_initializer
    self._bias_initializer = bias_initializer
    self._use_bias = use_bias
    self._use_bfloat16 = use_bfloat16

  def init_weights_and_state(self, input_signature: Any) -> None:
    d_in = input_signature.shape[-1]
    rng_w, rng_b = fastmath.random.split(self.rng, 2)
    w = _maybe_bfloat16(self._kernel_initializer((d_in, self._n_units), rng_w), self._use_bfloat16)
    if self._use_bias:
      b = self._bias_initializer((self._n_units,), rng_b)
      self.weights = (w, _maybe_bfloat16(b, self._use_bfloat16))
    else:
      self.weights = w

  def forward(self, x: Any) -> Any:
    w, b = self.weights if self._use_bias else (self.weights, None)
    d_in = _static_shape(x)[-1]
    if _is_concrete(d_in) and d_in != w.shape[0]:
      raise ValueError(
        f'input shape {_static_shape(x)} has last dimension {d_in}, but the '
        f'weights expect {w.shape[0]} (w has shape {tuple(w.shape)}).'
      )
    return fastmath.matmul_last_axis(x, w, b)


@assert_shape('...->...d')
class Embedding(base.Layer):
  """Maps integer ids to learned vectors: `y = table[x]`.

  Inputs: `x` of integer shape `(...)`. Outputs: `y` of shape `(..., d_feature)`.
  Weights: the table, of shape `(vocab_size, d_feature)` (a bare array, as in Trax 1.x).

  Ids must lie in `[0, vocab_size)`. Concrete (eager) inputs out of range raise an error;
  inside compiled code, where nothing can raise, ids are clipped as Trax 1.x documents
  (negative ids map to row 0, ids past the end to the last row), so a `Loop` checks its
  batches' ids on the host and exported signatures check them with TF assertions (see
  `id_inputs`).

  >>> Embedding(10, 4)(np.array([[1, 2, 3]])).shape
  (1, 3, 4)

  Args:
    vocab_size: number of rows of the table.
    d_feature: length of each vector.
    use_bfloat16: keep the table in bfloat16; outputs are float32 all the same.
    kernel_initializer: initializer of the table.
  """

  def __init__(
    self,
    vocab_size: int,
    d_feature: int,
    use_bfloat16: bool = False,
    kernel_initializer: init.Initializer = init.ScaledInitializer(
      out_dim=-1, in_dim=-2, scale=1.0, mode='fan_out', distribution='uniform'
    ),
  ):
    super().__init__(name=f'Embedding_{vocab_size}_{d_feature}')
    self._vocab_size = vocab_size
    self._d_feature = d_feature
    self._use_bfloat16 = use_bfloat16
    self._kernel_initializer = kernel_initializer

  def init_weights_and_state(self, input_signature: Any) -> None:
    table = self._kernel_initializer((self._vocab_size, self._d_feature), self.rng)
    self.weights = _maybe_bfloat16(table, self._use_bfloat16)

  @property
  def vocab_size(self) -> int:
    return self._vocab_size

  def forward(self, x: Any) -> Any:
    if not np.issubdtype(shapes.as_numpy_dtype(x.dtype), np.integer):
      raise TypeError(
        f'Embedding expects integer ids, got an array of dtype {x.dtype} '
        f'(shape {_static_shape(x)}); cast ids with jnp.astype(x, jnp.int32).'
      )
    check_ids(fastmath.concrete_value(x), self._vocab_size, 'ids')
    embedded = jnp.take(self.weights, jnp.clip(x, 0, self._vocab_size - 1), axis=0)
    return jnp.astype(embedded, jnp.float32) if self._use_bfloat16 else embedded


@assert_shape('...->...')
class Dropout(base.Layer):
  """In train mode, zeroes each element with probability `rate` and scales the rest up.

  `y = x * keep / (1 - rate)` with `keep ~ Bernoulli(1 - rate)`, so `E[y] = x`; in eval and
  predict mode `y = x`. Axes listed in `shared_axes` share one mask value (e.g. `[1]` drops
  whole feature vectors, the same at every sequence position). Srivastava et al. (2014),
  https://jmlr.org/papers/v15/srivastava14a.html.

  State: the rate as a float32 scalar, kept for Trax 1.x checkpoint compatibility (the
  computation uses the constructor's `rate`).

  >>> y = Dropout(0.5)(np.ones((4, 1000), np.float32))
  >>> sorted(set(np.asarray(y).ravel().tolist()))
  [0.0, 2.0]

  Args:
    rate: probability of zeroing an element, in `[0, 1)`.
    shared_axes: axes along which the mask is constant.
    mode: `'train'` drops; `'eval'` and `'predict'` pass inputs through.
  """

  def __init__(
    self, rate: float = 0.0, shared_axes: 'Sequence[int] | None' = None, mode: str = 'train'
  ):
    super().__init__(name='Dropout')
    checks.check_fraction('Dropout', 'rate', rate)
    self._rate = rate
    self._shared_axes = tuple(shared_axes or ())
    self._mode = mode

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.state = np.array(self._rate, np.float32)

  def forward(self, x: Any) -> Any:
    if self._mode != 'train' or self._rate == 0.0:
      return x
    mask_shape = list(fastmath.shape(x))
    for axis in self._shared_axes:
      mask_shape[axis] = 1
    keep_prob = 1.0 - self._rate
    keep = keep_mask(self.rng, self._rate, tuple(mask_shape))
    return jnp.where(keep, x / keep_prob, jnp.zeros_like(x))


def keep_mask(rng: Any, rate: float, shape: Sequence[int]) -> Any:
  """Dropout's random mask: booleans of `shape`, False with probability `rate`.

  The mask compares 16-bit random integers with `round(rate * 2**16)`: half the random
  bits of a float uniform, which matters on CPU, where drawing them cost a Transformer
  training step about 10% (bench/train_step.py). The drop probability is `rate` rounded
  to a multiple of 2**-16 (0.1 -> 0.1000061); rates that this would change by more than
  0.1% (below about 0.008) compare 32-bit integers instead.
  """
  n_bits = 16 if abs(round(rate * 2**16) - rate * 2**16) <= 1e-3 * rate * 2**16 else 32
  threshold = min(round(rate * 2**n_bits), 2**n_bits - 1)
  bits = fastmath.random.bits(rng, shape, jnp.uint16 if n_bits == 16 else jnp.uint32)
  if n_bits == 16:  # int32 compares on every backend; XLA fuses the conversion.
    return jnp.astype(bits, jnp.int32) >= threshold
  return bits >= np.uint32(threshold)


class Weights(base.Layer):
  """A layer with no inputs that outputs its weights, an array of `shape`.

  Useful for learned constants (a learned bias, a positional table).

  Args:
    initializer: initializer of the weights.
    shape: their shape.
    use_bfloat16: keep the weights in bfloat16.
  """

  def __init__(
    self, initializer: init.Initializer, shape: Sequence[int] = (), use_bfloat16: bool = False
  ):
    super().__init__(n_in=0, name='Weights')
    self._initializer = initializer
    self._shape = tuple(shape)
    self._use_bfloat16 = use_bfloat16

  def init_weights_and_state(self, input_signature: Any) -> None:
    self.weights = _maybe_bfloat16(self._initializer(self._shape, self.rng), self._use_bfloat16)

  def forward(self, inputs: Any) -> Any:
    return self.weights


class RandomUniform(base.Layer):
  """A layer with no inputs that outputs fresh uniform samples in `[min_val, max_val)`.

  Each call draws from the layer's rng, so samples change between training steps.

  Args:
    min_val: lower end of the distribution (included).
    max_val: upper end of the distribution (excluded).
    shape: shape of the output.
    dtype: float dtype of the output.
    sync: Trax 1.x's request to draw the same values on every device. A model here runs as
      one program over a device mesh with one (replicated) rng, so values always agree
      across devices and this flag changes nothing; it is kept so Trax 1.x code runs.
  """

  def __init__(
    self,
    min_val: float = 0.0,
    max_val: float = 1.0,
    shape: Sequence[int] = (),
    dtype: Any = np.float32,
    sync: bool = False,
  ):
    super().__init__(n_in=0, name='RandomUniform')
    if not min_val < max_val:
      raise ValueError(f'RandomUniform needs min_val < max_val, got {min_val} and {max_val}.')
    self._min_val, self._max_val = min_val, max_val
    self._shape = tuple(shape)
    self._dtype = dtype
    del sync

  def forward(self, inputs: Any) -> Any:
    return fastmath.random.uniform(self.rng, self._shape, self._dtype, self._min_val, self._max_val)


class LocallyConnected1d(base.Layer):
  """Like a 1-d convolution, but with separate weights at every position.

  Inputs: `x` of shape `(..., L, d)`. Outputs: `(..., L_out, filters)` with `L_out = L` for
  `'SAME'` (zero padding) and `'WRAP'` (circular padding) and `L - kernel_size + 1` for
  `'VALID'`. Weights: `w` of shape `(L, kernel_size, d, filters)`, indexed by *input*
  position, and `b` of shape `(L_out, filters)`; `L` is fixed at initialization.

  With `h = (kernel_size - 1) // 2`, output position `j` is

      y[j] = b[j] + sum_i x[l] @ w[l, i],  l = j - h + i      ('SAME', 'WRAP' (mod L))
      y[j] = b[j] + sum_i x[l] @ w[l, i],  l = j + (kernel_size - 1 - i)    ('VALID')

  so `'VALID'` reads its window in reverse kernel order. That is Trax 1.x's layout, kept so
  its checkpoints load; since every position has its own weights, it loses nothing.

  >>> LocallyConnected1d(8, 3)(np.ones((2, 10, 4), np.float32)).shape
  (2, 8, 8)

  Args:
    filters: number of output channels.
    kernel_size: window length; must be odd.
    kernel_initializer: initializer of `w` (called with `nonreceptive_dims=[0]`, so the
      per-position axis does not count towards the fans).
    bias_initializer: initializer of `b`.
    use_bias: add `b`.
    padding: `'VALID'`, `'SAME'` or `'WRAP'`.
  """

  weight_names = ('w', 'b')

  def __init__(
    self,
    filters: int,
    kernel_size: int,
    kernel_initializer: init.Initializer = init.GlorotUniformInitializer(),
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
    use_bias: bool = True,
    padding: str = 'VALID',
  ):
    super().__init__(name=f'LocallyConnected1d_{filters}_{kernel_size}')
    if kernel_size < 1 or kernel_size % 2 != 1:
      raise ValueError(f'LocallyConnected1d needs an odd kernel_size, got {kernel_size}.')
    if padding not in ('VALID', 'SAME', 'WRAP'):
      raise ValueError(
        f"LocallyConnected1d padding must be 'VALID', 'SAME' or 'WRAP', got {padding!r}."
      )
    self._filters = filters
    self._kernel_size = kernel_size
    self._kernel_initializer = kernel_initializer
    self._bias_initializer = bias_initializer
    self._use_bias = use_bias
    self._padding = padding

  def init_weights_and_state(self, input_signature: Any) -> None:
    length, d_in = input_signature.shape[-2:]
    n_out = length - self._kernel_size + 1 if self._padding == 'VALID' else length
    if n_out < 1:
      raise ValueError(
        f'input length {length} is shorter than kernel_size {self._kernel_size} with VALID padding.'
      )
    rng_w, rng_b = fastmath.random.split(self.rng, 2)
    w = self._kernel_initializer(
      (length, self._kernel_size, d_in, self._filters), rng_w, nonreceptive_dims=[0]
    )
    if self._use_bias:
      self.weights = (w, self._bias_initializer((n_out, self._filters), rng_b))
    else:
      self.weights = w

  def forward(self, x: Any) -> Any:
    w, b = self.weights if self._use_bias else (self.weights, None)
    length, k = w.shape[0], self._kernel_size
    expected = (length, w.shape[2])
    if any(_is_concrete(got) and got != size for got, size in zip(_static_shape(x)[-2:], expected)):
      raise ValueError(
        f'input shape {_static_shape(x)} must end in (length, d) = '
        f'{expected}, as at initialization.'
      )
    # Every input position through every kernel tap: (..., L, K, filters).
    taps = jnp.einsum('...ld,lkdf->...lkf', x, w)
    if self._padding == 'VALID':
      n_out, starts = length - k + 1, [k - 1 - i for i in range(k)]
    else:
      n_out, starts = length, list(range(k))
      taps = self._pad(taps, (k - 1) // 2)
    y = functools.reduce(
      operator.add, (taps[..., s : s + n_out, i, :] for i, s in enumerate(starts))
    )
    return y + b if self._use_bias else y

  def _pad(self, taps: Any, h: int) -> Any:
    """Pads the position axis (-3) by `h` on both sides: zeros, or wrapped around."""
    if h == 0:
      return taps
    if self._padding == 'WRAP':
      left, right = taps[..., -h:, :, :], taps[..., :h, :, :]
    else:
      left = right = jnp.zeros_like(taps[..., :h, :, :])
    return jnp.concatenate([left, taps, right], axis=-3)


def check_ids(ids: 'np.ndarray | None', n_ids: int, what: str) -> None:
  """Raises ValueError unless every entry of `ids` (if known) lies in `[0, n_ids)`."""
  if ids is None or not np.size(ids):
    return
  low, high = np.min(ids), np.max(ids)
  if low < 0 or high >= n_ids:
    bad = np.asarray(ids)[(ids < 0) | (ids >= n_ids)]
    raise ValueError(
      f'{what} must lie in [0, {n_ids}), but {bad.size} of {np.size(ids)} do '
      f'not (from {low} to {high}; e.g. {bad.ravel()[:5].tolist()}).'
    )


def _static_shape(x: Any) -> tuple:
  """`x.shape` as a tuple, with `None` (or jax symbols) for sizes unknown until run time."""
  return tuple(x.shape) if hasattr(x, 'shape') else np.shape(x)


def _is_concrete(size: Any) -> bool:
  return isinstance(size, (int, np.integer))


def _maybe_bfloat16(x: Any, use_bfloat16: bool) -> Any:
  return jnp.astype(x, jnp.bfloat16) if use_bfloat16 else x
