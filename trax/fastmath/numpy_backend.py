"""The numpy backend of `trax.fastmath`: a plain-numpy reference for the ops numpy can do.

`numpy` is numpy itself (float64 defaults, numpy promotion). Control flow runs as Python
loops; random numbers come from numpy's Philox generator keyed by the two words of a key.
Transforms (jit, grad, vjp, vmap, custom_vjp, remat), convolutions, pooling and
`abstract_eval` are absent: `fastmath` raises `BackendError` for them.
"""

import math
from typing import Any
from collections.abc import Callable, Sequence

import numpy

from trax.fastmath import tree

name = 'numpy'


def stop_gradient(x: Any) -> Any:
  return x  # No gradients here.


# Control flow.


def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
  return true_fn(*operands) if pred else false_fn(*operands)


def fori_loop(lower: int, upper: int, body_fn: Callable, init_val: Any) -> Any:
  val = init_val
  for i in range(int(lower), int(upper)):
    val = body_fn(numpy.asarray(i, numpy.int32), val)  # An int32 array, as jax gives.
  return val


def scan(
  f: Callable,
  init: Any,
  xs: Any,
  length: 'int | None' = None,
  reverse: bool = False,
  unroll: int = 1,
) -> tuple[Any, Any]:
  """`jax.lax.scan` as a Python loop; `ys` stacked along a new leading axis."""
  x_leaves = [numpy.asarray(x) for x in tree.tree_flatten(xs)] if xs is not None else []
  if length is None:
    if not x_leaves:
      raise ValueError('scan: give xs or length (the number of steps).')
    length = len(x_leaves[0])
  x_at = lambda i: None if xs is None else tree.tree_unflatten([x[i] for x in x_leaves], xs)[0]
  carry, ys = init, []
  for i in reversed(range(length)) if reverse else range(length):
    carry, y = f(carry, x_at(i))
    ys.append(y)
  if reverse:
    ys.reverse()
  if not ys:  # Run the body once on zeros, only to learn the structure of y.
    zeros = (
      None
      if xs is None
      else tree.tree_unflatten([numpy.zeros(x.shape[1:], x.dtype) for x in x_leaves], xs)[0]
    )
    _, y = f(init, zeros)
    return carry, tree.nested_map(
      lambda v: numpy.zeros((0, *numpy.shape(v)), numpy.asarray(v).dtype), y
    )
  return carry, tree.nested_map_multiarg(lambda *vs: numpy.stack(vs), *ys)


# Math.


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> numpy.ndarray:
  x = numpy.asarray(x)
  peak = numpy.max(x, axis=axis, keepdims=True)
  peak = numpy.where(numpy.isfinite(peak), peak, 0)  # All -inf: the result is -inf.
  with numpy.errstate(divide='ignore'):
    out = numpy.log(numpy.sum(numpy.exp(x - peak), axis=axis, keepdims=True)) + peak
  return out if keepdims else numpy.squeeze(out, axis=axis)


def _float_dtype(x: numpy.ndarray) -> numpy.dtype:
  return x.dtype if numpy.issubdtype(x.dtype, numpy.floating) else numpy.dtype(numpy.float64)


def sigmoid(x: Any) -> numpy.ndarray:
  x = numpy.asarray(x)
  return numpy.exp(-numpy.logaddexp(0, -x)).astype(_float_dtype(x))  # No overflow.


expit = sigmoid


def global_norm(arrays: Any) -> numpy.ndarray:
  squares = [numpy.vdot(x, x) for x in (numpy.asarray(a) for a in arrays)]
  return numpy.sqrt(sum(squares, numpy.zeros((), numpy.float32)))


def relu(x: Any) -> numpy.ndarray:
  x = numpy.asarray(x)
  return numpy.maximum(x, numpy.zeros((), x.dtype))


def relu6(x: Any) -> numpy.ndarray:
  x = numpy.asarray(x)
  return numpy.clip(x, numpy.zeros((), x.dtype), numpy.full((), 6, x.dtype))


def erf(x: Any) -> numpy.ndarray:
  x = numpy.asarray(x)
  return numpy.vectorize(math.erf, otypes=[_float_dtype(x)])(x)


def contract(subscripts: str, a: Any, b: Any) -> numpy.ndarray:
  return numpy.einsum(subscripts, a, b)


def matmul_last_axis(x: Any, w: Any, b: Any = None) -> numpy.ndarray:
  y = numpy.dot(x, w)
  return y if b is None else y + b


def top_k(x: Any, k: int) -> tuple[numpy.ndarray, numpy.ndarray]:
  """The `k` largest entries along the last axis, descending (ties: lower index first)."""
  x = numpy.asarray(x)
  indices = numpy.argsort(-x, axis=-1, kind='stable')[..., :k].astype(numpy.int32)
  return numpy.take_along_axis(x, indices, -1), indices


def sort_key_val(keys: Any, values: Any, dimension: int = -1) -> tuple:
  order = numpy.argsort(keys, axis=dimension, kind='stable')
  return (
    numpy.take_along_axis(numpy.asarray(keys), order, dimension),
    numpy.take_along_axis(numpy.asarray(values), order, dimension),
  )


# Index ops.


def index_update(x: Any, idx: Any, y: Any) -> numpy.ndarray:
  x = numpy.array(x)
  x[idx] = y
  return x


def index_add(x: Any, idx: Any, y: Any) -> numpy.ndarray:
  x = numpy.array(x)
  numpy.add.at(x, idx, y)  # Repeated indices add up, as in jax.
  return x


def index_min(x: Any, idx: Any, y: Any) -> numpy.ndarray:
  x = numpy.array(x)
  numpy.minimum.at(x, idx, y)
  return x


def index_max(x: Any, idx: Any, y: Any) -> numpy.ndarray:
  x = numpy.array(x)
  numpy.maximum.at(x, idx, y)
  return x


def map(f: Callable, xs: Any) -> Any:
  """`f` on each slice of `xs` along axis 0, stacked."""
  return scan(lambda carry, x: (carry, f(x)), (), xs)[1]


def is_traced(tree: Any) -> bool:
  del tree
  return False


def _clamped_block(x: numpy.ndarray, starts: Sequence, sizes: Sequence) -> tuple:
  """Slices of the block at `starts` (negative: from the end), moved inside `x`."""
  starts = [int(s) + d if int(s) < 0 else int(s) for s, d in zip(starts, x.shape)]
  starts = [min(max(s, 0), d - n) for s, d, n in zip(starts, x.shape, sizes)]
  return tuple(slice(s, s + n) for s, n in zip(starts, sizes))


def dynamic_slice(x: Any, start_indices: Sequence, slice_sizes: Sequence[int]) -> numpy.ndarray:
  x = numpy.asarray(x)
  return x[_clamped_block(x, start_indices, slice_sizes)]


def dynamic_slice_in_dim(x: Any, start_index: Any, slice_size: int, axis: int = 0) -> numpy.ndarray:
  x = numpy.asarray(x)
  axis = axis % x.ndim
  starts = [0] * x.ndim
  starts[axis] = start_index
  sizes = list(x.shape)
  sizes[axis] = slice_size
  return dynamic_slice(x, starts, sizes)


def dynamic_update_slice(x: Any, update: Any, start_indices: Sequence) -> numpy.ndarray:
  x = numpy.array(x)
  update = numpy.asarray(update)
  x[_clamped_block(x, start_indices, update.shape)] = update
  return x


def dynamic_update_slice_in_dim(x: Any, update: Any, start_index: Any, axis: int) -> numpy.ndarray:
  ndim = numpy.ndim(x)
  starts = [0] * ndim
  starts[axis % ndim] = start_index
  return dynamic_update_slice(x, update, starts)


# Shapes and devices.


def shape(x: Any) -> tuple:
  return tuple(numpy.shape(x))


def concrete_value(x: Any) -> Any:
  return numpy.asarray(x)


def to_backend_arrays(tree: Any) -> Any:
  return tree


def widen_floats(tree: Any, like: Any) -> Any:
  del like  # numpy promotes mixed float widths itself.
  return tree


def device_count() -> int:
  return 1


local_device_count = device_count


# Random numbers: a key's two 32-bit words seed a Philox generator; new keys come from
# numpy's SeedSequence hashing of the words (and of the folded-in data).


def _words(key: Any) -> list:
  words = numpy.asarray(key)
  if words.shape != (2,) or not numpy.issubdtype(words.dtype, numpy.integer):
    raise ValueError(f'A random key is a shape-(2,) integer array; got {words.dtype}{words.shape}.')
  return [int(w) & 0xFFFFFFFF for w in words]


def _generator(key: Any) -> numpy.random.Generator:
  high, low = _words(key)
  return numpy.random.Generator(numpy.random.Philox(key=(high << 32) | low))


def random_get_prng(seed: int) -> numpy.ndarray:
  return numpy.array([0, int(seed) & 0xFFFFFFFF], numpy.uint32)  # As jax's PRNGKey.


def random_split(key: Any, num: int = 2) -> numpy.ndarray:
  return numpy.random.SeedSequence(_words(key)).generate_state(2 * num).reshape(num, 2)


def random_fold_in(key: Any, data: Any) -> numpy.ndarray:
  entropy = _words(key) + [int(data) & 0xFFFFFFFF]
  return numpy.random.SeedSequence(entropy).generate_state(2)


def random_uniform(
  key: Any,
  shape: Sequence[int] = (),
  dtype: Any = numpy.float32,
  minval: float = 0.0,
  maxval: float = 1.0,
) -> numpy.ndarray:
  samples = _generator(key).uniform(minval, maxval, tuple(shape)).astype(dtype)
  below_max = numpy.nextafter(numpy.asarray(maxval, dtype), numpy.asarray(minval, dtype))
  return numpy.minimum(samples, below_max)  # Rounding to dtype must not reach maxval.


def random_normal(key: Any, shape: Sequence[int] = (), dtype: Any = numpy.float32) -> numpy.ndarray:
  return _generator(key).standard_normal(tuple(shape)).astype(dtype)


def random_randint(
  key: Any, shape: Sequence[int], minval: int, maxval: int, dtype: Any = numpy.int32
) -> numpy.ndarray:
  return _generator(key).integers(minval, maxval, tuple(shape)).astype(dtype)


def random_bits(key: Any, shape: Sequence[int] = (), dtype: Any = numpy.uint32) -> numpy.ndarray:
  dtype = numpy.dtype(dtype)
  return _generator(key).integers(0, 2 ** (8 * dtype.itemsize), tuple(shape), dtype=dtype)


def random_bernoulli(
  key: Any, p: float = 0.5, shape: 'Sequence[int] | None' = None
) -> numpy.ndarray:
  shape = numpy.shape(p) if shape is None else tuple(shape)
  return _generator(key).random(shape) < p
