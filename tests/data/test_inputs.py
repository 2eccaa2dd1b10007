"""Serial, Parallel, Shuffle and Log: composing and mixing streams."""

import itertools

import numpy as np
import pytest

from trax import data


def _count_from(start):
  return lambda _=None: itertools.count(start)


def test_serial_composes_in_order_and_flattens_nested_lists():
  add_one = lambda g: (x + 1 for x in g)
  double = lambda g: (2 * x for x in g)
  pipeline = data.Serial(lambda _: iter([1, 2, 3]), [add_one, (double,)])
  assert list(pipeline()) == [4, 6, 8]


def test_serial_passes_its_argument_to_the_first_stage():
  pipeline = data.Serial(lambda g: (x * 10 for x in g))
  assert list(pipeline(iter([1, 2]))) == [10, 20]


def test_serial_rejects_non_callable_stages():
  with pytest.raises(TypeError, match='stage 1'):
    data.Serial(lambda g: g, 3)


def test_parallel_follows_counters_round_by_round():
  mixed = data.Parallel([_count_from(0), _count_from(100), _count_from(200)], counters=(2, 1, 3))()
  got = list(itertools.islice(mixed, 12))
  assert got == [0, 100, 200, 1, 201, 202, 2, 101, 203, 3, 204, 205]


def test_parallel_mixing_counts_match_the_counters():
  mixed = data.Parallel([_count_from(0), _count_from(1000)], counters=(1, 3))()
  got = list(itertools.islice(mixed, 400))
  assert sum(x < 1000 for x in got) == 100
  assert sum(x >= 1000 for x in got) == 300


def test_parallel_reweight_by_minimum_and_zero_counters():
  mixed = data.Parallel(
    fns=[_count_from(0), _count_from(100), _count_from(200)],
    counters=(10, 0, 30),
    reweight_by_minimum=True,
  )()
  assert list(itertools.islice(mixed, 8)) == [0, 200, 201, 202, 1, 203, 204, 205]


def test_parallel_takes_iterators_and_stops_with_the_shortest():
  mixed = data.Parallel([iter([1, 2]), iter('abcdef')])()
  assert list(mixed) == [1, 'a', 2, 'b']


def test_parallel_checks_its_counters():
  with pytest.raises(ValueError, match='2 sources but 3 counters'):
    data.Parallel([_count_from(0), _count_from(1)], counters=(1, 2, 3))
  with pytest.raises(ValueError, match='not all zero'):
    data.Parallel([_count_from(0)], counters=(0,))


def test_shuffle_permutes_and_keeps_every_item():
  items = list(range(100))
  shuffled = list(data.Shuffle(queue_size=20, seed=0)(iter(items)))
  assert sorted(shuffled) == items
  assert shuffled != items


def test_shuffle_is_deterministic_given_a_seed():
  shuffle = data.Shuffle(queue_size=10, seed=3)
  first = list(shuffle(iter(range(50))))
  assert list(shuffle(iter(range(50)))) == first
  assert list(data.Shuffle(queue_size=10, seed=4)(iter(range(50)))) != first


def test_shuffle_moves_items_only_within_reach_of_the_queue():
  shuffled = list(data.shuffle(iter(range(1000)), queue_size=5, rng=np.random.default_rng(0)))
  # An item can only come out once it has been read: at most queue_size - 1 early.
  assert all(x <= i + 4 for i, x in enumerate(shuffled))


def test_shuffle_with_a_queue_larger_than_the_stream():
  shuffled = list(data.shuffle(iter(range(5)), queue_size=100, rng=np.random.default_rng(1)))
  assert sorted(shuffled) == list(range(5))


def test_shuffle_does_not_touch_numpy_global_random_state():
  np.random.seed(0)
  expected = np.random.rand()
  np.random.seed(0)
  list(data.Shuffle(queue_size=4, seed=1)(iter(range(20))))
  assert np.random.rand() == expected


def test_shuffle_rejects_empty_queue():
  with pytest.raises(ValueError, match='at least 1'):
    data.Shuffle(queue_size=0)


def test_log_passes_examples_through_and_prints_shapes(capsys):
  examples = [(np.zeros((2, 3), np.int32),), (np.zeros(4),), (np.zeros(5),)]
  out = list(data.Log(n_steps_per_example=2)(iter(examples)))
  assert out == examples
  printed = capsys.readouterr().out.splitlines()
  assert len(printed) == 2
  assert '(2, 3)' in printed[0] and 'int32' in printed[0]
  assert '(5,)' in printed[1]


def test_trax_14_names_are_in_trax_data_inputs():
  from trax.data import inputs

  for name in (
    'Serial',
    'Batch',
    'BucketByLength',
    'sequence_copy_inputs',
    'addition_inputs',
    'AddLossWeights',
    'Prefetch',
    'Inputs',
  ):
    assert getattr(inputs, name) is getattr(data, name)
