"""Shared helpers of the converters tests: small models, in-process reference checks."""

import collections
import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import tensorflow as tf

from trax import fastmath
from trax import models
from trax import shapes
import trax.layers as tl
from tests import shared_data

REPO = pathlib.Path(__file__).resolve().parents[2]
RNG = np.zeros(2, np.uint32)
TRAX1_CHECKPOINT = shared_data.TRAX1_LM
TRAX1_MODEL = dict(vocab_size=13, d_model=64, d_ff=128, n_heads=2, n_layers=2, max_len=256)


def mlp() -> tl.Layer:
  return tl.Serial(tl.Dense(16), tl.Relu(), tl.Dense(8), tl.Tanh(), tl.Dense(3))


def conv_net(mode: str = 'train') -> tl.Layer:
  return tl.Serial(
    tl.Conv(4, (3, 3), padding='SAME'),
    tl.BatchNorm(mode=mode),
    tl.Relu(),
    tl.MaxPool((2, 2), strides=(2, 2)),
    tl.Flatten(),
    tl.Dense(5),
  )


def lm(mode: str = 'train') -> tl.Layer:
  return models.TransformerLM(
    vocab_size=32, d_model=16, d_ff=32, n_layers=1, n_heads=2, max_len=64, mode=mode
  )


def trained_conv_net(input_signature: shapes.ShapeDtype) -> tl.Layer:
  """A conv net whose BatchNorm statistics moved away from their start (0, 1)."""
  model = conv_net()
  model.init(input_signature, rng=RNG)
  rng = np.random.default_rng(1)
  for _ in range(2):
    model(rng.normal(2.0, 3.0, size=input_signature.shape).astype(np.float32))
  return model


def jax_outputs(model: tl.Layer, x) -> np.ndarray:
  """The eval-mode JAX outputs of `model` (rebuilt in eval mode, same weights)."""
  eval_model = tl.from_config(model.config(), mode='eval')
  with fastmath.use_backend('jax'):
    y, _ = eval_model.pure_fn(x, model.weights, model.state, RNG)
  return jax.tree.map(np.asarray, y)


def serve_in_process(saved_model_dir: str, signature: str = 'serving_default', **inputs) -> dict:
  """Runs a signature of a SavedModel in this process; returns numpy outputs."""
  function = tf.saved_model.load(saved_model_dir).signatures[signature]
  return {
    k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()
  }


def graph_op_counts(saved_model_dir: str) -> collections.Counter:
  """`{op type: number of nodes}` over the SavedModel's graph and all its functions."""
  from tensorflow.core.protobuf import saved_model_pb2

  proto = saved_model_pb2.SavedModel()
  proto.ParseFromString((pathlib.Path(saved_model_dir) / 'saved_model.pb').read_bytes())
  graph = proto.meta_graphs[0].graph_def
  return collections.Counter(
    [n.op for n in graph.node] + [n.op for f in graph.library.function for n in f.node_def]
  )


def graph_ops(saved_model_dir: str) -> set:
  return set(graph_op_counts(saved_model_dir))


def record(saved_model_dir: str) -> dict:
  return json.loads(
    (pathlib.Path(saved_model_dir) / 'assets.extra' / 'trax_export.json').read_text()
  )


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
  """`python -m converters ARGS` in a fresh process."""
  env = {
    **os.environ,
    'TF_CPP_MIN_LOG_LEVEL': '2',
    'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]),
  }
  return subprocess.run(
    [sys.executable, '-m', 'converters', *args],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=timeout,
    check=False,
  )


def random_tokens(shape, vocab: int = 32, seed: int = 0) -> np.ndarray:
  return np.random.default_rng(seed).integers(0, vocab, shape).astype(np.int32)


def random_floats(shape, seed: int = 0) -> np.ndarray:
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)
