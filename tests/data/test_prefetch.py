"""Prefetch: same items in order, read ahead in a thread that stops with its consumer."""

import itertools
import threading
import time

import pytest

from trax import data


def _prefetch_threads():
  return [t for t in threading.enumerate() if t.name == 'trax-data-prefetch']


def _wait_until(condition, timeout=5.0):
  deadline = time.monotonic() + timeout
  while not condition() and time.monotonic() < deadline:
    time.sleep(0.01)
  return condition()


def test_prefetch_yields_the_same_items_in_order_and_ends():
  items = [(i, str(i)) for i in range(50)]
  assert list(data.Prefetch(n_prefetch=3)(iter(items))) == items
  assert _wait_until(lambda: not _prefetch_threads())


def test_prefetch_reads_ahead_by_at_most_n_prefetch():
  read = []

  def source():
    for i in itertools.count():
      read.append(i)
      yield i

  stream = data.prefetch(source(), n_prefetch=2)
  assert next(stream) == 0
  # One item consumed, two waiting in the queue, one more held by the blocked producer.
  assert _wait_until(lambda: len(read) == 4)
  time.sleep(0.1)
  assert len(read) == 4
  stream.close()


def test_closing_an_infinite_prefetch_stops_its_thread():
  stream = data.Prefetch()(itertools.count())
  assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
  assert len(_prefetch_threads()) == 1
  stream.close()
  assert _wait_until(lambda: not _prefetch_threads())


def test_prefetch_reraises_source_errors_in_the_consumer():
  def failing():
    yield 1
    raise RuntimeError('disk on fire')

  stream = data.prefetch(failing())
  assert next(stream) == 1
  with pytest.raises(RuntimeError, match='disk on fire'):
    next(stream)
  assert _wait_until(lambda: not _prefetch_threads())


def test_prefetch_rejects_bad_sizes():
  with pytest.raises(ValueError, match='at least 1'):
    data.Prefetch(0)
