"""`optimizers.Trainer`, Trax 1.x's hand-driven training step, against a hand-written step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trax import optimizers
from trax import shapes
import trax.layers as tl


def test_one_step_is_an_sgd_step_on_the_loss():
  model_with_loss = tl.Serial(tl.Dense(1), tl.L2Loss())
  x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
  y, w = x.sum(1, keepdims=True), np.ones((8, 1), np.float32)
  model_with_loss.init(shapes.signature((x, y, w)))
  (w0, b0), _ = model_with_loss.weights
  optimizer = optimizers.SGD(0.1)
  optimizer.tree_init(model_with_loss.weights)
  trainer = optimizers.Trainer(model_with_loss, optimizer, n_devices=1)

  def loss(w, b):
    return jnp.mean((x @ w + b - y) ** 2)

  expected_loss = loss(w0, b0)
  grad_w, grad_b = jax.grad(loss, argnums=(0, 1))(w0, b0)
  got_loss, stats = trainer.one_step((x, y, w), jax.random.PRNGKey(0), step=0)
  np.testing.assert_allclose(got_loss, expected_loss, rtol=1e-6)
  np.testing.assert_allclose(stats['loss'], expected_loss, rtol=1e-6)
  (w1, b1), _ = model_with_loss.weights
  np.testing.assert_allclose(w1, w0 - 0.1 * grad_w, rtol=1e-5)
  np.testing.assert_allclose(b1, b0 - 0.1 * grad_b, rtol=1e-5)
  trainer.one_step((x, y, w), jax.random.PRNGKey(1), step=1, learning_rate=0.0)
  np.testing.assert_allclose(model_with_loss.weights[0][0], w1)  # No move at rate 0.


def test_trainer_checks_its_arguments():
  model_with_loss = tl.Serial(tl.Dense(1), tl.L2Loss())
  with pytest.raises(ValueError, match='tree_init'):
    optimizers.Trainer(model_with_loss, optimizers.Adam())
  with pytest.raises(ValueError, match='adasum'):
    optimizers.Trainer(model_with_loss, optimizers.Adam(), adasum=True)
