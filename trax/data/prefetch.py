"""Prefetch: run the upstream pipeline in a background thread while the model trains.

While the training step runs (in XLA, which releases the GIL), a thread pulls the next
`n_prefetch` examples through the rest of the pipeline (numpy padding, tokenization, file
reading), so the step rarely waits for data. Items come out in the order the source yields
them; an exception in the source is re-raised in the consumer; closing the prefetching
generator (or dropping it) stops the thread after at most one more upstream item.

Trax 1.4 used `multiprocessing.dummy` with unbounded queues and a thread that never
stopped; here the queue is bounded and the thread ends with its consumer.
"""

import queue
import threading
from typing import Any
from collections.abc import Callable, Iterable, Iterator

StreamFn = Callable[[Iterable[Any]], Iterator[Any]]

# How long a blocked producer waits before checking whether the consumer has gone.
_POLL_SECONDS = 0.05
# How long closing the consumer waits for the producer thread to finish.
_JOIN_SECONDS = 5.0

_ITEM, _END, _ERROR = 'item', 'end', 'error'


def Prefetch(n_prefetch: int = 2) -> StreamFn:
  """Returns a stream function that prefetches `n_prefetch` items; see `prefetch`."""
  _check_n_prefetch(n_prefetch)
  return lambda g: prefetch(g, n_prefetch)


def prefetch(generator: Iterable[Any], n_prefetch: int = 2) -> Iterator[Any]:
  """Yields the items of `generator`, reading up to `n_prefetch` ahead in a thread.

  Args:
    generator: the stream to read; it is iterated only by the background thread.
    n_prefetch: how many items may wait, read but not yet consumed.

  Yields:
    The items of `generator`, in order.
  """
  _check_n_prefetch(n_prefetch)
  items = queue.Queue(maxsize=n_prefetch)
  stop = threading.Event()

  def put(message: tuple) -> bool:
    """Puts a message unless the consumer stopped; returns whether it was put."""
    while not stop.is_set():
      try:
        items.put(message, timeout=_POLL_SECONDS)
        return True
      except queue.Full:
        pass
    return False

  def produce() -> None:
    try:
      for item in generator:
        if not put((_ITEM, item)):
          return
      put((_END, None))
    except BaseException as e:
      put((_ERROR, e))  # Re-raised in the consumer, which owns error handling.

  thread = threading.Thread(target=produce, name='trax-data-prefetch', daemon=True)
  thread.start()
  try:
    while True:
      kind, payload = items.get()
      if kind == _END:
        return
      if kind == _ERROR:
        raise payload
      yield payload
  finally:
    stop.set()
    thread.join(_JOIN_SECONDS)


def _check_n_prefetch(n_prefetch: int) -> None:
  if n_prefetch < 1:
    raise ValueError(f'Prefetch n_prefetch must be at least 1; got {n_prefetch}.')
