"""What every peer of bench/train_step.py shares: the model size, the data, the numbers.

The benchmark TransformerLM of ARCHITECTURE.md: vocabulary 4096, d_model 256, d_ff 1024,
4 heads, 2 layers, a trainable positional table of 128 rows (the sequence length), batch
16 x 128 tokens, dropout 0.1, Adam. 3,714,048 parameters.

Every peer builds the same network as `trax.models.TransformerLM`: shift right, embedding,
dropout, + positional table; per block a pre-norm causal self-attention (q, k, v and output
projections with biases, dropout on the attention weights) and a pre-norm ReLU
feed-forward, each followed by dropout, with dropout after the ReLU as well; final layer
norm (epsilon 1e-6) and a dense layer to the logits. Loss: mean cross-entropy of the
next token. Initial scales follow trax: Glorot-uniform kernels, N(0, 1e-6) biases,
embedding uniform with variance 1/d_model, layer norms (1, 0), sinusoidal positions.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Config:
  vocab_size: int = 4096
  d_model: int = 256
  d_ff: int = 1024
  n_heads: int = 4
  n_layers: int = 2
  batch: int = 16
  length: int = 128
  dropout: float = 0.1
  learning_rate: float = 1e-4
  weight_decay: float = 1e-5  # Decoupled, per step (trax's Adam default).
  eps: float = 1e-5  # Adam epsilon (trax's default).
  layer_norm_epsilon: float = 1e-6

  @property
  def d_head(self) -> int:
    return self.d_model // self.n_heads

  @property
  def n_params(self) -> int:
    d, f, v, t = self.d_model, self.d_ff, self.vocab_size, self.length
    block = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d
    return v * d + t * d + self.n_layers * block + 2 * d + (d * v + v)


N_BATCHES = 8  # Distinct batches, cycled.


def make_batches(config: Config, seed: int = 0) -> list:
  """`N_BATCHES` batches `(tokens, targets, weights)` of a language-model task (int32,
  int32, float32), tokens in [1, vocab)."""
  rng = np.random.default_rng(seed)
  batches = []
  for _ in range(N_BATCHES):
    tokens = rng.integers(1, config.vocab_size, (config.batch, config.length), np.int32)
    batches.append((tokens, tokens.copy(), np.ones(tokens.shape, np.float32)))
  return batches


def sinusoids(length: int, d: int) -> np.ndarray:
  """The `(length, d)` sinusoidal table trax's PositionalEncoding starts from."""
  positions = np.arange(length)[:, None]
  frequencies = np.exp(np.arange(0, d, 2) * -(np.log(10000.0) / d))
  table = np.zeros((length, d), np.float32)
  table[:, 0::2] = np.sin(positions * frequencies)
  table[:, 1::2] = np.cos(positions * frequencies[: d // 2])
  return table


def glorot_limit(fan_in: int, fan_out: int) -> float:
  return float(np.sqrt(6.0 / (fan_in + fan_out)))


def embedding_limit(d_model: int) -> float:
  return float(np.sqrt(3.0 / d_model))
