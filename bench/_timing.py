"""Timing helpers shared by the benchmarks: interleaved rounds, worker processes, reports.

The machine is shared and its load noisy, so a benchmark compares peers measured in the
same run, interleaved: every round runs every peer once (in a rotating order), and a
peer's figure is its median over rounds. Both wall time and process CPU time (all threads
of the process that ran the peer) are recorded: under heavy load wall time mostly measures
the scheduler, while CPU time still measures the work (though threads that spin while
waiting count as working).

A peer is any object with `name`, `n_params` and `run(n_steps)`, which takes `n_steps`
steps and returns once they are done (blocking on the results). Peers that need a process
of their own (e.g. Keras, whose backend is fixed at import) run in a `WorkerPeer`: a child
process that builds the peer, then times `run` on request; `serve` is its side.

    peers = [MyPeer(), WorkerPeer('keras_tf', [sys.executable, '-m', 'bench.peers.x'])]
    results = interleaved(peers, rounds=5, steps=10, warmup_steps=2)
    print_report(results, baseline='trax')
"""

import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from typing import Any
from collections.abc import Callable, Sequence


def load_average() -> str:
  """The 1, 5 and 15 minute load averages and the CPU count, as a line to print."""
  one, five, fifteen = os.getloadavg()
  return f'load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} CPUs'


def time_run(run: Callable[[int], Any], n_steps: int) -> tuple[float, float]:
  """Wall and process-CPU seconds per step of `run(n_steps)`."""
  wall, cpu = time.perf_counter(), time.process_time()
  run(n_steps)
  return ((time.perf_counter() - wall) / n_steps, (time.process_time() - cpu) / n_steps)


class WorkerPeer:
  """A peer living in a child process started with `command`, which calls `serve`.

  The child builds its peer when started; `wait_ready` returns its parameter count (or
  raises with the child's error).
  """

  def __init__(self, name: str, command: Sequence[str], env: 'dict | None' = None):
    self.name = name
    self.n_params = None
    self._process = subprocess.Popen(
      list(command),
      stdin=subprocess.PIPE,
      stdout=subprocess.PIPE,
      text=True,
      env={**os.environ, **(env or {})},
    )

  def _receive(self) -> dict:
    line = self._process.stdout.readline()
    if not line:
      raise RuntimeError(
        f'{self.name}: the worker process exited '
        f'(code {self._process.wait()}); see its stderr above.'
      )
    return json.loads(line)

  def wait_ready(self) -> int:
    reply = self._receive()
    if 'error' in reply:
      raise RuntimeError(f'{self.name}: {reply["error"]}')
    self.n_params = reply['n_params']
    return self.n_params

  def timed_run(self, n_steps: int) -> tuple[float, float]:
    self._process.stdin.write(f'{n_steps}\n')
    self._process.stdin.flush()
    reply = self._receive()
    if 'error' in reply:
      raise RuntimeError(f'{self.name}: {reply["error"]}')
    return reply['wall'], reply['cpu']

  def run(self, n_steps: int) -> None:
    self.timed_run(n_steps)

  def close(self) -> None:
    if self._process.poll() is None:
      self._process.stdin.close()
      self._process.wait(timeout=60)


def ready(workers: Sequence[WorkerPeer]) -> list:
  """The workers whose peer was built; the others are dropped, saying why."""
  built = []
  for worker in workers:
    try:
      worker.wait_ready()
      built.append(worker)
    except RuntimeError as e:
      print(f'  {worker.name}: dropped: {e}')
  return built


def serve(build: Callable[[], tuple[int, Callable[[int], Any]]]) -> None:
  """The worker side of `WorkerPeer`: `build()` returns `(n_params, run)`.

  Replies go to the original stdout; everything the peer prints goes to stderr. Reads one
  step count per line from stdin and answers each with the timing of `run(n)`.
  """
  replies = os.fdopen(os.dup(1), 'w')
  os.dup2(2, 1)
  sys.stdout = sys.stderr

  def reply(message: dict) -> None:
    replies.write(json.dumps(message) + '\n')
    replies.flush()

  try:
    n_params, run = build()
  except Exception:
    reply({'error': traceback.format_exc(limit=3)})
    return
  reply({'n_params': int(n_params)})
  for line in sys.stdin:
    try:
      wall, cpu = time_run(run, int(line))
      reply({'wall': wall, 'cpu': cpu})
    except Exception:
      reply({'error': traceback.format_exc(limit=3)})


def timed(peer: Any, n_steps: int) -> tuple[float, float]:
  """Wall and CPU seconds per step of `peer.run(n_steps)`, wherever the peer lives."""
  if isinstance(peer, WorkerPeer):
    return peer.timed_run(n_steps)
  return time_run(peer.run, n_steps)


def interleaved(
  peers: Sequence[Any],
  rounds: int,
  steps: int,
  warmup_steps: int = 2,
  log: Callable[[str], None] = print,
) -> dict:
  """Per-step times of every peer over `rounds` interleaved rounds of `steps` steps.

  Each peer first runs `warmup_steps` untimed steps (compilation). A peer that fails is
  reported and dropped. Returns `{name: [(wall, cpu), ...]}`, one entry per round.
  """
  peers = list(peers)
  for peer in list(peers):
    try:
      start = time.perf_counter()
      timed(peer, warmup_steps)
      log(
        f'  {peer.name}: warm-up ({warmup_steps} steps, compilation) '
        f'{time.perf_counter() - start:.1f} s'
      )
    except Exception as e:
      log(f'  {peer.name}: dropped, warm-up failed: {e}')
      peers.remove(peer)
  results = {peer.name: [] for peer in peers}
  for r in range(rounds):
    order = peers[r % len(peers) :] + peers[: r % len(peers)]
    for peer in order:
      results[peer.name].append(timed(peer, steps))
    log(
      f'  round {r + 1}/{rounds}: '
      + ', '.join(f'{name} {times[-1][0] * 1e3:.0f}' for name, times in results.items())
      + f' ms/step ({load_average()})'
    )
  return results


def medians(results: dict) -> dict:
  """`{name: (median wall, median cpu)}` seconds per step."""
  return {
    name: (statistics.median(w for w, _ in times), statistics.median(c for _, c in times))
    for name, times in results.items()
    if times
  }


def print_report(
  results: dict, baseline: str, extra: 'dict | None' = None, log: Callable[[str], None] = print
) -> None:
  """A table of median ms/step (wall and CPU) and ratios to `baseline`.

  `extra` maps a peer name to a column string (e.g. its parameter count).
  """
  table = medians(results)
  base_wall, base_cpu = table.get(baseline, (None, None))
  log(
    f'{"peer":<16}{"wall ms/step":>14}{"/ " + baseline:>10}{"cpu ms/step":>14}'
    f'{"/ " + baseline:>10}  {"min..max wall":>15}  {"":<}'
  )
  for name, (wall, cpu) in sorted(table.items(), key=lambda item: item[1][0]):
    walls = [w for w, _ in results[name]]
    ratio = lambda x, b: f'{x / b:.3f}' if b else '-'
    log(
      f'{name:<16}{wall * 1e3:>14.1f}{ratio(wall, base_wall):>10}{cpu * 1e3:>14.1f}'
      f'{ratio(cpu, base_cpu):>10}  {min(walls) * 1e3:>6.0f}..{max(walls) * 1e3:<6.0f}  '
      f'{(extra or {}).get(name, "")}'
    )
