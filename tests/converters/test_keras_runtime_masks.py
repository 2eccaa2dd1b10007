"""from_keras refuses a model whose run-time-only Keras mask its conversion would lose,
and converts those where the mask still arrives (against Keras on padded ids)."""

import json

import pytest

from tests.trax_keras import helpers as keras_helpers


@pytest.fixture(scope='module')
def results() -> dict:
  pytest.importorskip('keras_hub')
  output = keras_helpers.run_python(
    'from tests.converters import runtime_mask_models\nruntime_mask_models.main()', 'jax'
  )
  lines = (line for line in output.splitlines() if line.startswith('{'))
  return {'output': output, **{r['model']: r for r in map(json.loads, lines)}}


def test_an_exact_layer_reading_a_run_time_mask_is_refused_with_the_fix(results):
  pooled = results['pooled']
  assert [name.split('_')[0] for name in pooled['refused']] == ['global']
  assert 'from token_and_position_embedding' in pooled['message']
  assert 'mask_zero=False' in pooled['message'] and 'padding_mask=' in pooled['message']


def test_a_wrapped_layer_the_mask_would_reach_through_a_trax_layer_is_refused(results):
  refused = results['norm_between']['refused']
  assert [name.startswith('transformer_encoder') for name in refused] == [True]
  assert 'from layer_normalization' in results['norm_between']['message']


def test_an_exact_layer_the_mask_reaches_from_a_wrapped_one_runs_wrapped_and_equals_keras(
  results,
):
  chain = results['wrapped_chain']
  assert chain['error'] < 1e-5
  assert chain['wrapped'] == ['TokenAndPositionEmbedding', 'TransformerEncoder']


def test_the_mask_reaches_a_wrapped_layer_through_an_eval_mode_dropout(results):
  through = results['through_dropout']
  assert through['error'] < 1e-5
  assert through['wrapped'] == ['TokenAndPositionEmbedding', 'TransformerEncoder']


def test_with_the_mask_as_a_graph_tensor_keras_hub_layers_map_exactly(results):
  assert results['explicit_mask']['error'] < 1e-5
  assert results['explicit_mask']['wrapped'] == []


def test_a_model_keras_cannot_run_on_zeros_converts_with_a_warning_that_says_so(results):
  assert results['fails_on_zeros']['error'] < 1e-5
  assert 'TransformerEncoder' in results['fails_on_zeros']['wrapped']  # Custom: wrapped.
  assert 'could not check for Keras masks' in results['output']
  assert 'all ids are padding' in results['output']  # Keras' own error, named.
