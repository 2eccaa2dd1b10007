"""The whole migration path on the models Keras ships (`keras.applications`, weights=None):

from_keras -> outputs equal to Keras' (`training=False`, relative error <= 1e-4) -> training
with trax's `Loop`, whose first step equals Keras' own `train_on_batch` (weights and the
BatchNorm moving statistics, which both update with the same momentum) -> to_keras (native
Keras layers only) and to_saved_model -> outputs equal to the trained trax model's again.

Dropout is switched off on the Keras side (rate 0) so the step is deterministic: trax's
dropout draws other random bits than Keras'. Only the first step is compared with Keras:
with BatchNorm over 4 images of 1x1 pixels near the top, these small-input models are
chaotic (a 1e-6 relative change of the weights moves the second SGD step by 10%), so
float rounding alone makes later steps differ.
"""

import keras
import numpy as np
import pytest

import converters
from trax import fastmath
from trax import optimizers
from trax import shapes
import trax.layers as tl
from trax.supervised import training
from tests.converters import helpers
from tests.converters.keras_helpers import randomize_batch_norm
from tests.converters.keras_helpers import relative_error
from tests.converters.keras_helpers import trax_outputs
from tests.converters.test_keras_applications import FAMILIES

BATCH, CLASSES, LEARNING_RATE = 4, 5, 1e-4
DEFAULT_RUN = ('MobileNet',)  # With alpha=0.25, the family's smallest member.


def _keras_model(family: str) -> keras.Model:
  build, size = FAMILIES[family]
  options = {'alpha': 0.25} if family == 'MobileNet' else {}
  keras.utils.set_random_seed(0)
  model = build(weights=None, input_shape=(size, size, 3), classes=CLASSES,
                classifier_activation=None, **options)
  randomize_batch_norm(model)
  for layer in model.layers:
    if isinstance(layer, keras.layers.Dropout):
      layer.rate = 0.
  return model


def _floats(layer: tl.Layer) -> list:
  """The float arrays of a layer's weights and state, flat (trax's order)."""
  arrays = [np.asarray(a) for a in fastmath.tree_flatten((layer.weights, layer.state))]
  return [a for a in arrays if a.dtype == np.float32]


def _batch_norms(layer: tl.Layer) -> list:
  if isinstance(layer, tl.BatchNorm):
    return [layer]
  return [norm for sublayer in layer.sublayers for norm in _batch_norms(sublayer)]


def _assert_steps_agree(start: list, trax_trained: list, keras_trained: list) -> None:
  """Each array moved the same in both, up to float rounding relative to the move."""
  assert len(start) == len(trax_trained) == len(keras_trained)
  for i, (s, t, k) in enumerate(zip(start, trax_trained, keras_trained)):
    moved = np.max(np.abs(k - s))
    np.testing.assert_array_less(np.max(np.abs(t - k)), 2e-2 * moved + 1e-5 * np.max(
        np.abs(s)) + 1e-12, err_msg=f'array {i} of shape {s.shape}')


def _eval_copy(layer: tl.Layer) -> tl.Layer:
  copy = tl.from_config(layer.config(), mode='eval', safe_mode=False)
  copy.weights, copy.state = layer.weights, layer.state
  return copy


def _round_trip(family: str, tmp_path, verify_without_jax: bool) -> None:
  keras_model = _keras_model(family)
  size = keras_model.input_shape[1]
  rng = np.random.default_rng(1)
  x = rng.uniform(-1., 1., (BATCH, size, size, 3)).astype(np.float32)
  y = (np.arange(BATCH) % CLASSES).astype(np.int32)

  # In: the conversion computes what Keras computes.
  layer, _ = converters.from_keras(keras_model)
  (got,) = trax_outputs(layer, x, jit=True)
  assert relative_error(got, np.asarray(keras_model(x, training=False))) <= 1e-4

  # Trained by trax: the first step is Keras' step (BatchNorm statistics included).
  trained, _ = converters.from_keras(keras_model, mode='train')
  start = _floats(trained)
  batch_norm_statistics = [[np.asarray(s) for s in norm.state[:2]]
                           for norm in _batch_norms(trained)]
  task = training.TrainTask(iter(lambda: (x, y), None), tl.CategoryCrossEntropy(),
                            optimizers.SGD(LEARNING_RATE), n_steps_per_checkpoint=1)
  loop = training.Loop(trained, task, random_seed=0)
  loop.run(1)
  keras_model.compile(keras.optimizers.SGD(LEARNING_RATE),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  keras_model.train_on_batch(x, y)
  keras_trained, _ = converters.from_keras(keras_model, mode='train')
  _assert_steps_agree(start, _floats(loop.model), _floats(keras_trained))
  moved = [not np.array_equal(before, np.asarray(after))
           for norm, statistics in zip(_batch_norms(loop.model), batch_norm_statistics)
           for before, after in zip(statistics, norm.state[:2])]
  assert moved and all(moved)  # So the comparison with Keras' statistics means something.
  loop.run(2)
  losses = [v for _, v in loop.history.get('train', 'metrics/CategoryCrossEntropy')]
  assert len(losses) == 3 and np.all(np.isfinite(losses))

  # Out: native Keras and a SavedModel, both computing the trained model.
  eval_model = _eval_copy(loop.model)
  (expected,) = trax_outputs(eval_model, x, jit=True)
  signature = shapes.ShapeDtype((None, size, size, 3))
  back = converters.to_keras(eval_model, signature, allow_wrapping=False)
  assert relative_error(back(x, training=False), expected) <= 1e-4
  export = converters.to_saved_model(eval_model, str(tmp_path / 'serving'), signature,
                                     tolerance=1e-4, verify=verify_without_jax)
  if verify_without_jax:  # In a process where jax cannot be imported.
    report = export.verification
    assert not report.jax_importable and len(report.cases) >= 2
    assert report.max_abs_error['serving_default/logits'] <= 1e-4 * max(
        1., report.scale['serving_default/logits'])
  served = helpers.serve_in_process(export.path, inputs=x)['logits']
  assert relative_error(served, expected) <= 1e-4


@pytest.mark.parametrize('family', DEFAULT_RUN)
def test_round_trip(family, tmp_path):
  _round_trip(family, tmp_path, verify_without_jax=False)


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_round_trip_family_sweep(family, tmp_path):
  _round_trip(family, tmp_path, verify_without_jax=True)
