"""KerasLayer: Keras layers inside trax models, trained by trax (Keras on JAX only)."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
import trax.optimizers
from trax_keras import KerasLayer
from tests.trax_keras import helpers


@helpers.tf_only
def test_other_backends_are_refused_with_a_fix():
  with pytest.raises(ValueError, match=r"needs Keras on the JAX backend.*KERAS_BACKEND=jax"):
    KerasLayer(keras.layers.Dense(2))


@helpers.jax_only
def test_outputs_and_weights_are_the_keras_layers():
  dense = keras.layers.Dense(3)
  layer = KerasLayer(dense)
  x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
  weights, state = layer.init(shapes.signature(x))
  assert [w.shape for w in weights] == [(4, 3), (3,)] and state == ()
  outputs, _ = layer.pure_fn(x, weights, state, jax.random.PRNGKey(0))
  np.testing.assert_allclose(outputs, dense(x), rtol=1e-6)
  # Gradients reach the Keras weights: d sum(x @ w + b) / db = batch size.
  grads = jax.grad(lambda w: jnp.sum(layer.pure_fn(x, w, state, jax.random.PRNGKey(0))[0]))(weights)
  np.testing.assert_allclose(grads[1], np.full(3, 5.0), rtol=1e-6)
  np.testing.assert_allclose(grads[0], np.tile(x.sum(0)[:, None], (1, 3)), rtol=1e-5)


@helpers.jax_only
def test_trains_inside_a_trax_serial_with_a_trax_optimizer():
  x, y = helpers.regression_data(128)
  keras_block = keras.Sequential(
    [
      keras.layers.Dense(32, activation='relu'),
      keras.layers.BatchNormalization(),
      keras.layers.Dropout(0.1),
    ]
  )
  model = tl.Serial(KerasLayer(keras_block), tl.Dense(1))
  weights, state = model.init(shapes.signature(x), rng=jax.random.PRNGKey(0))
  optimizer = trax.optimizers.Adam(0.01)
  slots, opt_params = optimizer.tree_init(weights)

  @jax.jit
  def step(i, weights, state, slots, rng):
    def loss(w):
      predictions, new_state = model.pure_fn(x, w, state, rng)
      return jnp.mean((predictions - y) ** 2), new_state

    (value, new_state), grads = jax.value_and_grad(loss, has_aux=True)(weights)
    weights, slots, _ = optimizer.tree_update(i, grads, weights, slots, opt_params)
    return weights, new_state, slots, value

  start_mean = np.asarray(state[0][0]).copy()  # BatchNormalization's moving mean
  losses = []
  for i in range(30):
    weights, state, slots, value = step(i, weights, state, slots, jax.random.PRNGKey(i))
    losses.append(float(value))
  assert losses[-1] < 0.3 * losses[0], losses
  assert not np.allclose(state[0][0], start_mean)  # Keras' statistics are trax state
  eval_model = tl.Serial(KerasLayer(keras_block, mode='eval'), tl.Dense(1))
  predictions, _ = eval_model.pure_fn(x, weights, state, jax.random.PRNGKey(0))
  assert np.mean((predictions - y) ** 2) < losses[0]


@helpers.jax_only
def test_serialized_keras_layer_makes_a_describable_trax_layer():
  layer = KerasLayer(keras.saving.serialize_keras_object(keras.layers.Dense(2)))
  rebuilt = tl.from_config(layer.config())
  assert isinstance(rebuilt, KerasLayer) and rebuilt.keras_layer.units == 2


@helpers.jax_only
def test_several_inputs_and_outputs():
  inputs = [keras.Input((3,)), keras.Input((3,))]
  added = keras.layers.Add()(inputs)
  keras_model = keras.Model(inputs, [added, keras.layers.Dense(2)(added)])
  layer = KerasLayer(keras_model, n_in=2, n_out=2)
  a = np.ones((4, 3), np.float32)
  weights, state = layer.init((shapes.signature(a), shapes.signature(a)))
  (total, projected), _ = layer.pure_fn((a, 2 * a), weights, state, jax.random.PRNGKey(0))
  np.testing.assert_allclose(total, 3 * a)
  assert projected.shape == (4, 2)


@helpers.jax_only
def test_custom_layers_get_training_only_when_their_call_takes_it():
  class Square(keras.layers.Layer):
    def call(self, x):
      return x * x

  class Mode(keras.layers.Layer):
    def call(self, x, training=None):
      return x + (1.0 if training else 0.0)

  x = np.full((2, 3), 3.0, np.float32)
  np.testing.assert_allclose(tl.Serial(KerasLayer(Square()))(x), 9.0)
  np.testing.assert_allclose(KerasLayer(Mode(), mode='train')(x), 4.0)
  np.testing.assert_allclose(KerasLayer(Mode(), mode='eval')(x), 3.0)


@helpers.jax_only
def test_keras_layer_inside_a_traxlayer_trains_with_fit():
  from trax_keras import TraxLayer

  dense = keras.saving.serialize_keras_object(keras.layers.Dense(16, activation='relu'))
  layer = TraxLayer(tl.Serial(KerasLayer(dense), tl.Dense(1)), seed=0)
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  x, y = helpers.regression_data(128)
  losses = model.fit(x, y, epochs=6, batch_size=32, verbose=0).history['loss']
  assert losses[-1] < 0.5 * losses[0], losses
  assert len(layer.trainable_variables) == 4
