"""Training-step speed: trax's Loop against the same TransformerLM in other frameworks.

The benchmark TransformerLM of ARCHITECTURE.md (vocab 4096, d_model 256, d_ff 1024, 4
heads, 2 layers, batch 16 x 128 tokens, Adam, dropout 0.1; 3.71 M parameters), one
training step timed for each peer:

- trax:          `trax.models.TransformerLM` trained by a default
                 `trax.supervised.training.Loop` (`loop.run(n)` over an in-memory stream;
                 see `peers/trax_loop.py`), which does not chunk the loss here (freed
                 memory is kept for reuse: `trax.host_memory`, `trax.supervised.chunked_loss`);
- trax_chunked:  the same Loop with `loss_chunk_size=16` (the last Dense and the loss 16
                 positions at a time);
- trax_unchecked: the trax Loop without its host-side checks of token ids and labels
                 (`trax.supervised.batch_checks`), to measure what they cost;
- jax:           the reference, hand-written JAX + optax, jitted with donation;
- flax_nnx:      Flax NNX modules, `nnx.jit`, `nnx.Optimizer`;
- keras_tf_xla:  Keras 3 on TensorFlow, `jit_compile=True`, `train_on_batch`;
- keras_tf:      the same without XLA;
- keras_jax:     Keras 3 on JAX;
- torch_eager:   PyTorch eager, `torch.optim.AdamW`;
- torch_compile: the same model under `torch.compile` (dropped with a message if it fails).

Keras peers run in worker processes of their own (the backend is fixed at import); all
others in this process. Rounds interleave the peers (every peer once per round, rotating
order); the table shows medians over rounds of wall and process-CPU ms per step and their
ratios to trax. Compilation is excluded (warm-up steps). Targets (issue 3): trax within 5%
of jax and faster than every other peer (each trax variant is checked on its own).

    python bench/train_step.py [--steps 10] [--rounds 5] [--peers trax jax ...]
                               [--no-dropout]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import trax  # noqa: F401 (first: its malloc setting precedes any jax run, trax.host_memory)

from bench import _timing
from bench.peers import common

IN_PROCESS = (
  'trax',
  'trax_chunked',
  'trax_unchecked',
  'jax',
  'flax_nnx',
  'torch_eager',
  'torch_compile',
)
TRAX = ('trax', 'trax_chunked', 'trax_unchecked')
KERAS = {'keras_tf_xla': ('tensorflow', 1), 'keras_tf': ('tensorflow', 0), 'keras_jax': ('jax', 1)}
ALL_PEERS = IN_PROCESS[:5] + tuple(KERAS) + IN_PROCESS[5:]


def build_in_process(name: str, config: common.Config, batches: list, dropout: bool):
  """The peer called `name`, or `None` with a message when it cannot be built."""
  if name in TRAX:
    from bench.peers import trax_loop

    peer = trax_loop.Peer(
      config,
      batches,
      dropout,
      16 if name == 'trax_chunked' else None,
      check_batches=name != 'trax_unchecked',
    )
    peer.name = name
    return peer
  if name == 'jax':
    from bench.peers import jax_reference

    return jax_reference.Peer(config, batches, dropout)
  if name == 'flax_nnx':
    from bench.peers import flax_nnx

    return flax_nnx.Peer(config, batches, dropout)
  try:
    from bench.peers import torch_peer
  except ImportError as e:
    print(f'  {name}: skipped, PyTorch is not installed ({e}; pip install torch==2.13.0)')
    return None
  return torch_peer.Peer(config, batches, dropout, compile=name == 'torch_compile')


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--steps', type=int, default=10, help='steps per peer per round')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--warmup-steps', type=int, default=3)
  parser.add_argument('--peers', nargs='+', default=list(ALL_PEERS), choices=ALL_PEERS)
  parser.add_argument('--no-dropout', action='store_true', help='dropout rate 0 everywhere')
  args = parser.parse_args()
  config = common.Config()
  dropout = not args.no_dropout
  print(f'TransformerLM training step: {config}, dropout {"on" if dropout else "off"}')
  print(f'Start: {_timing.load_average()}')

  peers, n_params = [], {}
  workers = [
    _timing.WorkerPeer(
      name,
      [
        sys.executable,
        '-m',
        'bench.peers.keras_peer',
        '--backend',
        backend,
        '--jit-compile',
        str(jit),
      ]
      + (['--no-dropout'] if not dropout else []),
    )
    for name, (backend, jit) in KERAS.items()
    if name in args.peers
  ]
  for name in args.peers:
    if name in IN_PROCESS:
      peer = build_in_process(name, config, common.make_batches(config), dropout)
      if peer is not None:
        peers.append(peer)
  peers += _timing.ready(workers)
  peers.sort(key=lambda p: args.peers.index(p.name))
  for peer in peers:
    n_params[peer.name] = f'{peer.n_params:,} params'
    if peer.n_params != config.n_params:
      n_params[peer.name] += f' (expected {config.n_params:,})'

  try:
    results = _timing.interleaved(peers, args.rounds, args.steps, args.warmup_steps)
  finally:
    for worker in workers:
      worker.close()
  print(
    f'\nMedians over {args.rounds} rounds of {args.steps} steps (end: {_timing.load_average()}):'
  )
  _timing.print_report(results, baseline='trax', extra=n_params)
  table = _timing.medians(results)
  others = [name for name in table if name not in TRAX + ('jax',)]
  for trax_name in (name for name in TRAX if name in table):
    trax_wall = table[trax_name][0]
    beaten = [name for name in others if table[name][0] > trax_wall]
    print(
      f'\n{trax_name}: faster than {len(beaten)} of {len(others)} peers other than jax'
      + (
        f' (not: {", ".join(sorted(set(others) - set(beaten)))})'
        if len(beaten) < len(others)
        else ''
      )
      + (
        f'; / jax reference: {trax_wall / table["jax"][0]:.3f} (target <= 1.05)'
        if 'jax' in table
        else ''
      )
    )


if __name__ == '__main__':
  main()
