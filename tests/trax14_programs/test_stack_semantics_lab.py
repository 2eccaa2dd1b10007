"""A widely copied Trax 1.4 user program: the "stack semantics" lab of the Coursera NLP
course (week 1 of its attention-models part), run as written with its results checked.
"""

import numpy as np

from trax import layers as tl
from trax import shapes


def Addition():
  layer_name = 'Addition'

  def func(x, y):
    return x + y

  return tl.Fn(layer_name, func)


def Multiplication():
  layer_name = 'Multiplication'

  def func(x, y):
    return x * y

  return tl.Fn(layer_name, func)


def test_fn_layers():
  add = Addition()
  assert (add.name, add.n_in, add.n_out) == ('Addition', 2, 1)
  assert add((np.array([3]), np.array([4]))) == 7
  mul = Multiplication()
  assert mul((np.array([7]), np.array([15]))) == 105


def test_serial_select_and_residual():
  serial = tl.Serial(Addition(), Multiplication(), Addition())
  x = (np.array([3]), np.array([4]), np.array([15]), np.array([3]))
  serial.init(shapes.signature(x))
  assert str(serial) == 'Serial_in4[\n  Addition_in2\n  Multiplication_in2\n  Addition_in2\n]'
  assert (serial.n_in, serial.n_out) == (4, 1)
  assert serial(x) == 108  # (3 + 4) * 15 + 3

  serial = tl.Serial(tl.Select([0, 1, 0, 1]), Addition(), Multiplication(), Addition())
  x = (np.array([3]), np.array([4]))
  serial.init(shapes.signature(x))
  assert (serial.n_in, serial.n_out) == (2, 1)
  assert serial(x) == 25  # (3 + 4) * 3 + 4

  serial = tl.Serial(tl.Select([0, 1, 0, 1]), Addition(), tl.Select([0], n_in=2), Multiplication())
  assert serial(x) == 28  # (3 + 4) * 4

  serial = tl.Serial(
    tl.Select([0, 1, 0, 1]), Addition(), Multiplication(), Addition(), tl.Residual()
  )
  serial.init(shapes.signature(x))
  assert serial(x) == 50  # 25 + 25

  serial = tl.Serial(tl.Select([0, 1, 0, 1]), Addition(), Multiplication(), tl.Residual(Addition()))
  serial.init(shapes.signature(x))
  assert serial(x) == 46  # 21 + (21 + 4)
