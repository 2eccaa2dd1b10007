"""Operations of `trax.fastmath`, each forwarded to the selected backend.

Every function here has the meaning of its jax namesake (see the jax backend); the
tensorflow-numpy backend reproduces it with TensorFlow ops, and the numpy backend where
plain numpy can.
"""

from typing import Any, Callable, Sequence

from trax.fastmath.backend import lookup

# Transforms.


def jit(f: Callable, **kwargs) -> Callable:
  """Compiles `f` (XLA under jax; `tf.function` under tensorflow-numpy)."""
  return lookup('jit')(f, **kwargs)


def grad(f: Callable, argnums: 'int | Sequence[int]' = 0, has_aux: bool = False) -> Callable:
  """Returns a function computing the gradient of scalar-valued `f`."""
  return lookup('grad')(f, argnums=argnums, has_aux=has_aux)


def value_and_grad(f: Callable, argnums: 'int | Sequence[int]' = 0,
                   has_aux: bool = False) -> Callable:
  """Returns a function computing `(f(...), grad f(...))`."""
  return lookup('value_and_grad')(f, argnums=argnums, has_aux=has_aux)


def vjp(f: Callable, *primals: Any, has_aux: bool = False):
  """Returns `(f(*primals), vjp_fn)` (and aux when `has_aux`)."""
  return lookup('vjp')(f, *primals, has_aux=has_aux)


def vmap(f: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
  """Vectorizes `f` over a leading (or given) axis."""
  return lookup('vmap')(f, in_axes=in_axes, out_axes=out_axes)


def custom_vjp(f: Callable, nondiff_argnums: tuple = ()) -> Any:
  """Marks `f` as having a custom backward pass (see `jax.custom_vjp`)."""
  return lookup('custom_vjp')(f, nondiff_argnums=nondiff_argnums)


def remat(f: Callable) -> Callable:
  """Recomputes `f`'s activations in the backward pass instead of storing them."""
  return lookup('remat')(f)


def stop_gradient(x: Any) -> Any:
  """Identity whose gradient is zero."""
  return lookup('stop_gradient')(x)


# Control flow.


def scan(f: Callable, init: Any, xs: Any, length: 'int | None' = None,
         reverse: bool = False) -> tuple[Any, Any]:
  """`carry, ys = scan(f, init, xs)`: loops `carry, y = f(carry, x)` over `xs`' axis 0."""
  return lookup('scan')(f, init, xs, length=length, reverse=reverse)


def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
  """`true_fn(*operands)` if `pred` else `false_fn(*operands)`, inside compiled code."""
  return lookup('cond')(pred, true_fn, false_fn, *operands)


def fori_loop(lower: int, upper: int, body_fn: Callable, init_val: Any) -> Any:
  """`val = body_fn(i, val)` for `i` in `range(lower, upper)`."""
  return lookup('fori_loop')(lower, upper, body_fn, init_val)


# Math.


def logsumexp(x: Any, axis: 'int | Sequence[int] | None' = None,
              keepdims: bool = False) -> Any:
  """`log(sum(exp(x)))` along `axis`, computed stably."""
  return lookup('logsumexp')(x, axis=axis, keepdims=keepdims)


def sigmoid(x: Any) -> Any:
  """`1 / (1 + exp(-x))`."""
  return lookup('sigmoid')(x)


expit = sigmoid


def erf(x: Any) -> Any:
  """The Gauss error function."""
  return lookup('erf')(x)


def top_k(x: Any, k: int) -> tuple[Any, Any]:
  """`(values, indices)` of the `k` largest entries along the last axis, descending."""
  return lookup('top_k')(x, k)


def sort_key_val(keys: Any, values: Any, dimension: int = -1) -> tuple[Any, Any]:
  """Sorts `keys` along `dimension` and permutes `values` the same way."""
  return lookup('sort_key_val')(keys, values, dimension=dimension)


def conv(x: Any, w: Any, strides: Sequence[int], padding: 'str | Sequence',
         dimension_numbers: Sequence[str], rhs_dilation: 'Sequence[int] | None' = None,
         feature_group_count: int = 1) -> Any:
  """N-d convolution; `dimension_numbers` as in `lax.conv_general_dilated`."""
  return lookup('conv')(x, w, strides, padding, dimension_numbers,
                        rhs_dilation=rhs_dilation, feature_group_count=feature_group_count)


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


def device_count() -> int:
  """Number of devices across all hosts."""
  return lookup('device_count')()


def local_device_count() -> int:
  """Number of devices attached to this host."""
  return lookup('local_device_count')()

__all__ = [
    'jit', 'grad', 'value_and_grad', 'vjp', 'vmap', 'custom_vjp', 'remat', 'stop_gradient',
    'scan', 'cond', 'fori_loop', 'logsumexp', 'sigmoid', 'expit', 'erf', 'top_k',
    'sort_key_val', 'conv', 'max_pool', 'sum_pool', 'avg_pool', 'index_update', 'index_add',
    'dynamic_slice', 'dynamic_slice_in_dim', 'dynamic_update_slice',
    'dynamic_update_slice_in_dim', 'shape', 'concrete_value', 'abstract_eval', 'device_count',
    'local_device_count',
]
