"""The trax peer: `trax.models.TransformerLM` trained by `trax.supervised.training.Loop`.

Timed is `loop.run(n)`, the Loop's real step: a batch drawn from the task's stream (an
in-memory iterator over pre-generated numpy batches), placed on the device, the compiled
step dispatched, its loss kept for reporting; the loop looks at the losses at the end of
`run`, which waits for the last step. Evals and checkpoints are off. With
`loss_chunk_size` as `Loop`'s (`None`, the default: chosen by the Loop). With
`check_batches=False` the Loop skips its host-side checks of ids and labels (only to
measure what they cost: `trax_unchecked` in `train_step.py`). `mesh` places the batches
and weights on a device mesh (`bench/scaling.py`).
"""

import itertools

import numpy as np

import trax
import trax.models
import trax.optimizers
import trax.layers as tl
from trax.supervised import training

from bench.peers import common


def never(step: int) -> bool:
  del step
  return False


class Peer:
  name = 'trax'

  def __init__(
    self,
    config: common.Config,
    batches: list,
    dropout: bool = True,
    loss_chunk_size: 'int | None' = None,
    check_batches: bool = True,
    mesh=None,
  ):
    self.model = trax.models.TransformerLM(
      vocab_size=config.vocab_size,
      d_model=config.d_model,
      d_ff=config.d_ff,
      n_layers=config.n_layers,
      n_heads=config.n_heads,
      max_len=config.length,
      dropout=config.dropout if dropout else 0.0,
      mode='train',
    )
    task = training.TrainTask(
      itertools.cycle(batches),
      tl.WeightedCategoryCrossEntropy(),
      trax.optimizers.Adam(
        config.learning_rate, weight_decay_rate=config.weight_decay, eps=config.eps
      ),
      sample_batch=batches[0],
    )
    self.loop = training.Loop(
      self.model,
      task,
      random_seed=0,
      checkpoint_at=never,
      eval_at=never,
      permanent_checkpoint_at=never,
      loss_chunk_size=loss_chunk_size,
      mesh=mesh,
    )
    self.n_params = sum(np.size(w) for w in trax.fastmath.tree_flatten(self.model.weights))
    if not check_batches:  # The host-side id and label checks off (`batch_checks`).
      for trainer in self.loop._trainers:
        trainer._check_batch = lambda batch, step: None

  def run(self, n_steps: int) -> None:
    self.loop.run(n_steps)
