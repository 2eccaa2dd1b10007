"""Training speed of a converted Keras model: trax against the Keras it came from.

A `keras.applications` CNN (ResNet50, MobileNetV2; `weights=None`, 64x64 RGB inputs, 10
classes, batch 32) is built in each worker process from the same seed. Peers, each in a
process of its own (Keras' backend is fixed at import, and the engines should not share
thread pools), all taking SGD steps with momentum 0.9 on the same in-memory batches:

- `keras_tf`, `keras_tf_xla`: Keras' `train_on_batch` on TensorFlow, without and with XLA
  (`jit_compile`).
- `keras_jax`: the same on Keras' JAX backend (`KERAS_BACKEND=jax`, set before import).
- `trax`: `converters.from_keras(model, mode='train')` trained by `training.Loop` (jax).
- `trax_tf`: the same `Loop` with `backend='tensorflow-numpy'`: the layers run as plain TF
  ops in one `tf.function` (trax's second engine).
- `traxlayer_tf`: the converted model in a `trax_keras.TraxLayer`, trained by Keras-TF's
  `train_on_batch` (again trax's TF ops, Keras' optimizer).

Rounds interleave the peers; the table shows medians of wall and process-CPU ms per step
and ratios to the fastest Keras peer.

    python bench/keras_migration.py [--models ResNet50 MobileNetV2] [--steps 3]
                                    [--rounds 3] [--peers trax trax_tf keras_tf ...]
"""

import argparse
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np

from bench import _timing

SIZE, BATCH, CLASSES = 64, 32, 10
LEARNING_RATE, MASS = 0.01, 0.9
KERAS_PEERS = {
  'keras_tf': ('tensorflow', False),
  'keras_tf_xla': ('tensorflow', True),
  'keras_jax': ('jax', True),
}
TRAX_PEERS = {'trax': 'jax', 'trax_tf': 'tensorflow-numpy', 'traxlayer_tf': None}
ALL_PEERS = (*TRAX_PEERS, *KERAS_PEERS)


def batches(n: int = 3) -> list:
  """`(images, labels)` batches: uniform pixels in [-1, 1], labels 0..CLASSES-1."""
  rng = np.random.default_rng(0)
  return [
    (
      rng.uniform(-1.0, 1.0, (BATCH, SIZE, SIZE, 3)).astype(np.float32),
      rng.integers(0, CLASSES, BATCH).astype(np.int32),
    )
    for _ in range(n)
  ]


def keras_model(name: str):
  import keras

  keras.utils.set_random_seed(0)
  return getattr(keras.applications, name)(
    weights=None, input_shape=(SIZE, SIZE, 3), classes=CLASSES, classifier_activation=None
  )


def build_keras(model: str, jit_compile: bool):
  """`(n_params, run)` of Keras' own training (`train_on_batch`)."""
  return _keras_trainer(keras_model(model), jit_compile)


def _keras_trainer(net, jit_compile: bool):
  import keras

  net.compile(
    keras.optimizers.SGD(LEARNING_RATE, momentum=MASS),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    jit_compile=jit_compile,
  )
  stream = itertools.cycle(batches())

  def run(n_steps: int) -> None:
    for _ in range(n_steps):
      net.train_on_batch(*next(stream))

  return net.count_params(), run


def build_trax(model: str, peer: str):
  """`(n_params, run)` of the converted model trained by trax (Loop or TraxLayer)."""
  import converters
  from trax import fastmath
  from trax import optimizers
  import trax.layers as tl
  from trax.supervised import training

  layer, _ = converters.from_keras(keras_model(model), mode='train')
  n_params = sum(np.size(w) for w in fastmath.tree_flatten(layer.weights))
  if peer == 'traxlayer_tf':
    import keras
    from trax_keras import TraxLayer

    inputs = keras.Input((SIZE, SIZE, 3))
    _, run = _keras_trainer(keras.Model(inputs, TraxLayer(layer)(inputs)), False)
    return n_params, run
  never = lambda step: False
  task = training.TrainTask(
    itertools.cycle(batches()),
    tl.CategoryCrossEntropy(),
    optimizers.Momentum(LEARNING_RATE, MASS, weight_decay_rate=0.0, nesterov=False),
  )
  loop = training.Loop(
    layer,
    task,
    random_seed=0,
    backend=TRAX_PEERS[peer],
    checkpoint_at=never,
    eval_at=never,
    permanent_checkpoint_at=never,
  )
  return n_params, loop.run


def worker_main(model: str, peer: str) -> None:
  """Entry of a worker process: `--worker MODEL PEER`."""
  if peer in KERAS_PEERS:
    backend, jit_compile = KERAS_PEERS[peer]
    os.environ['KERAS_BACKEND'] = backend
    _timing.serve(lambda: build_keras(model, jit_compile))
  else:
    os.environ['KERAS_BACKEND'] = 'tensorflow'  # The conversion runs on any backend.
    _timing.serve(lambda: build_trax(model, peer))


def benchmark(model: str, args: argparse.Namespace) -> None:
  print(f'\n{model} at {SIZE}x{SIZE}, batch {BATCH}; start: {_timing.load_average()}')
  workers = [
    _timing.WorkerPeer(name, [sys.executable, os.path.abspath(__file__), '--worker', model, name])
    for name in args.peers
  ]
  peers = _timing.ready(workers)
  try:
    results = _timing.interleaved(peers, args.rounds, args.steps, args.warmup_steps)
  finally:
    for worker in workers:
      worker.close()
  print(f'Medians over {args.rounds} rounds of {args.steps} steps (end: {_timing.load_average()}):')
  table = _timing.medians(results)
  keras_peers = [name for name in table if name in KERAS_PEERS]
  baseline = min(keras_peers, key=lambda n: table[n][0]) if keras_peers else next(iter(table))
  _timing.print_report(
    results, baseline=baseline, extra={p.name: f'{p.n_params:,} params' for p in peers}
  )
  for name in TRAX_PEERS:
    if name in table and baseline in table:
      wall, cpu = (table[name][i] / table[baseline][i] for i in (0, 1))
      print(f'{name} / fastest Keras ({baseline}): wall {wall:.3f}, cpu {cpu:.3f} (target <= 1)')


def main() -> None:
  if len(sys.argv) > 1 and sys.argv[1] == '--worker':
    worker_main(*sys.argv[2:4])
    return
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument(
    '--models', nargs='+', default=['ResNet50', 'MobileNetV2'], choices=['ResNet50', 'MobileNetV2']
  )
  parser.add_argument('--steps', type=int, default=3, help='steps per peer per round')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--warmup-steps', type=int, default=2)
  parser.add_argument('--peers', nargs='+', default=list(ALL_PEERS), choices=ALL_PEERS)
  args = parser.parse_args()
  for model in args.models:
    benchmark(model, args)


if __name__ == '__main__':
  main()
