"""The Loop checks batches on the host: ids and labels out of range, streams that end."""

import itertools

import numpy as np
import pytest

from trax import optimizers
import trax.layers as tl
from trax.supervised import tasks
from trax.supervised import training

VOCAB = 10


def _tagger() -> tl.Layer:
  return tl.Serial(tl.Embedding(VOCAB, 4), tl.Dense(VOCAB))


def _batches(
  bad_from: 'int | None' = None, which: int = 0, bad_value: int = VOCAB, n: 'int | None' = None
):
  """(ids, labels, weights) batches; from batch `bad_from` on, item `which` is out of range."""
  rng = np.random.default_rng(0)
  for i in itertools.count() if n is None else range(n):
    batch = [rng.integers(0, VOCAB, (2, 3)).astype(np.int32) for _ in range(2)]
    if bad_from is not None and i >= bad_from:
      batch[which][1, 2] = bad_value
    yield batch[0], batch[1], np.ones((2, 3), np.float32)


def _loop(stream, eval_stream=None, loss=None) -> training.Loop:
  task = training.TrainTask(
    stream, loss or tl.WeightedCategoryCrossEntropy(), optimizers.Adam(0.01)
  )
  eval_task = (
    None if eval_stream is None else tasks.EvalTask(eval_stream, [tl.WeightedCategoryAccuracy()])
  )
  return training.Loop(_tagger(), task, eval_tasks=eval_task, eval_at=lambda step: step == 3)


@pytest.mark.parametrize(
  'which,bad_value,what',
  [
    (0, VOCAB, r'model input 0 \(token ids of Serial\'s Embedding\)'),
    (0, -1, r'model input 0 \(token ids .*\)'),
    (
      1,
      VOCAB,
      r'batch item 1 \(targets of WeightedCategoryCrossEntropy: class ids of the '
      r'model\'s 10 outputs\)',
    ),
    (1, -3, r'batch item 1 \(targets .*\)'),
  ],
)
def test_out_of_range_ids_and_labels_stop_the_loop_naming_task_and_step(which, bad_value, what):
  loop = _loop(_batches(bad_from=3, which=which, bad_value=bad_value))
  with pytest.raises(
    ValueError,
    match=rf'Train task 0, step 3: {what} must lie in \[0, 10\), '
    rf'but 1 of 6 do not \(from .*{bad_value}',
  ):
    loop.run(3)


def test_eval_batches_are_checked_too():
  loop = _loop(_batches(), eval_stream=_batches(bad_from=1, which=1))
  with pytest.raises(
    ValueError,
    match=r'Eval task 0: batch item 1 \(targets of '
    r'WeightedCategoryAccuracy',
  ):
    loop.run(3)


def test_losses_not_known_to_take_labels_are_not_checked():
  loss = tl.Serial(tl.Select([0], n_in=3), tl.Fn('Mean', lambda x: x.mean()))
  loop = _loop(_batches(bad_from=1, which=1, bad_value=99), loss=loss)
  loop.run(2)  # 99 is no class id here: nothing said it should be one.


def test_a_stream_that_ends_names_task_and_step():
  loop = _loop(_batches(n=3))  # The first batch initializes; two steps' worth remain.
  with pytest.raises(
    tasks.DataStreamEndedError,
    match=r'Train task 0, step 3: its '
    r'labeled_data stream ended after 2 batches. Give the task an endless',
  ):
    loop.run(5)
  assert isinstance(tasks.DataStreamEndedError('x'), ValueError)
  loop = _loop(_batches(), eval_stream=_batches(n=1))
  with pytest.raises(
    tasks.DataStreamEndedError,
    match=r'Eval task 0: its labeled_data '
    r'stream ended after 0 batches',
  ):
    loop.run(3)


def test_an_all_padding_batch_is_a_step_of_zero_weight():
  def padded():
    for x, y, weights in _batches():
      yield x, y, np.zeros_like(weights)

  loop = _loop(padded())
  loop.run(3)  # Reports at step 3 (0/0 made it NaN: NonFiniteLossError stopped training).
  assert loop.history.get('train', 'metrics/WeightedCategoryCrossEntropy')[-1][1] == 0.0
  assert all(
    np.isfinite(np.asarray(w)).all()
    for w in tl.flatten_weights_and_state(loop.model.weights, ())[0]
  )
