"""from_keras(allow_wrapping=True) on models of composite custom layers and keras_hub's:
outputs equal to Keras', weights shared, gradients through the wrapped nodes."""

import json

import keras
import pytest

import converters
from tests.trax_keras import helpers as keras_helpers

L = keras.layers


def _run_composite_models(keras_hub: bool) -> dict:
  output = keras_helpers.run_python(
    f'from tests.converters import composite_models\ncomposite_models.main(keras_hub={keras_hub})',
    'jax',
  )
  return {
    r['model']: r
    for r in map(json.loads, (line for line in output.splitlines() if line.startswith('{')))
  }


def _check_shared_and_differentiable(result: dict) -> None:
  assert result['gradients_finite'], result
  assert result['n_gradients'] == result['n_keras_weights'], result  # Shared, not copied.


def test_a_model_of_composite_custom_layers_converts_with_wrapping():
  custom = _run_composite_models(keras_hub=False)['custom']
  assert custom['error'] < 1e-5 and custom['n_outputs'] == 2
  assert custom['wrapped'] == [
    'EncoderBlock',
    'Erf',
    'Lambda',
    'Scale',
    'TokenAndPositionEmbedding',
    'TwoOutputs',
  ]
  _check_shared_and_differentiable(custom)


@pytest.mark.slow
def test_keras_hub_models_convert_exactly_or_with_wrapping():
  pytest.importorskip('keras_hub')
  results = _run_composite_models(keras_hub=True)
  assert results['bert']['error'] < 1e-5 and results['encoder_decoder']['error'] < 1e-5
  assert results['bert']['wrapped'] == []  # keras_hub's BERT layers map exactly.
  # The embedding's mask exists at run time only: the blocks it reaches run wrapped.
  assert results['encoder_decoder']['wrapped'] == [
    'TokenAndPositionEmbedding',
    'TransformerDecoder',
    'TransformerEncoder',
  ]
  for result in results.values():
    _check_shared_and_differentiable(result)


def test_wrapping_on_another_backend_names_the_layers_and_the_fix():
  x = keras.Input((4,))
  model = keras.Model(x, L.Lambda(lambda t: t * 2, name='twice')(L.Dense(4)(x)))
  with pytest.raises(converters.UnsupportedLayerError, match='KERAS_BACKEND=jax') as e:
    converters.from_keras(model, allow_wrapping=True)
  assert e.value.layers == [('twice', 'Lambda')]
