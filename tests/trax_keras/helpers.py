"""Shared helpers of the trax_keras tests: backend facts, small models, oracles, processes.

The Keras backend is fixed when keras is first imported, so each test module runs on the
backend of its process: TensorFlow in the main test run, JAX when `test_jax_backend.py`
reruns the modules with KERAS_BACKEND=jax.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from trax import fastmath
import trax.layers as tl

BACKEND = keras.backend.backend()
REPO = pathlib.Path(__file__).resolve().parents[2]

tf_only = pytest.mark.skipif(BACKEND != 'tensorflow', reason='TensorFlow backend only')
jax_only = pytest.mark.skipif(BACKEND != 'jax', reason='JAX backend only')


def mlp() -> tl.Layer:
  return tl.Serial(tl.Dense(32), tl.Relu(), tl.Dense(1))


def regression_data(n: int = 256, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, d)).astype(np.float32)
  y = (np.sin(x).sum(-1, keepdims=True) + 0.5).astype(np.float32)
  return x, y


def flat_trainable(layer: keras.layers.Layer) -> list[np.ndarray]:
  return [keras.ops.convert_to_numpy(v) for v in layer.trainable_variables]


def keras_gradients(layer: keras.layers.Layer, x, projection, training: bool = True):
  """Gradients of `sum(layer(x) * projection)` w.r.t. the trainable variables, by Keras'
  own backend machinery (tf.GradientTape or jax.grad of `stateless_call`)."""
  if BACKEND == 'tensorflow':
    import tensorflow as tf

    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(layer(x, training=training) * projection)
    return [g.numpy() for g in tape.gradient(loss, layer.trainable_variables)]
  non_trainable = [v.value for v in layer.non_trainable_variables]

  def loss(trainable):
    y, _ = layer.stateless_call(trainable, non_trainable, x, training=training)
    return jnp.sum(y * projection)

  trainable = [v.value for v in layer.trainable_variables]
  return [np.asarray(g) for g in jax.jit(jax.grad(loss))(trainable)]


def jax_gradients(trax_layer: tl.Layer, weights, state, x, projection, rng):
  """The oracle: `jax.grad` of the same loss through the trax layer's pure function."""

  def loss(w):
    with fastmath.use_backend('jax'):
      y, _ = trax_layer.pure_fn(x, w, state, rng)
    return jnp.sum(y * projection)

  return [np.asarray(g) for g in fastmath.tree_flatten(jax.jit(jax.grad(loss))(weights))]


def run_python(code: str, backend: str, timeout: float = 600, **env: str) -> str:
  """Runs `code` in a fresh Python with KERAS_BACKEND=`backend`; returns its stdout."""
  environment = {
    **os.environ,
    'KERAS_BACKEND': backend,
    'TF_CPP_MIN_LOG_LEVEL': '2',
    'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]),
    **env,
  }
  process = subprocess.run(
    [sys.executable, '-c', textwrap.dedent(code)],
    cwd=REPO,
    env=environment,
    capture_output=True,
    text=True,
    timeout=timeout,
  )
  assert process.returncode == 0, (
    f'subprocess on the {backend} backend failed:\n{process.stdout[-3000:]}\n'
    f'{process.stderr[-5000:]}'
  )
  return process.stdout


def model_with_every_kind_of_variable() -> keras.Model:
  """Weights, BatchNorm state, a dropout seed and integer inputs, around native layers."""
  from trax_keras import TraxLayer

  ids = keras.Input((6,), dtype='int32')
  trax_block = TraxLayer(
    tl.Serial(
      tl.Embedding(20, 8),
      tl.Dense(8),
      tl.BatchNorm(axis=(0, 1), momentum=0.5),
      tl.Dropout(0.2),
      tl.Dense(3),
    ),
    seed=1,
    name='trax_block',
  )
  outputs = keras.layers.Dense(2)(keras.layers.Flatten()(trax_block(ids)))
  model = keras.Model(ids, outputs)
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  return model


def ids_and_targets() -> tuple[np.ndarray, np.ndarray]:
  ids = np.random.default_rng(0).integers(0, 20, (32, 6)).astype(np.int32)
  targets = np.random.default_rng(1).normal(size=(32, 2)).astype(np.float32)
  return ids, targets
