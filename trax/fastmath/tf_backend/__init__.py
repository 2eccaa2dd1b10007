"""The tensorflow-numpy backend of `trax.fastmath`: the jax backend's API on plain TF ops.

Layer code written against `fastmath` builds ordinary TensorFlow ops here (no XLA-only
ops), so it runs eagerly, inside `tf.function` with dynamic batch and length dimensions,
under `tf.GradientTape` (Keras training), and exports to SavedModel and TF Lite. Every name
of the jax backend is provided with the same meaning:

- `numpy`: `trax.fastmath.tf_numpy`, jax.numpy semantics (dtypes, promotion) on TF ops.
- transforms: `jit` is `tf.function`, `grad`/`value_and_grad`/`vjp` use `tf.GradientTape`,
  `vmap` is `tf.vectorized_map`, `custom_vjp` is `tf.custom_gradient`, `remat` is
  `tf.recompute_grad`.
- control flow: `cond`, `fori_loop`, `scan` as `tf.cond` and `tf.while_loop`.
- `conv`, pools, index updates, dynamic slices, and stateless random numbers.

What TF cannot do raises `BackendError` naming the op. Importing this module imports
TensorFlow, so `trax` imports it only when the backend is first selected.
"""

import builtins
import contextlib
from collections.abc import Iterator

import numpy as _np
import tensorflow as tf
from tensorflow.python.autograph.core import config as _autograph_config

from trax.fastmath import tf_numpy as numpy  # `fastmath.numpy` under this backend.
from trax.fastmath.tf_backend._control_flow import cond
from trax.fastmath.tf_backend._control_flow import fori_loop
from trax.fastmath.tf_backend._control_flow import scan
from trax.fastmath.tf_backend._indexing import dynamic_slice
from trax.fastmath.tf_backend._indexing import dynamic_slice_in_dim
from trax.fastmath.tf_backend._indexing import dynamic_update_slice
from trax.fastmath.tf_backend._indexing import dynamic_update_slice_in_dim
from trax.fastmath.tf_backend._indexing import index_add
from trax.fastmath.tf_backend._indexing import index_max
from trax.fastmath.tf_backend._indexing import index_min
from trax.fastmath.tf_backend._indexing import index_update
from trax.fastmath.tf_backend._random import random_bernoulli
from trax.fastmath.tf_backend._random import random_bits
from trax.fastmath.tf_backend._random import random_fold_in
from trax.fastmath.tf_backend._random import random_get_prng
from trax.fastmath.tf_backend._random import random_normal
from trax.fastmath.tf_backend._random import random_truncated_normal
from trax.fastmath.tf_backend._random import random_randint
from trax.fastmath.tf_backend._random import random_split
from trax.fastmath.tf_backend._random import random_uniform
from trax.fastmath.tf_backend._transforms import abstract_eval
from trax.fastmath.tf_backend._transforms import custom_vjp
from trax.fastmath.tf_backend._transforms import grad
from trax.fastmath.tf_backend._transforms import jit
from trax.fastmath.tf_backend._transforms import remat
from trax.fastmath.tf_backend._transforms import stop_gradient
from trax.fastmath.tf_backend._transforms import value_and_grad
from trax.fastmath.tf_backend._transforms import vjp
from trax.fastmath.tf_backend._transforms import vmap
from trax.fastmath.tf_backend._windows import avg_pool
from trax.fastmath.tf_backend._windows import conv
from trax.fastmath.tf_backend._windows import max_pool
from trax.fastmath.tf_backend._windows import sum_pool
from trax.fastmath.tf_numpy import shape
from trax.fastmath.tf_numpy._dtypes import as_inexact

name = 'tensorflow-numpy'
_for_tflite: list = []  # Non-empty inside `graphs_for_tflite`.


def _exempt_trax_from_autograph() -> None:
  """Makes autograph call trax functions as written instead of rewriting them.

  Inside a user's `tf.function` or Keras `fit`, autograph rewrites every function called,
  recursively: all of a model's layer code. Trax code follows jax's rules (no Python
  control flow on traced values; `fastmath.cond`/`scan` instead), so the rewrite buys
  nothing, slows tracing, and fails on valid Python (zero-argument `super()` in a layer
  method raises KeyError '__class__'). TF has no public per-package switch, so we put a
  rule for the `trax` package in front of autograph's own list, as it does for numpy.
  """
  rules = _autograph_config.CONVERSION_RULES
  if not any(str(rule) == 'DoNotConvert rule for trax' for rule in rules):
    _autograph_config.CONVERSION_RULES = (_autograph_config.DoNotConvert('trax'), *rules)


_exempt_trax_from_autograph()


# Math.


def logsumexp(x, axis=None, keepdims=False) -> tf.Tensor:
  axis = list(axis) if isinstance(axis, (tuple, list)) else axis
  return tf.reduce_logsumexp(as_inexact(x), axis, keepdims)


def sigmoid(x) -> tf.Tensor:
  return tf.math.sigmoid(as_inexact(x))


expit = sigmoid


def global_norm(arrays) -> tf.Tensor:
  # One fused reduction: 4-6x faster on CPU than a dot product per array (a converted
  # ResNet50's training step: 85 ms less).
  return tf.linalg.global_norm([as_inexact(x) for x in arrays])


def relu(x) -> tf.Tensor:
  return tf.nn.relu(x)


def relu6(x) -> tf.Tensor:
  return tf.nn.relu6(x)


def erf(x) -> tf.Tensor:
  # TF Lite has no Erf builtin, but fuses 0.5 * x * (1 + erf(x / sqrt(2))) into GELU.
  return tf.math.erf(as_inexact(x))


def contract(subscripts: str, a, b) -> tf.Tensor:
  """One `Einsum` op (see `fastmath.contract`); TF Lite lowers it to batch matmuls."""
  return numpy.einsum(subscripts, a, b)


@contextlib.contextmanager
def graphs_for_tflite() -> Iterator[None]:
  """Inside: ops are built the way the TF Lite converter makes fewest builtins of them.

  TensorFlow and TF Lite run different graphs best (`matmul_last_axis`); converters
  trace a model for TF Lite inside this block. Process-wide, as the backend selection.
  """
  _for_tflite.append(True)
  try:
    yield
  finally:
    _for_tflite.pop()


def matmul_last_axis(x, w, b=None) -> tf.Tensor:
  """See `fastmath.matmul_last_axis`: folded to one MatMul, or broadcast for TF Lite."""
  x = numpy.asarray(x)
  if x.shape.rank == 2 and not _for_tflite:
    y = numpy.dot(x, w)
    b = None if b is None else numpy.asarray(b)
    if b is not None and b.shape.rank == 1 and b.dtype == y.dtype:
      return tf.nn.bias_add(y, b)
  elif _for_tflite:
    y = numpy.dot(x, w)  # A broadcast matmul: one FULLY_CONNECTED in TF Lite.
  else:
    y = numpy.dot(numpy.reshape(x, (-1, w.shape[0])), w)
    y = numpy.reshape(y, tuple(shape(x)[:-1]) + (w.shape[1],))
  return y if b is None else y + b


def top_k(x, k: int) -> tuple[tf.Tensor, tf.Tensor]:
  """The `k` largest entries along the last axis, descending, and their int32 indices."""
  return tuple(tf.math.top_k(numpy.asarray(x), k))


def sort_key_val(keys, values, dimension: int = -1) -> tuple[tf.Tensor, tf.Tensor]:
  """`keys` sorted along `dimension` (stably), and `values` permuted the same way."""
  order = numpy.argsort(keys, axis=dimension)
  return (
    numpy.take_along_axis(keys, order, dimension, mode='promise_in_bounds'),
    numpy.take_along_axis(values, order, dimension, mode='promise_in_bounds'),
  )


def concrete_value(x):
  """`x` as numpy if known now (eager), else `None` (a symbolic tensor in a graph)."""
  if tf.is_tensor(x):
    return None if tf.is_symbolic_tensor(x) else x.numpy()
  return _np.asarray(x)


def to_backend_arrays(tree):
  """Numeric numpy arrays in `tree` as tensors (64-bit floats kept), the rest unchanged.

  A layer called on numpy inputs then computes in TF throughout: Python operators between
  an input and a weight are TF's, in the input's dtype.
  """

  def convert(x):
    numeric = isinstance(x, _np.ndarray) and (x.dtype.kind in 'biufc')
    return numpy.asarray(x) if numeric else x

  return tf.nest.map_structure(convert, tree)


def widen_floats(tree, like):
  """`tree`'s float arrays as float64 if `like` holds float64 arrays, else `tree` itself.

  TF's operators do not promote (`x64 + w32` fails), while numpy, jax and Trax 1.4's TF
  backend compute such sums in float64; widening the weights once gives the same result.
  """
  if not builtins.any(
    getattr(leaf, 'dtype', None) in (tf.float64, _np.float64) for leaf in tf.nest.flatten(like)
  ):
    return tree

  def widen(x):
    dtype = numpy.dtype(x.dtype) if hasattr(x, 'dtype') else None
    narrow_float = (
      dtype is not None and numpy.issubdtype(dtype, numpy.floating) and (dtype.itemsize < 8)
    )
    return tf.cast(numpy.asarray(x), tf.float64) if narrow_float else x

  return tf.nest.map_structure(widen, tree)


def map(f, xs):
  """`f` applied to each slice of `xs` along axis 0, stacked (as `jax.lax.map`)."""
  return scan(lambda carry, x: (carry, f(x)), (), xs)[1]


def is_traced(tree) -> bool:
  """Whether `tree` holds symbolic tensors (it is inside a `tf.function` being traced)."""
  return any(
    isinstance(leaf, tf.Tensor) and tf.is_symbolic_tensor(leaf) for leaf in tf.nest.flatten(tree)
  )


# Devices.


def device_count() -> int:
  """Logical TF devices of the fastest kind present (TPU, else GPU, else CPU)."""
  for kind in ('TPU', 'GPU', 'CPU'):
    devices = tf.config.list_logical_devices(kind)
    if devices:
      return len(devices)
  return 1


local_device_count = device_count  # TF runs one host per process.
