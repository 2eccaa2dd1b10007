"""Makes `transformer_copy.pkl.gz`: a Trax 1.x checkpoint of an encoder-decoder copy model.

Trax 1.4's decoding test loads such a file (`transformer_copy.pkl.gz` in Trax's testdata,
not available offline) into `Transformer(d_model=64, d_ff=128, dropout=0.05, max_len=256,
n_heads=2, n_encoder_layers=2, n_decoder_layers=2, input_vocab_size=13, mode='predict')`
and expects greedy decoding of `[[3, 7, 5, 3, 2, 4, 1, 8]]` to give `[3 7 5 3 2 4 1]`.
This script trains that model with trax's `Loop` to copy its input (sequences of 1 to 10
ids in [1, 13), zero padded), and writes its weights in Trax 1.x's format: a gzipped
pickle of a dict with `flat_weights` and `flat_state` (lists of numpy arrays in Trax's
flattening order) and `input_signature`, as Trax 1.4's `Layer.save_to_file` wrote it.
The weights are rounded to bfloat16 precision (kept as float32) so the file compresses
to about half; the script checks the decoding after rounding.

Run from the repository root: `python tests/supervised/testdata/make_transformer_copy.py`
(about a minute on a 2-core CPU).
"""

import gzip
import os
import pickle
import sys

import numpy as np

import trax
from trax import shapes
import trax.layers as tl
from trax.supervised import decoding
from trax.supervised import training

ARGS = dict(
  d_model=64,
  d_ff=128,
  dropout=0.05,
  max_len=256,
  n_heads=2,
  n_encoder_layers=2,
  n_decoder_layers=2,
  input_vocab_size=13,
)
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'transformer_copy.pkl.gz')


def copy_batches(batch_size=64, max_length=10, seed=0):
  rng = np.random.default_rng(seed)
  while True:
    lengths = rng.integers(1, max_length + 1, batch_size)
    ids = rng.integers(1, ARGS['input_vocab_size'], (batch_size, max_length))
    weights = (np.arange(max_length) < lengths[:, None]).astype(np.float32)
    ids = (ids * weights).astype(np.int32)
    yield ids, ids, weights


def decode(path):
  """Trax 1.4's test scenario on the checkpoint at `path`."""
  model = trax.models.Transformer(**ARGS, mode='predict')
  s11 = shapes.ShapeDtype((1, 1), np.int32)
  model.init_from_file(path, weights_only=True, input_signature=(s11, s11))
  return decoding.autoregressive_sample(
    model, inputs=np.array([[3, 7, 5, 3, 2, 4, 1, 8]]), eos_id=1, max_length=10, temperature=0.0
  )


def to_bfloat16_precision(x):
  bits = np.asarray(x, np.float32).view(np.uint32)
  return ((bits + 0x8000) & 0xFFFF0000).view(np.float32)  # Round to nearest.


def main(n_steps=2000):
  model = trax.models.Transformer(**ARGS, mode='train')
  task = training.TrainTask(
    copy_batches(),
    tl.WeightedCategoryCrossEntropy(),
    trax.optimizers.Adam(0.002),
    n_steps_per_checkpoint=500,
  )
  loop = training.Loop(model, task, random_seed=0)
  loop.run(n_steps)
  weights = trax.fastmath.nested_map(to_bfloat16_precision, model.weights)
  flat_weights, flat_state = tl.flatten_weights_and_state(weights, model.state)
  checkpoint = {
    'flat_weights': [np.asarray(w) for w in flat_weights],
    'flat_state': [np.asarray(s) for s in flat_state],
    'input_signature': (shapes.ShapeDtype((64, 10), np.int32),) * 2,
  }
  with gzip.GzipFile(PATH + '.tmp', 'wb', compresslevel=9, mtime=0) as f:
    pickle.dump(checkpoint, f, protocol=4)
  decoded = decode(PATH + '.tmp')
  print('decoded', decoded)
  if str(decoded[0]) != '[3 7 5 3 2 4 1]':
    sys.exit('The trained model does not copy; train longer.')
  os.replace(PATH + '.tmp', PATH)
  print('wrote', PATH, os.path.getsize(PATH), 'bytes')


if __name__ == '__main__':
  main()
