"""Recurrent layers: LSTM, GRU and SRU, their cells, and a convolutional GRU cell.

A cell maps `(x_t, state) -> (y_t, new_state)` for one time step. The sequence layers run
a cell along axis 1 of `(batch, length, depth)` inputs with `Scan`, starting from zeros
(`MakeZeroState`); in 'predict' mode `Scan` keeps the state from call to call, so a
sequence can be fed one step at a time.
"""

from typing import Any, Callable

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import activation_fns
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import control_flow
from trax.layers import convolution
from trax.layers import core
from trax.layers import initializers as init
from trax.layers.config import register

__all__ = [
    'LSTMCell',
    'LSTM',
    'GRUCell',
    'GRU',
    'MakeZeroState',
    'ConvGRUCell',
    'SRU',
    'InnerSRUCell',
    'ScanSRUCell',
    'GeneralGRUCell',
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

  def __init__(self, n_units: int, forget_bias: float = 1.0,
               kernel_initializer: init.Initializer = init.GlorotUniformInitializer(),
               bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6)):
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

  def __init__(self, n_units: int, forget_bias: float = 0.0,
               kernel_initializer: init.Initializer = init.RandomUniformInitializer(0.01),
               bias_initializer: init.Initializer = init.RandomNormalInitializer(1e-6)):
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
    b1 = fastmath.index_add(self._bias_initializer((2 * n,), rng2), slice(0, n),
                            self._forget_bias)
    w2 = self._kernel_initializer((d_in + n, n), rng3)
    b2 = self._bias_initializer((n,), rng4)
    self.weights = (w1, b1, w2, b2)

  def forward(self, inputs: Any) -> Any:
    x, h = inputs
    w1, b1, w2, b2 = self.weights
    u, r = jnp.split(fastmath.sigmoid(jnp.dot(jnp.concatenate([x, h], axis=-1), w1) + b1),
                     2, axis=-1)
    c = jnp.tanh(jnp.dot(jnp.concatenate([x, r * h], axis=-1), w2) + b2)
    new_h = u * h + (1. - u) * c
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


def _ZeroState(depth: int) -> base.Layer:  # pylint: disable=invalid-name
  """Zeros of shape `(batch, depth)` for inputs `(batch, length, d_in)`."""
  return base.Fn('MakeZeroState', lambda x: _zero_state(x, depth))


def _zero_state(x: Any, depth: int) -> Any:
  if len(x.shape) != 3:
    raise ValueError('MakeZeroState expects inputs of shape (batch, length, depth), got '
                     f'shape {tuple(x.shape)}.')
  return jnp.zeros((fastmath.shape(x)[0], depth), x.dtype)


@register
def LSTM(n_units: int, mode: str = 'train', return_state: bool = False,
         initial_state: bool = False) -> base.Layer:
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
      cb.Branch(None, _ZeroState(n_units)),                      # x, h0
      control_flow.Scan(GRUCell(n_units), axis=1, mode=mode),    # y, h_final
      cb.Select([0], n_in=2),
      name=f'GRU_{n_units}', sublayers_to_print=[])


@register
def ConvGRUCell(n_units: int, kernel_size: tuple = (3, 3), mode: str = 'train') -> base.Layer:
  r"""A convolutional GRU step on a state `s` (Kaiser & Sutskever 2015, arXiv:1511.06432).

  .. math::
      u &= \sigma(\mathrm{conv}_u(s) + 0.5) \qquad r = \sigma(\mathrm{conv}_r(s) + 0.5) \\
      c &= \mathrm{dropout}(\tanh(\mathrm{conv}_c(r \odot s))) \\
      s' &= u \odot s + (1 - u) \odot c

  The convolutions have `n_units` filters and SAME padding, so `s` of shape
  `(batch, height, width, n_units)` keeps its shape. Dropout (rate 0.1) acts in 'train'
  mode only (Trax 1.x took no `mode` and dropped out in eval and predict too).

  Weights: the `(w, b)` of the convolutions for `u`, `r` and `c`, in that order.

  >>> ConvGRUCell(3, mode='eval')(np.ones((2, 4, 4, 3), np.float32)).shape
  (2, 4, 4, 3)

  Args:
    n_units: channels of the state (and filters of each convolution).
    kernel_size: the convolutions' kernel size.
    mode: 'train' (dropout on the candidate), 'eval' or 'predict'.
  """
  def conv():
    return convolution.Conv(n_units, kernel_size, padding='SAME')
  return _gru_cell(conv, None, activation_fns.Sigmoid, activation_fns.Tanh, 0.1, 0.5, mode,
                   'ConvGRUCell')


@register
def SRU(n_units: int, activation: 'base.Layer | None' = None,
        mode: str = 'train') -> base.Layer:
  r"""A simple recurrent unit (Lei et al. 2017, arXiv:1709.02755) over axis 1.

  .. math::
      r_t, f_t, y_t &= \mathrm{split}_3(x_t W + b), \qquad
          r_t \leftarrow \sigma(r_t), \quad f_t \leftarrow \sigma(f_t) \\
      c_t &= f_t \odot c_{t-1} + (1 - f_t) \odot y_t, \qquad c_0 = 0 \\
      h_t &= r_t \odot \mathrm{activation}(c_t) + \sqrt{3}\,(1 - r_t) \odot x_t

  The :math:`\sqrt{3}` on the highway term is the paper's scaling correction (kept from
  Trax 1.x, whose docstring left it out). Only the elementwise recurrence runs step by
  step; the matrix product is one `Dense` over the whole sequence.

  Inputs and outputs have shape `(batch, length, n_units)` (the highway term needs the
  input depth to equal `n_units`). Weights: the `Dense(3 * n_units)` `(w, b)`, with
  column blocks for `r`, `f`, `y` in that order.

  >>> SRU(3)(np.ones((2, 5, 3), np.float32)).shape
  (2, 5, 3)

  Args:
    n_units: depth of inputs, state and outputs.
    activation: a layer applied to `c_t` (identity when None).
    mode: 'train', 'eval' or 'predict'; in 'predict' the state carries over between calls.
  """
  def highway_gate(c, r, x):
    if None not in (x.shape[-1], c.shape[-1]) and x.shape[-1] != c.shape[-1]:
      raise ValueError(f'SRU_{n_units} needs inputs of depth n_units={n_units}, got '
                       f'shape {tuple(x.shape)}.')
    return c * r + x * (1. - r) * 3**0.5

  return cb.Serial(                                                     # x
      cb.Branch(core.Dense(3 * n_units), None),                         # r_f_y, x
      cb.Split(n_items=3),                                              # r, f, y, x
      cb.Parallel(activation_fns.Sigmoid(), activation_fns.Sigmoid()),  # r, f, y, x
      base.Fn('SRUForgetGate', lambda r, f, y: (y * (1. - f), f, r), n_out=3),
      cb.Parallel(None, None, cb.Branch(MakeZeroState(), None)),        # y(1-f), f, c0, r, x
      ScanSRUCell(mode),                                                # c, c_final, r, x
      cb.Select([0], n_in=2),                                           # c, r, x
      activation if activation is not None else [],
      base.Fn('FinalSRUGate', highway_gate),
      name=f'SRU_{n_units}', sublayers_to_print=[])


@register
def InnerSRUCell() -> base.Layer:
  """One step of the SRU recurrence: `(y(1-f), f, c) -> (c', c')`, `c' = f c + y(1-f)`."""
  return base.Fn('InnerSRUCell', _inner_sru_step, n_out=2)


@register
def ScanSRUCell(mode: str, monkey_patched_mask: Any = None) -> base.Layer:
  """The SRU recurrence over axis 1: `Scan(InnerSRUCell(), axis=1, mode=mode)`.

  Args:
    mode: 'train', 'eval' or 'predict' (the final state carries over between calls).
    monkey_patched_mask: Trax 1.4's hook for its research Terraformer; must be None.
  """
  if monkey_patched_mask is not None:
    raise ValueError('ScanSRUCell: monkey_patched_mask served Trax\'s research Terraformer, '
                     'which trax does not include; leave it None.')
  return control_flow.Scan(InnerSRUCell(), axis=1, mode=mode)


@register
def GeneralGRUCell(candidate_transform: Callable[[], base.Layer],
                   memory_transform_fn: 'Callable[[], base.Layer] | None' = None,
                   gate_nonlinearity: Callable[[], base.Layer] = activation_fns.Sigmoid,
                   candidate_nonlinearity: Callable[[], base.Layer] = activation_fns.Tanh,
                   dropout_rate_c: float = 0.1, sigmoid_bias: float = 0.5,
                   mode: str = 'train') -> base.Layer:
  r"""A GRU cell built from a transform of your choice (Trax 1.x), on one state `s`.

  .. math::
      u &= g(T_u(s) + b_\sigma), \quad r = g(T_r(s) + b_\sigma), \quad
      c = \mathrm{dropout}(h(T_c(r \odot s))) \\
      s' &= u \odot m(s) + (1 - u) \odot c

  with `T_u, T_r, T_c` three instances of `candidate_transform()`, `g` the gate
  nonlinearity, `h` the candidate one, `b_sigma = sigmoid_bias` and `m` the memory
  transform (identity by default). Input and output: the state, e.g. `(batch, depth)`
  with `candidate_transform=lambda: Dense(depth)`; `ConvGRUCell` is this cell with
  convolutions.

  Args:
    candidate_transform: makes each of the three transforms (a layer factory).
    memory_transform_fn: makes a transform of the kept memory; none by default.
    gate_nonlinearity: makes the gates' activation (e.g. `HardSigmoid`).
    candidate_nonlinearity: makes the candidate's activation (e.g. `HardTanh`).
    dropout_rate_c: dropout on the candidate (the only dropout, as the Trax authors found
      it works best there).
    sigmoid_bias: added before the gates, so they start open.
    mode: 'train' drops out (Trax 1.4 took no mode and always did), 'eval' or 'predict'.
  """
  return _gru_cell(candidate_transform, memory_transform_fn, gate_nonlinearity,
                   candidate_nonlinearity, dropout_rate_c, sigmoid_bias, mode,
                   'GeneralGRUCell')


def _gru_cell(transform, memory_transform_fn, gate_nonlinearity, candidate_nonlinearity,
              dropout_rate, sigmoid_bias, mode, name) -> base.Layer:
  """`GeneralGRUCell`'s graph: `Branch(memory, gate, candidate)`, then `Gate`."""
  def gate():
    return cb.Serial(transform(), base.Fn('AddSigmoidBias', lambda x: x + sigmoid_bias),
                     gate_nonlinearity())
  candidate = cb.Serial(cb.Dup(), gate(), cb.Multiply(), transform(),
                        candidate_nonlinearity(), core.Dropout(rate=dropout_rate, mode=mode))
  memory = memory_transform_fn() if memory_transform_fn else None
  return cb.Serial(cb.Branch(memory, gate(), candidate), cb.Gate(), name=name)


def _inner_sru_step(y_times_one_minus_f: Any, f: Any, c: Any) -> tuple[Any, Any]:
  new_c = f * c + y_times_one_minus_f
  return new_c, new_c


def _check_state_depth(layer: base.Layer, shape: tuple, expected: int, what: str) -> None:
  if shape[-1] != expected:
    raise ValueError(f'{layer.name} needs a state of depth {what} = {expected}, got state '
                     f'shape {tuple(shape)}.')
