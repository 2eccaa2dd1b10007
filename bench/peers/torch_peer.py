"""The PyTorch peer: the benchmark model as `nn.Module`s, eager or `torch.compile`d.

Idiomatic PyTorch: `nn.Linear`/`nn.LayerNorm`/`nn.Embedding`, attention by
`F.scaled_dot_product_attention(..., dropout_p, is_causal=True)`, `F.dropout`, and
`torch.optim.AdamW` with trax's decoupled weight decay (AdamW decays by `lr * wd`).
"""

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.peers import common


def _dense(d_in: int, d_out: int) -> nn.Linear:
  layer = nn.Linear(d_in, d_out)
  nn.init.xavier_uniform_(layer.weight)
  nn.init.normal_(layer.bias, std=1e-6)
  return layer


class Block(nn.Module):
  def __init__(self, c: common.Config, rate: float):
    super().__init__()
    d = c.d_model
    self.n_heads, self.rate = c.n_heads, rate
    self.ln1 = nn.LayerNorm(d, eps=c.layer_norm_epsilon)
    self.q, self.k, self.v, self.o = (_dense(d, d) for _ in range(4))
    self.ln2 = nn.LayerNorm(d, eps=c.layer_norm_epsilon)
    self.ff1, self.ff2 = _dense(d, c.d_ff), _dense(c.d_ff, d)

  def forward(self, x):
    batch, length, d = x.shape
    h, rate = self.n_heads, self.rate if self.training else 0.0
    y = self.ln1(x)
    q, k, v = (
      f(y).view(batch, length, h, d // h).transpose(1, 2) for f in (self.q, self.k, self.v)
    )
    attended = F.scaled_dot_product_attention(q, k, v, dropout_p=rate, is_causal=True)
    attended = attended.transpose(1, 2).reshape(batch, length, d)
    x = x + F.dropout(self.o(attended), rate, self.training)
    y = F.dropout(F.relu(self.ff1(self.ln2(x))), rate, self.training)
    return x + F.dropout(self.ff2(y), rate, self.training)


class TransformerLM(nn.Module):
  def __init__(self, c: common.Config, rate: float):
    super().__init__()
    self.rate = rate
    self.embed = nn.Embedding(c.vocab_size, c.d_model)
    lim = common.embedding_limit(c.d_model)
    nn.init.uniform_(self.embed.weight, -lim, lim)
    self.positions = nn.Parameter(torch.from_numpy(common.sinusoids(c.length, c.d_model)))
    self.blocks = nn.ModuleList([Block(c, rate) for _ in range(c.n_layers)])
    self.ln = nn.LayerNorm(c.d_model, eps=c.layer_norm_epsilon)
    self.out = _dense(c.d_model, c.vocab_size)

  def forward(self, tokens):
    x = F.pad(tokens, (1, 0))[:, :-1]
    x = F.dropout(self.embed(x), self.rate, self.training) + self.positions[: tokens.shape[1]]
    for block in self.blocks:
      x = block(x)
    return self.out(self.ln(x))


class Peer:
  """`compile=True` wraps the model in `torch.compile` (inductor, C++ on CPU)."""

  def __init__(
    self, config: common.Config, batches: list, dropout: bool = True, compile: bool = False
  ):
    torch.manual_seed(0)
    self.name = 'torch_compile' if compile else 'torch_eager'
    self.model = TransformerLM(config, config.dropout if dropout else 0.0)
    self.model.train()
    self.n_params = sum(p.numel() for p in self.model.parameters())
    self.optimizer = torch.optim.AdamW(
      self.model.parameters(),
      lr=config.learning_rate,
      eps=config.eps,
      weight_decay=config.weight_decay / config.learning_rate,
    )
    self._forward = torch.compile(self.model) if compile else self.model
    self._batches = itertools.cycle(
      [
        tuple(
          torch.from_numpy(np.asarray(x, dtype))
          for x, dtype in zip(b, (np.int64, np.int64, np.float32))
        )
        for b in batches
      ]
    )
    self.loss = None

  def _step(self, tokens, targets, weights):
    logits = self._forward(tokens)
    losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction='none')
    loss = (losses * weights.flatten()).sum() / weights.sum()
    self.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    self.optimizer.step()
    return loss

  def run(self, n_steps: int) -> None:
    for _ in range(n_steps):
      self.loss = self._step(*next(self._batches))
    self.loss = float(self.loss.detach())
