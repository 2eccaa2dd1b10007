"""Training-step speed of `TraxLayer` against the same model from native Keras layers.

Two models, each trained one `train_on_batch` step at a time:

- `transformer`: the benchmark TransformerLM of ARCHITECTURE.md (`bench/peers/common.py`:
  vocab 4096, d_model 256, 2 layers, batch 16 x 128, AdamW, dropout 0.1). Native Keras is
  `bench/peers/keras_peer.py` (Embedding, MultiHeadAttention, LayerNormalization, Dense);
  TraxLayer wraps `trax.models.TransformerLM` via `trax_keras.to_keras_model`.
- `mlp`: 256 -> 512 -> 512 -> 10 with ReLUs, batch 256, Adam, mean squared error; native
  `keras.layers.Dense` against `TraxLayer(tl.Serial(tl.Dense(512), tl.Relu(), ...))`.

Peers, each Keras one in a worker process of its own (the backend is fixed at import):
`keras_tf_xla`/`traxlayer_tf_xla` (TensorFlow, `jit_compile=True`), `keras_tf`/
`traxlayer_tf` (TensorFlow without XLA: TraxLayer runs trax's TF ops), `keras_jax`/
`traxlayer_jax` (JAX), and `trax`: the same trax model trained by
`trax.supervised.training.Loop` in this process. Rounds interleave the peers; the tables
show medians of wall and process-CPU ms per step, then TraxLayer / native Keras for each
backend (target: within 10%) and TraxLayer / trax Loop.

    python bench/keras_layer.py [--models transformer mlp] [--steps 5] [--rounds 5]
                                [--peers traxlayer_jax keras_jax ...] [--no-dropout]
"""

import argparse
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np

from bench import _timing
from bench.peers import common

KERAS_PEERS = {  # name -> (implementation, Keras backend, jit_compile)
  'keras_tf_xla': ('native', 'tensorflow', True),
  'traxlayer_tf_xla': ('traxlayer', 'tensorflow', True),
  'keras_tf': ('native', 'tensorflow', False),
  'traxlayer_tf': ('traxlayer', 'tensorflow', False),
  'keras_jax': ('native', 'jax', True),
  'traxlayer_jax': ('traxlayer', 'jax', True),
}
ALL_PEERS = (*KERAS_PEERS, 'trax')
MLP_SIZES = (256, 512, 512, 10)
MLP_BATCH = 256


def trax_model(model: str, config: common.Config, dropout: bool):
  import trax.layers as tl
  import trax.models

  if model == 'mlp':
    layers = []
    for width in MLP_SIZES[1:-1]:
      layers += [tl.Dense(width), tl.Relu()]
    return tl.Serial(*layers, tl.Dense(MLP_SIZES[-1]))
  return trax.models.TransformerLM(
    vocab_size=config.vocab_size,
    d_model=config.d_model,
    d_ff=config.d_ff,
    n_layers=config.n_layers,
    n_heads=config.n_heads,
    max_len=config.length,
    dropout=config.dropout if dropout else 0.0,
    mode='train',
  )


def mlp_batches(n: int = 4) -> list:
  """`(inputs, targets, weights)` batches of a random regression task."""
  rng = np.random.default_rng(0)
  return [
    (
      rng.normal(size=(MLP_BATCH, MLP_SIZES[0])).astype(np.float32),
      rng.normal(size=(MLP_BATCH, MLP_SIZES[-1])).astype(np.float32),
      np.ones((MLP_BATCH, MLP_SIZES[-1]), np.float32),
    )
    for _ in range(n)
  ]


def build_keras_peer(model: str, implementation: str, jit_compile: bool, dropout: bool):
  """`(n_params, run)` of one Keras peer, for `bench._timing.serve` in a worker."""
  import keras
  from trax import shapes
  import trax_keras

  config = common.Config()
  if model == 'transformer':
    batches = common.make_batches(config)
    if implementation == 'native':
      from bench.peers import keras_peer

      return keras_peer.build(config, batches, dropout, jit_compile)
    keras_model = trax_keras.to_keras_model(
      trax_model(model, config, dropout), shapes.ShapeDtype((None, config.length), np.int32), seed=0
    )
    optimizer = keras.optimizers.AdamW(  # As keras_peer: trax's decoupled weight decay.
      learning_rate=config.learning_rate,
      epsilon=config.eps,
      weight_decay=config.weight_decay / config.learning_rate,
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  else:
    batches = mlp_batches()
    if implementation == 'native':
      keras_model = keras.Sequential(
        [keras.Input((MLP_SIZES[0],))]
        + [keras.layers.Dense(width, activation='relu') for width in MLP_SIZES[1:-1]]
        + [keras.layers.Dense(MLP_SIZES[-1])]
      )
    else:
      keras_model = trax_keras.to_keras_model(
        trax_model(model, config, dropout), shapes.ShapeDtype((None, MLP_SIZES[0])), seed=0
      )
    optimizer, loss = keras.optimizers.Adam(1e-3), 'mse'
  keras_model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
  stream = itertools.cycle(batches)

  def run(n_steps: int) -> None:
    for _ in range(n_steps):
      x, y, w = next(stream)
      keras_model.train_on_batch(x, y, sample_weight=w if model == 'transformer' else None)

  return keras_model.count_params(), run


class TraxLoopPeer:
  """The trax model trained by `trax.supervised.training.Loop` (evals, checkpoints off)."""

  name = 'trax'

  def __init__(self, model: str, dropout: bool):
    import trax.layers as tl
    import trax.optimizers
    from trax.supervised import training

    config = common.Config()
    never = lambda step: False
    if model == 'transformer':
      batches, loss = common.make_batches(config), tl.WeightedCategoryCrossEntropy()
      optimizer = trax.optimizers.Adam(
        config.learning_rate, eps=config.eps, weight_decay_rate=config.weight_decay
      )
    else:
      batches, loss = mlp_batches(), tl.L2Loss()
      optimizer = trax.optimizers.Adam(1e-3)
    self._model = trax_model(model, config, dropout)
    task = training.TrainTask(itertools.cycle(batches), loss, optimizer, sample_batch=batches[0])
    self._loop = training.Loop(
      self._model,
      task,
      random_seed=0,
      checkpoint_at=never,
      eval_at=never,
      permanent_checkpoint_at=never,
    )
    self.n_params = sum(np.size(w) for w in trax.fastmath.tree_flatten(self._model.weights))

  def run(self, n_steps: int) -> None:
    self._loop.run(n_steps)


def worker_main(argv: list) -> None:
  """Entry of a worker process: `--worker MODEL PEER [--no-dropout]`."""
  model, peer = argv[0], argv[1]
  implementation, backend, jit_compile = KERAS_PEERS[peer]
  os.environ['KERAS_BACKEND'] = backend
  _timing.serve(
    lambda: build_keras_peer(model, implementation, jit_compile, '--no-dropout' not in argv)
  )


def benchmark(model: str, args: argparse.Namespace) -> None:
  dropout = not args.no_dropout
  print(
    f'\n{model}: training step, dropout {"on" if dropout else "off"}; '
    f'start: {_timing.load_average()}'
  )
  workers = [
    _timing.WorkerPeer(
      name,
      [sys.executable, os.path.abspath(__file__), '--worker', model, name]
      + (['--no-dropout'] if not dropout else []),
    )
    for name in args.peers
    if name in KERAS_PEERS
  ]
  peers = [TraxLoopPeer(model, dropout)] if 'trax' in args.peers else []
  peers += _timing.ready(workers)
  peers.sort(key=lambda p: args.peers.index(p.name))
  try:
    results = _timing.interleaved(peers, args.rounds, args.steps, args.warmup_steps)
  finally:
    for worker in workers:
      worker.close()
  print(f'Medians over {args.rounds} rounds of {args.steps} steps (end: {_timing.load_average()}):')
  baseline = 'trax' if 'trax' in results else next(iter(results))
  _timing.print_report(
    results, baseline=baseline, extra={p.name: f'{p.n_params:,} params' for p in peers}
  )
  table = _timing.medians(results)
  for suffix in ('tf_xla', 'tf', 'jax'):
    traxlayer, native = table.get(f'traxlayer_{suffix}'), table.get(f'keras_{suffix}')
    if traxlayer and native:
      print(
        f'traxlayer_{suffix} / keras_{suffix}: wall {traxlayer[0] / native[0]:.3f}, '
        f'cpu {traxlayer[1] / native[1]:.3f} (target <= 1.10)'
      )
    if traxlayer and 'trax' in table:
      print(f'traxlayer_{suffix} / trax Loop: wall {traxlayer[0] / table["trax"][0]:.3f}')


def main() -> None:
  if len(sys.argv) > 1 and sys.argv[1] == '--worker':
    worker_main(sys.argv[2:])
    return
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument(
    '--models', nargs='+', default=['mlp', 'transformer'], choices=['mlp', 'transformer']
  )
  parser.add_argument('--steps', type=int, default=5, help='steps per peer per round')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--warmup-steps', type=int, default=3)
  parser.add_argument('--peers', nargs='+', default=list(ALL_PEERS), choices=ALL_PEERS)
  parser.add_argument('--no-dropout', action='store_true', help='dropout rate 0 everywhere')
  args = parser.parse_args()
  for model in args.models:
    benchmark(model, args)


if __name__ == '__main__':
  main()
