"""Recurrent layers: LSTM and GRU, their cells, and the zero initial state.

A cell maps `(x_t, state) -> (y_t, new_state)` for one time step. The sequence layers run
a cell along axis 1 of `(batch, length, depth)` inputs with `Scan`, starting from zeros
(`MakeZeroState`); in 'predict' mode `Scan` keeps the state from call to call, so a
sequence can be fed one step at a time.
"""

from typing import Any

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import control_flow
from trax.layers import initializers as init
from trax.layers.config import register

__all__ = [
  'LSTMCell',
  'LSTM',
  'GRUCell',
  'GRU',
  'MakeZeroState',
]


class LSTMCell(base.Layer):
  r"""One step of a long short-term memory (Hochreiter & Schmidhuber, 1997).

  .. math::
      i, j, f, o &= \mathrm{split}_4([x, h] W + b) \\
      c' &= \sigma(f) \odot c + \sigma(i) \odot \tanh(j) \\
      h' &= \sigma(o) \odot \tanh(c')

  Inputs: `x` of shape `(batch, d_in)` and the state `[c, h]` (concatenated) of shape
  `(batch, 2 * n_units)`. Outputs: `h'` of shape `(batch, n_units)` and the new state
  `[c', h']`.

  Weights `(w, b)` as in Trax 1.x: `w` of shape `(d_in + n_units, 4 * n_units)` (rows for
  `x`, then for `h`), `b` of shape `(4 * n_units,)`; gate columns in the order input
  gate `i`, candidate `j`, forget gate `f`, output gate `o`.

  `forget_bias` is added to the forget gate's initial bias. (Trax 1.x added it to the
  biases of all four gates, which also offsets the candidate and opens the input and
  output gates; here only the forget gate gets it, as in Keras' `unit_forget_bias`.)

  >>> y, state = LSTMCell(4)((np.ones((2, 3), np.float32), np.zeros((2, 8), np.float32)))
  >>> y.shape, state.shape
  ((2, 4), (2, 8))

  Args:
    n_units: size of `h` (and of `c`).
    forget_bias: added to the forget gate's bias at initialization.
    kernel_initializer: initializer of `w`.
    bias_initializer: initializer of `b` (before `forget_bias` is added).
  """

  weight_names = ('w', 'b')

  def __init__(
    self,
    n_units: int,
    forget_bias: float = 1.0,
    kernel_initializer: init.Initializer = init.GlorotUniformInitializer(),
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
  ):
    super().__init__(n_in=2, n_out=2)
    self._n_units = n_units
    self._forget_bias = forget_bias
    self._kernel_initializer = kernel_initializer
    self._bias_initializer = bias_initializer

  def init_weights_and_state(self, input_signature: Any) -> None:
    x, state = input_signature
    _check_state_depth(self, state.shape, 2 * self._n_units, '2 * n_units')
    rng_w, rng_b = fastmath.random.split(self.rng, 2)
    w = self._kernel_initializer((x.shape[-1] + self._n_units, 4 * self._n_units), rng_w)
    b = self._bias_initializer((4 * self._n_units,), rng_b)
    forget_gate = slice(2 * self._n_units, 3 * self._n_units)
    self.weights = (w, fastmath.index_add(b, forget_gate, self._forget_bias))

  def forward(self, inputs: Any) -> Any:
    x, state = inputs
    w, b = self.weights
    c, h = jnp.split(state, 2, axis=-1)
    i, j, f, o = jnp.split(jnp.dot(jnp.concatenate([x, h], axis=-1), w) + b, 4, axis=-1)
    new_c = fastmath.sigmoid(f) * c + fastmath.sigmoid(i) * jnp.tanh(j)
    new_h = fastmath.sigmoid(o) * jnp.tanh(new_c)
    return new_h, jnp.concatenate([new_c, new_h], axis=-1)


class GRUCell(base.Layer):
  r"""One step of a gated recurrent unit (Cho et al., 2014; arXiv:1412.3555).

  .. math::
      u, r &= \mathrm{split}_2(\sigma([x, h] W_1 + b_1)) \\
      c &= \tanh([x, r \odot h] W_2 + b_2) \\
      h' &= u \odot h + (1 - u) \odot c

  Inputs: `x` of shape `(batch, d_in)` and the state `h` of shape `(batch, n_units)`.
  Outputs: `h'` twice (as output and as new state).

  Weights `(w1, b1, w2, b2)` as in Trax 1.x: `w1` of shape `(d_in + n_units,
  2 * n_units)` with gate columns update `u` then reset `r`, `b1` of shape
  `(2 * n_units,)`, `w2` of shape `(d_in + n_units, n_units)`, `b2` of shape `(n_units,)`.

  `forget_bias` is added to the initial bias of the update gate `u`, which decides how
  much of `h` is kept. (Trax 1.x also added it to the reset gate's bias.)

  >>> y, h = GRUCell(4)((np.ones((2, 3), np.float32), np.zeros((2, 4), np.float32)))
  >>> y.shape, h.shape
  ((2, 4), (2, 4))

  Args:
    n_units: size of `h`.
    forget_bias: added to the update gate's bias at initialization.
    kernel_initializer: initializer of `w1` and `w2`.
    bias_initializer: initializer of `b1` (before `forget_bias` is added) and `b2`.
  """

  def __init__(
    self,
    n_units: int,
    forget_bias: float = 0.0,
    kernel_initializer: init.Initializer = init.RandomUniformInitializer(0.01),
    bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6),
  ):
    super().__init__(n_in=2, n_out=2)
    self._n_units = n_units
    self._forget_bias = forget_bias
    self._kernel_initializer = kernel_initializer
    self._bias_initializer = bias_initializer

  def init_weights_and_state(self, input_signature: Any) -> None:
    x, state = input_signature
    _check_state_depth(self, state.shape, self._n_units, 'n_units')
    n, d_in = self._n_units, x.shape[-1]
    rng1, rng2, rng3, rng4 = fastmath.random.split(self.rng, 4)
    w1 = self._kernel_initializer((d_in + n, 2 * n), rng1)
    b1 = fastmath.index_add(self._bias_initializer((2 * n,), rng2), slice(0, n), self._forget_bias)
    w2 = self._kernel_initializer((d_in + n, n), rng3)
    b2 = self._bias_initializer((n,), rng4)
    self.weights = (w1, b1, w2, b2)

  def forward(self, inputs: Any) -> Any:
    x, h = inputs
    w1, b1, w2, b2 = self.weights
    u, r = jnp.split(
      fastmath.sigmoid(jnp.dot(jnp.concatenate([x, h], axis=-1), w1) + b1), 2, axis=-1
    )
    c = jnp.tanh(jnp.dot(jnp.concatenate([x, r * h], axis=-1), w2) + b2)
    new_h = u * h + (1.0 - u) * c
    return new_h, new_h


@register
def MakeZeroState(depth_multiplier: int = 1) -> base.Layer:
  """Zeros for an RNN state: `(batch, length, depth) -> (batch, depth_multiplier * depth)`.

  The zeros take the input's dtype (Trax 1.x always used float32, which breaks the scan
  carry of float64 or bfloat16 models).

  >>> MakeZeroState(depth_multiplier=2)(np.ones((2, 5, 3), np.float32)).shape
  (2, 6)

  Args:
    depth_multiplier: the state's depth as a multiple of the input depth.
  """
  return base.Fn('MakeZeroState', lambda x: _zero_state(x, depth_multiplier * x.shape[-1]))


def _ZeroState(depth: int) -> base.Layer:
  """Zeros of shape `(batch, depth)` for inputs `(batch, length, d_in)`."""
  return base.Fn('MakeZeroState', lambda x: _zero_state(x, depth))


def _zero_state(x: Any, depth: int) -> Any:
  if len(x.shape) != 3:
    raise ValueError(
      f'MakeZeroState expects inputs of shape (batch, length, depth), got shape {tuple(x.shape)}.'
    )
  return jnp.zeros((fastmath.shape(x)[0], depth), x.dtype)


@register
def LSTM(
  n_units: int, mode: str = 'train', return_state: bool = False, initial_state: bool = False
) -> base.Layer:
  """An LSTM over axis 1: `(batch, length, d_in) -> (batch, length, n_units)`.

  Weights: the `(w, b)` of the `LSTMCell` inside, same flat order as Trax 1.x. (Trax 1.x
  built the zero state from the input depth, so it needed `d_in == n_units`; here any
  `d_in` works.)

  >>> LSTM(4)(np.ones((2, 5, 3), np.float32)).shape
  (2, 5, 4)

  Args:
    n_units: size of the hidden state (and of the outputs).
    mode: 'train', 'eval' or 'predict'; in 'predict' the state carries over between calls.
    return_state: also output the final state `[c, h]`, of shape `(batch, 2 * n_units)`.
    initial_state: take the initial state `[c, h]` as a second input instead of zeros.
  """
  layers = [] if initial_state else [cb.Branch(None, _ZeroState(2 * n_units))]
  layers.append(control_flow.Scan(LSTMCell(n_units), axis=1, mode=mode))
  if not return_state:
    layers.append(cb.Select([0], n_in=2))  # Drops the final state.
  return cb.Serial(layers, name=f'LSTM_{n_units}', sublayers_to_print=[])


@register
def GRU(n_units: int, mode: str = 'train') -> base.Layer:
  """A GRU over axis 1, from a zero state: `(batch, length, d_in) -> (batch, length, n_units)`.

  Weights: those of the `GRUCell` inside, same flat order as Trax 1.x. Any input depth
  works (Trax 1.x needed `d_in == n_units`, see `LSTM`).

  >>> GRU(4)(np.ones((2, 5, 3), np.float32)).shape
  (2, 5, 4)

  Args:
    n_units: size of the hidden state (and of the outputs).
    mode: 'train', 'eval' or 'predict'; in 'predict' the state carries over between calls.
  """
  return cb.Serial(
    cb.Branch(None, _ZeroState(n_units)),  # x, h0
    control_flow.Scan(GRUCell(n_units), axis=1, mode=mode),  # y, h_final
    cb.Select([0], n_in=2),
    name=f'GRU_{n_units}',
    sublayers_to_print=[],
  )


def _check_state_depth(layer: base.Layer, shape: tuple, expected: int, what: str) -> None:
  if shape[-1] != expected:
    raise ValueError(
      f'{layer.name} needs a state of depth {what} = {expected}, got state shape {tuple(shape)}.'
    )
