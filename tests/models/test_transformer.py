"""Transformer models: Trax 1.x weight layout and checkpoint, incremental decoding, weight
sharing, causality and masking."""

import numpy as np
import pytest

import trax.layers as tl
from trax import models
from trax.checkpoint_files import trax1_checkpoints
from tests.models import helpers

# The reference model of the Trax 1.x checkpoint in shared/testdata.
REFERENCE = dict(vocab_size=13, d_model=64, d_ff=128, n_heads=2, n_layers=2, max_len=256)
_BLOCK_SHAPES = [
  (64,),
  (64,),  # LayerNorm
  (64, 64),
  (64,),
  (64, 64),
  (64,),
  (64, 64),
  (64,),  # q, k, v Dense
  (64, 64),
  (64,),  # output Dense
  (64,),
  (64,),  # LayerNorm
  (64, 128),
  (128,),
  (128, 64),
  (64,),  # feed-forward Dense layers
]
REFERENCE_WEIGHT_SHAPES = (
  [(13, 64), (256, 64)] + 2 * _BLOCK_SHAPES + [(64,), (64,), (64, 13), (13,)]
)
SMALL_LM = dict(vocab_size=16, d_model=8, d_ff=16, n_heads=2, n_layers=2, max_len=16)
SMALL_SEQ2SEQ = dict(
  input_vocab_size=16,
  d_model=8,
  d_ff=32,
  n_heads=2,
  n_encoder_layers=2,
  n_decoder_layers=2,
  max_len=20,
)


@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_transformer_lm_has_trax1_flat_weights_and_state(mode):
  model = models.TransformerLM(**REFERENCE, mode=mode)
  weight_shapes, state_shapes = helpers.flat_weight_and_state_shapes(
    model, helpers.int_signature(2, 12)
  )
  assert weight_shapes == REFERENCE_WEIGHT_SHAPES
  assert state_shapes == [()] * 7  # Dropout rates: after the embedding, 3 per block.
  assert (model.n_in, model.n_out) == (1, 1)


@pytest.mark.skipif(not helpers.TRAX1_CHECKPOINT.exists(), reason='no Trax 1.x checkpoint')
def test_trax1_checkpoint_loads_and_still_copies():
  checkpoint = trax1_checkpoints.read(str(helpers.TRAX1_CHECKPOINT))
  # Trax 1.x kept the positional table as (1, max_len, d); the layer keeps (max_len, d).
  assert [
    np.shape(w)[1:] if i == 1 else np.shape(w) for i, w in enumerate(checkpoint.flat_weights)
  ] == REFERENCE_WEIGHT_SHAPES
  assert len(checkpoint.flat_state) == 7
  # It was trained on Trax's copy task: 0 w 0 w, with w of 5 ids in [1, 12).
  words = np.random.default_rng(0).integers(1, 12, (8, 5))
  zeros = np.zeros((8, 1), np.int64)
  sequences = np.concatenate([zeros, words, zeros, words], axis=1).astype(np.int32)

  model = models.TransformerLM(**REFERENCE, mode='eval')
  model.init_from_file(
    str(helpers.TRAX1_CHECKPOINT), weights_only=True, input_signature=helpers.int_signature(8, 12)
  )
  predicted = np.argmax(model(sequences), axis=-1)
  np.testing.assert_array_equal(predicted[:, 7:], words)

  # Greedy decoding of the copy from the prompt `0 w 0`, one token per call.
  decoder = models.TransformerLM(**REFERENCE, mode='predict')
  decoder.init_from_file(
    str(helpers.TRAX1_CHECKPOINT), weights_only=True, input_signature=helpers.int_signature(8, 1)
  )
  start_and_prompt = np.pad(sequences[:, :7], ((0, 0), (1, 0)))
  copied = [np.argmax(decoder(start_and_prompt), axis=-1)[:, -1:]]
  for _ in range(4):
    copied.append(np.argmax(decoder(copied[-1].astype(np.int32)), axis=-1))
  np.testing.assert_array_equal(np.concatenate(copied, axis=1), words)


def test_transformer_lm_predict_one_token_at_a_time_equals_eval():
  tokens = np.random.default_rng(1).integers(1, 16, (3, 7)).astype(np.int32)
  eval_model, predict_model = helpers.eval_and_predict(
    models.TransformerLM, SMALL_LM, helpers.int_signature(3, 7), helpers.int_signature(3, 1)
  )
  np.testing.assert_allclose(
    helpers.decode_one_at_a_time(predict_model, tokens), eval_model(tokens), atol=1e-5
  )


def test_transformer_lm_predict_prompt_then_tokens_equals_eval():
  tokens = np.random.default_rng(2).integers(1, 16, (2, 6)).astype(np.int32)
  eval_model, predict_model = helpers.eval_and_predict(
    models.TransformerLM, SMALL_LM, helpers.int_signature(2, 6), helpers.int_signature(2, 4)
  )
  shifted = helpers.shift_right(tokens)
  outputs = [
    predict_model(shifted[:, :4]),
    predict_model(shifted[:, 4:5]),
    predict_model(shifted[:, 5:6]),
  ]
  np.testing.assert_allclose(np.concatenate(outputs, axis=1), eval_model(tokens), atol=1e-5)


def test_transformer_predict_one_target_at_a_time_equals_eval():
  rng = np.random.default_rng(3)
  source = rng.integers(1, 16, (2, 6)).astype(np.int32)
  source[1, 4:] = 0  # padding
  targets = rng.integers(1, 16, (2, 5)).astype(np.int32)
  eval_model, predict_model = helpers.eval_and_predict(
    models.Transformer,
    SMALL_SEQ2SEQ,
    (helpers.int_signature(2, 6), helpers.int_signature(2, 5)),
    (helpers.int_signature(2, 6), helpers.int_signature(2, 1)),
  )
  logits, passed_targets = eval_model((source, targets))
  np.testing.assert_array_equal(passed_targets, targets)
  np.testing.assert_allclose(
    helpers.decode_one_at_a_time(predict_model, targets, source), logits, atol=1e-5
  )


def test_transformer_predict_encodes_the_source_once():
  source = np.random.default_rng(4).integers(1, 16, (2, 6)).astype(np.int32)
  _, predict_model = helpers.eval_and_predict(
    models.Transformer,
    SMALL_SEQ2SEQ,
    (helpers.int_signature(2, 6), helpers.int_signature(2, 1)),
    (helpers.int_signature(2, 6), helpers.int_signature(2, 1)),
  )
  start = np.zeros((2, 1), np.int32)
  state = predict_model.state
  first, _ = predict_model.pure_fn((source, start), predict_model.weights, state, helpers.RNG)
  _, state = predict_model.pure_fn((source, start), predict_model.weights, state, helpers.RNG)
  # A second step with another source gives what the same source would: it is cached.
  other_source = (source + 3) % 16
  step_other, _ = predict_model.pure_fn(
    (other_source, start), predict_model.weights, state, helpers.RNG
  )
  step_same, _ = predict_model.pure_fn((source, start), predict_model.weights, state, helpers.RNG)
  np.testing.assert_allclose(step_other[0], step_same[0], atol=1e-6)
  assert not np.allclose(step_same[0], first[0])  # Position 1 differs from position 0.


@pytest.mark.parametrize('output_vocab_size, n_tables', [(None, 1), (12, 2)])
def test_transformer_shares_one_embedding_without_an_output_vocabulary(output_vocab_size, n_tables):
  model = models.Transformer(**SMALL_SEQ2SEQ, output_vocab_size=output_vocab_size)
  shapes, _ = helpers.flat_weight_and_state_shapes(
    model, (helpers.int_signature(2, 6), helpers.int_signature(2, 5))
  )
  tables = [s for s in shapes if s in ((16, 8), (12, 8))]
  assert len(tables) == n_tables
  assert shapes[0] == (16, 8)
  per_encoder_block = 2 + 8 + 2 + 4
  per_decoder_block = 2 + 8 + 2 + 8 + 2 + 4
  assert len(shapes) == (n_tables + 2 + 2 * per_encoder_block + 2 + 2 * per_decoder_block + 2 + 2)
  assert (model.n_in, model.n_out) == (2, 2)


def test_transformer_lm_is_causal():
  model = models.TransformerLM(**SMALL_LM, mode='eval')
  tokens = np.random.default_rng(5).integers(1, 16, (1, 8)).astype(np.int32)
  changed = tokens.copy()
  changed[0, 4] = (tokens[0, 4] + 1) % 16
  difference = np.abs(model(tokens) - model(changed)).max(axis=-1)[0]
  # Logits at t predict token t from tokens < t: token 4 affects positions 5 and later.
  assert np.all(difference[:5] == 0) and np.all(difference[5:] > 1e-4)


def test_transformer_decoder_on_vectors_is_causal_and_unshifted():
  model = models.TransformerDecoder(
    None, d_model=8, d_ff=16, n_layers=1, n_heads=2, max_len=16, mode='eval'
  )
  vectors = np.random.default_rng(6).normal(size=(2, 6, 3)).astype(np.float32)
  outputs = model(vectors)
  assert outputs.shape == (2, 6, 8)
  changed = vectors.copy()
  changed[:, 3] += 1.0
  difference = np.abs(model(changed) - outputs).max(axis=(0, 2))
  assert np.all(difference[:3] == 0) and np.all(difference[3:] > 1e-4)


def test_transformer_decoder_on_tokens_predict_equals_eval():
  config = dict(vocab_size=16, d_model=8, d_ff=16, n_layers=1, n_heads=2, max_len=16)
  tokens = np.random.default_rng(7).integers(0, 16, (2, 5)).astype(np.int32)
  eval_model, predict_model = helpers.eval_and_predict(
    models.TransformerDecoder, config, helpers.int_signature(2, 5), helpers.int_signature(2, 1)
  )
  decoded = np.concatenate([predict_model(tokens[:, t : t + 1]) for t in range(5)], axis=1)
  np.testing.assert_allclose(decoded, eval_model(tokens), atol=1e-5)


def test_transformer_encoder_classifies_each_sequence_on_its_own():
  model = models.TransformerEncoder(
    16, n_classes=3, d_model=8, d_ff=16, n_layers=1, n_heads=2, max_len=16, mode='eval'
  )
  tokens = np.array([[3, 5, 7, 0, 0], [2, 4, 6, 8, 9]], np.int32)
  logits = model(tokens)
  assert logits.shape == (2, 3) and (model.n_in, model.n_out) == (1, 1)
  np.testing.assert_allclose(model(tokens[1:]), logits[1:], atol=1e-6)


def test_transformer_encoder_attends_to_non_padding_only():
  model = models.TransformerEncoder(
    16, n_classes=3, d_model=8, d_ff=16, n_layers=2, n_heads=2, max_len=16, mode='eval'
  )
  tokens = np.array([[3, 5, 7, 0, 0]], np.int32)
  weights, state = helpers.init(model, helpers.int_signature(1, 5))
  # The model up to the mean over positions (same layer instances, same weights).
  n_head_layers = 2  # Mean, Dense
  body = tl.Serial(model.sublayers[:-n_head_layers])
  body_weights, body_state = weights[:-n_head_layers], state[:-n_head_layers]
  vectors, _ = body.pure_fn(tokens, body_weights, body_state, helpers.RNG)
  table = np.array(body_weights[1])  # the embedding
  table[0] += np.random.default_rng(9).normal(size=table.shape[1])  # Moves padding only.
  changed_weights = (body_weights[0], table, *body_weights[2:])
  changed, _ = body.pure_fn(tokens, changed_weights, body_state, helpers.RNG)
  np.testing.assert_allclose(changed[:, :3], vectors[:, :3], atol=1e-6)
  assert np.abs(changed[:, 3:] - vectors[:, 3:]).min() > 0.0


def test_dropout_acts_in_train_mode_only():
  tokens = np.random.default_rng(8).integers(1, 16, (2, 6)).astype(np.int32)
  signature = helpers.int_signature(2, 6)
  eval_model = models.TransformerLM(**SMALL_LM, dropout=0.5, mode='eval')
  weights, state = helpers.init(eval_model, signature)
  train_model = models.TransformerLM(**SMALL_LM, dropout=0.5, mode='train')
  train_weights, train_state = helpers.init(train_model, signature)
  eval_logits, _ = eval_model.pure_fn(tokens, weights, state, helpers.RNG)
  train_logits, _ = train_model.pure_fn(tokens, train_weights, train_state, helpers.RNG)
  assert not np.allclose(train_logits, eval_logits, atol=1e-3)
  no_dropout = models.TransformerLM(**SMALL_LM, dropout=0.0, mode='train')
  logits, _ = no_dropout.pure_fn(tokens, *helpers.init(no_dropout, signature), helpers.RNG)
  np.testing.assert_allclose(logits, eval_logits, atol=1e-6)
