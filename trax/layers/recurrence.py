"""`RNN`: any cell over a sequence, with masks, reversed time, last step or every step.

`LSTM` and `GRU` (rnn.py) run a cell forwards over every step from a zero state. `RNN`
adds what sequence models written for other libraries need (Keras' `RNN` semantics):

- `masked`: a second input, a boolean mask `(batch, length)`; at a masked step the state
  is carried over unchanged and the output repeats the previous step's (or is zero with
  `zero_output_for_mask`).
- `go_backwards`: the cell runs from the last step to the first, and the outputs come in
  that (reversed) order.
- `return_sequences=False`: only the last step's output; `return_state`: also the final
  state; `initial_state`: the start state as the last input instead of zeros.

Cells map `(x_t, state) -> (y_t, new_state)`: `LSTMCell`, `GRUCell`, and here
`SimpleRNNCell` and `ResetAfterGRUCell`.
"""

import numpy as np

from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import activation_fns
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import control_flow
from trax.layers import core
from trax.layers.config import register

__all__ = [
  'RNN',
  'SimpleRNNCell',
  'ResetAfterGRUCell',
  'Flip',
]


@register
def Flip(axis: int = 1) -> base.Layer:
  """Reverses the order of entries along `axis` (numpy's `flip`).

  >>> Flip(1)(np.array([[1., 2., 3.]])).tolist()
  [[3.0, 2.0, 1.0]]
  """
  return base.Fn('Flip', lambda x: jnp.flip(x, axis=axis))


@register
def SimpleRNNCell(n_units: int, activation: 'base.Layer | None' = None) -> base.Layer:
  """An Elman cell: `h' = activation([x, h] W + b)`; outputs `h'` twice (output, state).

  Inputs `x` of shape `(batch, d_in)` and `h` of shape `(batch, n_units)`. Weights: the
  `Dense` `(w, b)`, `w` of shape `(d_in + n_units, n_units)` (rows for `x`, then `h`).

  >>> y, h = SimpleRNNCell(4)((np.ones((2, 3), np.float32), np.zeros((2, 4), np.float32)))
  >>> y.shape, h.shape
  ((2, 4), (2, 4))

  Args:
    n_units: size of `h`.
    activation: a layer; `Tanh()` by default.
  """
  return cb.Serial(
    cb.Concatenate(),  # [x, h]
    core.Dense(n_units),
    activation_fns.Tanh() if activation is None else activation,  # h'
    cb.Dup(),  # h' h'
    name=f'SimpleRNNCell_{n_units}',
  )


@register
def ResetAfterGRUCell(n_units: int) -> base.Layer:
  r"""A GRU step that applies the reset gate after the recurrent product (cuDNN's GRU).

  .. math::
      z, r, \tilde h &= \mathrm{split}_3(x W + b_x), \quad
          z_h, r_h, \hat h = \mathrm{split}_3(h U + b_h) \\
      z &\leftarrow \sigma(z + z_h), \quad r \leftarrow \sigma(r + r_h), \quad
          c = \tanh(\tilde h + r \odot \hat h) \\
      h' &= z \odot h + (1 - z) \odot c

  (`GRUCell` computes :math:`c = \tanh([x, r \odot h] W_2 + b_2)` instead.) This is
  Keras' `GRU(reset_after=True)`, its default. Inputs `x` `(batch, d_in)` and `h`
  `(batch, n_units)`; outputs `h'` twice (output, state).

  Weights: the input `Dense(3 * n_units)` `(W, b_x)` then the recurrent one `(U, b_h)`,
  gate columns in the order update `z`, reset `r`, candidate.

  >>> y, h = ResetAfterGRUCell(4)((np.ones((2, 3), np.float32), np.zeros((2, 4), np.float32)))
  >>> y.shape, h.shape
  ((2, 4), (2, 4))

  Args:
    n_units: size of `h`.
  """
  return cb.Serial(  # x h
    cb.Select([0, 1, 1]),  # x h h
    cb.Parallel(core.Dense(3 * n_units), core.Dense(3 * n_units)),  # gx gh h
    cb.Parallel(cb.Split(3), cb.Split(3)),  # xz xr xh hz hr hh h
    cb.Select([0, 3, 1, 4, 2, 5, 6]),  # xz hz xr hr xh hh h
    cb.Parallel(
      [cb.Add(), activation_fns.Sigmoid()], [cb.Add(), activation_fns.Sigmoid()]
    ),  # z r xh hh h
    cb.Select([0, 1, 3, 2, 4]),  # z r hh xh h
    cb.Parallel(None, [cb.Multiply(), cb.Add(), activation_fns.Tanh()]),  # z c h
    cb.Select([2, 0, 1]),  # h z c
    cb.Gate(),  # h' = z h + (1 - z) c
    cb.Dup(),  # h' h'
    name=f'ResetAfterGRUCell_{n_units}',
  )


@register
def RNN(
  cell: base.Layer,
  n_units: int,
  state_depth: 'int | None' = None,
  return_sequences: bool = True,
  return_state: bool = False,
  go_backwards: bool = False,
  masked: bool = False,
  zero_output_for_mask: bool = False,
  initial_state: bool = False,
  mode: str = 'train',
) -> base.Layer:
  """Runs `cell` along axis 1 of `(batch, length, d_in)` inputs (see the module docstring).

  Inputs: `x`, then the mask `(batch, length)` if `masked`, then the start state
  `(batch, state_depth)` if `initial_state`. Outputs: every step's output `(batch, length,
  n_units)` (in the order the cell ran) or only the last step's `(batch, n_units)`, then
  the final state `(batch, state_depth)` if `return_state`. Weights: the cell's.

  >>> RNN(LSTMCell(4), 4, state_depth=8, return_sequences=False)(np.ones((2, 5, 3))).shape
  (2, 4)

  Args:
    cell: maps `(x_t, state) -> (y_t, new_state)`.
    n_units: depth of the cell's outputs.
    state_depth: depth of the cell's state (`n_units` by default; `2 * n_units` for
      `LSTMCell`).
    return_sequences: output every step, else only the last.
    return_state: also output the final state.
    go_backwards: run from the last step to the first.
    masked: take a boolean mask as the second input.
    zero_output_for_mask: with a mask, output zeros at masked steps (else the previous
      step's output).
    initial_state: take the start state as the last input (else zeros).
    mode: 'train', 'eval' or 'predict' (in 'predict' the state carries over between calls).
  """
  state_depth = state_depth or n_units
  n_sequences = 2 if masked else 1
  layers = []
  if go_backwards:
    layers.append(cb.Parallel(*[Flip(1) for _ in range(n_sequences)]))
  if not initial_state:  # x [mask]
    layers.append(cb.Branch(None, _Zeros(state_depth)))  # x zeros [mask]
    if masked:
      layers.append(cb.Select([0, 2, 1], n_in=3))  # x mask zeros
  if masked:  # x mask s0
    layers += [
      cb.Branch(None, _Zeros(n_units)),  # x y0 mask s0
      cb.Select([0, 2, 1, 3], n_in=4),  # x mask y0 s0
      control_flow.Scan(
        _MaskedStep(cell, zero_output_for_mask), axis=1, n_carry=2, mode=mode
      ),  # ys y_last s_final
      cb.Select([0, 2], n_in=3),
    ]  # ys s_final
  else:  # x s0
    layers.append(control_flow.Scan(cell, axis=1, mode=mode))  # ys s_final
  if not return_sequences:
    layers.append(base.Fn('LastStep', lambda ys: ys[:, -1]))
  if not return_state:
    layers.append(cb.Select([0], n_in=2))
  return cb.Serial(layers, name='RNN')


def _Zeros(depth: int) -> base.Layer:
  """Zeros `(batch, depth)` for inputs `(batch, length, d)`, in the input's float type."""

  def zeros(x):
    x = jnp.asarray(x)  # The backend's type: float64 numpy inputs are float32 under jax.
    dtype = x.dtype if jnp.issubdtype(x.dtype, np.floating) else np.float32
    return jnp.zeros((fastmath.shape(x)[0], depth), dtype)

  return base.Fn('Zeros', zeros)


def _MaskedStep(cell: base.Layer, zero_output: bool) -> base.Layer:
  """`(x_t, mask_t, y_prev, state) -> (y_out, y_kept, state_kept)` around `cell`."""

  def keep(y, new_state, mask, y_prev, state):
    mask = jnp.expand_dims(mask, -1)
    y_kept = jnp.where(mask, y, y_prev)
    y_out = jnp.where(mask, y, jnp.zeros_like(y)) if zero_output else y_kept
    return y_out, y_kept, jnp.where(mask, new_state, state)

  return cb.Serial(  # x m y_prev s
    cb.Select([0, 3, 1, 2, 3]),  # x s m y_prev s
    cell,  # y s_new m y_prev s
    base.Fn('KeepMasked', keep, n_out=3),  # y_out y_kept s_kept
    name='MaskedStep',
  )
