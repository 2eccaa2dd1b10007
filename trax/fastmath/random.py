"""`fastmath.random`: counter-based random numbers on the selected backend.

Keys are explicit values (uint32[2] under jax); the same key always gives the same numbers.
"""

from typing import Any
from collections.abc import Sequence

from trax.fastmath.backend import lookup


def get_prng(seed: int) -> Any:
  """Returns a key made from an integer seed."""
  return lookup('random_get_prng')(seed)


def split(key: Any, num: int = 2) -> Any:
  """Returns `num` new independent keys stacked along axis 0.

  On the tensorflow-numpy backend they come as a tuple of `num` keys: a symbolic TF tensor
  cannot be unpacked inside `tf.function`, and `key_a, key_b = split(key)` must work there.
  """
  return lookup('random_split')(key, num)


def fold_in(key: Any, data: Any) -> Any:
  """Returns a new key derived from `key` and the integer `data`."""
  return lookup('random_fold_in')(key, data)


def uniform(
  key: Any,
  shape: Sequence[int] = (),
  dtype: Any = 'float32',
  minval: float = 0.0,
  maxval: float = 1.0,
) -> Any:
  """Uniform samples in `[minval, maxval)`."""
  return lookup('random_uniform')(key, shape, dtype, minval, maxval)


def normal(key: Any, shape: Sequence[int] = (), dtype: Any = 'float32') -> Any:
  """Standard normal samples."""
  return lookup('random_normal')(key, shape, dtype)


def truncated_normal(
  key: Any, lower: float, upper: float, shape: Sequence[int] = (), dtype: Any = 'float32'
) -> Any:
  """Standard normal samples conditioned on `lower < x < upper` (jax backend only: weight
  initialization, which always runs on jax, is its one use)."""
  return lookup('random_truncated_normal')(key, lower, upper, shape, dtype)


def randint(key: Any, shape: Sequence[int], minval: int, maxval: int, dtype: Any = 'int32') -> Any:
  """Integer samples in `[minval, maxval)`."""
  return lookup('random_randint')(key, shape, minval, maxval, dtype)


def bits(key: Any, shape: Sequence[int] = (), dtype: Any = 'uint32') -> Any:
  """Uniformly random unsigned integers of `dtype` (uint8, uint16 or uint32), all bits
  random. Narrow ones are cut from 32-bit draws, so 16-bit bits cost half of 32-bit ones."""
  return lookup('random_bits')(key, shape, dtype)


def bernoulli(key: Any, p: float = 0.5, shape: 'Sequence[int] | None' = None) -> Any:
  """Boolean samples, True with probability `p`."""
  return lookup('random_bernoulli')(key, p, shape)
