"""The Keras 3 peer, run as a worker process (the backend is fixed when keras is imported).

    python -m bench.peers.keras_peer --backend tensorflow --jit-compile 1 [--no-dropout]

The model is written as a Keras user would: `Embedding`, `Dropout`, `LayerNormalization`,
`MultiHeadAttention(use_causal_mask=True, dropout=...)`, `Dense`, one trainable positional
table (`add_weight`), compiled with `AdamW` (trax's decoupled decay: `lr * wd` per step)
and `SparseCategoricalCrossentropy(from_logits=True)`; one step is `train_on_batch`.
The worker speaks the protocol of `bench/_timing.serve`.
"""

import argparse
import itertools
import os
import sys


def build(config, batches, dropout: bool, jit_compile: bool):
  import keras
  from bench.peers import common

  rate = config.dropout if dropout else 0.0
  d = config.d_model
  dense_args = dict(
    kernel_initializer='glorot_uniform',
    bias_initializer=keras.initializers.RandomNormal(stddev=1e-6),
  )

  class Positions(keras.layers.Layer):
    def build(self, input_shape):
      self.table = self.add_weight(
        shape=(config.length, d),
        initializer=keras.initializers.Constant(common.sinusoids(config.length, d)),
      )

    def call(self, x):
      return x + self.table[: keras.ops.shape(x)[1]]

  class Block(keras.layers.Layer):
    def __init__(self):
      super().__init__()
      self.ln1 = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon)
      self.attention = keras.layers.MultiHeadAttention(
        config.n_heads, config.d_head, dropout=rate, **dense_args
      )
      self.ln2 = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon)
      self.ff1 = keras.layers.Dense(config.d_ff, activation='relu', **dense_args)
      self.ff2 = keras.layers.Dense(d, **dense_args)
      self.drops = [keras.layers.Dropout(rate) for _ in range(3)]

    def call(self, x, training=False):
      y = self.ln1(x)
      y = self.attention(y, y, use_causal_mask=True, training=training)
      x = x + self.drops[0](y, training=training)
      y = self.drops[1](self.ff1(self.ln2(x)), training=training)
      return x + self.drops[2](self.ff2(y), training=training)

  lim = common.embedding_limit(d)
  tokens = keras.Input((config.length,), dtype='int32')
  x = keras.layers.Lambda(lambda t: keras.ops.pad(t, [[0, 0], [1, 0]])[:, :-1])(tokens)
  x = keras.layers.Embedding(
    config.vocab_size, d, embeddings_initializer=keras.initializers.RandomUniform(-lim, lim)
  )(x)
  x = Positions()(keras.layers.Dropout(rate)(x))
  for _ in range(config.n_layers):
    x = Block()(x)
  x = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon)(x)
  model = keras.Model(tokens, keras.layers.Dense(config.vocab_size, **dense_args)(x))
  model.compile(
    optimizer=keras.optimizers.AdamW(
      learning_rate=config.learning_rate,
      epsilon=config.eps,
      weight_decay=config.weight_decay / config.learning_rate,
    ),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    jit_compile=jit_compile,
  )
  stream = itertools.cycle(batches)

  def run(n_steps: int) -> None:
    for _ in range(n_steps):
      x, y, w = next(stream)
      model.train_on_batch(x, y, sample_weight=w)

  return model.count_params(), run


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument('--backend', required=True, choices=['tensorflow', 'jax'])
  parser.add_argument('--jit-compile', type=int, default=1)
  parser.add_argument('--no-dropout', action='store_true')
  args = parser.parse_args()
  os.environ['KERAS_BACKEND'] = args.backend
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
  from bench import _timing
  from bench.peers import common

  config = common.Config()
  _timing.serve(
    lambda: build(config, common.make_batches(config), not args.no_dropout, bool(args.jit_compile))
  )


if __name__ == '__main__':
  main()
