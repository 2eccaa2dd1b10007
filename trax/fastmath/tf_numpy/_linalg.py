"""Products and linear algebra for the TF namespace, with numpy's contraction rules."""

import types

import tensorflow as tf

from trax.fastmath.backend import BackendError
from trax.fastmath.tf_numpy._dtypes import as_inexact
from trax.fastmath.tf_numpy._dtypes import promote

__all__ = ['dot', 'matmul', 'einsum', 'tensordot', 'outer', 'inner', 'vdot', 'linalg']


def dot(a, b) -> tf.Tensor:
  """numpy.dot: contracts `a`'s last axis with `b`'s second-to-last (its only, if 1-d).

  Shapes: (..., n) . (n,) -> (...); (..., n) . (n, m) -> (..., m);
  (..., n) . (k..., n, m) -> (..., k..., m).
  """
  a, b = promote(a, b)
  rank_a, rank_b = a.shape.rank, b.shape.rank
  if rank_a == 0 or rank_b == 0:
    return a * b
  if rank_b == 2 and rank_a >= 2:
    return tf.linalg.matmul(a, b)  # Broadcasts over a's leading axes: one TF Lite op.
  return tf.tensordot(a, b, [[rank_a - 1], [max(rank_b - 2, 0)]])


def matmul(a, b) -> tf.Tensor:
  """numpy.matmul: matrix product over the last two axes, broadcasting the others."""
  a, b = promote(a, b)
  if a.shape.rank == 1 and b.shape.rank == 1:
    return tf.tensordot(a, b, 1)
  if a.shape.rank == 1:
    return tf.linalg.matmul(a[None, :], b)[..., 0, :]
  if b.shape.rank == 1:
    return tf.linalg.matmul(a, b[:, None])[..., 0]
  return tf.linalg.matmul(a, b)


def einsum(
  subscripts, *operands, out=None, optimize=None, precision=None, preferred_element_type=None
) -> tf.Tensor:
  """numpy.einsum (jax's `optimize`/`precision` hints are ignored)."""
  return tf.einsum(subscripts, *promote(*operands))


def tensordot(a, b, axes=2) -> tf.Tensor:
  return tf.tensordot(*promote(a, b), axes)


def outer(a, b) -> tf.Tensor:
  a, b = promote(a, b)
  return tf.reshape(a, [-1, 1]) * tf.reshape(b, [1, -1])


def inner(a, b) -> tf.Tensor:
  a, b = promote(a, b)
  return tf.tensordot(a, b, [[a.shape.rank - 1], [b.shape.rank - 1]])


def vdot(a, b) -> tf.Tensor:
  a, b = promote(a, b)
  return tf.tensordot(tf.reshape(tf.math.conj(a), [-1]), tf.reshape(b, [-1]), 1)


def _norm(x, ord=None, axis=None, keepdims=False) -> tf.Tensor:
  """Euclidean / Frobenius norm by default; other `ord`s as `tf.norm` supports them."""
  x = as_inexact(x)
  axes = list(axis) if isinstance(axis, (tuple, list)) else axis
  if ord is None or ord == 'fro' or (ord == 2 and not isinstance(axis, (tuple, list))):
    magnitudes = tf.math.real(x * tf.math.conj(x))
    return tf.math.sqrt(tf.reduce_sum(magnitudes, axes, keepdims))
  try:
    return tf.norm(x, ord=ord, axis=axes, keepdims=keepdims)
  except ValueError as e:
    raise BackendError(
      f'fastmath.numpy.linalg.norm(ord={ord!r}, axis={axis!r}) is not '
      f'available on the tensorflow-numpy backend: {e}'
    ) from e


def _qr(a, mode='reduced') -> tuple:
  if mode not in ('reduced', 'complete'):
    raise BackendError(
      f'fastmath.numpy.linalg.qr: mode {mode!r} is not available on the '
      'tensorflow-numpy backend; use "reduced" or "complete".'
    )
  return tuple(tf.linalg.qr(as_inexact(a), full_matrices=(mode == 'complete')))


def _float_fn(tf_fn):
  return lambda *args: tf_fn(*(as_inexact(x) for x in args))


linalg = types.SimpleNamespace(
  norm=_norm,
  qr=_qr,
  inv=_float_fn(tf.linalg.inv),
  det=_float_fn(tf.linalg.det),
  cholesky=_float_fn(tf.linalg.cholesky),
  slogdet=_float_fn(tf.linalg.slogdet),
  solve=_float_fn(tf.linalg.solve),
)
