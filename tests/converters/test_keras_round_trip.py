"""The whole migration path on the models Keras ships (`keras.applications`, weights=None):

from_keras -> outputs equal to Keras' (`training=False`, relative error <= 1e-4) -> training
with trax's `Loop`, whose first step is Keras' own `train_on_batch` step (the BatchNorm
moving statistics, which both update with the same momentum, and the weights' update) ->
to_keras (native Keras layers only) and to_saved_model -> outputs equal to the trained
trax model's again (relative error <= 1e-4).

Dropout is switched off on the Keras side (rate 0) so the step is deterministic: trax's
dropout draws other random bits than Keras'. The step is compared as a whole (direction
and length of the update of all weights), not array by array: with random weights and
batch norm over 4 small images, these gradients are sensitive to float rounding (in Keras
alone, changing the inputs by a relative 1e-7 moves ResNet50's first-kernel gradient by
3%). The batch statistics, computed in the forward pass, agree closely; the engines'
step-by-step equality on a well-conditioned model is `test_keras_training_engines`.
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
  model = build(
    weights=None,
    input_shape=(size, size, 3),
    classes=CLASSES,
    classifier_activation=None,
    **options,
  )
  randomize_batch_norm(model)
  for layer in model.layers:
    if isinstance(layer, keras.layers.Dropout):
      layer.rate = 0.0
  return model


def _floats(tree) -> list:
  """The float32 arrays of a tree of weights or state, flat (trax's order)."""
  arrays = [np.asarray(a) for a in fastmath.tree_flatten(tree)]
  return [a for a in arrays if a.dtype == np.float32]


def _batch_norms(layer: tl.Layer) -> list:
  if isinstance(layer, tl.BatchNorm):
    return [layer]
  return [norm for sublayer in layer.sublayers for norm in _batch_norms(sublayer)]


def _assert_steps_agree(start: tl.Layer, trax_trained: tl.Layer, keras_trained: tl.Layer) -> None:
  """The weights' updates agree in direction and length; each BatchNorm statistic moved
  as Keras', within 1% of its move."""
  updates = [
    np.concatenate(
      [(a - b).ravel() for a, b in zip(_floats(trained.weights), _floats(start.weights))]
    )
    for trained in (trax_trained, keras_trained)
  ]
  norms = [np.linalg.norm(u) for u in updates]
  assert updates[0] @ updates[1] / (norms[0] * norms[1]) >= 0.99
  assert 0.9 <= norms[0] / norms[1] <= 1.1
  for i, (s, t, k) in enumerate(
    zip(*(_floats(layer.state) for layer in (start, trax_trained, keras_trained)))
  ):
    error, moved = np.max(np.abs(t - k)), np.max(np.abs(k - s))
    assert error <= 1e-2 * moved + 1e-6 * np.max(np.abs(s)), (
      f'state array {i} of shape {s.shape}: moved {moved:.3g}, differs by {error:.3g}'
    )


def _eval_copy(layer: tl.Layer) -> tl.Layer:
  copy = tl.from_config(layer.config(), mode='eval', safe_mode=False)
  copy.weights, copy.state = layer.weights, layer.state
  return copy


def _round_trip(family: str, tmp_path, verify_without_jax: bool) -> None:
  keras_model = _keras_model(family)
  size = keras_model.input_shape[1]
  # Pixels for the models that preprocess their inputs themselves, else what Keras'
  # preprocess_input gives: with [-1, 1] pixels, Rescaling(1/255) makes nearly flat images.
  preprocesses = any(isinstance(l, keras.layers.Rescaling) for l in keras_model.layers)
  low, high = (0.0, 255.0) if preprocesses else (-1.0, 1.0)
  x = np.random.default_rng(1).uniform(low, high, (BATCH, size, size, 3)).astype(np.float32)
  y = (np.arange(BATCH) % CLASSES).astype(np.int32)

  # In: the conversion computes what Keras computes.
  layer, _ = converters.from_keras(keras_model)
  (got,) = trax_outputs(layer, x, jit=True)
  assert relative_error(got, np.asarray(keras_model(x, training=False))) <= 1e-4

  # Trained by trax: the first step is Keras' step (BatchNorm statistics included).
  trained, _ = converters.from_keras(keras_model, mode='train')
  start, _ = converters.from_keras(keras_model, mode='train')
  task = training.TrainTask(
    iter(lambda: (x, y), None),
    tl.CategoryCrossEntropy(),
    optimizers.SGD(LEARNING_RATE),
    n_steps_per_checkpoint=1,
  )
  loop = training.Loop(trained, task, random_seed=0)
  loop.run(1)
  keras_model.compile(
    keras.optimizers.SGD(LEARNING_RATE),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
  )
  keras_model.train_on_batch(x, y)
  keras_trained, _ = converters.from_keras(keras_model, mode='train')
  _assert_steps_agree(start, loop.model, keras_trained)
  moved = [
    not np.array_equal(before, after)
    for norm, norm_before in zip(_batch_norms(loop.model), _batch_norms(start))
    for before, after in zip(_floats(norm_before.state), _floats(norm.state))
  ]
  n_norms = sum(isinstance(l, keras.layers.BatchNormalization) for l in keras_model.layers)
  assert len(moved) == 2 * n_norms and all(moved)  # So the comparison above means much.
  loop.run(2)
  losses = [v for _, v in loop.history.get('train', 'metrics/CategoryCrossEntropy')]
  assert len(losses) == 3 and np.all(np.isfinite(losses))

  # Out: native Keras and a SavedModel, both computing the trained model.
  eval_model = _eval_copy(loop.model)
  (expected,) = trax_outputs(eval_model, x, jit=True)
  signature = shapes.ShapeDtype((None, size, size, 3))
  back = converters.to_keras(eval_model, signature, allow_wrapping=False)
  assert relative_error(back(x, training=False), expected) <= 1e-4
  export = converters.to_saved_model(
    eval_model, str(tmp_path / 'serving'), signature, tolerance=1e-4, verify=verify_without_jax
  )
  if verify_without_jax:  # In a process where jax cannot be imported.
    report = export.verification
    assert not report.jax_importable and len(report.cases) >= 2
    assert report.max_abs_error['serving_default/logits'] <= 1e-4 * max(
      1.0, report.scale['serving_default/logits']
    )
  served = helpers.serve_in_process(export.path, inputs=x)['logits']
  assert relative_error(served, expected) <= 1e-4


@pytest.mark.parametrize('family', DEFAULT_RUN)
def test_round_trip(family, tmp_path):
  _round_trip(family, tmp_path, verify_without_jax=False)


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_round_trip_family_sweep(family, tmp_path):
  _round_trip(family, tmp_path, verify_without_jax=True)
