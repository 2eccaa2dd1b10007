"""Tests of Accelerate: same numbers as the plain layer, on one device and on 8 CPU devices."""

import textwrap

import jax
import numpy as np

from trax import shapes
import trax.layers as tl
from tests.layers import harness
from tests.supervised import helpers as supervised_helpers

S = shapes.ShapeDtype
RNG = harness.RNG

PARITY_CASES = [
  harness.Case('Accelerate', lambda: tl.Accelerate(tl.Serial(tl.Dense(4), tl.Relu())), S((2, 3))),
]


def test_weights_and_state_pass_through_to_the_wrapped_layer():
  layer = tl.Serial(tl.Dense(4), tl.Dropout(0.5))
  fast = tl.Accelerate(layer)
  weights, state = fast.init(S((2, 3)), rng=RNG)
  plain_weights, plain_state = tl.Serial(tl.Dense(4), tl.Dropout(0.5)).init(S((2, 3)), rng=RNG)
  harness.assert_trees_close((weights, state), (plain_weights, plain_state), 0.0, 0.0)
  assert jax.tree.structure(fast.weights) == jax.tree.structure(layer.weights)
  new_weights = jax.tree.map(lambda w: w + 1.0, weights)
  fast.weights = new_weights
  harness.assert_trees_close(layer.weights, new_weights, 0.0, 0.0)


def test_an_initialized_layer_needs_no_init():
  layer = tl.Dense(4)
  x = np.ones((2, 3), np.float32)
  expected = layer(x)
  fast = tl.Accelerate(layer)
  np.testing.assert_allclose(fast(x), expected)
  assert fast.n_devices == jax.local_device_count()


def test_jit_leaves_no_tracers_and_gradients_match():
  layer = tl.Serial(tl.Dense(4), tl.Relu())
  fast = tl.Accelerate(layer)
  x = harness.random_inputs(S((6, 3)))
  weights, state = fast.init(S((6, 3)), rng=RNG)
  y, _ = fast.pure_fn(x, weights, state, RNG)
  assert not any(isinstance(w, jax.core.Tracer) for w in jax.tree.leaves(layer.weights))
  expected, _ = layer.pure_fn(x, weights, state, RNG)
  np.testing.assert_allclose(y, expected, rtol=1e-6)
  loss = lambda model: lambda w: model.pure_fn(x, w, state, RNG)[0].sum()
  harness.assert_trees_close(jax.grad(loss(fast))(weights), jax.grad(loss(layer))(weights))


_EIGHT_DEVICES = textwrap.dedent('''
    import jax, numpy as np
    import trax.layers as tl
    from trax import shapes
    from trax.fastmath import numpy as fnp

    assert jax.local_device_count() == 8
    @tl.register
    def minus_batch_mean(x):
      return x - fnp.mean(x, axis=0, keepdims=True)

    rng = jax.random.PRNGKey(1)
    def model():
      return tl.Serial(tl.Dense(16), tl.Relu(), tl.Dropout(0.5),
                       tl.Fn('MinusBatchMean', minus_batch_mean), tl.Dense(3))
    for batch, n_devices, expect_split in ((16, None, 8), (10, None, 1), (12, 4, 4)):
      plain, fast = model(), tl.Accelerate(model(), n_devices=n_devices)
      signature = shapes.ShapeDtype((batch, 5))
      weights, state = plain.init(signature, rng=rng)
      fast_weights, _ = fast.init(signature, rng=rng)
      for w, v in zip(jax.tree.leaves(weights), jax.tree.leaves(fast_weights)):
        np.testing.assert_array_equal(w, v)
        assert len(v.sharding.device_set) == fast.n_devices  # replicated
      x = np.random.default_rng(0).normal(size=(batch, 5)).astype(np.float32)
      y, _ = fast.pure_fn(x, fast_weights, state, rng)
      expected, _ = plain.pure_fn(x, weights, state, rng)
      np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)
      shard_rows = {s.data.shape[0] for s in y.addressable_shards}
      assert shard_rows == {batch // expect_split}, (batch, shard_rows)
    loss = tl.Accelerate(tl.CategoryCrossEntropy())
    logits = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    targets = np.arange(16, dtype=np.int32) % 4
    np.testing.assert_allclose(loss((logits, targets)),
                               tl.CategoryCrossEntropy()((logits, targets)), rtol=1e-6)
    print('ok')
''')


def test_data_parallel_on_eight_devices_matches_the_plain_layer():
  supervised_helpers.run_on_eight_devices(_EIGHT_DEVICES)
