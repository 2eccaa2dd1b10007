"""Chunked loss: the same loss and gradients as the unchunked model, errors that say why."""

import itertools

import jax
import numpy as np
import pytest

import trax.layers as tl
import trax.models
from trax import host_memory
from trax import optimizers
from trax import shapes
from trax.supervised import chunked_loss
from trax.supervised import trainer
from trax.supervised import training
from tests.supervised import helpers

VOCAB, BATCH, LENGTH = 13, 4, 16


def _lm() -> tl.Layer:
  return trax.models.TransformerLM(
    VOCAB, d_model=16, d_ff=32, n_heads=2, n_layers=1, max_len=LENGTH, dropout=0.0
  )


def _lm_batch(seed: int = 0) -> tuple:
  rng = np.random.default_rng(seed)
  tokens = rng.integers(1, VOCAB, (BATCH, LENGTH), np.int32)
  weights = (rng.random((BATCH, LENGTH)) > 0.3).astype(np.float32)
  weights[0] = 0.0  # A row, and below a whole chunk, without weight: 0/0 in the
  weights[1, :4] = 0.0  # chunk's own mean, which must not reach loss or gradients.
  weights[2:, :4] = 0.0
  return tokens, tokens, weights


def _value_and_grads(loss_fn, model, loss_layer, batch):
  weights, state = (model.weights, loss_layer.weights), (model.state, loss_layer.state)
  rng = jax.random.PRNGKey(0)
  return jax.jit(jax.value_and_grad(lambda w: loss_fn(batch, w, state, rng)[0]))(weights)


@pytest.mark.parametrize(
  'loss_layer, weighted',
  [
    (tl.WeightedCategoryCrossEntropy(), True),
    (tl.WeightedCategoryCrossEntropy(label_smoothing=0.1), True),
    (tl.CategoryCrossEntropy(), False),
  ],
)
@pytest.mark.parametrize('chunk_size', [4, 8, LENGTH])
def test_loss_and_gradients_equal_the_unchunked_model(loss_layer, weighted, chunk_size):
  batch = _lm_batch() if weighted else _lm_batch()[:2]
  model = _lm()
  model.init(shapes.signature(batch[0]))
  signature = shapes.signature(batch)
  plain = trainer.model_with_ends(model, [loss_layer], signature, 'task').pure_fn
  chunked = chunked_loss.ChunkedLoss(model, loss_layer, chunk_size, signature, 'task')
  loss, grads = _value_and_grads(plain, model, loss_layer, batch)
  chunked_value, chunked_grads = _value_and_grads(chunked, model, loss_layer, batch)
  np.testing.assert_allclose(chunked_value, loss, rtol=1e-6)
  for g, h in zip(jax.tree.leaves(grads), jax.tree.leaves(chunked_grads)):
    np.testing.assert_allclose(h, g, rtol=1e-4, atol=1e-7)


def test_a_default_loop_chooses_chunks_and_trains_as_one_without(monkeypatch, caplog):
  # This model's logits are tiny (4 x 16 x 13 floats, 208 bytes a position): scale the
  # rule down so that the default Loop chooses chunks of 4 positions (832 bytes), as it
  # does where freed memory is not kept for reuse.
  monkeypatch.setattr(host_memory, 'KEPT', False)
  monkeypatch.setattr(chunked_loss, 'MIN_LOGITS_BYTES', 3000)
  monkeypatch.setattr(chunked_loss, 'MAX_CHUNK_BYTES', 1000)
  monkeypatch.setattr(chunked_loss, 'MIN_CHUNK_BYTES', 800)

  # SGD keeps the comparison exact: Adam would blow up rounding noise in the key biases,
  # whose gradient is zero up to rounding (softmax ignores a constant shift).
  def train(loss_chunk_size):
    task = training.TrainTask(
      itertools.cycle([_lm_batch(0), _lm_batch(1)]),
      tl.WeightedCategoryCrossEntropy(),
      optimizers.SGD(0.5),
    )
    loop = training.Loop(
      _lm(), task, random_seed=0, loss_chunk_size=loss_chunk_size, checkpoint_at=lambda _: False
    )
    loop.run(4)
    return loop

  with caplog.at_level('INFO', logger='trax.supervised'):
    plain, chunked = train(0), train(None)
  assert (plain._trainers[0].loss_chunk_size, chunked._trainers[0].loss_chunk_size) == (0, 4)
  chosen = [r.message for r in caplog.records if 'loss_chunk_size=None' in r.message]
  assert len(chosen) == 1 and 'chunks of 4 positions' in chosen[0], chosen
  np.testing.assert_allclose(
    chunked.history.get('train', 'metrics/WeightedCategoryCrossEntropy'),
    plain.history.get('train', 'metrics/WeightedCategoryCrossEntropy'),
    rtol=1e-5,
  )
  for w, v in zip(helpers.flat_weights(plain.model), helpers.flat_weights(chunked.model)):
    np.testing.assert_allclose(v, w, rtol=1e-4, atol=1e-6)
  assert chunked._trainers[0].n_traces == 1


@pytest.mark.parametrize(
  'batch, positions, vocab, shards, platform, expected',
  [
    (16, 128, 4096, 1, 'cpu', 16),  # The benchmark LM: 32 MiB of logits, 4 MiB chunks.
    (16, 128, 4096, 2, 'cpu', 32),  # 16 MiB per device.
    (64, 128, 1024, 1, 'cpu', 16),  # A smaller vocabulary, a larger batch: 32 MiB.
    (4, 128, 4096, 1, 'cpu', 0),  # 8 MiB: measured slower in chunks.
    (16, 128, 4096, 1, 'gpu', 0),  # Not measured off CPU.
    (64, 127, 1024, 1, 'cpu', 0),  # 127 positions: only chunks of 1 (256 KiB) divide.
  ],
)
def test_chunks_are_chosen_where_they_pay(
  batch, positions, vocab, shards, platform, expected, monkeypatch
):
  monkeypatch.setattr(host_memory, 'KEPT', False)  # Buffers mapped afresh at each step.
  model = tl.Serial(tl.Relu(), tl.Dense(vocab))
  signature = (
    shapes.ShapeDtype((batch, positions, 8)),
    shapes.ShapeDtype((batch, positions), np.int32),
  )
  model.init(signature[0])
  chunk_size, why = chunked_loss.choose_chunk_size(
    model, tl.CategoryCrossEntropy(), signature, shards, platform
  )
  assert chunk_size == expected, why
  lm_ending_in_softmax = tl.Serial(tl.Dense(vocab), tl.LogSoftmax())
  lm_ending_in_softmax.init(signature[0])
  chunk_size, why = chunked_loss.choose_chunk_size(
    lm_ending_in_softmax, tl.CategoryCrossEntropy(), signature, shards, 'cpu'
  )
  assert chunk_size == 0 and 'chunks need a model that is a Serial ending in Dense' in why


def test_with_freed_memory_kept_for_reuse_no_chunks_are_chosen(monkeypatch):
  monkeypatch.setattr(host_memory, 'KEPT', True)
  model = tl.Serial(tl.Relu(), tl.Dense(4096))  # The benchmark LM's 32 MiB of logits.
  signature = (shapes.ShapeDtype((16, 128, 8)), shapes.ShapeDtype((16, 128), np.int32))
  model.init(signature[0])
  chunk_size, why = chunked_loss.choose_chunk_size(
    model, tl.CategoryCrossEntropy(), signature, 1, 'cpu'
  )
  assert chunk_size == 0 and 'freed memory is kept for reuse' in why


def test_what_cannot_be_chunked_is_refused_with_the_reason():
  lm_batch = _lm_batch()
  lm_task = lambda loss: training.TrainTask(itertools.repeat(lm_batch), loss, optimizers.SGD(0.1))
  with pytest.raises(ValueError, match='must divide the positions.*16 positions'):
    training.Loop(_lm(), lm_task(tl.WeightedCategoryCrossEntropy()), loss_chunk_size=5)
  with pytest.raises(ValueError, match='needs a loss that is a mean.*got WeightedSum3'):
    weighted_sum = tl.Fn('WeightedSum3', lambda x, t, w: (x * w[..., None]).sum())
    training.Loop(_lm(), lm_task(weighted_sum), loss_chunk_size=4)
  with pytest.raises(ValueError, match='Serial ending in Dense.*ending in LogSoftmax'):
    training.Loop(
      tl.Serial(_lm(), tl.LogSoftmax()), lm_task(tl.CrossEntropyLoss()), loss_chunk_size=4
    )
  # A regression MLP ends in Dense, but its output (batch, 1) has no positions to chunk.
  task = training.TrainTask(helpers.regression_stream(), tl.L2Loss(), optimizers.SGD(0.1))
  with pytest.raises(ValueError, match=r'shape \(16, 1\).*0 positions'):
    training.Loop(helpers.mlp(), task, loss_chunk_size=1)
  with pytest.raises(ValueError, match='positive int'):
    training.Loop(_lm(), lm_task(tl.WeightedCategoryCrossEntropy()), loss_chunk_size=-4)


_EIGHT_DEVICES = r'''
import itertools
import jax
import numpy as np
from tests.supervised import helpers, test_chunked_loss as t
from trax import host_memory
from trax import optimizers
import trax.layers as tl
from trax.supervised import training

assert jax.local_device_count() == 8
def train(n_devices):
  batches = [tuple(np.concatenate([a, a]) for a in t._lm_batch(seed)) for seed in (0, 1)]
  task = training.TrainTask(itertools.cycle(batches), tl.WeightedCategoryCrossEntropy(),
                            optimizers.SGD(0.5))
  loop = training.Loop(t._lm(), task, random_seed=0, n_devices=n_devices,
                       loss_chunk_size=4, checkpoint_at=lambda _: False)
  loop.run(3)
  return loop
one, eight = train(1), train(8)
for w, v in zip(helpers.flat_weights(one.model), helpers.flat_weights(eight.model)):
  np.testing.assert_allclose(v, w, rtol=1e-4, atol=1e-6)
print('ok')
'''


@pytest.mark.slow  # A subprocess with 8 forced devices, compiling two loops.
def test_eight_devices_match_one_device():
  helpers.run_on_eight_devices(_EIGHT_DEVICES)
