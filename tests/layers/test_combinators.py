"""Tests of the stack combinators: n_in/n_out, what ends up where on the stack, and values."""

import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
X = S((2, 3))


def _two_outputs():
  return tl.Serial(tl.Dense(3), tl.Dup())


PARITY_CASES = [
  harness.Case('Serial', lambda: tl.Serial(tl.Dense(4), tl.Relu(), [tl.Dense(3), [tl.Tanh()]]), X),
  harness.Case(
    'Parallel', lambda: tl.Parallel(tl.Dense(3), None, [tl.Dense(2), tl.Relu()]), (X, X, X)
  ),
  harness.Case('Branch', lambda: tl.Branch(tl.Dense(3), None, [tl.Add(), tl.Dense(2)]), (X, X)),
  harness.Case('Residual', lambda: tl.Residual(tl.Dense(3), tl.Relu(), shortcut=tl.Dense(3)), X),
  harness.Case('Select', lambda: tl.Select([1, 0, 0], n_in=3), (X, S((2,)), X)),
  harness.Case('Dup', tl.Dup, X),
  harness.Case('Drop', tl.Drop, X),
  harness.Case('Swap', tl.Swap, (X, S((4,)))),
  harness.Case('Add', tl.Add, (X, X)),
  harness.Case('SubtractTop', tl.SubtractTop, (X, X)),
  harness.Case('Multiply', tl.Multiply, (X, X)),
  harness.Case('Gate', tl.Gate, (X, X, X)),
  harness.Case('Concatenate', lambda: tl.Concatenate(3, axis=0), (X, X, S((1, 3)))),
  harness.Case('Split', lambda: tl.Split(3, axis=0), S((6, 2))),
  harness.Case(
    'SerialWithSideOutputs', lambda: tl.SerialWithSideOutputs([_two_outputs(), _two_outputs()]), X
  ),
  harness.Case('FlattenList', tl.FlattenList, ((X, (S((2,)), X)), S((1,)))),
]


def _values(n):
  return tuple(np.full((2,), float(i + 1), np.float32) for i in range(n))


def _assert_stack(outputs, expected):
  outputs = outputs if isinstance(outputs, tuple) else (outputs,)
  assert len(outputs) == len(expected)
  for got, want in zip(outputs, expected):
    np.testing.assert_allclose(got, np.full((2,), want, np.float32))


@pytest.mark.parametrize(
  'make,n_in,n_out',
  [
    (lambda: tl.Serial(), 1, 1),
    (lambda: tl.Serial(tl.Dup(), tl.Dup()), 1, 3),
    (lambda: tl.Serial(tl.Add(), tl.Add()), 3, 1),
    (lambda: tl.Serial(tl.Drop(), tl.Drop()), 2, 0),
    (lambda: tl.Serial(tl.Swap(), tl.Drop(), tl.Dup()), 2, 2),
    (lambda: tl.Parallel(tl.Add(), None, tl.Dup()), 4, 4),
    (lambda: tl.Branch(tl.Add(), None, tl.Dup()), 2, 4),
    (lambda: tl.Residual(tl.Dense(2)), 1, 1),
    (lambda: tl.Select([0, 0, 1]), 2, 3),
    (lambda: tl.Select([0], n_in=3), 3, 1),
    (tl.Dup, 1, 2),
    (tl.Drop, 1, 0),
    (tl.Swap, 2, 2),
    (tl.Gate, 3, 1),
    (lambda: tl.Concatenate(4), 4, 1),
    (lambda: tl.Split(3), 1, 3),
    (lambda: tl.SerialWithSideOutputs([_two_outputs(), _two_outputs()]), 1, 3),
    (lambda: tl.SerialWithSideOutputs([tl.Dup(), tl.Add()], n_side_outputs=[1, 0]), 2, 2),
  ],
)
def test_n_in_n_out(make, n_in, n_out):
  layer = make()
  assert (layer.n_in, layer.n_out) == (n_in, n_out)


def test_serial_moves_data_on_the_stack():
  # Stack (top first): 1 2 3 -> Swap: 2 1 3 -> Dup: 2 2 1 3 -> Add: 4 1 3 -> Drop: 1 3
  # -> Add: 4. The Serial reaches 3 items deep and leaves 1.
  serial = tl.Serial(tl.Swap(), tl.Dup(), tl.Add(), tl.Drop(), tl.Add())
  assert (serial.n_in, serial.n_out) == (3, 1)
  _assert_stack(serial(_values(3)), [4.0])
  _assert_stack(tl.Serial(tl.SubtractTop())(_values(2)), [2.0 - 1.0])


def test_serial_flattens_nested_lists_and_drops_none():
  dense = tl.Dense(2)
  serial = tl.Serial([tl.Dup(), [None, [tl.Add()]]], None, dense)
  assert [type(l).__name__ for l in serial.sublayers] == ['Fn', 'Fn', 'Dense']
  assert serial.sublayers[2] is dense
  with pytest.raises(TypeError, match='without calling it'):
    tl.Serial(tl.Dense)


def test_select():
  _assert_stack(tl.Select([2, 0, 0])(_values(3)), [3.0, 1.0, 1.0])
  _assert_stack(tl.Serial(tl.Select([0], n_in=2), tl.Add())(_values(3)), [1.0 + 3.0])
  assert tl.Select([1, 0]).name == 'Select[1,0]'


def test_parallel_gives_each_layer_its_own_slice():
  parallel = tl.Parallel(tl.Add(), None, tl.Dup(), [tl.Dup(), tl.Add()], [])
  # Inputs 1 2 | 3 | 4 | 5 | 6 -> 3 | 3 | 4 4 | 10 | 6
  _assert_stack(parallel(_values(6)), [3.0, 3.0, 4.0, 4.0, 10.0, 6.0])


def test_branch_gives_each_layer_a_copy():
  branch = tl.Branch(tl.Add(), None, [tl.Swap(), tl.SubtractTop()], [])
  assert (branch.n_in, branch.n_out) == (2, 4)
  # Each branch sees 1 2: Add gives 3; None copies 1; Swap, SubtractTop gives 1 - 2; []
  # copies 1.
  _assert_stack(branch(_values(2)), [3.0, 1.0, 1.0 - 2.0, 1.0])
  dense = tl.Dense(2)
  assert tl.Branch(dense) is dense


def test_residual_adds_the_input_or_the_shortcut():
  x = harness.random_inputs(X)
  dense = tl.Dense(3)
  residual = tl.Residual(dense)
  np.testing.assert_allclose(residual(x), x + dense(x), rtol=1e-6)
  shortcut = tl.Dense(3)
  with_shortcut = tl.Residual(tl.Relu(), dense, shortcut=shortcut)
  np.testing.assert_allclose(with_shortcut(x), shortcut(x) + dense(np.maximum(x, 0.0)), rtol=1e-6)


def test_elementwise_combinators():
  a, b, c = harness.random_inputs((X, X, X))
  np.testing.assert_allclose(tl.Add()((a, b)), a + b)
  np.testing.assert_allclose(tl.SubtractTop()((a, b)), b - a)
  np.testing.assert_allclose(tl.Multiply()((a, b)), a * b)
  np.testing.assert_allclose(tl.Gate()((a, b, c)), b * a + (1.0 - b) * c, rtol=1e-6)
  np.testing.assert_allclose(tl.Concatenate(3, axis=0)((a, b, c)), np.concatenate([a, b, c]))
  assert tl.Concatenate(axis=0).name == 'Concatenate_axis0'
  parts = tl.Split(3, axis=-1)(a)
  for i, part in enumerate(parts):
    np.testing.assert_array_equal(part, a[:, i : i + 1])


def test_serial_with_side_outputs():
  step = lambda i: tl.Fn(f'Step{i}', lambda x: (x + 1.0, 10.0 * x), n_out=2)
  layer = tl.SerialWithSideOutputs([step(0), step(1), step(2)])
  # x -> x+1 (side 10x) -> x+2 (side 10(x+1)) -> x+3 (side 10(x+2)), sides in run order.
  _assert_stack(layer(np.full((2,), 1.0, np.float32)), [4.0, 10.0, 20.0, 30.0])


def test_serial_with_side_outputs_keeps_the_rest_of_the_stack():
  # Dup: x x; Add with 0 side outputs: 2x; the untouched second input stays below it.
  layer = tl.SerialWithSideOutputs([tl.Dup(), tl.Add()], n_side_outputs=[1, 0])
  # Dup gives 1 1 over 2; its side output (the copy) goes to the bottom: 1 2 | 1
  # Add: 3 | 1.
  _assert_stack(layer(_values(2)), [3.0, 1.0])


def test_flatten_list():
  a, b, c = _values(3)
  flat = tl.FlattenList()(((a, [b]), (c,)))
  assert len(flat) == 3 and flat[2] is c


def test_wrong_number_of_inputs_names_the_layer():
  model = tl.Serial(tl.Dense(2), tl.Add())
  with pytest.raises(tl.LayerError) as error:
    model.init(X)
  message = str(error.value)
  assert 'Serial' in message and 'test_combinators.py:' in message
  assert 'expects 2 inputs' in message
