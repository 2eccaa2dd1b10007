"""Trax 1.4's `NMT_with_Transformers_Reformers_using_Trax.ipynb`, run as written.

Swapped: ParaCrawl (replaced by an in-memory stream of sentence pairs, the way the
notebook itself says to use one's own data: `lambda _: train_stream_fn()`), the pretrained
`ende_wmt32k.pkl.gz` and `endefr_32k.subword` (the project's Trax 1.x-format checkpoint of
a copy model and a vocabulary of its words, so "translating" copies). Shrunk: model sizes
to the checkpoint's, batch sizes, and steps. The decoding helpers (greedy decoding, the
samples for Minimum Bayes-Risk decoding) are the notebook's.
"""

from collections import Counter
import random

import numpy as np
import pytest

import trax
from trax import layers as tl
from trax.supervised import training
from tests.trax14_programs import programs

EOS = 1
VOCAB_FILE = 'endefr_32k.subword'


def append_eos(stream):
  for inputs, targets in stream:
    inputs_with_eos = list(inputs) + [EOS]
    targets_with_eos = list(targets) + [EOS]
    yield np.array(inputs_with_eos), np.array(targets_with_eos)


def tokenize(input_str, vocab_file=None, vocab_dir=None):
  EOS = 1
  inputs = next(trax.data.tokenize(iter([input_str]), vocab_file=vocab_file, vocab_dir=vocab_dir))
  inputs = list(inputs) + [EOS]
  batch_inputs = np.reshape(np.array(inputs), [1, -1])
  return batch_inputs


def detokenize(integers, vocab_file=None, vocab_dir=None):
  integers = list(np.squeeze(integers))
  EOS = 1
  if EOS in integers:
    integers = integers[: integers.index(EOS)]
  return trax.data.detokenize(integers, vocab_file=vocab_file, vocab_dir=vocab_dir)


def next_symbol(model, input_tokens, cur_output_tokens, temperature):
  token_length = len(cur_output_tokens)
  padded_length = np.power(2, int(np.ceil(np.log2(token_length + 1))))
  padded = cur_output_tokens + [0] * (padded_length - token_length)
  padded_with_batch = np.expand_dims(padded, axis=0)
  output, _ = model((input_tokens, padded_with_batch))
  log_probs = output[0, token_length, :]
  symbol = int(tl.logsoftmax_sample(log_probs, temperature))
  return symbol, float(log_probs[symbol])


def sampling_decode(input_sentence, model=None, temperature=0.0, vocab_file=None, vocab_dir=None):
  input_tokens = tokenize(input_sentence, vocab_file=vocab_file, vocab_dir=vocab_dir)
  cur_output_tokens = []
  cur_output = 0
  EOS = 1
  while cur_output != EOS:
    cur_output, log_prob = next_symbol(model, input_tokens, cur_output_tokens, temperature)
    cur_output_tokens.append(cur_output)
  sentence = detokenize(cur_output_tokens, vocab_file=vocab_file, vocab_dir=vocab_dir)
  return cur_output_tokens, log_prob, sentence


def generate_samples(
  sentence, n_samples, model=None, temperature=0.6, vocab_file=None, vocab_dir=None
):
  samples, log_probs = [], []
  for _ in range(n_samples):
    sample, logp, _ = sampling_decode(
      sentence, model, temperature, vocab_file=vocab_file, vocab_dir=vocab_dir
    )
    samples.append(sample)
    log_probs.append(logp)
  return samples, log_probs


def rouge1_similarity(system, reference):
  sys_counter = Counter(system)
  ref_counter = Counter(reference)
  overlap = 0
  for token in sys_counter:
    token_count_sys = sys_counter.get(token, 0)
    token_count_ref = ref_counter.get(token, 0)
    overlap += min(token_count_sys, token_count_ref)
  precision = overlap / sum(sys_counter.values())
  recall = overlap / sum(ref_counter.values())
  if precision + recall != 0:
    rouge1_score = 2 * ((precision * recall) / (precision + recall))
  else:
    rouge1_score = 0
  return rouge1_score


def weighted_avg_overlap(similarity_fn, samples, log_probs):
  scores = {}
  for index_candidate, candidate in enumerate(samples):
    overlap, weight_sum = 0.0, 0.0
    for index_sample, (sample, logp) in enumerate(zip(samples, log_probs)):
      if index_candidate == index_sample:
        continue
      sample_p = float(np.exp(logp))
      weight_sum += sample_p
      sample_overlap = similarity_fn(candidate, sample)
      overlap += sample_p * sample_overlap
    score = overlap / weight_sum
    scores[index_candidate] = score
  return scores


def _sentence_pairs(seed):
  """Pairs (sentence, its "translation"): the copy model's language translates to itself."""
  rng = random.Random(seed)
  words = programs.COPY_WORDS[2:]
  while True:
    sentence = ' '.join(rng.choice(words) for _ in range(rng.randint(2, 8)))
    yield sentence, sentence


def _batch_streams(vocab_dir):
  """The notebook's "Trax Data Pipeline" cell, with its own data swap for TFDS."""
  VOCAB_DIR = vocab_dir
  programs.write_words_vocab(VOCAB_DIR + VOCAB_FILE, programs.COPY_WORDS)
  train_stream_fn = lambda: _sentence_pairs(0)
  eval_stream_fn = lambda: _sentence_pairs(1)

  train_batches_stream = trax.data.Serial(
    lambda _: train_stream_fn(),
    trax.data.Tokenize(vocab_file=VOCAB_FILE, vocab_dir=VOCAB_DIR),
    lambda _: append_eos(_),
    trax.data.Shuffle(),
    trax.data.FilterByLength(max_length=512, length_keys=[0, 1]),
    trax.data.BucketByLength(
      boundaries=[8, 16, 32, 64, 128, 256], batch_sizes=[8, 8, 8, 8, 8, 8, 8], length_keys=[0, 1]
    ),
    trax.data.AddLossWeights(id_to_mask=0),
  )
  eval_batches_stream = trax.data.Serial(
    lambda _: eval_stream_fn(),
    trax.data.Tokenize(vocab_file=VOCAB_FILE, vocab_dir=VOCAB_DIR),
    lambda _: append_eos(_),
    trax.data.Shuffle(),
    trax.data.FilterByLength(max_length=1024, length_keys=[0, 1]),
    trax.data.BucketByLength(
      boundaries=[8, 16, 32, 64, 128, 256], batch_sizes=[8, 8, 8, 8, 8, 8, 8], length_keys=[0, 1]
    ),
    trax.data.AddLossWeights(id_to_mask=0),
  )
  return train_batches_stream(), eval_batches_stream()


def test_data_pipeline(tmp_path):
  VOCAB_DIR = str(tmp_path) + '/'
  train_batch_stream, _ = _batch_streams(VOCAB_DIR)
  input_batch, target_batch, mask_batch = next(train_batch_stream)
  assert isinstance(input_batch, np.ndarray) and input_batch.shape == target_batch.shape
  assert input_batch.shape in ((8, 8), (8, 16))
  index = random.randrange(len(input_batch))
  english = trax.data.detokenize(input_batch[index], vocab_file=VOCAB_FILE, vocab_dir=VOCAB_DIR)
  assert english.replace('<pad>', '').endswith('please')  # 'please' is the EOS.
  np.testing.assert_array_equal(mask_batch[index], input_batch[index] > 0)
  assert detokenize(input_batch[index], VOCAB_FILE, VOCAB_DIR) == english.split(' please')[0]
  np.testing.assert_array_equal(tokenize('learn to', VOCAB_FILE, VOCAB_DIR), [[5, 3, 1]])


@pytest.mark.slow  # About 30 s: trains an encoder-decoder Transformer, calls it eagerly.
def test_train_then_translate(tmp_path):
  VOCAB_DIR = str(tmp_path) + '/'
  programs.copy_checkpoint(VOCAB_DIR + 'ende_wmt32k.pkl.gz')
  train_batch_stream, eval_batch_stream = _batch_streams(VOCAB_DIR)

  model = trax.models.Transformer(
    input_vocab_size=13,
    d_model=64,
    d_ff=128,
    dropout=0.1,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    max_len=256,
    mode='train',
  )
  model.init_from_file(VOCAB_DIR + 'ende_wmt32k.pkl.gz', weights_only=True)

  train_task = training.TrainTask(
    labeled_data=train_batch_stream,
    loss_layer=tl.CrossEntropyLossWithLogSoftmax(),
    optimizer=trax.optimizers.Adafactor(learning_rate=0.001, epsilon1=1e-30),
    lr_schedule=trax.lr.multifactor(constant=1.0, warmup_steps=500),
    n_steps_per_checkpoint=2,
    n_steps_per_permanent_checkpoint=4,
  )
  eval_task = training.EvalTask(
    labeled_data=eval_batch_stream,
    metrics=[tl.CrossEntropyLossWithLogSoftmax(), tl.WeightedCategoryAccuracy()],
  )
  output_dir = str(tmp_path / 'Transformer_FR_pretrained_336')
  training_loop = training.Loop(model, train_task, eval_tasks=[eval_task], output_dir=output_dir)
  training_loop.run(4)
  ((_, accuracy),) = training_loop.history.get('eval', 'metrics/WeightedCategoryAccuracy')[-1:]
  assert accuracy > 0.9  # The pretrained copy model copies from the start.

  # Each new output length costs a few seconds (layers called op by op, as in Trax):
  # short sentences keep the test short.
  tokens, _, translated = sampling_decode(
    'learn to', model, temperature=0.0, vocab_file=VOCAB_FILE, vocab_dir=VOCAB_DIR
  )
  assert tokens == [5, 3, 1] and translated == 'learn to'

  samples, log_probs = generate_samples(
    'be nice', 3, model, vocab_file=VOCAB_FILE, vocab_dir=VOCAB_DIR
  )
  scores = weighted_avg_overlap(rouge1_similarity, samples, log_probs)
  best = detokenize(samples[max(scores, key=scores.get)], VOCAB_FILE, VOCAB_DIR)
  assert best == 'be nice'
