"""TraxLayer under Keras 3's distribution API on the JAX backend (8 forced CPU devices).

`keras.distribution.DataParallel` replicates the TraxLayer's variables and splits the
batches; `ModelParallel` with a `LayoutMap` over TraxLayer variable paths
(`.../serial/0/dense/w`) splits the weights it names. Both must train to the weights of
the same model fitted without a distribution, on one device (the oracle), dropout and
all.
"""

import pytest

from tests.trax_keras import helpers

_FIT_DISTRIBUTED = '''
import jax
import keras
import numpy as np
import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers

assert keras.backend.backend() == 'jax' and len(jax.devices()) == 8
x, y = helpers.regression_data(64)

def fit(distribution):
  keras.distribution.set_distribution(distribution)
  layer = TraxLayer(tl.Serial(tl.Dense(32), tl.Relu(), tl.Dropout(0.2), tl.Dense(8),
                              tl.Relu(), tl.Dense(1)), seed=0)
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.Adam(0.01), 'mse')
  losses = model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
  keras.distribution.set_distribution(None)
  return layer, losses.history['loss']

one_device, losses = fit(None)
devices = keras.distribution.list_devices()
data_parallel, data_parallel_losses = fit(keras.distribution.DataParallel(devices=devices))
layout_map = keras.distribution.LayoutMap(
    keras.distribution.DeviceMesh((2, 4), ['batch', 'model'], devices))
layout_map['.*serial/0/dense/w'] = (None, 'model')  # Column-split first Dense...
layout_map['.*serial/0/dense/b'] = ('model',)
layout_map['.*serial/3/dense/w'] = ('model', None)  # ...row-split second (Megatron style).
model_parallel, model_parallel_losses = fit(
    keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name='batch'))

paths = [v.path.split('/', 2)[-1] for v in model_parallel.trainable_variables]
assert paths[:3] == ['serial/0/dense/w', 'serial/0/dense/b', 'serial/3/dense/w'], paths
specs = [tuple(v.value.sharding.spec) for v in model_parallel.trainable_variables]
assert specs[:3] == [(None, 'model'), ('model',), ('model', None)], specs
assert {len(v.value.sharding.device_set) for v in data_parallel.trainable_variables} == {8}
assert all(v.value.sharding.is_fully_replicated for v in data_parallel.trainable_variables)
assert losses[-1] < losses[0]
for found in (data_parallel_losses, model_parallel_losses):
  np.testing.assert_allclose(found, losses, rtol=1e-5)
expected = helpers.flat_trainable(one_device)
for layer in (data_parallel, model_parallel):
  for w, v in zip(helpers.flat_trainable(layer), expected):
    np.testing.assert_allclose(w, v, rtol=1e-5, atol=1e-6)
print('ok')
'''


@pytest.mark.slow  # A Keras-on-JAX process with 8 devices fitting three models: ~10 s.
def test_traxlayer_fits_under_data_and_model_parallel_like_one_device():
  output = helpers.run_python(
    _FIT_DISTRIBUTED,
    'jax',
    JAX_PLATFORMS='cpu',
    XLA_FLAGS='--xla_force_host_platform_device_count=8',
  )
  assert output.strip().endswith('ok'), output[-2000:]
