"""Recurrent models: Trax 1.x weight layout, incremental decoding, stacking."""

import numpy as np
import pytest

import trax.layers as tl
from trax import models
from tests.models import helpers


def test_rnnlm_has_trax1_flat_weights():
  model = models.RNNLM(vocab_size=20, d_model=16)
  signature = helpers.int_signature(3, 7)
  weight_shapes, state_shapes = helpers.flat_weight_and_state_shapes(model, signature)
  # Embedding; two LSTM cells (w over [x, h], b); output Dense. State: the dropout rate.
  assert weight_shapes == [(20, 16), (32, 64), (64,), (32, 64), (64,), (16, 20), (20,)]
  assert state_shapes == [()]
  assert helpers.output_shape(model, signature) == (3, 7, 20)


@pytest.mark.parametrize('n_layers', [1, 3])
def test_rnnlm_stacks_any_number_of_cells(n_layers):
  model = models.RNNLM(
    vocab_size=10,
    d_model=4,
    n_layers=n_layers,
    rnn_cell=tl.GRUCell,
    rnn_cell_d_state_multiplier=1,
    mode='eval',
  )
  signature = helpers.int_signature(2, 5)
  weight_shapes, _ = helpers.flat_weight_and_state_shapes(model, signature)
  gru_weights = [(8, 8), (8,), (8, 4), (4,)]
  assert weight_shapes == [(10, 4)] + n_layers * gru_weights + [(4, 10), (10,)]
  assert helpers.output_shape(model, signature) == (2, 5, 10)


def test_rnnlm_rejects_zero_layers():
  with pytest.raises(ValueError, match='n_layers >= 1'):
    models.RNNLM(vocab_size=10, n_layers=0)


@pytest.mark.parametrize(
  'factory, config',
  [
    (models.RNNLM, dict(vocab_size=12, d_model=6)),
    (models.GRULM, dict(vocab_size=12, d_model=6, n_layers=2)),
  ],
)
def test_language_models_predict_one_token_at_a_time_equals_eval(factory, config):
  tokens = np.random.default_rng(0).integers(0, 12, (2, 6)).astype(np.int32)
  eval_model, predict_model = helpers.eval_and_predict(
    factory, config, helpers.int_signature(2, 6), helpers.int_signature(2, 1)
  )
  np.testing.assert_allclose(
    helpers.decode_one_at_a_time(predict_model, tokens), eval_model(tokens), atol=1e-5
  )


def test_grulm_has_trax1_flat_weights():
  model = models.GRULM(vocab_size=20, d_model=16, n_layers=2)
  signature = helpers.int_signature(3, 7)
  weight_shapes, _ = helpers.flat_weight_and_state_shapes(model, signature)
  gru = [(32, 32), (32,), (32, 16), (16,)]
  assert weight_shapes == [(20, 16)] + 2 * gru + [(16, 20), (20,)]
  assert helpers.output_shape(model, signature) == (3, 7, 20)


SEQ2SEQ = dict(
  input_vocab_size=12,
  target_vocab_size=10,
  d_model=8,
  n_encoder_layers=2,
  n_decoder_layers=1,
  n_attention_heads=2,
)


def test_lstm_seq2seq_attn_has_trax1_flat_weights_and_outputs():
  model = models.LSTMSeq2SeqAttn(**SEQ2SEQ)
  signature = (helpers.int_signature(2, 4), helpers.int_signature(2, 3))
  weight_shapes, _ = helpers.flat_weight_and_state_shapes(model, signature)
  lstm = [(16, 32), (32,)]
  assert weight_shapes == (
    [(12, 8)]
    + 2 * lstm  # encoder
    + [(10, 8)]
    + lstm  # pre-attention decoder
    + 4 * [(8, 8), (8,)]  # attention: q, k, v, output
    + lstm
    + [(8, 10), (10,)]
  )  # decoder
  assert (model.n_in, model.n_out) == (2, 2)
  assert helpers.output_shape(model, signature) == ((2, 3, 10), (2, 3))


def test_lstm_seq2seq_attn_predict_one_target_at_a_time_equals_eval():
  rng = np.random.default_rng(1)
  source = rng.integers(1, 12, (2, 5)).astype(np.int32)
  source[0, 3:] = 0  # padding
  targets = rng.integers(1, 10, (2, 4)).astype(np.int32)
  eval_model, predict_model = helpers.eval_and_predict(
    models.LSTMSeq2SeqAttn,
    SEQ2SEQ,
    (helpers.int_signature(2, 5), helpers.int_signature(2, 4)),
    (helpers.int_signature(2, 5), helpers.int_signature(2, 1)),
  )
  log_probs, passed_targets = eval_model((source, targets))
  np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, atol=1e-5)
  np.testing.assert_array_equal(passed_targets, targets)
  np.testing.assert_allclose(
    helpers.decode_one_at_a_time(predict_model, targets, source), log_probs, atol=1e-5
  )


def test_lstm_seq2seq_attn_ignores_source_padding_in_attention():
  model = models.LSTMSeq2SeqAttn(**SEQ2SEQ, mode='eval')
  targets = np.array([[1, 2, 3]], np.int32)
  short = np.array([[3, 4, 5, 0, 0]], np.int32)
  weights, state = helpers.init(model, (helpers.int_signature(1, 5), helpers.int_signature(1, 3)))
  # Only the first three source positions can be attended to, so the padding's
  # encoder vectors (which depend on the embedding of id 0) must not matter.
  table = np.array(weights[1][0][0])  # Parallel > Encoder > Embedding
  table[0] += np.random.default_rng(2).normal(size=table.shape[1])
  changed = list(weights)
  changed[1] = ((table, *weights[1][0][1:]), *weights[1][1:])
  outputs, _ = model.pure_fn((short, targets), weights, state, helpers.RNG)
  changed_outputs, _ = model.pure_fn((short, targets), tuple(changed), state, helpers.RNG)
  np.testing.assert_allclose(changed_outputs[0], outputs[0], atol=1e-6)
