"""Trax 1.4's other trax.data helpers: Dup, AppendValue, batcher, sine_inputs, addition."""

import logging

import numpy as np
import pytest

from trax import data
from trax.data.bundles import _buckets_for_length


def test_dup_copies_the_first_array():
  x, w = np.arange(3), np.ones(3)
  out = next(data.Dup()(iter([(x, w)])))
  assert len(out) == 3 and out[0] is x and out[1] is x and out[2] is w
  assert len(next(data.Dup()(iter([x])))) == 2


def test_append_value_as_trax_test():
  example = (np.zeros((1, 5)), np.ones((1, 5)))
  unchanged = next(data.AppendValue()(iter([example])))
  assert unchanged[0].shape == (1, 5)
  a, b = next(data.AppendValue({0: [[5]], 1: [[4]]})(iter([example])))
  np.testing.assert_array_equal(a, [[0, 0, 0, 0, 0, 5]])
  np.testing.assert_array_equal(b, [[1, 1, 1, 1, 1, 4]])
  np.testing.assert_array_equal(next(data.AppendValue({0: [1]})(iter([np.arange(2)]))), [0, 1, 1])


def test_batcher_buckets_as_trax_heuristic():
  boundaries, sizes = _buckets_for_length(32, 16, None, 1, True)
  assert boundaries == [8, 16, 32, 64, 128, 256, 512]
  assert sizes == [64, 32, 16, 8, 4, 2, 1, 1]
  boundaries, sizes = _buckets_for_length(32, 16, 100, 2, False)
  assert boundaries == [8, 16, 32, 64, 100, 100]
  # Trax's one-but-last size is 16 // 100 = 0; sizes become multiples of the 2 devices.
  assert sizes == [64, 32, 16, 8, 4, 2, 2]


def test_batcher_makes_inputs_with_loss_weights():
  def examples():
    for n in [3, 5, 3, 6, 2, 4] * 10:
      yield np.arange(1, n + 1), np.arange(1, n + 1)

  inputs = data.batcher(
    (examples, examples), batch_size=2, eval_batch_size=2, buckets=([4, 8], [2, 2, 2]), id_to_mask=0
  )
  x, y, w = next(inputs.train_stream(1))
  np.testing.assert_array_equal(x, [[1, 2, 3, 0], [1, 2, 3, 0]])
  np.testing.assert_array_equal(w, [[1, 1, 1, 0], [1, 1, 1, 0]])
  x, _, _ = next(inputs.eval_stream(1))
  assert x.shape == (2, 4)
  plain = data.batcher((examples, examples), variable_shapes=False, batch_size=3)
  assert next(plain.train_stream(1))[0].shape == (3, 5)
  made = data.make_inputs(train_stream=[lambda _: iter([(np.ones(2), np.ones(2))] * 3)])
  assert made.input_shape == ()


def test_sine_inputs_shapes_and_values():
  inputs = data.sine_inputs(batch_size=3, length=5, seed=0)
  obs, act, targets, mask = next(inputs.train_stream(1))
  assert obs.shape == act.shape == mask.shape == (3, 5)
  assert act.dtype == np.int32 and (act == 0).all() and (mask == 1).all()
  np.testing.assert_array_equal(obs, targets)
  assert np.abs(obs).max() <= 1
  # Each row is sin((t - phase) / period): a sinusoid's second difference is
  # proportional to itself, sin(a + 2h) + sin(a) = 2 cos(h) sin(a + h).
  ratio = (obs[:, 2:] + obs[:, :-2]) / obs[:, 1:-1]
  np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones((1, 3)), rtol=1e-6, atol=1e-9)


def test_addition_input_stream_sums_lower_endian_numbers():
  x, y, weights = next(
    data.inputs.addition_input_stream(
      vocab_size=13, batch_size=4, min_length=3, max_length=9, pad_to_multiple=4, seed=0
    )
  )
  base, plus, separator = 10, 11, 12
  for row, row_weights in zip(x, weights):
    tokens = [int(t) for t in row if t]
    assert tokens[0] == separator
    second = tokens.index(separator, 1)
    question, answer = tokens[1:second], tokens[second + 1 :]
    a, b = question[: question.index(plus)], question[question.index(plus) + 1 :]
    to_number = lambda digits: data.inputs.lower_endian_to_number([d - 1 for d in digits], base)
    assert to_number(a) + to_number(b) == to_number(answer)
    assert row_weights.sum() == len(answer)
  np.testing.assert_array_equal(x, y)
  assert data.inputs.number_to_lower_endian(123, 10) == [3, 2, 1]
  assert data.inputs.random_number_lower_endian(3, 10, np.random.default_rng(0))[-1] != 0


def test_debug_pipeline_logs_powers_of_two(caplog):
  def numbers(_=None):
    yield from range(10)

  assert data.debug_pipeline(numbers) is numbers
  logged = data.debug_pipeline(numbers, debug=True, log_prefix='n')
  with caplog.at_level(logging.INFO):
    assert list(logged()) == list(range(10))
  assert [r.getMessage() for r in caplog.records] == [
    f'n example[{i}] = {i - 1}' for i in (1, 2, 4, 8)
  ]
  with pytest.raises(ValueError, match='pow'):
    data.debug_pipeline(numbers, debug=True, method='sometimes')
