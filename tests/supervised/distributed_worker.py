"""One process of the multi-process tests (run by `trax.launch`; see test_distributed.py).

Trains the small regression MLP of `helpers` on this process's part of every global batch
and writes `result<process>.json` to its output directory: the step and weights after
loading any checkpoint and at the end, and what the process is. Every process prints its
own view of the weights (gathered when they are split over processes), so the test can
compare the processes too.

  python -m trax.launch --processes 2 --local-devices 4 distributed_worker.py \
      OUTPUT_DIR N_STEPS [--mesh DATA MODEL] [--kill-at STEP] [--own-dir] [--no-eval]
      [--tf-data]
"""

import argparse
import json
import os
import signal

import jax
from jax.experimental import multihost_utils
import numpy as np

import trax.layers as tl
from trax import optimizers
from trax import sharding
from trax.supervised import callbacks
from trax.supervised import training
from tests.supervised import helpers

BATCH, EVAL_BATCH = 16, 8


def local_part(stream):
  """This process's rows of every global batch (processes in order make the batch)."""
  index, count = jax.process_index(), jax.process_count()
  for batch in stream:
    yield tuple(a[index * len(a) // count : (index + 1) * len(a) // count] for a in batch)


def host_weights(loop):
  weights = tl.flatten_weights_and_state(loop.model.weights, ())[0]
  if jax.process_count() > 1:
    weights = [multihost_utils.process_allgather(w, tiled=True) for w in weights]
  return [np.asarray(w).tolist() for w in weights]


def tf_data_part():
  """The elements of a 10-element tf.data.Dataset that `from_tf_dataset` gives here."""
  import tensorflow as tf
  from trax import data

  return [int(x) for x in data.from_tf_dataset(tf.data.Dataset.range(10))]


def build_loop(
  output_dir, mesh=None, dropout=0.2, with_eval=True, kill_at=None, n_devices=None, model=None
):
  """The loop every test trains: this process's part of the global batches, seed 0.

  Without eval, nothing writes summaries (and TensorFlow is never imported).
  """

  class KillProcess(callbacks.TrainingStepCallback):
    def call_at(self, step):
      return step == kill_at

    def on_step_end(self, step):
      os.kill(os.getpid(), signal.SIGKILL)  # No cleanup, as a crash.

  task = training.TrainTask(
    local_part(helpers.regression_stream(0, BATCH)),
    tl.L2Loss(),
    optimizers.Adam(0.01),
    n_steps_per_checkpoint=3,
  )
  eval_task = training.EvalTask(
    local_part(helpers.regression_stream(1, EVAL_BATCH)), [tl.L2Loss()], n_eval_batches=1
  )
  return training.Loop(
    model or helpers.mlp(dropout=dropout),
    task,
    eval_tasks=[eval_task] if with_eval else [],
    eval_at=None if with_eval else (lambda step: False),
    output_dir=output_dir,
    random_seed=0,
    mesh=mesh,
    n_devices=n_devices,
    callbacks=[KillProcess] if kill_at else [],
  )


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('output_dir')
  parser.add_argument('n_steps', type=int)
  parser.add_argument('--mesh', type=int, nargs=2)
  parser.add_argument('--kill-at', type=int)
  parser.add_argument('--own-dir', action='store_true')
  parser.add_argument('--no-eval', action='store_true')
  parser.add_argument('--tf-data', action='store_true')
  options = parser.parse_args()

  output_dir = options.output_dir
  if options.own_dir:  # Each process its own directory: shows who writes what.
    output_dir = os.path.join(output_dir, f'process{jax.process_index()}')
  mesh = sharding.make_mesh(*options.mesh) if options.mesh else None
  loop = build_loop(output_dir, mesh, with_eval=not options.no_eval, kill_at=options.kill_at)
  loaded_step, loaded = loop.step, host_weights(loop)
  loop.run(options.n_steps - loop.step)
  result = {
    'process': jax.process_index(),
    'pid': os.getpid(),
    'n_processes': jax.process_count(),
    'n_devices': len(jax.devices()),
    'is_chief': loop.is_chief,
    'loaded_step': loaded_step,
    'loaded': loaded,
    'step': loop.step,
    'weights': host_weights(loop),
    'eval_losses': [v for _, v in loop.history.get('eval', 'metrics/L2Loss')],
  }
  if options.tf_data:
    result['tf_data'] = tf_data_part()
  with open(os.path.join(options.output_dir, f'result{jax.process_index()}.json'), 'w') as f:
    json.dump(result, f)


if __name__ == '__main__':
  main()
