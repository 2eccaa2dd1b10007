"""data.Parallel mixes streams in exactly Trax 1.4's order (the orders of its own tests)."""

import itertools

import pytest

from trax import data


def _range(start, stop):
  return lambda: iter(range(start, stop))


def _cycle(start, stop):
  return lambda: itertools.cycle(range(start, stop))


def _take(stream, n):
  return list(itertools.islice(stream, n))


def test_uniform_and_weighted_counting_order():
  assert _take(data.Parallel([_range(0, 10), _range(10, 20)])(), 6) == [0, 10, 1, 11, 2, 12]
  # Counts reset as soon as they sum up, even mid-pass: 0 10 1 | 11 2 3 | 12 4 5 | 13.
  weighted = data.Parallel([_range(0, 10), _range(10, 20)], counters=(2, 1))()
  assert _take(weighted, 10) == [0, 10, 1, 11, 2, 3, 12, 4, 5, 13]
  three = data.Parallel([_range(0, 10), _range(10, 20), _range(20, 30)], counters=(2, 1, 3))()
  assert _take(three, 13) == [0, 10, 20, 1, 21, 22, 2, 11, 23, 3, 24, 25, 4]


def test_reweight_by_minimum_and_zero_counters():
  mixed = data.Parallel(
    [_range(0, 10), _range(10, 110)], counters=(10, 100), reweight_by_minimum=True
  )()
  assert _take(mixed, 23) == [0] + list(range(10, 20)) + [1] + list(range(20, 30)) + [2]
  skipped = data.Parallel([_range(0, 10), _range(10, 20), _range(20, 30)], counters=[1, 0, 1])()
  assert _take(skipped, 6) == [0, 20, 1, 21, 2, 22]


def test_gradual_reweighting_nests_sources_by_counter():
  mixed = data.Parallel(
    [_cycle(10, 30), _cycle(0, 1), _cycle(30, 70)], counters=(20, 1, 40), gradually_reweight=True
  )()
  round_ = [0] + [x for i in range(20) for x in (10 + i, 30 + 2 * i, 31 + 2 * i)]
  assert _take(mixed, 3 * len(round_)) == 3 * round_


def test_gradual_reweighting_with_remainders():
  mixed = data.Parallel(
    [_cycle(10, 30), _cycle(0, 1), _cycle(100, 220), _cycle(30, 80)],
    counters=(20, 1, 120, 50),
    gradually_reweight=True,
    use_remainders=True,
  )()
  round_ = [0]
  for i in range(20):
    round_.append(10 + i)
    for j in range(2):
      round_.append(30 + 2 * i + j)
      round_.extend(100 + 4 * i + 2 * j + k for k in range(2))
  round_ += list(range(70, 80)) + list(range(180, 220))  # What 50 // 20 and 120 // 50 left.
  got = _take(mixed, len(round_) + 1)
  assert got[:-1] == round_ and got[-1] == 0


def test_sources_get_the_incoming_generator_and_nest():
  with_gen = data.Parallel([lambda g: iter(range(10)), lambda g: iter(range(10, 20))])
  assert _take(with_gen(iter([0])), 4) == [0, 10, 1, 11]
  inner = data.Parallel([_range(0, 10), _range(10, 20)])
  outer = data.Parallel([inner, _range(20, 30)])()
  assert _take(outer, 11) == [0, 20, 10, 21, 1, 22, 11, 23, 2, 24, 12]


def test_the_mixed_stream_ends_with_its_shortest_source():
  # Trax 1.4 raised RuntimeError (StopIteration inside a generator) here.
  assert list(data.Parallel([iter([1, 2]), iter('abcdef')])()) == [1, 'a', 2, 'b']


def test_arguments_are_checked():
  with pytest.raises(ValueError, match='2 sources but 3 counters'):
    data.Parallel([_range(0, 1), _range(0, 1)], counters=(1, 2, 3))
  with pytest.raises(ValueError, match='not all zero'):
    data.Parallel([_range(0, 1)], counters=(0,))
  with pytest.raises(ValueError, match='list of data sources'):
    data.Parallel()
