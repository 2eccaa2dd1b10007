"""Synthetic tasks: batch formats, value ranges and determinism."""

import itertools

import numpy as np
import pytest

from trax import data


def _take(stream, n):
  return list(itertools.islice(stream, n))


def _assert_same_batches(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    for u, v in zip(x, y):
      np.testing.assert_array_equal(u, v)


def test_sequence_copy_layout_is_0w0w_with_weights_on_the_copy():
  inputs = data.sequence_copy_inputs(
    vocab_size=6,
    batch_size=4,
    train_length=6,
    eval_min_length=2,
    eval_max_length=5,
    pad_to_multiple=16,
    seed=0,
  )
  for x, y, w in _take(inputs.train_stream(1), 20):
    assert x.shape == y.shape == w.shape == (4, 16)
    assert x.dtype == np.int32 and w.dtype == np.float32
    np.testing.assert_array_equal(x, y)
    n = int(w[0].sum())  # Length of w.
    assert 1 <= n <= 5
    np.testing.assert_array_equal(x[:, 0], 0)
    np.testing.assert_array_equal(x[:, n + 1], 0)
    np.testing.assert_array_equal(x[:, 1 : n + 1], x[:, n + 2 : 2 * n + 2])
    np.testing.assert_array_equal(x[:, 2 * n + 2 :], 0)
    assert x[:, 1 : n + 1].min() >= 1 and x.max() <= 5
    expected_w = np.zeros(16)
    expected_w[n + 2 : 2 * n + 2] = 1
    np.testing.assert_array_equal(w, np.tile(expected_w, (4, 1)))


def test_sequence_copy_lengths_and_symbols_cover_the_documented_ranges():
  inputs = data.sequence_copy_inputs(
    5, 64, train_length=4, eval_min_length=3, eval_max_length=6, seed=1
  )
  train = _take(inputs.train_stream(1), 60)
  assert {int(w[0].sum()) for _, _, w in train} == {1, 2, 3}
  assert set(np.unique(np.concatenate([x.ravel() for x, _, _ in train]))) == set(range(5))
  evals = _take(inputs.eval_stream(1), 60)
  assert {int(w[0].sum()) for _, _, w in evals} == {3, 4, 5}


def test_sequence_copy_reverse():
  inputs = data.sequence_copy_inputs(9, 3, 5, 2, 4, reverse=True, seed=2)
  x, _, w = next(inputs.train_stream(1))
  n = int(w[0].sum())
  np.testing.assert_array_equal(x[:, 1 : n + 1][:, ::-1], x[:, n + 2 : 2 * n + 2])


def test_synthetic_streams_are_deterministic_given_a_seed():
  make = lambda seed: data.sequence_copy_inputs(10, 2, 8, 2, 8, seed=seed)
  first = _take(make(7).train_stream(1), 5)
  _assert_same_batches(first, _take(make(7).train_stream(1), 5))
  _assert_same_batches(first, _take(make(7).train_stream(1), 5))
  other = _take(make(8).train_stream(1), 5)
  assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))
  evals = _take(make(7).eval_stream(1), 5)
  assert any(
    a[0].shape != b[0].shape or not np.array_equal(a[0], b[0]) for a, b in zip(first, evals)
  )


def test_inputs_reports_batch_shapes():
  inputs = data.sequence_copy_inputs(10, 8, 8, 2, 8, seed=0)
  assert inputs.input_shape == (32,) and inputs.input_dtype == np.int32
  assert inputs.target_shape == (32,) and inputs.target_dtype == np.float32
  shapes, dtypes = inputs.example_shape_dtype
  assert shapes == [(8, 32)] * 3 and dtypes[:2] == [np.int32, np.int32]
  with pytest.raises(ValueError, match='lambda _: stream'):
    data.Inputs(iter([]))


def test_simple_sequence_copy():
  inputs = data.simple_sequence_copy_inputs(
    7, 3, train_length=5, eval_min_length=6, eval_max_length=8, pad_to_multiple=8, seed=0
  )
  lengths = set()
  for x, y, w in _take(inputs.train_stream(1), 40):
    n = int(w[0].sum())
    lengths.add(n)
    assert x.shape == (3, 8)
    np.testing.assert_array_equal(x, y)
    assert x[:, :n].min() >= 1 and x.max() <= 6 and not x[:, n:].any()
  assert lengths == {1, 2, 3, 4, 5}
  x, y, w = next(
    data.simple_sequence_copy_inputs(
      7, 3, 5, 6, 8, reverse=True, pad_to_multiple=8, seed=0
    ).eval_stream(1)
  )
  n = int(w[0].sum())
  assert 6 <= n <= 8 and x.shape == (3, 8)
  np.testing.assert_array_equal(x[:, :n][:, ::-1], y[:, :n])


def _number(tokens, base):
  return sum((int(t) - 1) * base**i for i, t in enumerate(tokens))


def test_addition_language_model_format_adds_correctly():
  vocab_size = 13  # base 10: digits are tokens 1..10, '+' is 11, <S> is 12.
  inputs = data.addition_inputs(
    vocab_size, 16, train_length=12, eval_min_length=5, eval_max_length=20, seed=0
  )
  for x, y, w in _take(inputs.train_stream(1), 5):
    np.testing.assert_array_equal(x, y)
    assert x.shape[1] % 32 == 0
    for row, weights in zip(x, w):
      row = list(row[row > 0])
      assert row[0] == 12
      second = row.index(12, 1)
      question, answer = row[1:second], row[second + 1 :]
      plus = question.index(11)
      assert len(question) <= 12
      assert _number(question[:plus], 10) + _number(question[plus + 1 :], 10) == (
        _number(answer, 10)
      )
      np.testing.assert_array_equal(weights[: len(row)], [0] * (second + 1) + [1] * len(answer))
      assert not weights[len(row) :].any()


def test_addition_encoder_decoder_format():
  inputs = data.addition_inputs(7, 8, 10, 5, 10, encdec=True, seed=3)  # base 4
  x, y, w = next(inputs.eval_stream(1))
  for question, answer, weights in zip(x, y, w):
    question, answer = list(question[question > 0]), list(answer[answer > 0])
    plus = question.index(5)
    assert _number(question[:plus], 4) + _number(question[plus + 1 :], 4) == (_number(answer, 4))
    assert len(question) <= 10 and weights.sum() == len(answer)


def test_random_inputs_shapes_ranges_and_determinism():
  inputs = data.random_inputs((4, 3), np.int32, (0, 2), (4,), np.float32, (-1, 1), seed=5)
  x, y = next(inputs.train_stream(1))
  assert x.shape == (4, 3) and x.dtype == np.int32 and y.dtype == np.float32
  many = _take(inputs.train_stream(1), 50)
  values = np.concatenate([b[0].ravel() for b in many])
  assert set(np.unique(values)) == {0, 1, 2}  # The integer range is closed.
  assert all(-1 <= b[1].min() and b[1].max() < 1 for b in many)
  np.testing.assert_array_equal(next(inputs.train_stream(1))[0], x)
  with pytest.raises(ValueError, match='divisible'):
    next(inputs.train_stream(3))
