"""Span corruption (MLM), noise masks, sequential chunks and PrefixLM, with T5's numbers."""

import numpy as np
import pytest

from trax import data


def _span_lengths(mask):
  lengths, run = [], 0
  for x in list(mask) + [False]:
    if x:
      run += 1
    elif run:
      lengths.append(run)
      run = 0
  return lengths


def test_one_span_by_hand():
  # 10 tokens, density 0.3: 3 noise tokens in round(3 / 3) = 1 span after 7 kept ones.
  mask = data.random_spans_noise_mask(10, noise_density=0.3, mean_noise_span_length=3.0)
  assert mask.tolist() == [False] * 7 + [True] * 3


@pytest.mark.parametrize('seeds', [(0, 1), (5, 7), (42, 3), (99, 11), (17, 23)])
def test_density_and_mean_span_length_are_exact(seeds):
  # Trax 1.4's test: 100 tokens, density 0.15, mean span 3: 15 noise tokens in 5 spans.
  mask = data.random_spans_noise_mask(100, 0.15, 3.0, seed1=seeds[0], seed2=seeds[1])
  assert mask.dtype == bool and mask.shape == (100,)
  assert mask.sum() == 15
  assert len(_span_lengths(mask)) == 5 and not mask[0]
  again = data.random_spans_noise_mask(100, 0.15, 3.0, seed1=seeds[0], seed2=seeds[1])
  np.testing.assert_array_equal(mask, again)


def test_seeded_masks_equal_trax_which_seeded_numpy_globally():
  # Trax 1.4 called np.random.seed(seed) and then np.random.shuffle on the cut points.
  state = np.random.get_state()
  try:
    np.random.seed(3)
    cuts = np.arange(14) < 4  # 15 noise tokens cut into 5 spans.
    np.random.shuffle(cuts)
    expected = np.bincount(np.cumsum(np.pad(cuts, (1, 0))), minlength=5)
  finally:
    np.random.set_state(state)
  mask = data.random_spans_noise_mask(100, 0.15, 3.0, seed1=3, seed2=4)
  assert _span_lengths(mask) == expected.tolist()


def test_consume_noise_mask_by_hand():
  tokens = np.array([10, 11, 12, 13, 14, 15])
  mask = np.array([0, 1, 1, 0, 1, 0], bool)
  ((inputs, targets),) = list(data.consume_noise_mask(vocab_size=100)(iter([(tokens, mask)])))
  assert inputs.tolist() == [10, 99, 13, 98, 15]
  assert targets.tolist() == [99, 11, 12, 98, 14, 97]


def test_mlm_pipeline_keeps_every_token_once():
  tokens = np.arange(1, 41)
  pairs = list(data.MLM(vocab_size=1000, max_length=20)(iter([tokens])))
  assert len(pairs) == 2
  for chunk, (inputs, targets) in zip((tokens[:20], tokens[20:]), pairs):
    kept = [t for t in inputs if t < 900]
    predicted = [t for t in targets if t < 900]
    assert sorted(kept + predicted) == chunk.tolist()
    assert inputs[0] == chunk[0] and targets[0] == 999  # The first span is always kept.
  with pytest.raises(ValueError, match='vocab_size'):
    data.MLM(max_length=20)


def test_sequential_chunks_and_prefix_lm():
  chunks = list(data.generate_sequential_chunks(max_length=3)(iter([[1, 2, 3, 4, 5, 6, 7], [8]])))
  assert chunks == [[1, 2, 3], [4, 5, 6], [7], [8]]
  prefix_lm = data.PrefixLM(input_length=2, output_length=3)
  assert list(prefix_lm([[1, 2, 3, 4, 5, 6, 7, 8]])) == [([1, 2], [3, 4, 5]), ([6, 7], [8])]
  assert list(prefix_lm([[1, 2, 3, 4, 5, 6]])) == [([1, 2], [3, 4, 5])]
  assert list(prefix_lm([[1, 2, 3, 4, 5, 6, 7]])) == [([1, 2], [3, 4, 5])]


def test_trax_span_corruption_pipeline_runs_end_to_end():
  stream = (np.arange(1, 60) for _ in range(4))
  pipeline = data.Serial(
    lambda _: stream,
    data.generate_sequential_chunks(max_length=30),
    data.generate_random_noise_mask(
      noise_density=0.15, mean_noise_span_length=3.0, seed1=0, seed2=1
    ),
    data.consume_noise_mask(vocab_size=32000),
    data.FilterEmptyExamples(),
    data.AppendValue(val={0: [1], 1: [1]}),
    data.PadToLength(len_map={0: 40, 1: 20}, pad_value={0: 0, 1: 0}),
    data.AddLossWeights(id_to_mask=0),
    data.Batch(batch_size=2),
  )
  inputs, targets, weights = next(pipeline())
  # Chunk 1..30: round(30 * 0.15) = 4 noise tokens in one span, which comes last (spans
  # alternate kept, noise). Chunk 31..59: 4 noise tokens after 25 kept ones. EOS 1 appended.
  np.testing.assert_array_equal(inputs[0], list(range(1, 27)) + [31999, 1] + [0] * 12)
  np.testing.assert_array_equal(inputs[1], list(range(31, 56)) + [31999, 1] + [0] * 13)
  np.testing.assert_array_equal(targets[0], [31999, 27, 28, 29, 30, 1] + [0] * 14)
  np.testing.assert_array_equal(targets[1], [31999, 56, 57, 58, 59, 1] + [0] * 14)
  np.testing.assert_array_equal(weights, targets != 0)
