"""Serving latency of trax exports against the same model exported from native Keras.

For each architecture (a small causal-attention language model, a conv net with
BatchNorm, and keras_hub's BERT encoder), the model is built in native Keras, converted to
trax with `converters.from_keras` (same weights, exact), and exported both ways in the
same run (BERT, of three inputs, to SavedModels only):

- SavedModel: trax native path (plain TF ops), trax xla path (jax2tf XlaCallModule), and
  Keras' own `model.export`;
- TF Lite (builtin ops): trax with dynamic shapes, trax with fixed shapes, and Keras'
  export converted with dynamic and with fixed shapes.

Each artifact is loaded in this process and called on one fixed input; latency per call is
the median over interleaved rounds (see `_timing`), wall and CPU time. TF Lite op counts
are listed. The target is that trax's native SavedModel and TF Lite files are no slower
than Keras' (ratios printed, < 1 is faster). Run:

    python bench/export.py [--models lm cnn bert] [--batch 1] [--length 64] [--rounds 5]
"""

import argparse
import os
import sys
import tempfile
from typing import Any

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np
import tensorflow as tf

from bench import _timing
import converters
from converters import tflite as tflite_lib
from converters.from_keras import input_signature
from converters import tflite_ops
from trax import shapes

L = keras.layers


def keras_lm(
  vocab: int = 1000, d_model: int = 128, d_ff: int = 512, n_heads: int = 4, n_layers: int = 2
) -> keras.Model:
  """A pre-norm causal Transformer LM (no positional encoding: Keras has no such layer)."""
  tokens = keras.Input((None,), dtype='int32', name='tokens')
  x = L.Embedding(vocab, d_model)(tokens)
  for _ in range(n_layers):
    h = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.Add()([x, L.MultiHeadAttention(n_heads, d_model // n_heads)(h, h, use_causal_mask=True)])
    h = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.Add()([x, L.Dense(d_model)(L.Dense(d_ff, activation='relu')(h))])
  logits = L.Dense(vocab)(L.LayerNormalization(epsilon=1e-6)(x))
  return keras.Model(tokens, logits, name='lm')


def keras_cnn() -> keras.Model:
  return keras.Sequential(
    [
      keras.Input((32, 32, 3), name='inputs'),
      L.Conv2D(32, 3, padding='same'),
      L.BatchNormalization(),
      L.ReLU(),
      L.MaxPooling2D(),
      L.Conv2D(64, 3, padding='same'),
      L.BatchNormalization(),
      L.ReLU(),
      L.MaxPooling2D(),
      L.Flatten(),
      L.Dense(128, activation='relu'),
      L.Dense(10),
    ],
    name='cnn',
  )


def keras_hub_bert() -> keras.Model:
  """keras_hub's BERT encoder (2 layers, width 128), built from its configuration."""
  import keras_hub

  return keras_hub.models.BertBackbone(
    vocabulary_size=1000,
    num_layers=2,
    num_heads=4,
    hidden_dim=128,
    intermediate_dim=512,
    max_sequence_length=64,
    name='bert',
  )


class SavedModelPeer:
  """Calls a SavedModel's serving signature on `xs`, the inputs in the order of the
  signature's sorted names (Keras' order for dict inputs; trax's `input_0`, `input_1`...),
  each cast to the signature's dtype."""

  def __init__(self, name: str, directory: str, xs: list, n_params: int):
    self.name, self.n_params = name, n_params
    self._function = tf.saved_model.load(directory).signatures['serving_default']
    _, specs = self._function.structured_input_signature
    self._inputs = {
      key: tf.constant(x, dtype=specs[key].dtype) for key, x in zip(sorted(specs), xs)
    }

  def outputs(self) -> list:
    outputs = self._function(**self._inputs)
    return [outputs[key].numpy() for key in sorted(outputs)]

  def run(self, n_steps: int) -> None:
    for _ in range(n_steps):
      outputs = self._function(**self._inputs)
      next(iter(outputs.values())).numpy()


class TFLitePeer:
  """Calls a TF Lite file's signature through ai_edge_litert."""

  def __init__(self, name: str, path: str, x: np.ndarray, n_params: int):
    from ai_edge_litert.interpreter import Interpreter

    self.name, self.n_params = name, n_params
    self._runner = Interpreter(model_path=path).get_signature_runner('serving_default')
    self._inputs = {next(iter(self._runner.get_input_details())): x}
    with open(path, 'rb') as f:
      self.op_counts = tflite_lib.op_counts(f.read())

  def outputs(self) -> list:
    outputs = self._runner(**self._inputs)
    return [outputs[key] for key in sorted(outputs)]

  def run(self, n_steps: int) -> None:
    for _ in range(n_steps):
      self._runner(**self._inputs)


def keras_tflite(
  keras_model: keras.Model, work_dir: str, path: str, fixed_shape: 'tuple | None'
) -> None:
  """Keras' own export converted to TF Lite (builtins), dynamic or with a fixed input shape."""
  saved_model_dir = os.path.join(work_dir, f'{keras_model.name}_keras_{fixed_shape}')
  input_signature = None
  if fixed_shape is not None:
    input_signature = [tf.TensorSpec(fixed_shape, keras_model.inputs[0].dtype)]
  keras_model.export(
    saved_model_dir, format='tf_saved_model', verbose=False, input_signature=input_signature
  )
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  with open(path, 'wb') as f:
    f.write(converter.convert())


def build_peers(name: str, keras_model: keras.Model, x: Any, work_dir: str, log=print) -> list:
  """Every export of one architecture, as timed peers (outputs checked against Keras).

  `x`: the input array, or a dict of them for a model of named inputs (SavedModels only:
  the TF Lite peers take one input).
  """
  trax_model, _ = converters.from_keras(keras_model)
  xs = [x[key] for key in sorted(x)] if isinstance(x, dict) else [x]
  # The model's own dynamic sizes (a sequence length), and always the batch.
  signature = tuple(s.replace(shape=(None, *s.shape[1:])) for s in input_signature(keras_model))
  n_params = keras_model.count_params()
  path = lambda kind: os.path.join(work_dir, f'{name}_{kind}')
  described = ', '.join(f'{a.shape} {a.dtype}' for a in xs)
  log(f'{name}: exporting ({n_params:,} parameters, inputs {described})')
  native = converters.to_saved_model(trax_model, path('native'), signature, verify=False)
  xla = converters.to_saved_model(
    trax_model, path('xla'), signature, path='xla', platforms=['cpu'], verify=False
  )
  keras_model.export(path('keras'), format='tf_saved_model', verbose=False)
  peers = [
    SavedModelPeer('trax_native_sm', native.path, xs, n_params),
    SavedModelPeer('trax_xla_sm', xla.path, xs, n_params),
    SavedModelPeer('keras_sm', path('keras'), xs, n_params),
  ]
  if not isinstance(x, dict):
    peers += tflite_peers(keras_model, trax_model, signature[0], x, work_dir, path, n_params, log)
  expected = [np.asarray(y) for y in keras.tree.flatten(keras_model(x, training=False))]
  for peer in peers:  # The same function everywhere, or the timing compares nothing.
    error = max(float(np.max(np.abs(y - e))) for y, e in zip(peer.outputs(), expected))
    log(f'  {peer.name}: max abs error vs Keras {error:.2g}')
  return peers


def tflite_peers(
  keras_model: keras.Model,
  trax_model: Any,
  signature: shapes.ShapeDtype,
  x: np.ndarray,
  work_dir: str,
  path: Any,
  n_params: int,
  log=print,
) -> list:
  """trax's TF Lite files (with `signature`'s dynamic sizes and with `x`'s shape) and
  Keras' export converted likewise; `path(kind)` names each file."""
  fixed = shapes.ShapeDtype(x.shape, x.dtype)
  peers = []
  conversions = {
    'trax_tfl_dyn': lambda p: converters.to_tflite(trax_model, p, signature),
    'trax_tfl_fixed': lambda p: converters.to_tflite(trax_model, p, fixed, dynamic_shapes=False),
    'keras_tfl_dyn': lambda p: keras_tflite(keras_model, work_dir, p, None),
    'keras_tfl_fixed': lambda p: keras_tflite(keras_model, work_dir, p, x.shape),
  }
  for peer_name, convert in conversions.items():
    try:
      convert(path(peer_name + '.tflite'))
    except Exception as e:  # A finding, not a crash.
      ops = tflite_ops.unsupported_ops(str(e))
      reason = (
        f'needs non-builtin ops {", ".join(ops)}' if ops else str(e).strip().splitlines()[0][:200]
      )
      log(f'  {peer_name}: TF Lite conversion failed ({type(e).__name__}: {reason})')
      continue
    peers.append(TFLitePeer(peer_name, path(peer_name + '.tflite'), x, n_params))
  return peers


def report(name: str, results: dict, peers: list, log=print) -> None:
  table = _timing.medians(results)
  log(f'\n{name}: median latency per call ({_timing.load_average()})')
  log(f'{"export":<18}{"wall us":>10}{"cpu us":>10}{"TF Lite ops":>13}')
  for peer in peers:
    if peer.name in table:
      wall, cpu = table[peer.name]
      ops = sum(peer.op_counts.values()) if isinstance(peer, TFLitePeer) else ''
      log(f'{peer.name:<18}{wall * 1e6:>10.0f}{cpu * 1e6:>10.0f}{ops:>13}')
  log('ratios (trax / keras, < 1 is faster; wall, cpu):')
  for trax_name, keras_name in (
    ('trax_native_sm', 'keras_sm'),
    ('trax_xla_sm', 'keras_sm'),
    ('trax_tfl_dyn', 'keras_tfl_dyn'),
    ('trax_tfl_fixed', 'keras_tfl_fixed'),
  ):
    if trax_name in table and keras_name in table:
      (tw, tc), (kw, kc) = table[trax_name], table[keras_name]
      log(f'  {trax_name} / {keras_name}: {tw / kw:.2f}, {tc / kc:.2f}')
  for peer in peers:
    if isinstance(peer, TFLitePeer):
      ops = ', '.join(f'{op} {n}' for op, n in sorted(peer.op_counts.items()))
      log(f'  {peer.name} ops: {ops}')


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument(
    '--models', nargs='+', default=['lm', 'cnn', 'bert'], choices=['lm', 'cnn', 'bert']
  )
  parser.add_argument('--batch', type=int, default=1)
  parser.add_argument('--length', type=int, default=64, help='LM sequence length')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--calls', type=int, default=50, help='calls per round')
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  ids = rng.integers(0, 1000, (args.batch, args.length)).astype(np.int32)
  inputs = {
    'lm': (keras_lm, ids),
    'cnn': (keras_cnn, rng.normal(size=(args.batch, 32, 32, 3)).astype(np.float32)),
    'bert': (
      keras_hub_bert,
      {'padding_mask': np.ones_like(ids), 'segment_ids': np.zeros_like(ids), 'token_ids': ids},
    ),
  }
  with tempfile.TemporaryDirectory(prefix='bench-export-') as work_dir:
    for name in args.models:
      build, x = inputs[name]
      keras.utils.set_random_seed(0)
      peers = build_peers(name, build(), x, work_dir)
      results = _timing.interleaved(peers, rounds=args.rounds, steps=args.calls, warmup_steps=5)
      report(name, results, peers)


if __name__ == '__main__':
  main()
