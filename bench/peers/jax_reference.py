"""The reference: the benchmark TransformerLM step written directly in JAX + optax.

What a JAX user would write by hand: parameters in a dict, `(B, T, H, D/H)` einsum
attention, `jax.random.bernoulli` dropout from one key per step (`fold_in(key, step)`),
optax's integer-label cross-entropy and an Adam with trax's decoupled weight decay; one
`jax.jit` with the parameters and optimizer state donated.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench.peers import common


def init_params(config: common.Config, seed: int = 0) -> dict:
  """Parameters at trax's initial scales (see `common`)."""
  keys = iter(jax.random.split(jax.random.key(seed), 64))
  d, f, v = config.d_model, config.d_ff, config.vocab_size

  def dense(d_in, d_out):
    lim = common.glorot_limit(d_in, d_out)
    return {
      'w': jax.random.uniform(next(keys), (d_in, d_out), jnp.float32, -lim, lim),
      'b': 1e-6 * jax.random.normal(next(keys), (d_out,), jnp.float32),
    }

  def layer_norm():
    return {'scale': jnp.ones((d,), jnp.float32), 'bias': jnp.zeros((d,), jnp.float32)}

  lim = common.embedding_limit(d)
  params = {
    'embedding': jax.random.uniform(next(keys), (v, d), jnp.float32, -lim, lim),
    'positions': jnp.asarray(common.sinusoids(config.length, d)),
    'blocks': [
      {
        'ln1': layer_norm(),
        'q': dense(d, d),
        'k': dense(d, d),
        'v': dense(d, d),
        'o': dense(d, d),
        'ln2': layer_norm(),
        'ff1': dense(d, f),
        'ff2': dense(f, d),
      }
      for _ in range(config.n_layers)
    ],
    'ln': layer_norm(),
    'out': dense(d, v),
  }
  return params


def forward(params: dict, tokens, rng, config: common.Config, dropout: float):
  """Logits `(B, T, V)` of the next token at each position."""
  rngs = iter(jax.random.split(rng, 1 + 4 * config.n_layers))

  def drop(x):
    if dropout == 0.0:
      return x
    keep = jax.random.bernoulli(next(rngs), 1.0 - dropout, x.shape)
    return jnp.where(keep, x / (1.0 - dropout), 0.0)

  def layer_norm(x, p):
    mean = jnp.mean(x, -1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), -1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + config.layer_norm_epsilon) * p['scale'] + p['bias']

  def dense(x, p):
    return x @ p['w'] + p['b']

  batch, length = tokens.shape
  h, dh = config.n_heads, config.d_head
  causal = jnp.tril(jnp.ones((length, length), bool))
  x = jnp.pad(tokens, ((0, 0), (1, 0)))[:, :-1]  # Shift right.
  x = drop(params['embedding'][x]) + params['positions'][:length]
  for p in params['blocks']:
    y = layer_norm(x, p['ln1'])
    q, k, v = (dense(y, p[n]).reshape(batch, length, h, dh) for n in 'qkv')
    scores = jnp.einsum('bqhd,bkhd->bhqk', q, k) / np.sqrt(dh)
    weights = jax.nn.softmax(jnp.where(causal, scores, -1e9), axis=-1)
    attended = jnp.einsum('bhqk,bkhd->bqhd', drop(weights), v)
    x = x + drop(dense(attended.reshape(batch, length, h * dh), p['o']))
    y = layer_norm(x, p['ln2'])
    y = drop(jax.nn.relu(dense(y, p['ff1'])))
    x = x + drop(dense(y, p['ff2']))
  return dense(layer_norm(x, params['ln']), params['out'])


def adam(config: common.Config) -> optax.GradientTransformation:
  """trax's Adam: `w <- (1 - wd) w - lr mhat / (sqrt(vhat) + eps)`."""
  return optax.chain(
    optax.scale_by_adam(eps=config.eps),
    optax.scale(-config.learning_rate),
    optax.add_decayed_weights(-config.weight_decay),
  )


class Peer:
  """The hand-written step; `run(n)` takes `n` steps and waits for them."""

  name = 'jax'

  def __init__(self, config: common.Config, batches: list, dropout: bool = True):
    rate = config.dropout if dropout else 0.0
    optimizer = adam(config)
    self.params = init_params(config)
    self.opt_state = optimizer.init(self.params)
    self.n_params = sum(x.size for x in jax.tree.leaves(self.params))
    self._batches = itertools.cycle([jax.device_put(b) for b in batches])
    self._key = jax.random.key(1)
    self._step = 0

    def loss_fn(params, tokens, targets, weights, rng):
      logits = forward(params, tokens, rng, config, rate)
      losses = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
      return jnp.sum(losses * weights) / jnp.sum(weights)

    def train_step(params, opt_state, step, batch, key):
      rng = jax.random.fold_in(key, step)
      loss, grads = jax.value_and_grad(loss_fn)(params, *batch, rng)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state, loss

    self.train_step = jax.jit(train_step, donate_argnums=(0, 1))
    self.loss = None

  def step_args(self):
    return (self.params, self.opt_state, np.int32(self._step), next(self._batches), self._key)

  def run(self, n_steps: int) -> None:
    for _ in range(n_steps):
      self._step += 1
      self.params, self.opt_state, self.loss = self.train_step(
        self.params, self.opt_state, np.int32(self._step), next(self._batches), self._key
      )
    jax.block_until_ready(self.loss)
