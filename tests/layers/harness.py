"""`check_layer`: the contract every trax layer passes (in the spirit of Keras' layer test).

It checks, for one layer and input signature:
- `init` is deterministic for a given rng, and `output_signature` matches real outputs;
- weights flatten and unflatten (Trax 1.x flat order) to the same tree;
- `config()` survives JSON and rebuilds a layer with the same weights and outputs;
- eval and predict mode agree on a first call (for layers that take a `mode`);
- gradients with respect to the weights match finite differences (in float64);
- the tensorflow-numpy backend gives the same outputs (and weight gradients), eagerly and
  inside `tf.function` with a `None` batch dimension.
"""

import dataclasses
import functools
import importlib
import json
import pathlib
from typing import Any
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from trax import fastmath
from trax import shapes
import trax.layers as tl

RNG = jax.random.PRNGKey(0)


# Normal floats, integers in [0, int_high), random bools.
random_inputs = shapes.random_inputs


def check_layer(
  layer: tl.Layer,
  input_signature: Any,
  *,
  inputs: Any = None,
  deterministic: bool = True,
  check_grads: bool = True,
  check_tf: bool = True,
  dynamic_batch: bool = True,
  check_modes: bool = True,
  atol: float = 1e-5,
  rtol: float = 1e-5,
  int_high: int = 8,
  fixed_state_structure: bool = True,
) -> Any:
  """Runs the layer contract checks; returns the layer's outputs on `inputs`.

  Args:
    layer: a fresh layer.
    input_signature: `ShapeDtype` (or tuple of them) of the inputs.
    inputs: concrete inputs; random ones from `input_signature` by default.
    deterministic: the layer's output does not depend on the rng (false for train-mode
      dropout and sampling); random layers skip output comparisons across runs/backends.
    check_grads: compare weight gradients with finite differences and across backends.
    check_tf: run the tensorflow-numpy backend checks.
    dynamic_batch: under TF, also trace with a `None` leading (batch) dimension.
    check_modes: compare eval and predict builds (for layers taking `mode`).
    atol, rtol: tolerances for backend comparisons.
    int_high: integer inputs are drawn from [0, int_high).
    fixed_state_structure: the new state has the structure of the state (False for
      `Cache`, whose state says in its structure whether outputs are stored).
  """
  if inputs is None:
    inputs = random_inputs(input_signature, int_high=int_high)
  weights, state = layer.init(input_signature, rng=RNG)
  weights2, state2 = _fresh(layer).init(input_signature, rng=RNG)
  _assert_trees_close(weights, weights2, 0.0, 0.0, 'init is not deterministic for one rng')

  outputs, new_state = jax.jit(layer.pure_fn)(inputs, weights, state, RNG)
  expected_sig = layer.output_signature(input_signature)
  assert shapes.signature(outputs) == _as_shape_tuples(expected_sig, outputs), (
    f'output_signature {expected_sig} != actual {shapes.signature(outputs)}'
  )
  assert not fixed_state_structure or jax.tree.structure(new_state) == jax.tree.structure(state), (
    'state tree changed structure in pure_fn'
  )

  _check_flatten(weights, state)
  _check_config(layer, input_signature, inputs, weights, outputs, deterministic)
  if check_modes:
    _check_modes(layer, input_signature, inputs)
  if check_grads and fastmath.tree_flatten(weights) and _is_float_output(outputs):
    _check_finite_differences(layer, inputs, weights, state)
  if check_tf:
    _check_tf(
      layer,
      inputs,
      weights,
      state,
      outputs,
      deterministic,
      check_grads,
      dynamic_batch,
      atol,
      rtol,
      fixed_state_structure,
    )
  return outputs


def _fresh(layer: tl.Layer) -> tl.Layer:
  return tl.from_config(json.loads(json.dumps(layer.config())))


def _as_shape_tuples(expected: Any, outputs: Any) -> Any:
  if isinstance(outputs, tuple) and not isinstance(expected, tuple):
    return (expected,)
  return expected


def _check_flatten(weights: Any, state: Any) -> None:
  flat_weights, flat_state = tl.flatten_weights_and_state(weights, state)
  rebuilt = tl.unflatten_weights_and_state(flat_weights, flat_state, (weights, state))
  _assert_trees_close(rebuilt, (weights, state), 0.0, 0.0, 'flatten/unflatten round trip')


def _check_config(layer, input_signature, inputs, weights, outputs, deterministic):
  rebuilt = _fresh(layer)
  assert type(rebuilt) is type(layer) and rebuilt.name == layer.name
  assert rebuilt.n_in == layer.n_in and rebuilt.n_out == layer.n_out
  rebuilt_weights, rebuilt_state = rebuilt.init(input_signature, rng=RNG)
  _assert_trees_close(rebuilt_weights, weights, 0.0, 0.0, 'config rebuild gives other weights')
  if deterministic:
    rebuilt_outputs, _ = rebuilt.pure_fn(inputs, rebuilt_weights, rebuilt_state, RNG)
    _assert_trees_close(rebuilt_outputs, outputs, 1e-6, 1e-6, 'config rebuild output')


def _check_modes(layer, input_signature, inputs):
  config = layer.config()
  eval_layer = tl.from_config(config, mode='eval')
  predict_layer = tl.from_config(config, mode='predict')
  eval_outputs, _ = eval_layer.pure_fn(inputs, *eval_layer.init(input_signature, rng=RNG), RNG)
  predict_outputs, _ = predict_layer.pure_fn(
    inputs, *predict_layer.init(input_signature, rng=RNG), RNG
  )
  _assert_trees_close(predict_outputs, eval_outputs, 1e-5, 1e-5, 'predict != eval')


def _is_float_output(outputs: Any) -> bool:
  return all(jnp.issubdtype(x.dtype, jnp.floating) for x in jax.tree.leaves(outputs))


def _check_finite_differences(layer, inputs, weights, state):
  """Directional derivative of a random projection of the outputs, in float64."""
  with jax.enable_x64(True):
    to64 = lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a
    weights64, inputs64 = jax.tree.map(to64, weights), jax.tree.map(to64, inputs)
    state64 = jax.tree.map(to64, state)

    def loss(w):
      outputs, _ = layer.pure_fn(inputs64, w, state64, RNG)
      leaves = jax.tree.leaves(outputs)
      projections = [
        jnp.sum(x * jnp.cos(jnp.arange(x.size).reshape(x.shape) + 1.0)) for x in leaves
      ]
      return sum(projections)

    loss = jax.jit(loss)  # One compile instead of one per primitive and shape.
    gradient = jax.jit(jax.grad(loss))(weights64)
    direction = jax.tree.map(
      lambda w: jnp.sin(jnp.arange(w.size).reshape(w.shape) * 0.7), weights64
    )
    eps = 1e-6
    plus = jax.tree.map(lambda w, d: w + eps * d, weights64, direction)
    minus = jax.tree.map(lambda w, d: w - eps * d, weights64, direction)
    numeric = (loss(plus) - loss(minus)) / (2 * eps)
    analytic = sum(
      jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(gradient), jax.tree.leaves(direction))
    )
    np.testing.assert_allclose(
      analytic,
      numeric,
      rtol=1e-5,
      atol=1e-6,
      err_msg=f'{layer.name}: gradient != finite differences',
    )


def _check_tf(
  layer,
  inputs,
  weights,
  state,
  outputs,
  deterministic,
  check_grads,
  dynamic_batch,
  atol,
  rtol,
  fixed_state_structure,
):
  import tensorflow as tf

  to_tf = functools.partial(tf.nest.map_structure, lambda a: tf.constant(np.asarray(a)))
  tf_inputs, tf_weights, tf_state = to_tf(inputs), to_tf(weights), to_tf(state)
  tf_rng = tf.constant(np.asarray(RNG))
  with fastmath.use_backend('tensorflow-numpy'):
    tf_outputs, tf_new_state = layer.pure_fn(tf_inputs, tf_weights, tf_state, tf_rng)
    if deterministic:
      _assert_trees_close(tf_outputs, outputs, atol, rtol, 'tensorflow-numpy != jax')
    assert shapes.signature(tf_outputs) == shapes.signature(outputs)
    assert not fixed_state_structure or jax.tree.structure(
      _np_tree(tf_new_state)
    ) == jax.tree.structure(state)

    if dynamic_batch:
      specs = tf.nest.map_structure(
        lambda a: tf.TensorSpec([None, *a.shape[1:]], a.dtype), tf_inputs
      )
      traced = tf.function(
        lambda x: layer.pure_fn(x, tf_weights, tf_state, tf_rng)[0], input_signature=[specs]
      )
      traced_outputs = traced(tf_inputs)
      if deterministic:
        _assert_trees_close(
          traced_outputs, outputs, atol, rtol, 'tensorflow-numpy in tf.function (None batch) != jax'
        )

    if (
      check_grads
      and deterministic
      and fastmath.tree_flatten(weights)
      and (_is_float_output(outputs))
    ):
      with fastmath.use_backend('jax'):  # The reference gradient is jax's own.
        jax_grads = jax.jit(
          jax.grad(
            lambda w: sum(
              jnp.sum(x) for x in jax.tree.leaves(layer.pure_fn(inputs, w, state, RNG)[0])
            )
          )
        )(weights)
      with tf.GradientTape() as tape:
        tape.watch(tf_weights)
        total = tf.add_n(
          [
            tf.reduce_sum(x)
            for x in tf.nest.flatten(layer.pure_fn(tf_inputs, tf_weights, tf_state, tf_rng)[0])
          ]
        )
      # Weights the output does not depend on (an untaken Cond branch) get zeros, as in jax.
      tf_grads = tape.gradient(
        total, tf_weights, unconnected_gradients=tf.UnconnectedGradients.ZERO
      )
      # Gradients of gathers (embedding lookups) arrive as IndexedSlices: make them dense.
      tf_grads = tf.nest.map_structure(tf.convert_to_tensor, tf_grads)
      _assert_trees_close(
        tf_grads, jax_grads, atol * 10, rtol * 10, 'tensorflow-numpy gradient != jax gradient'
      )


def _np_tree(tree: Any) -> Any:
  return jax.tree.map(np.asarray, tree)


def _assert_trees_close(actual: Any, expected: Any, atol: float, rtol: float, message: str) -> None:
  actual, expected = _np_tree(actual), _np_tree(expected)
  assert jax.tree.structure(actual) == jax.tree.structure(expected), (
    f'{message}: structures differ: {jax.tree.structure(actual)} vs {jax.tree.structure(expected)}'
  )
  for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=message)


def assert_trees_close(
  actual: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-6, message: str = ''
) -> None:
  """Asserts two array trees have the same structure and close leaves."""
  _assert_trees_close(actual, expected, atol, rtol, message)


def parity_cases() -> list:
  """The `PARITY_CASES` of every test module in tests/layers, in file order."""
  cases = []
  for path in sorted(pathlib.Path(__file__).parent.glob('test_*.py')):
    module = importlib.import_module(f'tests.layers.{path.stem}')
    cases.extend(getattr(module, 'PARITY_CASES', []))
  return cases


@dataclasses.dataclass
class Case:
  """One entry of the backend-parity table: `check_layer(make(), input_signature, **options)`.

  Every test module under tests/layers lists its layers in a module-level `PARITY_CASES`;
  `test_parity.py` runs them all and fails when a public layer has no case.
  """

  name: str
  make: Callable[[], tl.Layer]
  input_signature: Any
  options: dict = dataclasses.field(default_factory=dict)

  def __str__(self) -> str:
    return self.name
