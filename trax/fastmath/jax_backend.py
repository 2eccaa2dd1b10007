"""The jax backend of `trax.fastmath`: thin, direct bindings to jax and lax."""

import functools
import math

import jax
import numpy as _np
from jax import core as jax_core
from jax import lax
import jax.numpy as numpy  # `fastmath.numpy` under this backend.
import jax.scipy.special as _special

from trax import shapes

name = 'jax'

# Transforms.
jit = jax.jit
grad = jax.grad
value_and_grad = jax.value_and_grad
vjp = jax.vjp
vmap = jax.vmap
custom_vjp = jax.custom_vjp
remat = jax.checkpoint
stop_gradient = lax.stop_gradient

# Control flow.
cond = lax.cond
fori_loop = lax.fori_loop


def scan(f, init, xs, length=None, reverse=False):
  return lax.scan(f, init, xs, length=length, reverse=reverse)


# Math.
logsumexp = _special.logsumexp
sigmoid = jax.nn.sigmoid
expit = jax.nn.sigmoid
relu = jax.nn.relu


def global_norm(arrays):
  # A dot product per array (raveled): on CPU several times faster than jnp.sum(x * x).
  return numpy.sqrt(sum(numpy.dot(numpy.ravel(x), numpy.ravel(x)) for x in arrays))


relu6 = jax.nn.relu6
erf = _special.erf


def contract(subscripts, a, b):
  """See `fastmath.contract`: one `jnp.matmul` of the operands with batch axes first.

  Each operand is transposed to (batch, free, contracted) or (batch, contracted, free),
  whichever keeps its last axis last (no transpose at all for a predict-mode cache read in
  its own layout), and given to `jnp.matmul` directly or swapped; XLA fuses the swap.
  """
  inputs, out = subscripts.replace(' ', '').split('->')
  in_a, in_b = inputs.split(',')
  batch = [c for c in out if c in in_a and c in in_b]
  contracted = [c for c in in_a if c in in_b and c not in out]
  free_a, free_b = [c for c in in_a if c not in in_b], [c for c in in_b if c not in in_a]
  if (
    sorted(batch + contracted + free_a) != sorted(in_a)
    or len(set(in_a)) != len(in_a)
    or sorted(batch + contracted + free_b) != sorted(in_b)
    or len(set(in_b)) != len(in_b)
    or sorted(batch + free_a + free_b) != sorted(out)
  ):
    raise ValueError(
      f'fastmath.contract({subscripts!r}): every index must be a batch, '
      'contracted or free index, at most once per operand.'
    )
  sizes = {**dict(zip(in_a, numpy.shape(a))), **dict(zip(in_b, numpy.shape(b)))}
  group = lambda indices: math.prod(sizes[c] for c in indices)

  def as_matrix(x, indices, free, free_first):
    """`x` as (batch, free, contracted) if `free_first`, else (batch, contracted, free)."""
    keep_last = indices[-1] not in free
    order = batch + (free + contracted if keep_last else contracted + free)
    x = numpy.reshape(
      numpy.transpose(x, [indices.index(c) for c in order]),
      (group(batch),)
      + ((group(free), group(contracted)) if keep_last else (group(contracted), group(free))),
    )
    return x if keep_last == free_first else numpy.swapaxes(x, -1, -2)

  y = numpy.matmul(as_matrix(a, in_a, free_a, True), as_matrix(b, in_b, free_b, False))
  y = numpy.reshape(y, tuple(sizes[c] for c in batch + free_a + free_b))
  have = batch + free_a + free_b
  return numpy.transpose(y, [have.index(c) for c in out])


def matmul_last_axis(x, w, b=None):
  """See `fastmath.matmul_last_axis`: one 2-D matmul of the leading axes folded into one."""
  if x.ndim == 2:
    y = numpy.dot(x, w)
  else:
    y = numpy.dot(numpy.reshape(x, (-1, w.shape[0])), w)
    y = numpy.reshape(y, x.shape[:-1] + (w.shape[1],))
  return y if b is None else y + b


def top_k(x, k):
  return lax.top_k(x, k)


def sort_key_val(keys, values, dimension=-1):
  return lax.sort_key_val(keys, values, dimension=dimension)


def conv(x, w, strides, padding, dimension_numbers, rhs_dilation=None, feature_group_count=1):
  return lax.conv_general_dilated(
    x,
    w,
    window_strides=strides,
    padding=padding,
    rhs_dilation=rhs_dilation,
    dimension_numbers=dimension_numbers,
    feature_group_count=feature_group_count,
  )


def _pool(x, init, reducer, pool_size, strides, padding):
  # x: (batch, *spatial, channels); windows never span batch or channels.
  window = (1, *pool_size, 1)
  window_strides = (1, *strides, 1)
  if not isinstance(padding, str):  # Explicit (low, high) pairs for the spatial axes.
    padding = ((0, 0), *padding, (0, 0))
  return lax.reduce_window(x, init, reducer, window, window_strides, padding)


def max_pool(x, pool_size, strides, padding):
  return _pool(x, -numpy.inf, lax.max, pool_size, strides, padding)


def sum_pool(x, pool_size, strides, padding):
  return _pool(x, 0.0, lax.add, pool_size, strides, padding)


def avg_pool(x, pool_size, strides, padding):
  window_sums = sum_pool(x, pool_size, strides, padding)
  if padding == 'VALID':
    return window_sums / numpy.prod(numpy.array(pool_size, x.dtype))
  # With SAME padding, border windows hold fewer elements: divide by the true count.
  counts = sum_pool(numpy.ones((1, *x.shape[1:-1], 1), x.dtype), pool_size, strides, padding)
  return window_sums / counts


# Index ops.
def index_update(x, idx, y):
  return numpy.asarray(x).at[idx].set(y)  # asarray: numpy inputs have no `.at`.


def index_add(x, idx, y):
  return numpy.asarray(x).at[idx].add(y)


def index_min(x, idx, y):
  return numpy.asarray(x).at[idx].min(y)


def index_max(x, idx, y):
  return numpy.asarray(x).at[idx].max(y)


dynamic_slice = lax.dynamic_slice
dynamic_slice_in_dim = lax.dynamic_slice_in_dim
dynamic_update_slice = lax.dynamic_update_slice
dynamic_update_slice_in_dim = lax.dynamic_update_slice_in_dim


# Shapes.
def shape(x):
  return tuple(x.shape)


def concrete_value(x):
  if isinstance(x, jax_core.Tracer):
    return None
  return _np.asarray(x)


def abstract_eval(f):
  def eval_on_signatures(*args):
    to_struct = lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype)
    structs = jax.tree.map(to_struct, args, is_leaf=lambda s: isinstance(s, shapes.ShapeDtype))
    out = jax.eval_shape(f, *structs)
    return jax.tree.map(lambda s: shapes.ShapeDtype(s.shape, s.dtype), out)

  return eval_on_signatures


map = lax.map


def is_traced(tree):
  return any(isinstance(leaf, jax_core.Tracer) for leaf in jax.tree.leaves(tree))


def to_backend_arrays(tree):
  return tree  # jax converts numpy arrays at their first operation.


def widen_floats(tree, like):
  del like  # jax promotes mixed float widths itself.
  return tree


# Devices.
device_count = jax.device_count
local_device_count = jax.local_device_count


# Random numbers: keys are raw uint32[2] arrays (Trax 1.x checkpoints hold them).
def random_get_prng(seed):
  return jax.random.PRNGKey(seed)


def random_split(key, num=2):
  return jax.random.split(key, num)


def random_fold_in(key, data):
  return jax.random.fold_in(key, data)


def random_uniform(key, shape=(), dtype=numpy.float32, minval=0.0, maxval=1.0):
  return jax.random.uniform(key, shape, dtype, minval, maxval)


def random_normal(key, shape=(), dtype=numpy.float32):
  return jax.random.normal(key, shape, dtype)


def random_truncated_normal(key, lower, upper, shape=(), dtype=numpy.float32):
  return jax.random.truncated_normal(key, lower, upper, shape, dtype)


def random_randint(key, shape, minval, maxval, dtype=numpy.int32):
  return jax.random.randint(key, shape, minval, maxval, dtype)


def random_bits(key, shape=(), dtype=numpy.uint32):
  # jax.random.bits draws a 32-bit word per number whatever the width (threefry is
  # partitionable), so narrow numbers are cut from fewer words here: half the hashing for
  # uint16, a quarter for uint8.
  dtype = numpy.dtype(dtype)
  per_word = 4 // dtype.itemsize
  if not all(isinstance(d, int) for d in shape):
    # Symbolic sizes (jax2tf with a dynamic batch) cannot be cut from words.
    return jax.random.bits(key, shape, dtype)
  size = math.prod(shape)
  words = _threefry_words(key, -(-size // per_word))
  if per_word == 1:
    return words.reshape(shape)
  return lax.bitcast_convert_type(words, dtype).reshape(-1)[:size].reshape(shape)


@functools.partial(jax.jit, static_argnums=1)  # Called eagerly: one compile, not ~100.
def _threefry_words(key, n):
  """`jax.random.bits(key, (n,), uint32)` for a raw key, bit for bit, computed faster.

  jax lowers threefry's 20 rounds to a while loop that reads and writes whole arrays at
  each iteration; written out here, the rounds fuse with the counters into one loop
  (1M words: 1.6 ms CPU against 4.6 ms). Same counters as jax's partitionable threefry
  (its default): word `i` is `x0 ^ x1` of `threefry2x32(key, (0, i))`.
  """
  partitionable = jax.config.jax_threefry_partitionable  # pyright: ignore[reportAttributeAccessIssue] (a flag jax sets dynamically)
  if numpy.issubdtype(key.dtype, jax.dtypes.prng_key) or n >= 2**32 or not partitionable:
    return jax.random.bits(key, (n,), numpy.uint32)
  key = numpy.asarray(key) if not isinstance(key, jax.Array) else key
  k0, k1 = key[0], key[1]
  ks = (k0, k1, k0 ^ k1 ^ numpy.uint32(0x1BD11BDA))
  x0 = numpy.zeros((n,), numpy.uint32) + ks[0]
  x1 = lax.iota(numpy.uint32, n) + ks[1]
  for i in range(5):  # Salmon et al. (2011), Threefry-2x32 with 20 rounds.
    for r in ((13, 15, 26, 6), (17, 29, 16, 24))[i % 2]:
      x0 = x0 + x1
      x1 = ((x1 << numpy.uint32(r)) | (x1 >> numpy.uint32(32 - r))) ^ x0
    x0 = x0 + ks[(i + 1) % 3]
    x1 = x1 + ks[(i + 2) % 3] + numpy.uint32(i + 1)
  return x0 ^ x1


def random_bernoulli(key, p=0.5, shape=None):
  return jax.random.bernoulli(key, p, shape)
