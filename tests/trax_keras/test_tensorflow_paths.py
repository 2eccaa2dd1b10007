"""TensorFlow backend specifics: jax2tf (`xla=True`) against TF ops, XLA compilation."""

import keras
import numpy as np

from trax import shapes
import trax.layers as tl
from trax_keras import TraxLayer
from trax_keras import backends
from tests.trax_keras import helpers

pytestmark = helpers.tf_only


def _attention_block():
  return tl.Serial(
    tl.Embedding(30, 16),
    tl.Residual(tl.LayerNorm(), tl.CausalAttention(16, n_heads=2)),
    tl.Dense(30),
  )


def test_xla_and_tensorflow_ops_agree_in_outputs_and_gradients():
  import tensorflow as tf

  model = _attention_block()
  model.init(shapes.ShapeDtype((1, 7), np.int32), rng=np.array([0, 5], np.uint32))
  ids = np.random.default_rng(0).integers(0, 30, (3, 7)).astype(np.int32)
  results = []
  for xla in (False, True):
    layer = TraxLayer(model, xla=xla)
    with tf.GradientTape() as tape:
      outputs = layer(ids, training=True)  # no dropout here: deterministic
      loss = tf.reduce_sum(outputs * np.linspace(-1, 1, 30, dtype=np.float32))
    results.append(
      (
        outputs.numpy(),
        [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, layer.trainable_variables)],
      )
    )
  (tf_outputs, tf_grads), (xla_outputs, xla_grads) = results
  np.testing.assert_allclose(xla_outputs, tf_outputs, rtol=1e-5, atol=1e-5)
  for a, b in zip(xla_grads, tf_grads):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_xla_layer_trains_with_dynamic_batch_and_length():
  x, y = helpers.regression_data(96)
  layer = TraxLayer(
    tl.Serial(tl.Dense(16), tl.Relu(), tl.Dropout(0.1), tl.Dense(1)), seed=0, xla=True
  )
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  losses = model.fit(x, y, epochs=5, batch_size=32, verbose=0).history['loss']
  assert losses[-1] < losses[0]
  for batch in (1, 3, 64):
    assert model.predict(x[:batch], verbose=0).shape == (batch, 1)
  assert len(layer._run._converted) == 2  # one conversion per mode, for every batch size
  sequence = keras.Sequential(
    [keras.Input((None,), dtype='int32'), TraxLayer(_attention_block(), xla=True)]
  )
  for length in (4, 9):
    assert sequence.predict(np.ones((2, length), np.int32), verbose=0).shape == (2, length, 30)


def test_polymorphic_shapes_name_batch_and_unknown_dimensions():
  tensor = lambda shape: keras.KerasTensor(shape)
  assert backends.polymorphic_shapes(tensor((None, 7, None))) == '(b, 7, d2)'
  assert backends.polymorphic_shapes((tensor((3, 5)), tensor(()))) == ('(b, 5)', '()')


def test_fit_with_jit_compile_on_the_tensorflow_ops():
  x, y = helpers.regression_data(64)
  model = keras.Sequential(
    [
      keras.Input((4,)),
      TraxLayer(tl.Serial(tl.Dense(16), tl.Relu(), tl.Dropout(0.1), tl.Dense(1)), seed=0),
    ]
  )
  model.compile(keras.optimizers.Adam(0.01), 'mse', jit_compile=True)
  losses = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history['loss']
  assert losses[-1] < losses[0]
