"""Recurrent variants of Trax 1.4: SRU and its cells, and GRU cells over any transform
(`GeneralGRUCell`, and `ConvGRUCell` with a convolution).
"""

from typing import Any
from collections.abc import Callable

from trax.layers import activation_fns
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import control_flow
from trax.layers import convolution
from trax.layers import core
from trax.layers.config import register
from trax.layers.rnn import MakeZeroState

__all__ = [
  'ConvGRUCell',
  'SRU',
  'InnerSRUCell',
  'ScanSRUCell',
  'GeneralGRUCell',
]


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

  return _gru_cell(
    conv, None, activation_fns.Sigmoid, activation_fns.Tanh, 0.1, 0.5, mode, 'ConvGRUCell'
  )


@register
def SRU(n_units: int, activation: 'base.Layer | None' = None, mode: str = 'train') -> base.Layer:
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
      raise ValueError(
        f'SRU_{n_units} needs inputs of depth n_units={n_units}, got shape {tuple(x.shape)}.'
      )
    return c * r + x * (1.0 - r) * 3**0.5

  return cb.Serial(  # x
    cb.Branch(core.Dense(3 * n_units), None),  # r_f_y, x
    cb.Split(n_items=3),  # r, f, y, x
    cb.Parallel(activation_fns.Sigmoid(), activation_fns.Sigmoid()),  # r, f, y, x
    base.Fn('SRUForgetGate', lambda r, f, y: (y * (1.0 - f), f, r), n_out=3),
    cb.Parallel(None, None, cb.Branch(MakeZeroState(), None)),  # y(1-f), f, c0, r, x
    ScanSRUCell(mode),  # c, c_final, r, x
    cb.Select([0], n_in=2),  # c, r, x
    activation if activation is not None else [],
    base.Fn('FinalSRUGate', highway_gate),
    name=f'SRU_{n_units}',
    sublayers_to_print=[],
  )


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
    raise ValueError(
      'ScanSRUCell: monkey_patched_mask served Trax\'s research Terraformer, '
      'which trax does not include; leave it None.'
    )
  return control_flow.Scan(InnerSRUCell(), axis=1, mode=mode)


@register
def GeneralGRUCell(
  candidate_transform: Callable[[], base.Layer],
  memory_transform_fn: 'Callable[[], base.Layer] | None' = None,
  gate_nonlinearity: Callable[[], base.Layer] = activation_fns.Sigmoid,
  candidate_nonlinearity: Callable[[], base.Layer] = activation_fns.Tanh,
  dropout_rate_c: float = 0.1,
  sigmoid_bias: float = 0.5,
  mode: str = 'train',
) -> base.Layer:
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
  return _gru_cell(
    candidate_transform,
    memory_transform_fn,
    gate_nonlinearity,
    candidate_nonlinearity,
    dropout_rate_c,
    sigmoid_bias,
    mode,
    'GeneralGRUCell',
  )


def _gru_cell(
  transform,
  memory_transform_fn,
  gate_nonlinearity,
  candidate_nonlinearity,
  dropout_rate,
  sigmoid_bias,
  mode,
  name,
) -> base.Layer:
  """`GeneralGRUCell`'s graph: `Branch(memory, gate, candidate)`, then `Gate`."""

  def gate():
    return cb.Serial(
      transform(), base.Fn('AddSigmoidBias', lambda x: x + sigmoid_bias), gate_nonlinearity()
    )

  candidate = cb.Serial(
    cb.Dup(),
    gate(),
    cb.Multiply(),
    transform(),
    candidate_nonlinearity(),
    core.Dropout(rate=dropout_rate, mode=mode),
  )
  memory = memory_transform_fn() if memory_transform_fn else None
  return cb.Serial(cb.Branch(memory, gate(), candidate), cb.Gate(), name=name)


def _inner_sru_step(y_times_one_minus_f: Any, f: Any, c: Any) -> tuple[Any, Any]:
  new_c = f * c + y_times_one_minus_f
  return new_c, new_c
