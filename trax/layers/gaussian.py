"""Log-densities of Gaussians and the mixture-of-Gaussians loss (Trax 1.x's core functions).

Plain functions of arrays (not layers), written against `fastmath`, so they run on every
backend; wrap them in `Fn` to use them in a model.
"""

import math
from typing import Any

from trax import fastmath
from trax.fastmath import numpy as jnp

__all__ = ['log_gaussian_pdf', 'log_gaussian_diag_pdf', 'multigaussian_loss']


def log_gaussian_pdf(x: Any, mu: Any, sigma: Any) -> Any:
  r"""`log N(x | mu, sigma)` for a full covariance matrix `sigma`.

  .. math::
      -\tfrac12 \left(d \log 2\pi + \log\det\Sigma + (x-\mu)^\top \Sigma^{-1} (x-\mu)\right)

  Args:
    x, mu: `(..., d)` points and means.
    sigma: `(..., d, d)` covariance matrices (symmetric positive definite).

  Returns:
    `(...)` log-densities.
  """
  d = mu.shape[-1]
  _, log_det = jnp.linalg.slogdet(sigma)
  centered = x - mu
  solved = jnp.squeeze(jnp.linalg.solve(sigma, jnp.expand_dims(centered, -1)), -1)
  mahalanobis = jnp.sum(centered * solved, axis=-1)
  return -0.5 * (d * math.log(2 * math.pi) + log_det + mahalanobis)


def log_gaussian_diag_pdf(x: Any, mu: Any, diag_sigma: Any) -> Any:
  r"""`log N(x | mu, diag(diag_sigma))`: independent coordinates of variances `diag_sigma`.

  .. math::
      -\tfrac12 \left(d \log 2\pi + \sum_i \log\sigma_i + \sum_i (x_i-\mu_i)^2/\sigma_i\right)

  Trax 1.4 computed `(x - mu) . (x - mu / sigma)` for the last sum (an operator-precedence
  slip); this is the density its docstring names.

  Args:
    x, mu, diag_sigma: `(..., d)` points, means and variances (broadcasting).

  Returns:
    `(...)` log-densities.
  """
  d = mu.shape[-1]
  log_det = jnp.sum(jnp.log(diag_sigma), axis=-1)
  mahalanobis = jnp.sum((x - mu) ** 2 / diag_sigma, axis=-1)
  return -0.5 * (d * math.log(2 * math.pi) + log_det + mahalanobis)


def multigaussian_loss(preds: Any, targets: Any, ngauss: int = 1) -> Any:
  """Log-likelihood of `targets` under a mixture of `ngauss` diagonal Gaussians.

  `preds` `(batch, ngauss * (2 * d + 1))` holds, in this order, the mixture logits
  `(ngauss)`, the means `(ngauss * d)` and the square roots of the variances
  `(ngauss * d)` (squared, plus 1e-6); `targets` is `(batch, d)`. Returns `(batch,)`
  log-likelihoods (Trax 1.x's name says loss, but the value is the log-likelihood: negate
  it to minimize). Trax 1.4's version failed on `ngauss(ndims + 1)`, a missing `*`.
  """
  d = targets.shape[-1]
  logits = preds[:, :ngauss]
  mus = jnp.reshape(preds[:, ngauss : ngauss * (d + 1)], (-1, ngauss, d))
  sigmas = preds[:, ngauss * (d + 1) :]
  sigmas = jnp.reshape(sigmas * sigmas + 1e-6, (-1, ngauss, d))
  log_mixture = logits - fastmath.logsumexp(logits, axis=-1, keepdims=True)
  log_densities = log_gaussian_diag_pdf(jnp.reshape(targets, (-1, 1, d)), mus, sigmas)
  return fastmath.logsumexp(log_mixture + log_densities, axis=-1)
