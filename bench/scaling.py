"""Scaling: the benchmark TransformerLM's training step on device meshes of 8 CPU devices.

Each layout runs `training.Loop` (as `peers/trax_loop.py`, evals and checkpoints off) in
its own processes, started by `trax.launch` with forced CPU devices:

- 1x1:          one process, one device (for reference);
- 1x8:          one process, 8 devices, data parallel (weights replicated): the baseline;
- 2x4:          two jax.distributed processes x 4 devices, data parallel (gloo);
- 1x8 model=8:  one process, weights and Adam slots split 8 ways (mesh data=1, model=8);
- 1x8 2x4mesh:  one process, mesh data=2 x model=4;
- 2x4 model=4:  two processes, each splitting the weights over its 4 devices (data=2,
                model=4): the layout for hosts whose devices cannot each hold the model.

Reported per layout: median wall and CPU ms per step over rounds (CPU summed over the
layout's processes), efficiency relative to 1x8 (1x8 wall / layout wall), and the bytes
of weights + slots per device. All layouts share this machine's 2 cores, so efficiency
here measures the overhead of a layout (collectives, gloo, partitioned programs), not a
speed-up: 8 "devices" are 8 slices of the same 2 cores. Layouts run one after the other
(not interleaved), so compare them at similar load (printed).

Finally the communication each layout needs per step on N hosts, computed on paper from
the parameter count (nothing here measures a network).

    python bench/scaling.py [--steps 3] [--rounds 3] [--layouts 1x8 2x4 ...]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

from bench import _timing  # noqa: E402 (after the sys.path line)
from bench.peers import common  # noqa: E402

# name: (processes, devices per process, data axis, model axis)
LAYOUTS = {
  '1x1': (1, 1, 1, 1),
  '1x8': (1, 8, 8, 1),
  '2x4': (2, 4, 8, 1),
  '1x8 model=8': (1, 8, 1, 8),
  '1x8 2x4mesh': (1, 8, 2, 4),
  '2x4 model=4': (2, 4, 2, 4),
}
BASELINE = '1x8'


def worker(layout: str, out: str, steps: int, rounds: int, warmup: int) -> None:
  """One process of a layout: trains, times rounds, writes `<out>.<process>` as JSON."""
  import jax
  from trax import sharding
  from bench.peers import trax_loop

  _, _, data, model = LAYOUTS[layout]
  index, count = jax.process_index(), jax.process_count()
  config = common.Config()
  local = lambda batch: tuple(
    a[index * len(a) // count : (index + 1) * len(a) // count] for a in batch
  )
  batches = [local(b) for b in common.make_batches(config)]
  peer = trax_loop.Peer(config, batches, mesh=sharding.make_mesh(data, model))
  peer.run(warmup)
  times = [_timing.time_run(peer.run, steps) for _ in range(rounds)]
  trainer = peer.loop._trainers[0]
  used = sharding.bytes_per_device((peer.loop.model.weights, trainer.slots))
  with open(f'{out}.{index}', 'w') as f:
    json.dump(
      {'times': times, 'bytes_per_device': max(used.values()), 'n_params': peer.n_params}, f
    )


def run_layout(layout: str, steps: int, rounds: int, warmup: int) -> 'dict | None':
  """Runs a layout in its own processes; its timings, or `None` if it failed."""
  from trax import launch

  n_processes, local_devices, _, _ = LAYOUTS[layout]
  out = os.path.join(tempfile.mkdtemp(), 'result')
  code = launch.launch_local(
    [
      os.path.abspath(__file__),
      '--worker',
      layout,
      '--out',
      out,
      '--steps',
      str(steps),
      '--rounds',
      str(rounds),
      '--warmup-steps',
      str(warmup),
    ],
    n_processes,
    local_devices,
    env={'PYTHONPATH': ROOT + os.pathsep + os.environ.get('PYTHONPATH', '')},
  )
  if code:
    print(f'  {layout}: failed (exit code {code})')
    return None
  parts = []
  for i in range(n_processes):
    with open(f'{out}.{i}') as f:
      parts.append(json.load(f))
  walls = [wall for wall, _ in parts[0]['times']]
  cpus = [sum(part['times'][r][1] for part in parts) for r in range(rounds)]
  return {
    'wall': statistics.median(walls),
    'cpu': statistics.median(cpus),
    'walls': walls,
    'bytes': parts[0]['bytes_per_device'],
    'n_params': parts[0]['n_params'],
  }


def print_table(results: dict) -> None:
  base = results.get(BASELINE)
  print(
    f'{"layout":<14}{"wall ms/step":>13}{"cpu ms/step":>13}{"efficiency":>12}'
    f'{"min..max wall":>16}{"weights+slots/device":>22}'
  )
  for layout, r in results.items():
    efficiency = f'{base["wall"] / r["wall"]:.2f}' if base else '-'
    spread = f'{min(r["walls"]) * 1e3:.0f}..{max(r["walls"]) * 1e3:.0f}'
    print(
      f'{layout:<14}{r["wall"] * 1e3:>13.0f}{r["cpu"] * 1e3:>13.0f}{efficiency:>12}'
      f'{spread:>16}{r["bytes"] / 2**20:>17.2f} MiB'
    )


def print_communication(n_params: int) -> None:
  """Bytes each host sends per step on N hosts (ring collectives, float32), on paper."""
  p = 4 * n_params
  print(
    f'\nCommunication per step and host, on paper ({n_params:,} float32 parameters, '
    f'{p / 2**20:.1f} MiB; Adam slots never move):'
  )
  print('  data parallel (weights replicated): all-reduce of the gradients, 2 (N-1)/N x 4P bytes;')
  print(
    '  weights split over the N hosts (FSDP): all-gather of the weights for the forward '
    'and again for the backward pass, reduce-scatter of the gradients, 3 (N-1)/N x 4P;'
  )
  print(
    '  data across hosts, weights split over each host\'s own devices ("2x4 model=4"): '
    'between hosts as data parallel; the gathers stay inside each host.'
  )
  print(f'{"hosts N":>9}{"data parallel":>16}{"FSDP over hosts":>18}')
  for n in (1, 2, 4, 8, 16, 64):
    dp, fsdp = 2 * (n - 1) / n * p, 3 * (n - 1) / n * p
    print(f'{n:>9}{dp / 2**20:>12.1f} MiB{fsdp / 2**20:>14.1f} MiB')
  print(
    'Batches never travel: each host reads its own part. XLA may partition a layer as '
    'tensor parallel instead (moving activations rather than weights) where that is '
    'cheaper; these figures are the weight-moving bound.'
  )


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--steps', type=int, default=3, help='steps per round')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--warmup-steps', type=int, default=2)
  parser.add_argument('--layouts', nargs='+', default=list(LAYOUTS), choices=list(LAYOUTS))
  parser.add_argument('--worker', choices=list(LAYOUTS), help=argparse.SUPPRESS)
  parser.add_argument('--out', help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(args.worker, args.out, args.steps, args.rounds, args.warmup_steps)
    return
  config = common.Config()
  print(f'TransformerLM training step on device meshes: {config}')
  results = {}
  for layout in args.layouts:
    start = time.perf_counter()
    print(f'  {layout}: running ({_timing.load_average()})', flush=True)
    result = run_layout(layout, args.steps, args.rounds, args.warmup_steps)
    if result:
      results[layout] = result
      print(
        f'  {layout}: {result["wall"] * 1e3:.0f} ms/step, done in '
        f'{time.perf_counter() - start:.0f} s',
        flush=True,
      )
  print(
    f'\nMedians over {args.rounds} rounds of {args.steps} steps '
    f'(end: {_timing.load_average()}); efficiency = {BASELINE} wall / layout wall:'
  )
  print_table(results)
  print_communication(config.n_params)


if __name__ == '__main__':
  main()
