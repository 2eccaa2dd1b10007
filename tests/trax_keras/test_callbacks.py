"""Keras callbacks in a `fit` of a TraxLayer model."""

import keras
import numpy as np

import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers


def test_tensorboard_callback_writes_the_losses_of_fit(tmp_path):
  import tensorflow as tf  # Reads the event files.

  x, y = helpers.regression_data(n=64)
  model = keras.Sequential(
    [keras.Input((4,)), TraxLayer(tl.Serial(tl.Dense(8), tl.Relu(), tl.Dense(1)), seed=0)]
  )
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  history = model.fit(
    x, y, epochs=3, batch_size=16, verbose=0, callbacks=[keras.callbacks.TensorBoard(str(tmp_path))]
  )
  event_files = list((tmp_path / 'train').glob('events.out.tfevents.*'))
  assert event_files
  logged = {}
  for event in tf.compat.v1.train.summary_iterator(str(event_files[0])):
    for value in event.summary.value:
      if value.tag == 'epoch_loss':
        logged[event.step] = float(tf.make_ndarray(value.tensor))
  np.testing.assert_allclose([logged[e] for e in range(3)], history.history['loss'], rtol=1e-6)
