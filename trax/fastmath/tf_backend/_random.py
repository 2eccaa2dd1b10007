"""Counter-based random numbers from TF's stateless ops, keyed like jax.

A key is a shape-[2] integer tensor. Keys made by the jax backend (uint32[2]) and Trax's
`DEFAULT_RNG` are accepted as they are: their bits are reinterpreted as int32, the seed
format of TF's stateless ops. The same key always gives the same numbers, but not the
numbers jax gives (another generator).

TF Lite (2.21) has no builtins for the stateless random ops: models exported in eval or
predict mode, where dropout is off, contain none.
"""

import math
from typing import Any
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from trax.fastmath.tf_numpy import _dtypes

_BITS_AS_SIGNED = {np.dtype(np.uint32): np.int32, np.dtype(np.uint64): np.int64}


def _key(key: Any) -> tf.Tensor:
  """`key` as an int32 or int64 tensor of shape [2], the seed of TF's stateless ops."""
  if _dtypes.is_tensor(key):
    key = tf.convert_to_tensor(key)
    if key.dtype in (tf.uint32, tf.uint64):
      key = tf.bitcast(key, tf.int32 if key.dtype == tf.uint32 else tf.int64)
  else:
    key = np.asarray(key)
    key = tf.constant(key.view(_BITS_AS_SIGNED.get(key.dtype, key.dtype)))
  if key.dtype not in (tf.int32, tf.int64) or key.shape.as_list() != [2]:
    raise ValueError(
      f'A random key is a shape-[2] integer array (e.g. from '
      f'fastmath.random.get_prng); got {key.dtype.name}{key.shape}.'
    )
  return key


def random_get_prng(seed: Any) -> tf.Tensor:
  """The key `[0, seed mod 2**32]`, the words jax's `PRNGKey` makes (64-bit types off)."""
  if _dtypes.is_tensor(seed):
    return tf.stack([0, tf.cast(seed, tf.int32)])
  words = np.array([0, int(seed) & 0xFFFFFFFF], np.uint32)
  return tf.constant(words.view(np.int32))


def random_split(key: Any, num: int = 2) -> tuple:
  split = tf.random.experimental.stateless_split  # pyright: ignore[reportAttributeAccessIssue] (not in TF's stubs)
  return tuple(tf.unstack(split(_key(key), num), num))


def random_fold_in(key: Any, data: Any) -> tf.Tensor:
  """A new key from `key` and the low 32 bits of integer `data` (as jax folds uint32)."""
  key = _key(key)
  if _dtypes.is_tensor(data):
    data = tf.convert_to_tensor(data)
    data = tf.bitcast(data, tf.int32) if data.dtype == tf.uint32 else tf.cast(data, tf.int32)
  else:
    data = np.array(int(data) & 0xFFFFFFFF, np.uint32).view(np.int32)
  fold_in = tf.random.experimental.stateless_fold_in  # pyright: ignore[reportAttributeAccessIssue] (not in TF's stubs)
  return tf.cast(fold_in(key, data), key.dtype)


def random_uniform(
  key: Any, shape: Any = (), dtype: Any = np.float32, minval: Any = 0.0, maxval: Any = 1.0
) -> tf.Tensor:
  dtype = _dtypes.tf_dtype(dtype)
  return tf.random.stateless_uniform(
    _dtypes.shape_arg(shape), _key(key), tf.cast(minval, dtype), tf.cast(maxval, dtype), dtype
  )


def random_normal(key: Any, shape: Sequence = (), dtype: Any = np.float32) -> tf.Tensor:
  return tf.random.stateless_normal(
    _dtypes.shape_arg(shape), _key(key), dtype=_dtypes.tf_dtype(dtype)
  )


def random_truncated_normal(
  key: Any, lower: float, upper: float, shape: Sequence = (), dtype: Any = np.float32
) -> tf.Tensor:
  """By the inverse CDF: a uniform draw between the CDF at `lower` and at `upper`."""
  cdf = lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
  u = tf.random.stateless_uniform(
    _dtypes.shape_arg(shape), _key(key), cdf(lower), cdf(upper), tf.float64
  )
  return tf.cast(tf.math.ndtri(u), _dtypes.tf_dtype(dtype))


def random_randint(
  key: Any, shape: Sequence, minval: Any, maxval: Any, dtype: Any = np.int32
) -> tf.Tensor:
  dtype = _dtypes.tf_dtype(dtype)
  return tf.random.stateless_uniform(
    _dtypes.shape_arg(shape), _key(key), tf.cast(minval, dtype), tf.cast(maxval, dtype), dtype
  )


def random_bits(key: Any, shape: Sequence = (), dtype: Any = np.uint32) -> tf.Tensor:
  """Random unsigned integers; narrow ones are cut from 32-bit draws, as under jax."""
  dtype = _dtypes.tf_dtype(dtype)
  per_word = 4 // dtype.size
  shape = _dtypes.shape_arg(shape)
  size = tf.reduce_prod(shape)
  n_words = (size + per_word - 1) // per_word
  full_range: Any = None  # minval=maxval=None: all of uint32 (TF's stubs do not allow None).
  words = tf.random.stateless_uniform(
    [n_words], _key(key), minval=full_range, maxval=full_range, dtype=tf.uint32
  )
  if per_word == 1:
    return tf.reshape(words, shape)
  return tf.reshape(tf.reshape(tf.bitcast(words, dtype), [-1])[:size], shape)


def random_bernoulli(key: Any, p: Any = 0.5, shape: 'Sequence | None' = None) -> tf.Tensor:
  """Booleans, True with probability `p` (broadcast to `shape`, else `p`'s shape)."""
  p = _dtypes.as_inexact(p)
  return (
    random_uniform(key, tf.shape(p) if shape is None else _dtypes.shape_arg(shape), p.dtype) < p
  )
