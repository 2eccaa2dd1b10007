"""TraxLayer under tf.distribute.MirroredStrategy on two logical CPU devices (slow)."""

import pytest

from tests.trax_keras import helpers

_MIRRORED = '''
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices('CPU')[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras
import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers

strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
assert strategy.num_replicas_in_sync == 2
x, y = helpers.regression_data(128)
with strategy.scope():
  layer = TraxLayer(tl.Serial(tl.Dense(16), tl.BatchNorm(axis=(0,)), tl.Relu(),
                              tl.Dropout(0.1), tl.Dense(1)), seed=0)
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.Adam(0.01), 'mse')
losses = model.fit(x, y, epochs=3, batch_size=32, verbose=0).history['loss']
assert losses[-1] < losses[0], losses
mean, var, n_batches = layer.trax_state()[1]
assert n_batches == 12, n_batches  # 3 epochs of 4 steps, counted once per step
# Each replica saw half a batch; the statistics are the replicas' mean, and finite.
assert np.all(np.isfinite(mean)) and not np.allclose(mean, 0.)
predictions = model.predict(x, verbose=0)
assert predictions.shape == (128, 1) and np.all(np.isfinite(predictions))
print('ok')
'''


@pytest.mark.slow  # a TensorFlow process of its own, ~15 s
@helpers.tf_only
def test_fit_under_mirrored_strategy_on_two_cpus():
  assert helpers.run_python(_MIRRORED, 'tensorflow').strip().endswith('ok')
