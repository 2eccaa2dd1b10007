"""The Flax NNX peer: the benchmark model as `nnx.Module`s, trained with `nnx.Optimizer`.

Written as the Flax documentation teaches: `nnx.Linear`/`nnx.LayerNorm`/`nnx.Embed`/
`nnx.Dropout` modules (each dropout draws from the model's 'dropout' rng stream), one
`nnx.jit`-compiled step taking `nnx.value_and_grad` and `optimizer.update`, with model and
optimizer donated.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from bench.peers import common
from bench.peers import jax_reference


def _dense(d_in: int, d_out: int, rngs: nnx.Rngs) -> nnx.Linear:
  return nnx.Linear(
    d_in,
    d_out,
    kernel_init=nnx.initializers.glorot_uniform(),
    bias_init=nnx.initializers.normal(1e-6),
    rngs=rngs,
  )


class Block(nnx.Module):
  """Pre-norm causal self-attention and feed-forward, with dropout."""

  def __init__(self, c: common.Config, rate: float, rngs: nnx.Rngs):
    d = c.d_model
    self.n_heads = c.n_heads
    self.ln1 = nnx.LayerNorm(d, epsilon=c.layer_norm_epsilon, rngs=rngs)
    self.q, self.k, self.v, self.o = (_dense(d, d, rngs) for _ in range(4))
    self.ln2 = nnx.LayerNorm(d, epsilon=c.layer_norm_epsilon, rngs=rngs)
    self.ff1, self.ff2 = _dense(d, c.d_ff, rngs), _dense(c.d_ff, d, rngs)
    self.drop_weights, self.drop_attention, self.drop_relu, self.drop_ff = (
      nnx.Dropout(rate, rngs=rngs) for _ in range(4)
    )

  def __call__(self, x):
    batch, length, d = x.shape
    h = self.n_heads
    y = self.ln1(x)
    q, k, v = (f(y).reshape(batch, length, h, d // h) for f in (self.q, self.k, self.v))
    scores = jnp.einsum('bqhd,bkhd->bhqk', q, k) / np.sqrt(d // h)
    causal = jnp.tril(jnp.ones((length, length), bool))
    weights = self.drop_weights(jax.nn.softmax(jnp.where(causal, scores, -1e9), axis=-1))
    attended = jnp.einsum('bhqk,bkhd->bqhd', weights, v).reshape(batch, length, d)
    x = x + self.drop_attention(self.o(attended))
    y = self.drop_relu(jax.nn.relu(self.ff1(self.ln2(x))))
    return x + self.drop_ff(self.ff2(y))


class TransformerLM(nnx.Module):
  def __init__(self, c: common.Config, rate: float, rngs: nnx.Rngs):
    lim = common.embedding_limit(c.d_model)
    self.embed = nnx.Embed(
      c.vocab_size, c.d_model, rngs=rngs, embedding_init=nnx.initializers.uniform(2 * lim)
    )
    self.embed.embedding.value = self.embed.embedding.value - lim  # U(-lim, lim).
    self.positions = nnx.Param(jnp.asarray(common.sinusoids(c.length, c.d_model)))
    self.drop = nnx.Dropout(rate, rngs=rngs)
    self.blocks = nnx.List([Block(c, rate, rngs) for _ in range(c.n_layers)])
    self.ln = nnx.LayerNorm(c.d_model, epsilon=c.layer_norm_epsilon, rngs=rngs)
    self.out = _dense(c.d_model, c.vocab_size, rngs)

  def __call__(self, tokens):
    x = jnp.pad(tokens, ((0, 0), (1, 0)))[:, :-1]
    x = self.drop(self.embed(x)) + self.positions[...][: tokens.shape[1]]
    for block in self.blocks:
      x = block(x)
    return self.out(self.ln(x))


@nnx.jit(donate_argnums=(0, 1))
def train_step(model, optimizer, tokens, targets, weights):
  def loss_fn(model):
    losses = optax.softmax_cross_entropy_with_integer_labels(model(tokens), targets)
    return jnp.sum(losses * weights) / jnp.sum(weights)

  loss, grads = nnx.value_and_grad(loss_fn)(model)
  optimizer.update(model, grads)
  return loss


class Peer:
  name = 'flax_nnx'

  def __init__(self, config: common.Config, batches: list, dropout: bool = True):
    rate = config.dropout if dropout else 0.0
    self.model = TransformerLM(config, rate, nnx.Rngs(params=0, dropout=1))
    self.optimizer = nnx.Optimizer(self.model, jax_reference.adam(config), wrt=nnx.Param)
    self.n_params = sum(x.size for x in jax.tree.leaves(nnx.state(self.model, nnx.Param)))
    self._batches = itertools.cycle([jax.device_put(b) for b in batches])
    self.loss = None

  def run(self, n_steps: int) -> None:
    for _ in range(n_steps):
      self.loss = train_step(self.model, self.optimizer, *next(self._batches))
    jax.block_until_ready(self.loss)
