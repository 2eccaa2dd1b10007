"""Trax 1.4's layers intro notebook (`trax/examples/layers_intro.ipynb`), run as written.

Each test is one of its examples, with the values it prints checked against numpy.
"""

import numpy as np

from trax import layers as tl
from trax import shapes
from trax.fastmath import numpy as jnp  # For use in defining new layer types.


def show_layer_properties(layer_obj, layer_name):
  template = '{}.n_in:  {}\n{}.n_out: {}\n{}.sublayers: {}\n{}.weights:    {}\n'
  return template.format(
    layer_name,
    layer_obj.n_in,
    layer_name,
    layer_obj.n_out,
    layer_name,
    layer_obj.sublayers,
    layer_name,
    layer_obj.weights,
  )


def test_relu_and_concatenate():
  relu = tl.Relu()
  x = np.array([[-2, -1, 0, 1, 2], [-20, -10, 0, 10, 20]])
  y = relu(x)
  np.testing.assert_array_equal(y, np.maximum(x, 0))
  assert (relu.n_in, relu.n_out) == (1, 1)

  concat = tl.Concatenate()
  x0 = np.array([[1, 2, 3], [4, 5, 6]])
  x1 = np.array([[10, 20, 30], [40, 50, 60]])
  y = concat([x0, x1])
  np.testing.assert_array_equal(y, [[1, 2, 3, 10, 20, 30], [4, 5, 6, 40, 50, 60]])
  assert (concat.n_in, concat.n_out) == (2, 1)

  concat3 = tl.Concatenate(n_items=3, axis=0)
  x2 = np.array([[100, 200, 300], [400, 500, 600]])
  y = concat3([x0, x1, x2])
  np.testing.assert_array_equal(y, np.concatenate([x0, x1, x2], axis=0))


def test_layer_norm_and_serial():
  layer_norm = tl.LayerNorm()
  x = np.array([[-2, -1, 0, 1, 2], [1, 2, 3, 4, 5], [10, 20, 30, 40, 50]]).astype(np.float32)
  layer_norm.init(shapes.signature(x))
  y = layer_norm(x)
  np.testing.assert_allclose(y, np.tile([-1.414, -0.707, 0.0, 0.707, 1.414], (3, 1)), atol=1e-3)
  scale, bias = layer_norm.weights
  np.testing.assert_array_equal(scale, np.ones(5))
  np.testing.assert_array_equal(bias, np.zeros(5))

  layer_block = tl.Serial(
    tl.Relu(),
    tl.LayerNorm(),
  )
  x = np.array([[-2, -1, 0, 1, 2], [-20, -10, 0, 10, 20]]).astype(np.float32)
  layer_block.init(shapes.signature(x))
  y = layer_block(x)
  np.testing.assert_allclose(y, np.tile([-0.75, -0.75, -0.75, 0.5, 1.75], (2, 1)), atol=1e-3)
  assert str(layer_block) == 'Serial[\n  Relu\n  LayerNorm\n]'
  assert layer_block.weights[0] == ()
  properties = show_layer_properties(layer_block, 'layer_block')
  assert 'layer_block.n_in:  1\nlayer_block.n_out: 1\n' in properties


def test_branch():
  relu = tl.Relu()
  times_100 = tl.Fn("Times100", lambda x: x * 100.0)
  branch_relu_t100 = tl.Branch(relu, times_100)

  x = np.array([[-2, -1, 0, 1, 2], [-20, -10, 0, 10, 20]])
  branch_relu_t100.init(shapes.signature(x))

  y0, y1 = branch_relu_t100(x)
  np.testing.assert_array_equal(y0, np.maximum(x, 0))
  np.testing.assert_array_equal(y1, x * 100.0)


def test_new_layers_with_fn():
  def Gcd():
    """Returns a layer to compute the greatest common divisor, elementwise."""
    return tl.Fn('Gcd', lambda x0, x1: jnp.gcd(x0, x1))

  gcd = Gcd()
  x0 = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  x1 = np.array([11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
  y = gcd((x0, x1))
  np.testing.assert_array_equal(y, [1, 2, 1, 2, 5, 2, 1, 2, 1, 10])

  def SumAndMax():
    """Returns a layer to compute sums and maxima of two input tensors."""
    return tl.Fn('SumAndMax', lambda x0, x1: (x0 + x1, jnp.maximum(x0, x1)), n_out=2)

  sum_and_max = SumAndMax()
  x0 = np.array([1, 2, 3, 4, 5])
  x1 = np.array([10, -20, 30, -40, 50])
  y0, y1 = sum_and_max([x0, x1])
  np.testing.assert_array_equal(y0, [11, -18, 33, -36, 55])
  np.testing.assert_array_equal(y1, [10, 2, 30, 4, 50])


def test_configurable_layer_with_fn():
  def Flatten(n_axes_to_keep=1):
    layer_name = f'Flatten_keep{n_axes_to_keep}'

    def f(x):
      in_rank = len(x.shape)
      if in_rank <= n_axes_to_keep:
        raise ValueError(
          f'Input rank ({in_rank}) must exceed the number of '
          f'axes to keep ({n_axes_to_keep}) after flattening.'
        )
      return jnp.reshape(x, (x.shape[:n_axes_to_keep] + (-1,)))

    return tl.Fn(layer_name, f)

  flatten_keep_1_axis = Flatten(n_axes_to_keep=1)
  flatten_keep_2_axes = Flatten(n_axes_to_keep=2)
  x = np.array(
    [[[1, 2, 3], [10, 20, 30], [100, 200, 300]], [[4, 5, 6], [40, 50, 60], [400, 500, 600]]]
  )
  y1 = flatten_keep_1_axis(x)
  y2 = flatten_keep_2_axes(x)
  np.testing.assert_array_equal(y1, x.reshape(2, 9))
  np.testing.assert_array_equal(y2, x)
