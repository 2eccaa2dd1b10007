"""Tests of `trax.supervised.decoding`: sampling and beam search against eval-mode
recomputation, brute force and hand-weighted models, and a real Trax 1.x checkpoint."""

import itertools
import pathlib

import numpy as np
import pytest

from trax import fastmath
from trax import models
from trax import shapes
import trax.layers as tl
from trax.supervised import decoding
from tests import shared_data

TRAX1_CHECKPOINT = shared_data.TRAX1_LM
# A Trax 1.x checkpoint of an encoder-decoder Transformer trained to copy; made by
# testdata/make_transformer_copy.py, since Trax's own file is not available offline.
TRANSFORMER_COPY = pathlib.Path(__file__).parent / 'testdata' / 'transformer_copy.pkl.gz'
VOCAB = 8
MAX_LEN = 32
EVAL_MIN_LENGTH = 16  # One padded shape for every prefix here: one compilation.


class CountTraces(tl.Layer):
  """The identity, counting its forward passes: under jit, one per trace."""

  def __init__(self):
    super().__init__()
    self.count = 0

  def forward(self, x):
    self.count += 1
    return x


def _transformer_lm(mode):
  return models.TransformerLM(
    VOCAB, d_model=16, d_ff=32, n_layers=1, n_heads=2, max_len=MAX_LEN, dropout=0.0, mode=mode
  )


def _with_weights_of(model, other, input_signature):
  """Initializes `model` and gives it the weights of `other` (Trax 1.x flat order)."""
  weights, state = model.init(input_signature)
  flat, _ = tl.flatten_weights_and_state(other.weights, ())
  model.weights, _ = tl.unflatten_weights_and_state(flat, [], (weights, state), weights_only=True)
  return model


@pytest.fixture(scope='module')
def lm():
  """`(predict_model, eval_model, trace_counter)`: one random TransformerLM, batch 2."""
  counter = CountTraces()
  predict_model = tl.Serial(counter, _transformer_lm('predict'))
  predict_model.init(shapes.ShapeDtype((2, 1), np.int32), rng=fastmath.random.get_prng(1))
  eval_model = _with_weights_of(
    _transformer_lm('eval'), predict_model, shapes.ShapeDtype((2, 1), np.int32)
  )
  return predict_model, eval_model, counter


@pytest.fixture(scope='module')
def prompt():
  return np.random.default_rng(0).integers(2, VOCAB, (2, 3)).astype(np.int32)


def _eval_log_probs(eval_model, prefix, encoder_inputs=None, length=EVAL_MIN_LENGTH):
  """`(B, V)` log-probabilities of the token after `prefix`, by one eval-mode pass.

  The model shifts its input right, so output `t` sees `prefix[:, :t]`; padding to a fixed
  `length` (which causal attention ignores) keeps to one compiled shape.
  """
  padded = np.pad(prefix, ((0, 0), (0, length - prefix.shape[1])))
  if encoder_inputs is None:
    logits = _jitted(eval_model)(padded)
  else:
    logits, _ = _jitted(eval_model)((encoder_inputs, padded))
  return np.asarray(tl.log_softmax(logits[:, prefix.shape[1]]))


_JITTED = {}


def _jitted(model):
  if model not in _JITTED:
    weights, state = model.weights, model.state
    _JITTED[model] = fastmath.jit(
      lambda x: model.pure_fn(x, weights, state, fastmath.random.get_prng(0))[0]
    )
  return _JITTED[model]


def _greedy_oracle(eval_model, prompt, n_tokens, encoder_inputs=None):
  tokens = prompt
  for _ in range(n_tokens):
    best = np.argmax(_eval_log_probs(eval_model, tokens, encoder_inputs), axis=-1)
    tokens = np.concatenate([tokens, best[:, None]], axis=1)
  return tokens[:, prompt.shape[1] :]


_BIGRAMS = {}


def _bigram(probs, mode='predict'):
  """A language model whose next token after token `a` has probabilities `probs[a]`.

  Tests share one model per mode, changing only its weights, so compiled steps are reused.
  """
  if mode not in _BIGRAMS:
    _BIGRAMS[mode] = tl.Serial(tl.ShiftRight(mode=mode), tl.Embedding(*probs.shape))
    _BIGRAMS[mode].init(shapes.ShapeDtype((2, 1), np.int32))
  _BIGRAMS[mode].weights = ((), np.log(probs).astype(np.float32))
  return _BIGRAMS[mode]


def _transitions(rows, vocab_size=6):
  """A `(V, V)` transition table: `rows[a]` maps next tokens to probabilities; the rest of
  each row is spread thinly over the other tokens."""
  probs = np.full((vocab_size, vocab_size), 1e-6)
  for a, row in rows.items():
    for b, p in row.items():
      probs[a, b] = p
  return probs / probs.sum(axis=1, keepdims=True)


def _successor(vocab_size=6):
  """Deterministic bigram: after token `a` comes `a + 1` (mod V)."""
  return _transitions({a: {(a + 1) % vocab_size: 1.0} for a in range(vocab_size)}, vocab_size)


# Sampling.


def test_greedy_decoding_equals_eval_mode_recomputation(lm, prompt):
  predict_model, eval_model, _ = lm
  expected = _greedy_oracle(eval_model, prompt, 10)
  tokens = decoding.autoregressive_sample(
    predict_model, prompt, batch_size=2, temperature=0.0, eos_id=-1, max_length=10
  )
  np.testing.assert_array_equal(tokens, expected)
  stream = decoding.autoregressive_sample_stream(
    predict_model, prompt, batch_size=2, temperature=0.0
  )
  np.testing.assert_array_equal(np.stack(list(itertools.islice(stream, 10)), 1), expected)


def test_eval_mode_decoding_equals_predict_mode(lm, prompt):
  predict_model, eval_model, _ = lm
  for temperature in (0.0, 1.0):
    rng = fastmath.random.get_prng(7)
    kwargs = dict(batch_size=2, temperature=temperature, eos_id=-1, max_length=10, rng=rng)
    np.testing.assert_array_equal(
      decoding.autoregressive_sample(
        eval_model, prompt, eval_mode=True, eval_min_length=EVAL_MIN_LENGTH, **kwargs
      ),
      decoding.autoregressive_sample(predict_model, prompt, **kwargs),
    )


def test_stream_and_sample_draw_the_same_tokens_from_a_key(lm, prompt):
  predict_model, _, _ = lm
  rng = fastmath.random.get_prng(3)
  stream = decoding.autoregressive_sample_stream(predict_model, prompt, batch_size=2, rng=rng)
  streamed = np.stack(list(itertools.islice(stream, 10)), axis=1)
  sampled = decoding.autoregressive_sample(
    predict_model, prompt, batch_size=2, eos_id=-1, max_length=10, rng=rng
  )
  np.testing.assert_array_equal(sampled, streamed)
  assert sampled.dtype == np.int32 and sampled.shape == (2, 10)


def test_sampling_is_reproducible_and_depends_on_the_key(lm, prompt):
  predict_model, _, _ = lm
  sample = lambda seed: decoding.autoregressive_sample(
    predict_model,
    prompt,
    batch_size=2,
    eos_id=-1,
    max_length=10,
    rng=fastmath.random.get_prng(seed),
  )
  np.testing.assert_array_equal(sample(5), sample(5))
  assert (sample(5) != sample(6)).any()
  # Without a key, key 0 is used: the same tokens every time.
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(predict_model, prompt, batch_size=2, eos_id=-1, max_length=10),
    sample(0),
  )


def test_low_temperature_sampling_is_greedy(lm, prompt):
  predict_model, _, _ = lm
  kwargs = dict(batch_size=2, eos_id=-1, max_length=10)
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(predict_model, prompt, temperature=1e-4, **kwargs),
    decoding.autoregressive_sample(predict_model, prompt, temperature=0.0, **kwargs),
  )


def test_sampled_frequencies_follow_the_tempered_distribution():
  probs = _transitions({a: {2: 0.5, 3: 0.3, 4: 0.15, 5: 0.05} for a in range(6)})
  model = _bigram(probs)  # Every token has the same successors: the samples are i.i.d.
  for temperature in (1.0, 0.5):
    stream = decoding.autoregressive_sample_stream(
      model, batch_size=2, temperature=temperature, rng=fastmath.random.get_prng(2)
    )
    tokens = np.concatenate(list(itertools.islice(stream, 2000)))
    tempered = probs[0] ** (1.0 / temperature)
    np.testing.assert_allclose(
      np.bincount(tokens, minlength=6) / tokens.size, tempered / tempered.sum(), atol=0.025
    )


@pytest.mark.slow  # Runs the model op by op: about 5 s.
def test_uncompiled_decoding_draws_the_same_tokens():
  model = _bigram(_transitions({a: {2: 0.4, 3: 0.3, 4: 0.3} for a in range(6)}))
  sample = lambda accelerate: decoding.autoregressive_sample(
    model,
    np.array([[2], [3]]),
    batch_size=2,
    eos_id=-1,
    max_length=6,
    accelerate=accelerate,
    rng=fastmath.random.get_prng(4),
  )
  np.testing.assert_array_equal(sample(False), sample(True))


def test_prompt_and_start_ids_are_fed_first():
  model = _bigram(_successor())
  prompts = np.array([[3, 5], [2, 2]])
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(
      model, prompts, batch_size=2, temperature=0.0, eos_id=-1, max_length=6
    ),
    [[0, 1, 2, 3, 4, 5], [3, 4, 5, 0, 1, 2]],
  )
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(
      model, batch_size=2, temperature=0.0, eos_id=-1, max_length=6, start_id=np.array([[2], [4]])
    ),
    [[3, 4, 5, 0, 1, 2], [5, 0, 1, 2, 3, 4]],
  )


@pytest.mark.parametrize('mode', ['predict', 'eval'])
def test_eos_ends_decoding_once_every_sequence_has_it(mode):
  model = _bigram(_successor(), mode)
  sample = lambda max_length: decoding.autoregressive_sample(
    model,
    np.array([[1], [2]]),
    batch_size=2,
    temperature=0.0,
    eos_id=4,
    max_length=max_length,
    eval_mode=mode == 'eval',
  )
  # Row 1 ends first and, as in Trax, goes on sampling until row 0 ends too.
  np.testing.assert_array_equal(sample(6), [[2, 3, 4], [3, 4, 5]])
  np.testing.assert_array_equal(sample(2), [[2, 3], [3, 4]])


def test_decoding_past_the_cache_is_an_error(lm, prompt):
  predict_model, _, _ = lm
  # The start token and a 3-token prompt fill 4 of the 32 positions; each later token one.
  with pytest.raises(ValueError, match='needs 33 positions .* caches hold 32'):
    decoding.autoregressive_sample(predict_model, prompt, batch_size=2, max_length=30)
  with pytest.raises(ValueError, match='needs 33 positions'):
    decoding.beam_search(predict_model, prompt, batch_size=2, max_length=30)
  stream = decoding.autoregressive_sample_stream(predict_model, prompt, batch_size=2)
  assert len(list(itertools.islice(stream, 29))) == 29
  with pytest.raises(ValueError, match='decoding 30 tokens .* needs 33 positions'):
    next(stream)


def test_each_shape_is_traced_once_however_many_tokens(lm):
  predict_model, _, counter = lm
  prompt = np.full((2, 5), 3, np.int32)  # A prompt length no other test uses.
  tokens = lambda n: list(
    itertools.islice(decoding.autoregressive_sample_stream(predict_model, prompt, batch_size=2), n)
  )
  before = counter.count
  tokens(20)
  first_run = counter.count - before  # The 6-position prompt step, maybe the 1-token step.
  tokens(25)
  decoding.autoregressive_sample(predict_model, prompt, batch_size=2, max_length=10)
  after_sample = counter.count
  decoding.autoregressive_sample(
    predict_model, prompt, batch_size=2, max_length=10, temperature=0.5
  )
  assert 1 <= first_run <= 2
  assert after_sample - before - first_run <= 1  # The loop body, traced once.
  assert counter.count == after_sample


def test_the_model_state_is_left_as_it_was(lm, prompt):
  predict_model, _, _ = lm
  state = [np.array(x) for x in tl.flatten_weights_and_state((), predict_model.state)[1]]
  first = decoding.autoregressive_sample(predict_model, prompt, batch_size=2, max_length=10)
  second = decoding.autoregressive_sample(predict_model, prompt, batch_size=2, max_length=10)
  np.testing.assert_array_equal(first, second)
  for before, after in zip(state, tl.flatten_weights_and_state((), predict_model.state)[1]):
    np.testing.assert_array_equal(np.asarray(after), before)


def test_argument_errors_say_what_arrived():
  model = _bigram(_successor())
  with pytest.raises(ValueError, match=r'shape \(2, length\) .* got int64 \(3, 4\)'):
    decoding.autoregressive_sample(model, np.zeros((3, 4), np.int64), batch_size=2)
  with pytest.raises(ValueError, match='got float32'):
    decoding.autoregressive_sample(model, np.zeros((1, 4), np.float32))
  with pytest.raises(ValueError, match='max_length must be at least 1, got 0'):
    decoding.autoregressive_sample(model, max_length=0)
  with pytest.raises(ValueError, match='temperature must be >= 0, got -1'):
    decoding.autoregressive_sample(model, temperature=-1.0)
  with pytest.raises(ValueError, match='start_id .* got'):
    decoding.autoregressive_sample(model, batch_size=2, start_id=np.zeros((3, 1), int))
  encoder_decoder = models.Transformer(
    VOCAB, d_model=16, d_ff=32, n_encoder_layers=1, n_decoder_layers=1, n_heads=2, mode='predict'
  )
  with pytest.raises(ValueError, match='takes 2 inputs .* pass the encoder input'):
    decoding.autoregressive_sample(encoder_decoder)


# Beam search.


def _log_prob(eval_model, prompt, tokens, encoder_inputs=None):
  """`(B,)` log-probabilities of `tokens` after `prompt`, by one eval-mode pass."""
  sequences = np.concatenate([prompt, tokens], axis=1)
  padded = np.pad(sequences, ((0, 0), (0, EVAL_MIN_LENGTH - sequences.shape[1])))
  if encoder_inputs is None:
    logits = _jitted(eval_model)(padded)
  else:
    logits, _ = _jitted(eval_model)((encoder_inputs, padded))
  log_probs = np.asarray(tl.log_softmax(logits))[:, prompt.shape[1] : sequences.shape[1]]
  return np.take_along_axis(log_probs, tokens[..., None], axis=-1)[..., 0].sum(axis=1)


def test_one_beam_is_greedy_decoding(lm, prompt):
  predict_model, eval_model, _ = lm
  greedy = _greedy_oracle(eval_model, prompt, 10)
  [(tokens, scores)] = decoding.beam_search(
    predict_model, prompt, batch_size=2, n_beams=1, eos_id=-1, max_length=10, length_penalty=0.0
  )
  np.testing.assert_array_equal(tokens, greedy)
  np.testing.assert_allclose(scores, _log_prob(eval_model, prompt, greedy), rtol=1e-4)


def test_enough_beams_find_the_best_sequences_exactly(lm, prompt):
  # With V**2 beams no prefix of 2 tokens is dropped, so the 3-token search is exhaustive;
  # the caches of 2 rows x 64 beams are reordered each step.
  predict_model, eval_model, _ = lm
  results = decoding.beam_search(
    predict_model,
    prompt,
    batch_size=2,
    n_beams=VOCAB**2,
    eos_id=-1,
    max_length=3,
    length_penalty=0.0,
  )
  every = np.array(list(itertools.product(range(VOCAB), repeat=3)), np.int32)  # (512, 3)
  for row in range(2):
    log_probs = _log_prob(eval_model, np.repeat(prompt[row : row + 1], len(every), axis=0), every)
    best = np.argsort(-log_probs)[:5]
    np.testing.assert_array_equal([tokens[row] for tokens, _ in results[:5]], every[best])
    np.testing.assert_allclose(
      [scores[row] for _, scores in results[:5]], log_probs[best], rtol=1e-4
    )


def test_beam_search_finds_what_greedy_misses():
  model = _bigram(
    _transitions({0: {2: 0.6, 3: 0.4}, 2: {2: 0.3, 3: 0.25, 4: 0.25, 5: 0.2}, 3: {5: 0.9, 4: 0.1}})
  )
  prompts = np.zeros((2, 0), np.int32)
  greedy = decoding.autoregressive_sample(
    model, prompts, batch_size=2, temperature=0.0, max_length=2
  )
  np.testing.assert_array_equal(greedy, [[2, 2], [2, 2]])  # Probability .18.
  (best, best_scores), (second, _) = decoding.beam_search(
    model, prompts, batch_size=2, max_length=2, length_penalty=0.0
  )
  np.testing.assert_array_equal(best, [[3, 5], [3, 5]])
  np.testing.assert_allclose(best_scores, np.log(0.36), rtol=1e-4)
  np.testing.assert_array_equal(second, greedy)


def test_finished_beams_stop_growing_and_keep_their_score():
  model = _bigram(_transitions({0: {1: 0.55, 2: 0.45}, 2: {2: 0.9, 1: 0.1}}))
  (finished, finished_scores), (grown, grown_scores) = decoding.beam_search(
    model, batch_size=2, eos_id=1, max_length=4, length_penalty=0.0
  )
  np.testing.assert_array_equal(finished, [[1, 0, 0, 0]] * 2)  # Zeros after the eos.
  np.testing.assert_allclose(finished_scores, np.log(0.55), rtol=1e-4)
  np.testing.assert_array_equal(grown, [[2, 2, 2, 2]] * 2)
  np.testing.assert_allclose(grown_scores, np.log(0.45 * 0.9**3), rtol=1e-4)
  # One beam ends at once, as greedy decoding does, and the search stops there.
  [(tokens, _)] = decoding.beam_search(model, batch_size=2, n_beams=1, eos_id=1, max_length=4)
  np.testing.assert_array_equal(tokens, [[1], [1]])
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(model, batch_size=2, temperature=0.0, max_length=4), tokens
  )


@pytest.mark.parametrize(
  'length_penalty, winner, score',
  [
    (0.0, [1, 0], np.log(0.4)),  # log-probability alone: the short one
    (2.0, [2, 1], np.log(0.6 * 0.55) / (7 / 6) ** 2),  # ((5 + 2) / 6) ** 2 favours length 2
  ],
)
def test_length_penalty_can_change_the_winner(length_penalty, winner, score):
  model = _bigram(_transitions({0: {1: 0.4, 2: 0.6}, 2: {1: 0.55, 3: 0.45}}))
  (best, best_scores), _ = decoding.beam_search(
    model, batch_size=2, eos_id=1, max_length=2, length_penalty=length_penalty
  )
  np.testing.assert_array_equal(best, [winner] * 2)
  np.testing.assert_allclose(best_scores, score, rtol=1e-4)


def test_beam_search_needs_a_state_for_the_batch(lm, prompt):
  predict_model, _, _ = lm
  with pytest.raises(ValueError, match=r'not for batch_size=1 .* model.init\(ShapeDtype'):
    decoding.beam_search(predict_model, prompt[:1], batch_size=1, max_length=3)


# Encoder-decoder.


@pytest.fixture(scope='module')
def encoder_decoder():
  """`(predict_model, eval_model, encoder_inputs)`: one random Transformer, batch 2."""

  def transformer(mode):
    return models.Transformer(
      VOCAB,
      d_model=16,
      d_ff=32,
      n_encoder_layers=1,
      n_decoder_layers=1,
      n_heads=2,
      max_len=MAX_LEN,
      dropout=0.0,
      mode=mode,
    )

  encoder_inputs = np.random.default_rng(1).integers(2, VOCAB, (2, 5)).astype(np.int32)
  signature = (shapes.signature(encoder_inputs), shapes.ShapeDtype((2, 1), np.int32))
  predict_model = transformer('predict')
  predict_model.init(signature, rng=fastmath.random.get_prng(2))
  eval_model = _with_weights_of(transformer('eval'), predict_model, signature)
  return predict_model, eval_model, encoder_inputs


def test_encoder_decoder_greedy_decoding_equals_eval_mode_recomputation(encoder_decoder):
  predict_model, eval_model, encoder_inputs = encoder_decoder
  expected = _greedy_oracle(eval_model, np.zeros((2, 0), np.int32), 8, encoder_inputs)
  kwargs = dict(batch_size=2, temperature=0.0, eos_id=-1, max_length=8)
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(predict_model, encoder_inputs, **kwargs), expected
  )


@pytest.mark.slow  # Compiles eval-mode decoding and a beam search: about 10 s.
def test_encoder_decoder_eval_mode_and_beam_search(encoder_decoder):
  predict_model, eval_model, encoder_inputs = encoder_decoder
  no_prompt = np.zeros((2, 0), np.int32)
  greedy = _greedy_oracle(eval_model, no_prompt, 6, encoder_inputs)
  np.testing.assert_array_equal(
    decoding.autoregressive_sample(
      eval_model,
      encoder_inputs,
      batch_size=2,
      temperature=0.0,
      eos_id=-1,
      max_length=6,
      eval_mode=True,
      eval_min_length=EVAL_MIN_LENGTH,
    ),
    greedy,
  )
  results = decoding.beam_search(
    predict_model,
    encoder_inputs,
    batch_size=2,
    n_beams=3,
    eos_id=-1,
    max_length=6,
    length_penalty=0.0,
  )
  for tokens, scores in results:
    np.testing.assert_allclose(
      scores, _log_prob(eval_model, no_prompt, tokens, encoder_inputs), rtol=1e-4
    )
  best_scores = results[0][1]
  assert (best_scores >= _log_prob(eval_model, no_prompt, greedy, encoder_inputs) - 1e-5).all()


# A real Trax 1.x checkpoint: TransformerLM trained in 2020 to copy its prompt.

_needs_checkpoint = pytest.mark.skipif(
  not TRAX1_CHECKPOINT.exists(), reason=f'{TRAX1_CHECKPOINT} is absent'
)
_COPY_PROMPT = np.array([[0, 3, 7, 5, 3, 2, 4, 0]], np.int32)


def _trax1_copy_model(mode):
  return models.TransformerLM(
    vocab_size=13, d_model=64, d_ff=128, n_heads=2, n_layers=2, max_len=256, mode=mode
  )


@pytest.fixture(scope='module')
def trax1_predict_model():
  model = _trax1_copy_model('predict')
  # As Trax 1.4's test: the training signature (inputs, targets); the model's Serial takes
  # the first and passes the second along.
  shape11 = shapes.ShapeDtype((1, 1), np.int32)
  model.init_from_file(str(TRAX1_CHECKPOINT), weights_only=True, input_signature=(shape11, shape11))
  return model


@_needs_checkpoint
def test_trax1_checkpoint_copies_its_prompt_in_predict_mode(trax1_predict_model):
  tokens = decoding.autoregressive_sample(
    trax1_predict_model, _COPY_PROMPT, max_length=6, temperature=0.0
  )
  assert str(tokens[0]) == '[3 7 5 3 2 4]'


@_needs_checkpoint
def test_trax1_checkpoint_copies_its_prompt_in_eval_mode():
  model = _trax1_copy_model('eval')
  model.init_from_file(str(TRAX1_CHECKPOINT), input_signature=shapes.ShapeDtype((1, 1), np.int32))
  tokens = decoding.autoregressive_sample(
    model,
    _COPY_PROMPT,
    max_length=6,
    temperature=0.0,
    eval_mode=True,
    eval_min_length=EVAL_MIN_LENGTH,
  )
  assert str(tokens[0]) == '[3 7 5 3 2 4]'


@_needs_checkpoint
@pytest.mark.slow  # Compiles a beam search of the 2-layer model: about 10 s.
def test_trax1_checkpoint_best_beam_is_the_copy(trax1_predict_model):
  (best, best_scores), (second, second_scores) = decoding.beam_search(
    trax1_predict_model, _COPY_PROMPT, n_beams=2, max_length=6
  )
  assert str(best[0]) == '[3 7 5 3 2 4]'
  assert best_scores[0] > second_scores[0] and (second != best).any()


def test_trax1_transformer_copy_checkpoint_decodes_as_trax_expects():
  # Trax 1.4's decoding_test.test_autoregressive_sample_transformer_quality, unchanged but
  # for the file's path: a predict-mode Transformer initialized with (1, 1) signatures
  # decodes an 8-token input (its encoder runs once, on all 8).
  pred_model = models.Transformer(
    d_model=64,
    d_ff=128,
    dropout=0.05,
    max_len=256,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    input_vocab_size=13,
    mode='predict',
  )
  shape11 = shapes.ShapeDtype((1, 1), dtype=np.int32)
  pred_model.init_from_file(
    str(TRANSFORMER_COPY), weights_only=True, input_signature=(shape11, shape11)
  )
  inputs = np.array([[3, 7, 5, 3, 2, 4, 1, 8]], dtype=np.int32)
  s = decoding.autoregressive_sample(
    pred_model, inputs=inputs, eos_id=1, max_length=10, temperature=0.0
  )
  assert str(s[0]) == '[3 7 5 3 2 4 1]'
  # Decoding does not change the model's state: a second call gives the same.
  again = decoding.autoregressive_sample(
    pred_model, inputs=inputs, eos_id=1, max_length=10, temperature=0.0
  )
  np.testing.assert_array_equal(again, s)


def test_transformer_copy_checkpoint_is_in_trax1_format():
  from trax.checkpoint_files import trax1_checkpoints

  d = trax1_checkpoints.load_pickle(str(TRANSFORMER_COPY))
  assert sorted(d) == ['flat_state', 'flat_weights', 'input_signature']
  assert all(isinstance(w, np.ndarray) and w.dtype == np.float32 for w in d['flat_weights'])
  assert trax1_checkpoints.read(str(TRANSFORMER_COPY)).source_format == 'trax1-trainer-2020'


@pytest.mark.slow  # Compiles a beam search of the 4-layer model.
def test_trax1_transformer_copy_checkpoint_beam_search():
  model = models.Transformer(
    d_model=64,
    d_ff=128,
    dropout=0.05,
    max_len=256,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    input_vocab_size=13,
    mode='predict',
  )
  shape11 = shapes.ShapeDtype((1, 1), np.int32)
  model.init_from_file(str(TRANSFORMER_COPY), weights_only=True, input_signature=(shape11, shape11))
  (best, _), _ = decoding.beam_search(
    model, np.array([[3, 7, 5, 3, 2, 4, 1, 8]]), n_beams=2, max_length=10
  )
  assert str(best[0][:7]) == '[3 7 5 3 2 4 1]'
