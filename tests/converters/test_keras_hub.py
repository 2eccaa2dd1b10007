"""keras_hub's embeddings and TransformerEncoder map exactly: a BertBackbone converts with
no wrapped node, computes what Keras computes, and serves from a SavedModel."""

import keras
import numpy as np
import pytest

import converters
from trax import shapes
from tests.converters import helpers

keras_hub = pytest.importorskip('keras_hub')
RNG = np.random.default_rng(0)
IDS = RNG.integers(1, 30, (2, 6)).astype(np.int32)
PADDING = np.array([[True] * 4 + [False] * 2, [True] * 6])  # Row 0: 2 padding tokens.
ATTENTION = RNG.random((2, 6, 6)) > 0.3


def _converted_outputs(model: keras.Model, inputs: 'list | dict') -> tuple[list, list]:
  """The converted model's outputs and Keras' (trax takes dict inputs sorted by key)."""
  report = converters.conversion_report(model)
  assert [s for s in report if s.status != 'exact'] == []
  layer, _ = converters.from_keras(model)
  flat = [inputs[k] for k in sorted(inputs)] if isinstance(inputs, dict) else inputs
  got = layer(tuple(flat) if len(flat) > 1 else flat[0])
  got = list(got) if isinstance(got, tuple) else [got]
  return got, keras.tree.flatten(model(inputs, training=False))


def _small_backbone(backbone_class) -> tuple[keras.Model, dict]:
  """A 2-layer keras_hub backbone of width 8, and token ids of 12 with row 1 padded."""
  backbone = backbone_class(
    vocabulary_size=50,
    num_layers=2,
    num_heads=2,
    hidden_dim=8,
    intermediate_dim=16,
    max_sequence_length=12,
  )
  padding = np.ones((2, 12), bool)
  padding[1, 8:] = False
  ids = RNG.integers(1, 50, (2, 12)).astype(np.int32)
  return backbone, {'padding_mask': padding, 'token_ids': ids}


@pytest.mark.parametrize(
  'block, block_args, masks, call_args',
  [
    ('TransformerEncoder', {}, ('padding',), {}),
    (
      'TransformerEncoder',
      {'normalize_first': True, 'activation': 'gelu'},
      ('padding', 'attention'),
      {},
    ),
    ('TransformerEncoder', {'dropout': 0.1}, ('attention',), {}),  # Keras' other softmax.
    ('TransformerEncoder', {'layer_norm_epsilon': 1e-3}, (), {}),
    ('TransformerDecoder', {}, (), {}),  # Causal.
    ('TransformerDecoder', {'normalize_first': True}, ('padding', 'attention'), {}),
    ('TransformerDecoder', {}, ('padding',), {'use_causal_mask': False}),
  ],
)
def test_transformer_blocks_equal_keras(block, block_args, masks, call_args):
  tokens = keras.Input((6,), dtype='int32')
  mask_inputs = {
    'padding': keras.Input((6,), dtype='bool'),
    'attention': keras.Input((6, 6), dtype='bool'),
  }
  x = keras_hub.layers.TokenAndPositionEmbedding(30, 6, 8)(tokens)
  prefix = 'decoder_' if block == 'TransformerDecoder' else ''
  kwargs = {f'{prefix}{name}_mask': mask_inputs[name] for name in masks}
  y = getattr(keras_hub.layers, block)(16, 2, **block_args)(x, **kwargs, **call_args)
  model = keras.Model([tokens, *(mask_inputs[m] for m in masks)], y)
  values = {'padding': PADDING, 'attention': ATTENTION}
  (got,), (expected,) = _converted_outputs(model, [IDS, *(values[m] for m in masks)])
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_position_embedding_is_the_table_broadcast_to_the_inputs():
  x = keras.Input((6, 8))
  model = keras.Model(x, keras_hub.layers.PositionEmbedding(10)(x))
  (got,), (expected,) = _converted_outputs(model, [RNG.normal(size=(2, 6, 8)).astype('f')])
  np.testing.assert_array_equal(got, expected)


def test_bert_backbone_converts_exactly_and_its_saved_model_serves_keras_outputs(tmp_path):
  bert, inputs = _small_backbone(keras_hub.models.BertBackbone)
  inputs['segment_ids'] = np.zeros_like(inputs['token_ids'])
  got, expected = _converted_outputs(bert, inputs)
  for g, e in zip(got, expected):
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
  layer, _ = converters.from_keras(bert)
  signature = (
    shapes.ShapeDtype((None, 12), np.bool_),
    shapes.ShapeDtype((None, 12), np.int32),
    shapes.ShapeDtype((None, 12), np.int32),
  )
  export = converters.to_saved_model(layer, tmp_path, signature)
  names = export.signatures['serving_default']['inputs']
  served = helpers.serve_in_process(
    export.path, **{name: inputs[key] for name, key in zip(names, sorted(inputs))}
  )
  for name, e in zip(export.signatures['serving_default']['outputs'], expected):
    g = served[name]
    np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_train_mode_has_the_encoder_s_dropouts():
  tokens = keras.Input((6,), dtype='int32')
  x = keras_hub.layers.TokenAndPositionEmbedding(30, 6, 8)(tokens)
  model = keras.Model(tokens, keras_hub.layers.TransformerEncoder(16, 2, dropout=0.25)(x))
  layer, _ = converters.from_keras(model, mode='train')
  dropouts = [l for _, l in layer.walk() if l.name == 'Dropout']
  assert len(dropouts) == 2  # After the attention and after the feed-forward block.
  y_1, y_2 = layer(IDS), layer(IDS)  # Fresh dropout masks: differ.
  assert not np.allclose(y_1, y_2)


def test_what_would_need_a_run_time_mask_or_the_reverse_call_refuses_with_the_reason():
  tokens = keras.Input((6,), dtype='int32')
  embedding = keras_hub.layers.ReversibleEmbedding(30, 8)
  logits = embedding(keras_hub.layers.TransformerEncoder(16, 2)(embedding(tokens)), reverse=True)
  masked = keras_hub.layers.TokenAndPositionEmbedding(30, 6, 8, mask_zero=True)(tokens)
  reasons = {
    s.kind + ('_reverse' if 'reverse' in s.reason else ''): s.reason
    for s in converters.conversion_report(keras.Model(tokens, [logits, masked]))
    if s.status != 'exact'
  }
  assert 'reverse=True' in reasons['ReversibleEmbedding_reverse']
  assert 'mask_zero=True' in reasons['TokenAndPositionEmbedding']


def test_gpt2_backbone_converts_exactly_and_goes_to_tf_lite_with_dynamic_shapes(tmp_path):
  gpt2, inputs = _small_backbone(keras_hub.models.GPT2Backbone)
  (got,), (expected,) = _converted_outputs(gpt2, inputs)
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
  layer, _ = converters.from_keras(gpt2)
  signature = (shapes.ShapeDtype((None, None), np.bool_), shapes.ShapeDtype((None, None), np.int32))
  export = converters.to_tflite(layer, tmp_path / 'gpt2.tflite', signature)  # Verified.
  assert 'FlexStridedSlice' not in export.op_counts and export.max_abs_error['logits'] < 1e-5


@pytest.mark.parametrize('normalize_first', [False, True])
def test_an_encoder_decoder_with_cross_attention_and_both_masks_equals_keras(normalize_first):
  source, target = keras.Input((6,), dtype='int32'), keras.Input((5,), dtype='int32')
  source_padding = keras.Input((6,), dtype='bool')
  target_padding = keras.Input((5,), dtype='bool')
  encoded = keras_hub.layers.TransformerEncoder(16, 2)(
    keras_hub.layers.TokenAndPositionEmbedding(30, 6, 8)(source), padding_mask=source_padding
  )
  decoded = keras_hub.layers.TransformerDecoder(16, 2, normalize_first=normalize_first)(
    keras_hub.layers.TokenAndPositionEmbedding(30, 5, 8)(target),
    encoded,
    decoder_padding_mask=target_padding,
    encoder_padding_mask=source_padding,
  )
  model = keras.Model([source, target, source_padding, target_padding], decoded)
  target_ids = RNG.integers(1, 30, (2, 5)).astype(np.int32)
  inputs = [IDS, target_ids, PADDING, np.array([[True] * 3 + [False] * 2, [True] * 5])]
  (got,), (expected,) = _converted_outputs(model, inputs)
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
