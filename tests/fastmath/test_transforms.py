"""Transforms and control flow on the tensorflow-numpy (and numpy) backend against jax.

The functions under test are written once against `fastmath`, as layers are, and run under
each backend; jax's results are the oracle.
"""

import jax
import numpy as np
import pytest
import tensorflow as tf

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as fnp

RNG = np.random.default_rng(2)
X = RNG.normal(size=(4, 3)).astype(np.float32)
WEIGHTS = {
  'dense': (RNG.normal(size=(3, 2)).astype(np.float32), np.zeros(2, np.float32)),
  'table': RNG.normal(size=(5, 2)).astype(np.float32),
}
IDS = np.array([0, 3, 3, 1], np.int32)


def loss(weights, x, ids):
  w, b = weights['dense']
  hidden = fnp.tanh(fnp.dot(x, w) + b) + fnp.take(weights['table'], ids, axis=0)
  return fnp.mean(hidden**2), hidden


def on_backends(fn, *args, backends=('jax', 'tensorflow-numpy')):
  """`fn(*args)` under each backend, as numpy trees."""
  results = []
  for name in backends:
    with fastmath.use_backend(name):
      results.append(jax.tree.map(np.asarray, fn(*args)))
  return results


def assert_trees_close(actual, expected, atol=1e-5):
  assert jax.tree.structure(actual) == jax.tree.structure(expected)
  for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, e, rtol=1e-5, atol=atol)


def test_grad_over_nested_weights_matches_jax():
  grad_fn = lambda *args: fastmath.grad(lambda *a: loss(*a)[0])(*args)
  expected, actual = on_backends(grad_fn, WEIGHTS, X, IDS)
  assert_trees_close(actual, expected)
  assert actual['table'].shape == (5, 2)  # Dense, though a gather's gradient is sparse.


def test_value_and_grad_with_argnums_and_aux_matches_jax():
  fn = lambda *args: fastmath.value_and_grad(loss, argnums=(0, 1), has_aux=True)(*args)
  expected, actual = on_backends(fn, WEIGHTS, X, IDS)
  assert_trees_close(actual, expected)


def test_grad_inside_jit_matches_jax():
  fn = lambda *args: fastmath.jit(fastmath.grad(lambda w, x: loss(w, x, IDS)[0]))(*args)
  expected, actual = on_backends(fn, WEIGHTS, X)
  assert_trees_close(actual, expected)


def test_grad_rejects_integer_inputs_and_vector_outputs():
  with fastmath.use_backend('tensorflow-numpy'):
    with pytest.raises(TypeError, match='float'):
      fastmath.grad(lambda i: fnp.sum(i))(IDS)
    with pytest.raises(TypeError, match='scalar'):
      fastmath.grad(lambda x: x * 2)(X)


def test_vjp_matches_jax_and_can_be_called_twice():
  def fn(x):
    outputs, vjp_fn = fastmath.vjp(lambda x, w: (fnp.dot(x, w), fnp.sin(x)), x, WEIGHTS['dense'][0])
    cotangents = (np.ones((4, 2), np.float32), np.full((4, 3), 2.0, np.float32))
    return outputs, vjp_fn(cotangents), vjp_fn(cotangents)

  expected, actual = on_backends(fn, X)
  assert_trees_close(actual, expected)


def test_vjp_with_aux():
  fn = lambda x: fastmath.vjp(lambda x: (fnp.exp(x), x + 1), x, has_aux=True)
  with fastmath.use_backend('tensorflow-numpy'):
    out, vjp_fn, aux = fn(X)
    np.testing.assert_allclose(vjp_fn(np.ones_like(X))[0].numpy(), np.exp(X), rtol=1e-6)
    np.testing.assert_allclose(aux.numpy(), X + 1)


@pytest.mark.parametrize('in_axes, out_axes', [(0, 0), ((0, None), 0), ((1, None), 1)])
def test_vmap_matches_jax(in_axes, out_axes):
  fn = lambda x, w: fastmath.vmap(
    lambda x, w: fnp.dot(x, w) + fnp.sum(x), in_axes=in_axes, out_axes=out_axes
  )(x, w)
  w = X[:3] if in_axes == 0 else WEIGHTS['dense'][0]
  x = X[:3] if in_axes != (1, None) else X.T
  expected, actual = on_backends(fn, x, w)
  assert_trees_close(actual, expected)


def test_custom_vjp_matches_jax():
  def clip_gradient(x, bound):  # Identity forward, gradient clipped to [-bound, bound].
    return x

  def fwd(x, bound):
    return x, ()

  def bwd(bound, residuals, g):
    return (fnp.clip(g, -bound, bound),)

  def fn(x):
    f = fastmath.custom_vjp(clip_gradient, nondiff_argnums=(1,))
    f.defvjp(fwd, bwd)
    return fastmath.grad(lambda x: fnp.sum(f(x, 0.5) * x))(x)

  expected, actual = on_backends(lambda x: (fn(x), fastmath.jit(fn)(x)), X)
  assert_trees_close(actual, expected)
  np.testing.assert_allclose(actual[0], np.clip(X, -0.5, 0.5) + X, rtol=1e-6)


def test_custom_vjp_over_trees():
  def fn(pair):
    f = fastmath.custom_vjp(lambda p: p[0] * p[1])
    f.defvjp(lambda p: (p[0] * p[1], p), lambda p, g: ((g * p[1] * 2, g * p[0] * 3),))
    return fastmath.grad(lambda p: fnp.sum(f(p)))(pair)

  expected, actual = on_backends(fn, (X, X + 1))
  assert_trees_close(actual, expected)


def test_remat_gives_the_same_gradient():
  fn = lambda w: fastmath.grad(
    lambda w: fastmath.remat(lambda w, x: fnp.sum(fnp.tanh(fnp.dot(x, w[0]))) + fnp.sum(w[1]))(w, X)
  )(w)
  expected, actual = on_backends(lambda w: (fn(w), fastmath.jit(fn)(w)), WEIGHTS['dense'])
  assert_trees_close(actual, expected)


def test_stop_gradient():
  fn = lambda x: fastmath.grad(lambda x: fnp.sum(x * fastmath.stop_gradient(x)))(x)
  expected, actual = on_backends(fn, X)
  assert_trees_close(actual, expected)
  np.testing.assert_allclose(actual, X)


def test_jit_with_static_arguments():
  with fastmath.use_backend('tensorflow-numpy'):
    power = fastmath.jit(lambda x, n, name=None: x**n, static_argnums=1, donate_argnums=0)
    np.testing.assert_allclose(power(X, 2).numpy(), X**2, rtol=1e-6)
    np.testing.assert_allclose(power(X, 3).numpy(), X**3, rtol=1e-5)
    scaled = fastmath.jit(lambda x, scale: x * scale if scale else x, static_argnames='scale')
    np.testing.assert_allclose(scaled(X, scale=0.0).numpy(), X)
    with pytest.raises(fastmath.BackendError, match='in_shardings'):
      fastmath.jit(lambda x: x, in_shardings=None)
    with pytest.raises(TypeError):  # Python control flow on traced values, as under jax.
      fastmath.jit(lambda x: x if x[0, 0] > 0 else -x)(X)


def test_abstract_eval_with_unknown_dimensions():
  def fn(x, y):
    batch = fastmath.shape(x)[0]
    return {'flat': fnp.reshape(x, (batch, -1)), 'sum': fnp.sum(y, axis=-1)}, x[:, 0] > 0

  with fastmath.use_backend('tensorflow-numpy'):
    out = fastmath.abstract_eval(fn)(
      shapes.ShapeDtype((None, 2, 3)), shapes.ShapeDtype((5, 4), np.int32)
    )
  assert out == (
    {'flat': shapes.ShapeDtype((None, None)), 'sum': shapes.ShapeDtype((5,), np.int32)},
    shapes.ShapeDtype((None, 3), np.bool_),
  )


# Control flow, also on the numpy backend.
BACKENDS = ('jax', 'tensorflow-numpy', 'numpy')


def test_cond_short_circuits_python_predicates():
  for name in BACKENDS[1:]:
    with fastmath.use_backend(name):
      assert fastmath.cond(True, lambda x: x + 1, lambda x: 1 / 0, 1.0) == 2.0
      assert fastmath.cond(np.bool_(False), lambda: 1 / 0, lambda: 'no') == 'no'


def test_cond_on_tensors_with_trees():
  def fn(pred, x):
    return fastmath.cond(
      pred, lambda x: {'a': x, 'b': (x * 2,)}, lambda x: {'a': -x, 'b': (x + 1,)}, x
    )

  for pred in (True, False):
    expected, actual = on_backends(lambda x, pred=pred: fastmath.jit(fn)(np.array(pred), x), X)
    assert_trees_close(actual, expected)
  with fastmath.use_backend('tensorflow-numpy'):
    assert_trees_close(
      jax.tree.map(np.asarray, fn(tf.constant(0), X)), {'a': -X, 'b': (X + 1,)}
    )  # Integer predicates: nonzero is true.


def test_fori_loop_with_a_tree_carry():
  fn = lambda x: fastmath.fori_loop(
    1, 4, lambda i, c: (c[0] * 2, c[1] + fnp.astype(i, fnp.float32)), (x, 0.0)
  )
  expected, *actual = on_backends(fn, X, backends=BACKENDS)
  for result in actual:
    assert_trees_close(result, expected)


def _scan_body(carry, x):
  total, count = carry['total'], carry['count']
  total = total + x['value'] * x['weight'][:, None]
  return {'total': total, 'count': count + 1}, (fnp.sum(total), {'seen': count}, None)


def _scan_inputs():
  xs = {
    'value': RNG.normal(size=(5, 2, 3)).astype(np.float32),
    'weight': RNG.normal(size=(5, 2)).astype(np.float32),
  }
  init = {'total': np.zeros((2, 3), np.float32), 'count': np.int32(0)}
  return init, xs


@pytest.mark.parametrize('reverse', [False, True])
def test_scan_with_nested_carries_and_outputs(reverse):
  init, xs = _scan_inputs()
  fn = lambda init, xs: fastmath.scan(_scan_body, init, xs, reverse=reverse)
  expected, *actual = on_backends(fn, init, xs, backends=BACKENDS)
  for result in actual:
    assert_trees_close(result, expected)
  assert expected[1][2] is None


def test_scan_with_length_and_no_xs():
  fn = lambda: fastmath.scan(lambda c, _: (c * 2, c), np.float32(1.0), None, length=4)
  expected, *actual = on_backends(fn, backends=BACKENDS)
  for result in actual:
    assert_trees_close(result, expected)


def test_scan_over_zero_steps():
  fn = lambda xs: fastmath.scan(lambda c, x: (c + x, x * 2), np.zeros(3, np.float32), xs)
  expected, *actual = on_backends(fn, np.zeros((0, 3), np.float32), backends=BACKENDS)
  for result in actual:
    assert_trees_close(result, expected)


def test_scan_in_tf_function_with_unknown_length():
  init, xs = _scan_inputs()
  specs = (
    {'total': tf.TensorSpec([2, 3]), 'count': tf.TensorSpec([], tf.int32)},
    {'value': tf.TensorSpec([None, 2, 3]), 'weight': tf.TensorSpec([None, 2])},
  )
  with fastmath.use_backend('tensorflow-numpy'):
    traced = tf.function(
      lambda init, xs: fastmath.scan(_scan_body, init, xs, reverse=True),
      input_signature=specs,
      autograph=False,
    )
    actual = jax.tree.map(np.asarray, traced(init, xs))
  with fastmath.use_backend('jax'):
    expected = fastmath.scan(_scan_body, init, xs, reverse=True)
  assert_trees_close(actual, expected)


def test_gradient_through_scan_matches_jax():
  def fn(w, xs):
    step = lambda h, x: (fnp.tanh(fnp.dot(h, w) + x), fnp.sum(h))
    return fastmath.grad(lambda w: fnp.sum(fastmath.scan(step, xs[0], xs)[1]))(w)

  w = RNG.normal(size=(3, 3)).astype(np.float32)
  expected, actual = on_backends(fn, w, RNG.normal(size=(4, 3)).astype(np.float32))
  assert_trees_close(actual, expected)


def test_scan_rejects_a_carry_that_changes_type():
  with fastmath.use_backend('tensorflow-numpy'):
    with pytest.raises(TypeError, match='carry'):
      fastmath.scan(lambda c, x: (fnp.astype(c, fnp.int32), x), np.float32(0), X)
