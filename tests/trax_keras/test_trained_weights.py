"""`TraxLayer.trax_layer` holds what Keras trained: after `fit`, and after loading a file."""

import keras
import numpy as np
import pytest

from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax_keras import TraxLayer
from tests.trax_keras import helpers

x, y = helpers.regression_data(n=128)


def _eval_outputs(layer: tl.Layer, inputs) -> np.ndarray:
  """The oracle: the trax layer's own weights, run by JAX in eval mode."""
  with fastmath.use_backend('jax'):
    outputs, _ = tl.from_config(layer.config(), mode='eval').pure_fn(
      inputs, layer.weights, layer.state, np.zeros(2, np.uint32)
    )
  return np.asarray(outputs)


@pytest.fixture(scope='module')
def trained():
  """A model with BatchNorm statistics and weights that `fit` moved far from the start."""
  layer = TraxLayer(
    tl.Serial(tl.Dense(16), tl.BatchNorm(axis=(0,), momentum=0.5), tl.Relu(), tl.Dense(1)),
    seed=0,
    name='block',
  )
  model = keras.Sequential([keras.Input((4,)), layer])
  model.compile(keras.optimizers.Adam(0.05), 'mse')
  before = model.predict(x, verbose=0)
  model.fit(x, 10 * y, epochs=4, batch_size=32, verbose=0)
  return model, before


def test_trax_layer_after_fit_computes_what_keras_trained(trained):
  model, before = trained
  after = model.predict(x, verbose=0)
  assert np.max(np.abs(after - before)) > 1.0  # Training moved the outputs: stale is wrong.
  layer = model.get_layer('block')
  trax_layer = layer.trax_layer
  np.testing.assert_allclose(_eval_outputs(trax_layer, x), after, atol=1e-4, rtol=1e-5)
  for w, v in zip(fastmath.tree_flatten(trax_layer.weights), layer.trainable_variables):
    np.testing.assert_array_equal(w, keras.ops.convert_to_numpy(v))
  state = fastmath.tree_flatten(trax_layer.state)
  assert state and all(np.any(s != 0) for s in state)  # The moved BatchNorm statistics.


def test_trax_layer_after_loading_a_keras_file(tmp_path, trained):
  model, _ = trained
  model.save(tmp_path / 'model.keras')
  loaded = keras.saving.load_model(tmp_path / 'model.keras').get_layer('block')
  np.testing.assert_allclose(
    _eval_outputs(loaded.trax_layer, x), model.predict(x, verbose=0), atol=1e-4, rtol=1e-5
  )


def test_trax_layer_before_build_holds_what_it_was_given():
  given = tl.Dense(3)
  assert not TraxLayer(given).trax_layer.has_weights
  given.init(shapes.ShapeDtype((1, 2)))
  w = np.asarray(given.weights[0])
  layer = TraxLayer(given)
  assert layer.trax_layer is given
  layer(np.ones((1, 2), np.float32))
  np.testing.assert_array_equal(layer.trax_layer.weights[0], w)
