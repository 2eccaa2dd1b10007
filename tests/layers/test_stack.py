"""Trax 1.4's stack semantics, `__call__` under jit, custom backward passes, `Cond`'s outputs.

The expected values follow Trax 1.4's own combinator tests and its `Serial`, `PureLayer`
and `Cond` code: a combinator takes `n_in` items of a longer stack and leaves the rest in
place; a leaf layer with `n_in > 1` needs exactly `n_in` items.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax import fastmath
from trax import shapes
import trax.layers as tl
from tests.layers import harness

RNG = harness.RNG
fnp = fastmath.numpy
X = np.arange(6, dtype=np.float32).reshape(2, 3)
Y, Z = np.array([10.0, 20.0], np.float32), np.array([7], np.int32)


def test_serial_leaves_the_rest_of_the_stack_in_place():
  dense = tl.Dense(4)
  model = tl.Serial(dense)
  out = model((X, Y, Z))
  assert isinstance(out, tuple) and len(out) == 3
  w, b = dense.weights
  np.testing.assert_allclose(out[0], X @ w + b, rtol=1e-6)
  np.testing.assert_array_equal(out[1], Y)
  np.testing.assert_array_equal(out[2], Z)
  # init and output_signature agree with the call.
  signature = shapes.signature((X, Y, Z))
  assert model.output_signature(signature) == shapes.signature(out)


def test_trax_combinator_examples():
  # From Trax 1.4's combinators_test: Serial(None) on a list passes both items through,
  # Branch/Parallel on exactly their inputs.
  a, b = np.array([1, 2, 3, 4]), np.array([10, 20, 30])
  assert tl.to_list(tl.Serial(None)([a, b])) == [[1, 2, 3, 4], [10, 20, 30]]
  assert tl.to_list(tl.Serial([])([a, b])) == [[1, 2, 3, 4], [10, 20, 30]]
  divide = lambda val: tl.Fn('DivideBy', lambda x: x / val)
  assert tl.to_list(tl.Serial(divide(2.0), divide(5.0))(np.array([10, 20, 30]))) == [1, 2, 3]
  assert tl.to_list(
    tl.Branch(tl.Add(), divide(0.5))([np.array([1, 2, 3]), np.array([10, 20, 30])])
  ) == [[11, 22, 33], [2, 4, 6]]
  const = tl.Fn('ReturnConst', lambda: np.array([3, 4, 5, 6]))
  assert tl.to_list(tl.Serial(divide(3), const)(np.array([3, 6, 9, 12]))) == [
    [3, 4, 5, 6],
    [1, 2, 3, 4],
  ]


def test_every_combinator_passes_extra_items_through():
  extra = (Y, Z)
  for layer, inputs in [
    (tl.Parallel(tl.Dense(2), tl.Dense(3)), (X, X)),
    (tl.Branch(tl.Dense(2), None), (X,)),
    (tl.Residual(tl.Dense(3)), (X,)),
    (tl.Cond(tl.Fn('Positive', lambda x: jnp.sum(x) > 0), tl.Dense(3), tl.Dense(3)), (X, X)),
    (tl.Scan(tl.Fn('Add', lambda x, c: (x + c, x + c), n_out=2)), (X, X[0])),
    (tl.Cache(tl.Dense(3)), (X,)),
    (tl.AssertFunction('...a->...b', tl.Dense(3)), (X,)),
  ]:
    alone = layer(inputs if len(inputs) > 1 else inputs[0])
    with_extra = layer(inputs + extra)
    alone = alone if isinstance(alone, tuple) else (alone,)
    assert len(with_extra) == len(alone) + 2, layer.name
    for got, want in zip(with_extra, alone + extra):
      np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=layer.name)


def test_models_keep_pass_through_outputs():
  # An LM's Serial given (tokens, targets) returns (logits, targets), as Trax 1.x models
  # returned their extra stack items.
  model = tl.Serial(tl.Embedding(8, 4), tl.Dense(8))
  tokens = np.array([[1, 2, 3]], np.int32)
  logits, targets = model((tokens, tokens))
  assert logits.shape == (1, 3, 8)
  np.testing.assert_array_equal(targets, tokens)


def test_leaf_layers_need_exactly_their_inputs():
  # Trax 1.4's PureLayer: "Input tuple length (3) does not equal required number of
  # inputs (2)".
  with pytest.raises(tl.LayerError, match='expects exactly 2 inputs.*got 3 items'):
    tl.Add()((X, X, X))
  with pytest.raises(tl.LayerError, match='expects 2 inputs.*single array'):
    tl.Serial(tl.Add())(X)
  with pytest.raises(tl.LayerError, match='expects 3 inputs, got a stack of 2'):
    tl.Serial(tl.Add(), tl.Add())((X, X))
  # A leaf with one input takes what it is given, as in Trax.
  assert tl.Fn('Count', lambda xs: len(xs))((X, X, X)) == 3


def test_stack_helpers_as_trax():
  assert tl.inputs_from_stack((1, 2, 3), 1) == 1
  assert tl.inputs_from_stack((1, 2, 3), 2) == (1, 2)
  assert tl.inputs_from_stack(5, 1) == 5
  assert tl.outputs_onto_stack(9, (1, 2, 3), 2) == (9, 3)
  assert tl.outputs_onto_stack((8, 9), (1, 2), 2) == (8, 9)
  assert tl.outputs_onto_stack(9, (1,), 1) == 9


def test_cond_returns_its_branch_outputs_unwrapped():
  positive = tl.Fn('Positive', lambda x: jnp.sum(x) > 0)
  layer = tl.Cond(positive, tl.Fn('Double', lambda x: 2.0 * x))
  out = layer((np.ones(2, np.float32), X))
  assert not isinstance(out, (tuple, list))
  np.testing.assert_allclose(out, 2.0 * X)
  np.testing.assert_allclose(layer((-np.ones(2, np.float32), X)), X)
  two = tl.Cond(
    positive,
    tl.Fn('Both', lambda a, b: (a + b, a - b), n_out=2),
    tl.Fn('Swap', lambda a, b: (b, a), n_out=2),
  )
  s, d = two((np.ones(2), X, 2.0 * X))
  np.testing.assert_allclose(s, 3.0 * X)
  np.testing.assert_allclose(d, -X)


def test_call_inside_jit_leaks_no_tracers():
  loss = tl.WeightedCategoryCrossEntropy()
  dense = tl.Dense(3)

  @jax.jit
  def step(logits, targets, weights):
    return loss((logits, targets, weights)) + jnp.sum(dense(logits))

  logits = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
  targets, weights = np.array([0, 1, 2, 0]), np.ones(4, np.float32)
  first = step(logits, targets, weights)
  np.testing.assert_allclose(step(logits, targets, weights), first)
  # Nothing traced stayed on the layers: they still run eagerly.
  w, b = dense.weights
  assert not isinstance(w, jax.core.Tracer)
  np.testing.assert_allclose(
    loss((logits, targets, weights)) + jnp.sum(dense(logits)), first, rtol=1e-6
  )
  # A stateful layer's traced new state is not kept either.
  norm = tl.BatchNorm(axis=(0,))
  jax.jit(lambda x: norm(x))(logits)
  assert not any(isinstance(s, jax.core.Tracer) for s in jax.tree.leaves(norm.state))


class ClippedGradientIdentity(tl.Layer):
  """`x * w`, whose backward pass clips the input gradient to [-1, 1] (a custom gradient)."""

  def init_weights_and_state(self, input_signature):
    self.weights = fnp.array(3.0, fnp.float32)

  def forward(self, x):
    return x * self.weights

  @property
  def has_backward(self):
    return True

  def backward(self, inputs, output, grad, weights, state, new_state, rng):
    return fnp.clip(grad * weights, -1.0, 1.0), fnp.sum(grad * inputs)


def test_custom_backward_gives_the_gradients():
  layer = ClippedGradientIdentity()
  weights, state = layer.init(shapes.ShapeDtype((3,)))
  x = np.array([1.0, -2.0, 0.5], np.float32)
  np.testing.assert_allclose(layer(x), 3.0 * x)

  def loss(x, w):
    return jnp.sum(layer.pure_fn(x, w, state, RNG)[0] * np.array([1.0, 0.1, -2.0]))

  grad_x, grad_w = jax.grad(loss, argnums=(0, 1))(x, weights)
  # Autodiff would give 3 * [1, 0.1, -2]; the backward pass clips that to [-1, 1].
  np.testing.assert_allclose(grad_x, [1.0, 0.3, -1.0])
  np.testing.assert_allclose(grad_w, np.sum(x * np.array([1.0, 0.1, -2.0])), rtol=1e-6)
  # Inside a Serial and under the TF backend too.
  model = tl.Serial(ClippedGradientIdentity(), tl.Fn('Sum', lambda y: fnp.sum(y * y)))
  weights, state = model.init(shapes.ShapeDtype((3,)))
  with fastmath.use_backend('tensorflow-numpy'):
    tf_grad = fastmath.grad(lambda x: model.pure_fn(x, weights, state, RNG)[0])(x)
  jax_grad = jax.grad(lambda x: model.pure_fn(x, weights, state, RNG)[0])(x)
  np.testing.assert_allclose(np.asarray(tf_grad), jax_grad, rtol=1e-6)
  np.testing.assert_allclose(jax_grad, np.clip(2 * 3.0 * x * 3.0, -1.0, 1.0), rtol=1e-6)
