"""Positions in a sequence: sinusoidal positional encoding and the right shift of targets.

Both are mode dependent. In 'predict' mode (incremental decoding) `PositionalEncoding` keeps
the next position as state and `ShiftRight` is the identity: the decoder feeds the model
inputs that are already shifted (a start token, then each token it emitted), as Trax does.
"""

from typing import Any
from collections.abc import Sequence

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import checks
from trax.layers.attention import check_mode
from trax.layers.config import register

__all__ = [
  'PositionalEncoding',
  'ShiftRight',
]


class PositionalEncoding(base.Layer):
  r"""Adds a (trainable) positional encoding: `y[:, t] = x[:, t] + table[t]`.

  The table starts as the sinusoids of Vaswani et al. (2017),

  .. math::
      table[t, 2i] = \sin(t / 10000^{2i/d}), \quad table[t, 2i+1] = \cos(t / 10000^{2i/d}).

  Inputs and outputs: `(batch, length, d)`, `length <= max_len`. Weights: the table,
  `(max_len, d)`. Trax 1.x stored `(1, max_len, d)`; such an array is accepted wherever
  weights are assigned and kept as `(max_len, d)`. State: none, except in 'predict' mode
  the next position (an int32 scalar): each call adds the rows at the current position and
  advances it, so a prompt and then single tokens get consecutive positions. Positions past
  `max_len` are not detected in compiled code (`dynamic_slice` clamps).

  Args:
    max_len: number of positions in the table.
    dropout: in 'train' mode, rate at which entries of the encoding are dropped (not
      added) and the rest scaled up.
    dropout_broadcast_dims: axes of the `(1, length, d)` encoding along which one dropout
      draw is shared. The default `(-2,)` drops whole features of the encoding, at every
      position and for the whole batch (Trax 1.4 computed the same, though its docstring
      said positions were dropped; for that, pass `(-1,)`).
    use_bfloat16: keep the table in bfloat16.
    start_from_zero_prob: in 'train' mode, probability that the encoding starts at position
      0; otherwise it starts at a random offset, uniform in `[0, max_offset]` and at most
      `max_len - length`.
    max_offset: largest random offset; `None` for any that fits.
    mode: 'train', 'eval' or 'predict'.

  >>> layer = PositionalEncoding(max_len=16)
  >>> y = layer(np.zeros((2, 5, 8), np.float32))  # y[0] == the table's first 5 rows
  """

  def __init__(
    self,
    max_len: int = 2048,
    dropout: float = 0.0,
    dropout_broadcast_dims: Sequence[int] = (-2,),
    use_bfloat16: bool = False,
    start_from_zero_prob: float = 1.0,
    max_offset: 'int | None' = None,
    mode: str = 'train',
  ):
    super().__init__()
    check_mode('PositionalEncoding', mode)
    checks.check_fraction('PositionalEncoding', 'dropout', dropout)
    checks.check_fraction(
      'PositionalEncoding', 'start_from_zero_prob', start_from_zero_prob, one_allowed=True
    )
    if max_offset is not None and max_offset < 0:
      raise ValueError(f'PositionalEncoding: max_offset must be >= 0, got {max_offset}.')
    self._max_len = max_len
    self._dropout = dropout if mode == 'train' else 0.0
    self._dropout_broadcast_dims = tuple(dropout_broadcast_dims)
    self._use_bfloat16 = use_bfloat16
    self._start_from_zero_prob = start_from_zero_prob
    self._max_offset = max_offset
    self._mode = mode

  @property
  def max_positions(self) -> int:
    """How many positions the layer can encode: its table's `max_len` rows."""
    return self._max_len

  @property
  def weights(self) -> Any:
    return base.Layer.weights.__get__(self)

  @weights.setter
  def weights(self, weights: Any) -> None:
    shape = getattr(weights, 'shape', None)
    if shape is not None and len(shape) == 3 and shape[0] == 1:  # Trax 1.x layout.
      weights = weights[0]
    base.Layer.weights.__set__(self, weights)

  def init_weights_and_state(self, input_signature: Any) -> None:
    table = sinusoids(self._max_len, input_signature.shape[-1])
    self.weights = jnp.asarray(table, jnp.bfloat16 if self._use_bfloat16 else jnp.float32)
    if self._mode == 'predict':
      self.state = jnp.zeros((), jnp.int32)

  def forward(self, x: Any) -> Any:
    table = self.weights
    if len(table.shape) != 2 or len(x.shape) != 3 or x.shape[-1] != table.shape[-1]:
      raise ValueError(
        f'expected inputs (batch, length, {table.shape[-1]}) for a table of '
        f'shape {tuple(table.shape)}; got inputs of shape {tuple(x.shape)}.'
      )
    length = fastmath.shape(x)[1]
    if isinstance(length, int) and length > self._max_len:
      raise ValueError(f'got sequences of length {length}, longer than max_len={self._max_len}.')
    if self._mode == 'predict':
      start = self.state
      self.state = start + length
      return x + fastmath.dynamic_slice_in_dim(table, start, length, axis=0)
    random_start = self._mode == 'train' and self._start_from_zero_prob < 1.0
    if random_start or self._dropout > 0.0:
      rngs = fastmath.random.split(self.rng, 3)  # Indexed: TF cannot unpack in a graph.
    if random_start:
      start = self._random_start(rngs[0], rngs[1], length)
      encoding = fastmath.dynamic_slice_in_dim(table, start, length, axis=0)
    else:
      encoding = table[:length]
    if self._dropout > 0.0:
      mask_shape = [1, length, table.shape[-1]]
      for axis in self._dropout_broadcast_dims:
        mask_shape[axis] = 1
      keep_prob = 1.0 - self._dropout
      keep = fastmath.random.bernoulli(rngs[2], keep_prob, tuple(mask_shape))
      encoding = jnp.where(keep, encoding / keep_prob, jnp.zeros_like(encoding))
    return x + encoding

  def _random_start(self, rng_choice: Any, rng_start: Any, length: Any) -> Any:
    """0 with probability `start_from_zero_prob`, else a uniform offset that fits."""
    limit = self._max_len - length + 1
    if self._max_offset is not None:
      limit = jnp.minimum(limit, self._max_offset + 1)
    start = fastmath.random.randint(rng_start, (), 0, limit)
    from_zero = fastmath.random.uniform(rng_choice, ()) < self._start_from_zero_prob
    return jnp.where(from_zero, jnp.zeros_like(start), start)


def sinusoids(max_len: int, d_feature: int) -> np.ndarray:
  """The `(max_len, d_feature)` float32 table of `PositionalEncoding`."""
  positions = np.arange(max_len)[:, None]
  frequencies = np.exp(np.arange(0, d_feature, 2) * -(np.log(10000.0) / d_feature))
  table = np.zeros((max_len, d_feature), np.float32)
  table[:, 0::2] = np.sin(positions * frequencies)
  table[:, 1::2] = np.cos(positions * frequencies[: d_feature // 2])
  return table


@register
def ShiftRight(n_positions: int = 1, mode: str = 'train') -> base.Layer:
  """Layer shifting sequences right along axis 1, filling with zeros: `y[:, t] = x[:, t-n]`.

  Inputs of shape `(batch, length, ...)`, any dtype; outputs of the same shape. Turns
  targets into decoder inputs (token `t` is predicted from tokens `< t`). In 'predict' mode
  the layer is the identity (the decoder feeds already shifted inputs), as in Trax, so
  'predict' differs from 'eval' by design.

  >>> ShiftRight()(np.array([[1, 2, 3]])).tolist()
  [[0, 1, 2]]
  """
  check_mode('ShiftRight', mode)
  if n_positions < 0:
    raise ValueError(f'ShiftRight: n_positions must be >= 0, got {n_positions}.')

  def shift_right(x):
    if mode == 'predict' or n_positions == 0:
      return x
    if len(x.shape) < 2:
      raise ValueError(
        f'ShiftRight shifts axis 1 of inputs (batch, length, ...), but got '
        f'shape {tuple(x.shape)}; give a single sequence a batch axis, e.g. '
        'x[None, :].'
      )
    widths = [(0, 0)] * len(x.shape)
    widths[1] = (n_positions, 0)
    return jnp.pad(x, widths)[:, :-n_positions]

  return base.Fn(f'ShiftRight({n_positions})', shift_right)
