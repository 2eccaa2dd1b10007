"""Tests of the Layer contract: init, pure_fn, __call__, rng, sharing, errors, flattening."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
RNG = harness.RNG
X = S((2, 3))


def _is_tracer(x):
  return isinstance(x, jax.core.Tracer)


def test_init_is_deterministic_per_rng():
  model = lambda: tl.Serial(tl.Dense(4), tl.Relu(), tl.Dense(2))
  first, _ = model().init(X, rng=jax.random.PRNGKey(7))
  again, _ = model().init(X, rng=jax.random.PRNGKey(7))
  other, _ = model().init(X, rng=jax.random.PRNGKey(8))
  harness.assert_trees_close(first, again, 0.0, 0.0)
  for a, b in zip(jax.tree.leaves(first)[::2], jax.tree.leaves(other)[::2]):
    assert not np.allclose(a, b)
  # Sibling layers draw from different keys: same shapes, different values.
  dense_a, dense_b = tl.Serial(tl.Dense(3), tl.Dense(3)).init(S((2, 3)), rng=RNG)[0]
  assert not np.allclose(dense_a[0], dense_b[0])


def test_fresh_layer_rng_is_prng_key_zero():
  layer = tl.Dense(3)
  np.testing.assert_array_equal(layer.rng, jax.random.PRNGKey(0))
  default, _ = layer.init(X)
  explicit, _ = tl.Dense(3).init(X, rng=jax.random.PRNGKey(0))
  harness.assert_trees_close(default, explicit, 0.0, 0.0)


def test_call_initializes_and_keeps_state():
  layer = tl.Serial(tl.Dense(4), tl.Relu())
  y = layer(np.ones((2, 3), np.float32))
  assert y.shape == (2, 4)
  (w, b), () = layer.weights
  np.testing.assert_allclose(y, np.maximum(np.ones((2, 3)) @ w + b, 0.0), rtol=1e-6)


def test_repeated_calls_advance_the_rng_and_a_fixed_rng_reproduces():
  dropout = tl.Dropout(0.5)
  x = np.ones((64,), np.float32)
  first, second = dropout(x), dropout(x)
  assert not np.array_equal(first, second)
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(dropout(x, rng=key), dropout(x, rng=key))
  np.testing.assert_array_equal(tl.Dropout(0.5, mode='eval')(x), x)


def test_shared_layer_has_one_copy_and_summed_gradients():
  dense = tl.Dense(3)
  model = tl.Serial(dense, tl.Relu(), dense)
  weights, state = model.init(X, rng=RNG)
  assert weights[2] == tl.GET_WEIGHTS_FROM_CACHE
  flat, _ = tl.flatten_weights_and_state(weights, state)
  assert len(flat) == 2
  x = harness.random_inputs(X)

  def by_hand(w, b):  # the same model written directly in jax
    return jnp.sum((jnp.maximum(x @ w + b, 0.0) @ w + b) ** 2)

  def by_layer(weights):
    return jnp.sum(model.pure_fn(x, weights, state, RNG)[0] ** 2)

  (w, b), _, _ = weights
  np.testing.assert_allclose(by_layer(weights), by_hand(w, b), rtol=1e-6)
  grads = jax.grad(by_layer)(weights)
  expected = jax.grad(by_hand, argnums=(0, 1))(w, b)
  harness.assert_trees_close(grads[0], expected, atol=1e-6, rtol=1e-6)


def test_pure_fn_under_jit_and_grad_leaves_no_tracers():
  model = tl.Serial(tl.Dense(4), tl.Dropout(0.1), tl.Dense(2))
  weights, state = model.init(X, rng=RNG)
  x = harness.random_inputs(X)
  jax.jit(model.pure_fn)(x, weights, state, RNG)
  jax.grad(lambda w: model.pure_fn(x, w, state, RNG)[0].sum())(weights)
  for leaf in jax.tree.leaves((model.weights, model.state, model.rng)):
    assert not _is_tracer(leaf)
  harness.assert_trees_close(model.weights, weights, 0.0, 0.0)


def test_layer_error_names_the_path_and_where_the_layer_was_made():
  model = tl.Serial(tl.Dense(4), tl.Dense(2))
  model.init(X)
  with pytest.raises(tl.LayerError) as error:
    model(np.ones((2, 5), np.float32))
  message = str(error.value)
  assert 'layer path: Serial > Dense_4' in message
  assert 'created at test_base.py:' in message
  assert '(2, 5)' in message and 'expect 3' in message
  assert error.value.path == ['Serial', 'Dense_4']


def test_layer_error_for_a_wrong_number_of_inputs():
  with pytest.raises(
    tl.LayerError, match=r'(?s)Serial \(created at test_base\.py:\d+\).*Serial expects 2 inputs'
  ):
    tl.Serial(tl.Add())(np.ones((2,), np.float32))


def test_output_and_weights_signatures_compute_nothing():
  model = tl.Serial(tl.Dense(4), tl.Dropout(0.5), tl.Dense(2))
  weights_signature, state_signature = model.weights_and_state_signature(X)
  assert weights_signature == ((S((3, 4)), S((4,))), (), (S((4, 2)), S((2,))))
  assert state_signature == ((), S((), np.float32), ())
  assert model.weights == ((), (), ())  # not initialized by asking
  assert model(np.ones((2, 3), np.float32)).shape == (2, 2)  # so __call__ still initializes
  assert model.output_signature(X) == S((2, 2))


def test_flatten_and_unflatten_weights_and_state():
  dense = tl.Dense(4)
  model = tl.Serial(tl.Dense(4), tl.Dropout(0.5), dense, tl.Relu(), dense)
  weights, state = model.init(S((2, 4)), rng=RNG)
  flat_weights, flat_state = tl.flatten_weights_and_state(weights, state)
  # Trax 1.x order: depth first, Dense as (w, b), the shared second use skipped.
  assert [w.shape for w in flat_weights] == [(4, 4), (4,), (4, 4), (4,)]
  assert [s.shape for s in flat_state] == [()]
  rebuilt = tl.unflatten_weights_and_state(
    flat_weights, flat_state, model.weights_and_state_signature(S((2, 4)))
  )
  harness.assert_trees_close(rebuilt, (weights, state), 0.0, 0.0)
  with pytest.raises(ValueError, match='left over'):
    tl.unflatten_weights_and_state(flat_weights + flat_weights, flat_state, (weights, state))


def test_repr_shows_the_tree():
  model = tl.Serial(
    tl.Dense(4), tl.Branch(tl.Relu(), None), tl.Select([1, 0]), tl.Residual(tl.Dense(4))
  )
  assert repr(model) == '\n'.join(
    [
      'Serial_out2[',
      '  Dense_4',
      '  Branch_out2[',
      '    Relu',
      '    Serial',
      '  ]',
      '  Select[1,0]_in2_out2',
      '  Residual[',
      '    Dense_4',
      '  ]',
      ']',
    ]
  )
  assert repr(tl.Accuracy()) == 'Accuracy_in3'  # sublayers_to_print=[] hides the inside


def test_fn_counts_inputs_and_checks_outputs():
  assert tl.Fn('F', lambda a, b, c: a).n_in == 3
  # As Trax 1.4's Fn: default, keyword and variable arguments are refused.
  with pytest.raises(ValueError, match='default args'):
    tl.Fn('F', lambda a, b, c=1: a)
  with pytest.raises(ValueError, match=r'keyword args'):
    tl.Fn('F', lambda x, **kwargs: x)
  with pytest.raises(ValueError, match='keyword-only'):
    tl.Fn('F', lambda x, *, y: x)
  with pytest.raises(ValueError, match='variable args'):
    tl.Fn('F', lambda *xs: xs)
  with pytest.raises(tl.LayerError, match='must return 2 outputs'):
    tl.Fn('F', lambda x: x, n_out=2)(np.ones(2))


def test_weights_setter_checks_the_tree():
  model = tl.Serial(tl.Dense(2), tl.Relu())
  model.init(X)
  with pytest.raises(ValueError, match='2 sublayers.*got 3 entries'):
    model.weights = ((), (), ())


def test_observing_calls_sees_every_layer_innermost_first():
  import contextlib

  dense, relu = tl.Dense(2), tl.Relu()
  model = tl.Serial(dense, relu)
  model.init(shapes.ShapeDtype((1, 3)))
  events = []

  @contextlib.contextmanager
  def observer(layer):
    events.append(('enter', layer.name))
    yield
    events.append(('exit', layer.name))

  with tl.observing_calls(observer):
    model(np.ones((1, 3), np.float32))
  assert events == [
    ('enter', 'Serial'),
    ('enter', 'Dense_2'),
    ('exit', 'Dense_2'),
    ('enter', 'Relu'),
    ('exit', 'Relu'),
    ('exit', 'Serial'),
  ]
  model(np.ones((1, 3), np.float32))  # Outside: not observed.
  assert len(events) == 6


def test_walk_yields_each_layer_once_parents_first_with_index_paths():
  dense, relu = tl.Dense(3), tl.Relu()
  inner = tl.Serial(dense, relu)
  model = tl.Serial(inner, tl.Parallel(dense, tl.Dropout(0.1)), relu)
  walked = list(model.walk())
  assert [path for path, _ in walked] == [(), (0,), (0, 0), (0, 1), (1,), (1, 1)]
  assert [layer for _, layer in walked][:4] == [model, inner, dense, relu]
  assert walked[-1][1].name == 'Dropout'
  assert list(dense.walk()) == [((), dense)]
