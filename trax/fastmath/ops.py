"""Operations of `trax.fastmath`, each forwarded to the selected backend.

Every function here has the meaning of its jax namesake (see the jax backend); the
tensorflow-numpy backend reproduces it with TensorFlow ops, and the numpy backend where
plain numpy can.
"""

from typing import Any
from collections.abc import Callable, Sequence

from trax.fastmath.backend import Backend
from trax.fastmath.backend import BackendError
from trax.fastmath.backend import as_backend
from trax.fastmath.backend import backend_name
from trax.fastmath.backend import lookup

# Math.


def logsumexp(x: Any, axis: 'int | Sequence[int] | None' = None, keepdims: bool = False) -> Any:
  """`log(sum(exp(x)))` along `axis`, computed stably."""
  return lookup('logsumexp')(x, axis=axis, keepdims=keepdims)


def sigmoid(x: Any) -> Any:
  """`1 / (1 + exp(-x))`."""
  return lookup('sigmoid')(x)


expit = sigmoid


def global_norm(arrays: Sequence[Any]) -> Any:
  """The L2 norm of all entries of `arrays` together (each backend's fastest way)."""
  return lookup('global_norm')(list(arrays))


def relu(x: Any) -> Any:
  """`max(x, 0)`, with gradient 0 at 0 (one kernel and its gradient on each backend)."""
  return lookup('relu')(x)


def relu6(x: Any) -> Any:
  """`min(max(x, 0), 6)`, with gradient 0 at 0 and 6 (as TensorFlow's and jax.nn's)."""
  return lookup('relu6')(x)


def erf(x: Any) -> Any:
  """The Gauss error function."""
  return lookup('erf')(x)


def contract(subscripts: str, a: Any, b: Any) -> Any:
  """`numpy.einsum(subscripts, a, b)` for two operands, computed as a batched matmul.

  Every index must be a batch index (in both operands and the output), a contracted one
  (in both operands, not the output) or a free one (in one operand and the output), each
  at most once per operand: e.g. attention's `'bqhd,bkhd->bhqk'`. Each backend lowers it
  the way it runs fastest: TensorFlow as one `Einsum` op (its kernel arranges the axes
  inside, so the graph holds no transposes); jax as transposes around `jnp.matmul`, which
  XLA:CPU fuses and compiles faster than the `dot_general` of `jnp.einsum` (attention over
  heads in place, 16 x 128 positions: forward 6.5 against 7.6 ms, training 16.5 against
  19.8 ms).
  """
  return lookup('contract')(subscripts, a, b)


def matmul_last_axis(x: Any, w: Any, b: Any = None) -> Any:
  """`x @ w (+ b)` for `x` of shape `(..., d_in)`, `w` of shape `(d_in, d_out)` and a bias
  `b` of shape `(d_out,)`, if given (Dense).

  Lowered the way each engine runs it fastest: as one 2-D matmul of the leading axes
  folded into one, under jax (on XLA:CPU, from a 3-D `x @ w` the weight gradient is
  compiled to a dot that reads the output gradient transposed, up to 3x slower;
  bench/README.md) and on TensorFlow (a MatMul: a broadcast BatchMatMulV2 made a served
  LM's calls 25% slower); but for TF Lite (`tf_backend.graphs_for_tflite`) as one
  broadcast matmul, one FULLY_CONNECTED op, where folding and unfolding a dynamic batch
  and length cost five shape ops per layer. On TensorFlow a 2-D product takes its bias as
  a BiasAdd, which Grappler fuses into the MatMul (and a ReLU after it) on every CPU
  build, an AddV2 only with oneDNN (a served conv net without oneDNN: 7% slower). Folded
  products add it after unfolding: fused before, with oneDNN, a served LM was 2.5% slower.
  """
  return lookup('matmul_last_axis')(x, w, b)


def top_k(x: Any, k: int) -> tuple[Any, Any]:
  """`(values, indices)` of the `k` largest entries along the last axis, descending."""
  return lookup('top_k')(x, k)


def sort_key_val(keys: Any, values: Any, dimension: int = -1) -> tuple[Any, Any]:
  """Sorts `keys` along `dimension` and permutes `values` the same way."""
  return lookup('sort_key_val')(keys, values, dimension=dimension)


def conv(
  x: Any,
  w: Any,
  strides: Sequence[int],
  padding: 'str | Sequence',
  dimension_numbers: Sequence[str],
  rhs_dilation: 'Sequence[int] | None' = None,
  feature_group_count: int = 1,
) -> Any:
  """N-d convolution; `dimension_numbers` as in `lax.conv_general_dilated`."""
  return lookup('conv')(
    x,
    w,
    strides,
    padding,
    dimension_numbers,
    rhs_dilation=rhs_dilation,
    feature_group_count=feature_group_count,
  )


def max_pool(x: Any, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> Any:
  """Max over windows of the spatial axes of `x` (batch, *spatial, channels)."""
  return lookup('max_pool')(x, pool_size, strides, padding)


def sum_pool(x: Any, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> Any:
  """Sum over windows of the spatial axes of `x` (batch, *spatial, channels)."""
  return lookup('sum_pool')(x, pool_size, strides, padding)


def avg_pool(x: Any, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> Any:
  """Mean over windows (with SAME padding, over the in-bounds elements only)."""
  return lookup('avg_pool')(x, pool_size, strides, padding)


# Index ops.


def index_update(x: Any, idx: Any, y: Any) -> Any:
  """Returns `x` with `x[idx] = y` (numpy indexing: ints, slices, Ellipsis, None)."""
  return lookup('index_update')(x, idx, y)


def index_add(x: Any, idx: Any, y: Any) -> Any:
  """Returns `x` with `x[idx] += y`."""
  return lookup('index_add')(x, idx, y)


def index_min(x: Any, idx: Any, y: Any) -> Any:
  """Returns `x` with `x[idx] = minimum(x[idx], y)`."""
  return lookup('index_min')(x, idx, y)


def index_max(x: Any, idx: Any, y: Any) -> Any:
  """Returns `x` with `x[idx] = maximum(x[idx], y)`."""
  return lookup('index_max')(x, idx, y)


def lt(x: Any, y: Any) -> Any:
  """`x < y` elementwise (Trax 1.x kept it for backends without an overloaded `<`)."""
  return lookup('numpy').less(x, y)


def dynamic_slice(x: Any, start_indices: Sequence, slice_sizes: Sequence[int]) -> Any:
  """`x[s0:s0+n0, s1:s1+n1, ...]` with traced starts and static sizes."""
  return lookup('dynamic_slice')(x, start_indices, slice_sizes)


def dynamic_slice_in_dim(x: Any, start_index: Any, slice_size: int, axis: int = 0) -> Any:
  """`dynamic_slice` along one axis."""
  return lookup('dynamic_slice_in_dim')(x, start_index, slice_size, axis)


def dynamic_update_slice(x: Any, update: Any, start_indices: Sequence) -> Any:
  """Returns `x` with the block at `start_indices` replaced by `update`."""
  return lookup('dynamic_update_slice')(x, update, start_indices)


def dynamic_update_slice_in_dim(x: Any, update: Any, start_index: Any, axis: int) -> Any:
  """`dynamic_update_slice` along one axis."""
  return lookup('dynamic_update_slice_in_dim')(x, update, start_index, axis)


# Shapes and devices.


def shape(x: Any) -> tuple:
  """The shape of `x`: ints where static, scalar tensors where dynamic (TF `None` dims).

  Layers that build shapes from their input (reshape, splitting heads) use this, so the
  same code runs with a dynamic batch or length under the tensorflow-numpy backend.
  """
  return lookup('shape')(x)


def concrete_value(x: Any) -> Any:
  """`x` as a numpy array if its value is known now, or `None` if `x` is being traced.

  Layers check data this way only outside compiled code (jit, `tf.function`), where a
  failed check can raise; it moves `x` to the host, so keep it off hot paths.
  """
  return lookup('concrete_value')(x)


def abstract_eval(f: Callable) -> Callable:
  """Returns a function mapping `ShapeDtype` trees to the `ShapeDtype`s `f` would output."""
  return lookup('abstract_eval')(f)


def is_traced(tree: Any) -> bool:
  """Whether `tree` holds traced values (inside `jit`/`grad` of jax, or a `tf.function`)."""
  return lookup('is_traced')(tree)


def to_backend_arrays(tree: Any) -> Any:
  """`tree` with its numpy arrays as arrays of the backend (TF tensors under
  tensorflow-numpy; jax and numpy keep them), so that a layer's outputs are the backend's.
  """
  return lookup('to_backend_arrays')(tree)


def widen_floats(tree: Any, like: Any) -> Any:
  """`tree`'s float arrays widened to float64 where `like` holds float64 arrays, on backends
  whose operators do not promote mixed float widths (tensorflow-numpy); jax and numpy
  promote by themselves and return `tree`. The layer contract applies it to weights and
  state.
  """
  return lookup('widen_floats')(tree, like)


def is_backend(backend_: 'str | Backend') -> bool:
  """Whether `backend_` (a `Backend` or its name) is the backend in use."""
  return backend_name() == as_backend(backend_).value


def device_count() -> int:
  """Number of devices across all hosts."""
  return lookup('device_count')()


def global_device_count() -> int:
  """Number of devices across all hosts (Trax 1.x's name of `device_count`)."""
  return lookup('device_count')()


def _jax_only(name: str):
  """jax, for the pmap-era names that only the jax backend has."""
  if backend_name() != 'jax':
    raise BackendError(
      f'fastmath.{name} is not available on the {backend_name()!r} '
      'backend; run it under the \'jax\' backend (fastmath.use_backend).'
    )
  import jax

  return jax


def pmap(f: Callable, axis_name: 'str | None' = None, **kwargs) -> Callable:
  """`jax.pmap` (jax backend only): `f` run on each device on a slice of the inputs.

  Trax 1.x built its data parallelism on it; trax's `Loop` and `tl.Accelerate` shard the
  batch over a `jax.sharding.Mesh` instead, which new code should prefer.
  """
  return _jax_only('pmap').pmap(f, axis_name=axis_name, **kwargs)


def psum(x: Any, axis_name: str) -> Any:
  """Sum of `x` over the devices of a `pmap` axis (`jax.lax.psum`; jax backend only)."""
  return _jax_only('psum').lax.psum(x, axis_name)


def dataset_as_numpy(dataset: Any) -> Any:
  """An iterator over a `tf.data.Dataset`'s elements as numpy arrays (trees of them)."""
  return dataset.as_numpy_iterator()


def local_device_count() -> int:
  """Number of devices attached to this host."""
  return lookup('local_device_count')()


__all__ = [
  'index_min',
  'index_max',
  'lt',
  'is_traced',
  'is_backend',
  'to_backend_arrays',
  'widen_floats',
  'global_device_count',
  'pmap',
  'psum',
  'dataset_as_numpy',
  'logsumexp',
  'sigmoid',
  'expit',
  'global_norm',
  'relu',
  'relu6',
  'erf',
  'contract',
  'matmul_last_axis',
  'top_k',
  'sort_key_val',
  'conv',
  'max_pool',
  'sum_pool',
  'avg_pool',
  'index_update',
  'index_add',
  'dynamic_slice',
  'dynamic_slice_in_dim',
  'dynamic_update_slice',
  'dynamic_update_slice_in_dim',
  'shape',
  'concrete_value',
  'abstract_eval',
  'device_count',
  'local_device_count',
]
