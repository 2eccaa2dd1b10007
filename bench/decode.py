"""Decoding speed: predict-mode caches against eval-mode recomputation.

For a benchmark-sized TransformerLM, measures in one run

- tokens/s of `autoregressive_sample` in 'predict' mode (the whole loop compiled) and of
  the token stream (one compiled step and one host transfer per token), at several lengths;
- tokens/s of eval-mode decoding, which runs the model over the whole prefix per token;
- the cost of one token at position 16 and at position 512 in both modes,

and prints the ratios. Compilation is excluded (every shape is run once first), and each
time is the least of several runs, as other processes on the machine only add to it. Run:

    python bench/decode.py [--lengths 16 64 256 512] [--batch 1] [--repeats 3]
"""

import argparse
import itertools
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trax import fastmath
from trax import models
from trax import shapes
import trax.layers as tl
from trax.supervised import decoding

# The benchmark TransformerLM of ARCHITECTURE.md (3.7 M parameters), with room for 1024
# positions; dropout is off in predict and eval modes anyway.
MODEL = dict(vocab_size=4096, d_model=256, d_ff=1024, n_heads=4, n_layers=2, max_len=1024)
EVAL_MIN_LENGTH = 16
WINDOW = 16  # Tokens whose median is the per-token cost at a position.


def build(mode: str, batch: int, weights=None) -> tl.Layer:
  model = models.TransformerLM(mode=mode, **MODEL)
  model.init(shapes.ShapeDtype((batch, 1), np.int32), rng=fastmath.random.get_prng(0))
  if weights is not None:
    model.weights = weights
  return model


def best_time(fn, repeats: int) -> float:
  """The least wall time of `repeats` calls of `fn` (after one warm-up call)."""
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return min(times)


def step_times(make_stream, n_tokens: int, runs: int) -> np.ndarray:
  """Wall time of each of the first `n_tokens` tokens, the least over `runs` streams (so
  that another process's burst of work is not charged to a position)."""
  times = np.full(n_tokens, np.inf)
  for _ in range(runs):
    stream = make_stream()
    for i in range(n_tokens):
      start = time.perf_counter()
      next(stream)
      times[i] = min(times[i], time.perf_counter() - start)
  return times


def per_token_cost(times: np.ndarray, position: int) -> float:
  """Median time of the `WINDOW` tokens ending at `position` (1-based), leaving out the
  first token, whose step also takes the prompt."""
  return float(np.median(times[max(position - WINDOW, 1) : position]))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--lengths', type=int, nargs='+', default=[16, 64, 256, 512])
  parser.add_argument('--batch', type=int, default=1)
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args()
  longest = max(args.lengths)
  start_id = np.zeros((args.batch, 1), np.int32)
  sample = dict(batch_size=args.batch, temperature=1.0, eos_id=-1, rng=fastmath.random.get_prng(1))

  predict_model = build('predict', args.batch)
  eval_model = build('eval', args.batch, predict_model.weights)
  n_params = sum(np.size(w) for w in tl.flatten_weights_and_state(predict_model.weights, ())[0])
  print(
    f'TransformerLM {MODEL}, {n_params / 1e6:.2f} M parameters, batch {args.batch}, '
    f'{fastmath.device_count()} device(s)\n'
  )

  print(
    f'{"tokens":>7} {"loop tok/s":>11} {"stream tok/s":>13} {"eval tok/s":>11} '
    f'{"loop/eval":>10} {"stream/loop":>12}'
  )
  for length in args.lengths:
    # Short runs are repeated more: the least time of many is the one least disturbed.
    repeats = max(args.repeats, 2048 // length)
    loop = best_time(
      lambda n=length: decoding.autoregressive_sample(predict_model, max_length=n, **sample),
      repeats,
    )
    stream = best_time(
      lambda n=length: list(
        itertools.islice(
          decoding.autoregressive_sample_stream(
            predict_model, start_id=start_id, **_no_eos(sample)
          ),
          n,
        )
      ),
      repeats,
    )
    evaluate = best_time(
      lambda n=length: decoding.autoregressive_sample(
        eval_model, max_length=n, eval_mode=True, eval_min_length=EVAL_MIN_LENGTH, **sample
      ),
      max(1, 128 // length),
    )
    tokens = length * args.batch
    print(
      f'{length:7d} {tokens / loop:11.1f} {tokens / stream:13.1f} {tokens / evaluate:11.1f} '
      f'{evaluate / loop:9.1f}x {stream / loop:11.2f}x'
    )

  early, late = min(args.lengths), longest
  predict_steps = step_times(
    lambda: decoding.autoregressive_sample_stream(predict_model, **_no_eos(sample)),
    longest,
    runs=args.repeats,
  )
  eval_steps = step_times(
    lambda: decoding.autoregressive_sample_stream(
      eval_model, eval_mode=True, eval_min_length=EVAL_MIN_LENGTH, **_no_eos(sample)
    ),
    longest,
    runs=1,
  )  # Every padded shape compiled above.
  print(
    f'\nper-token cost (stream; median of {WINDOW} tokens, each the least of its '
    f'runs; host transfer included)'
  )
  for name, times in (('predict', predict_steps), ('eval', eval_steps)):
    at_early, at_late = per_token_cost(times, early), per_token_cost(times, late)
    print(
      f'  {name:8s} token {early}: {at_early * 1e3:8.3f} ms   token {late}: '
      f'{at_late * 1e3:8.3f} ms   ratio {at_late / at_early:6.2f}'
    )


def _no_eos(kwargs: dict) -> dict:
  return {k: v for k, v in kwargs.items() if k != 'eos_id'}


if __name__ == '__main__':
  main()
