"""jit, grad, vjp, vmap, custom_vjp, remat and abstract_eval with TensorFlow's machinery.

Arguments are trees (tuples, lists, dicts) of arrays, as under jax. Gradients come from
`tf.GradientTape`; jit is `tf.function` without autograph, so Python control flow on traced
values fails as it does under jax (use `fastmath.cond`, `fori_loop`, `scan`).
"""

import functools
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from trax import shapes
from trax.fastmath import tf_numpy
from trax.fastmath.tf_numpy import _dtypes
from trax.fastmath.backend import BackendError

# jax.jit options with no TF meaning: buffer donation and placement are left to TF.
_IGNORED_JIT_OPTIONS = frozenset(
  {'donate_argnums', 'donate_argnames', 'inline', 'keep_unused', 'device', 'backend'}
)


def _as_tuple(x) -> tuple:
  return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_array(x) -> bool:
  return _dtypes.is_tensor(x) or hasattr(x, 'dtype') and hasattr(x, 'shape')


def _to_tensors(tree: Any) -> Any:
  """Array leaves of `tree` as tensors (jax's dtypes); other leaves are left alone."""
  return tf.nest.map_structure(lambda x: tf_numpy.asarray(x) if _is_array(x) else x, tree)


def jit(
  f: Callable,
  static_argnums: 'int | Sequence[int]' = (),
  static_argnames: 'str | Sequence[str]' = (),
  **options,
) -> Callable:
  """`tf.function(f)`; static arguments (hashable Python values) key separate traces."""
  unsupported = sorted(set(options) - _IGNORED_JIT_OPTIONS)
  if unsupported:
    raise BackendError(
      f'fastmath.jit on the tensorflow-numpy backend cannot honour '
      f'{unsupported}; it supports static_argnums and static_argnames.'
    )
  static_argnums, static_argnames = _as_tuple(static_argnums), _as_tuple(static_argnames)
  if not static_argnums and not static_argnames:
    return tf.function(f, autograph=False)
  traces = {}

  @functools.wraps(f)
  def jitted(*args, **kwargs):
    positions = {i % len(args) for i in static_argnums if -len(args) <= i < len(args)}
    static = tuple((i, args[i]) for i in sorted(positions)) + tuple(
      (k, kwargs[k]) for k in static_argnames if k in kwargs
    )
    try:
      trace = traces.get(static)
    except TypeError as e:
      raise ValueError(f'fastmath.jit: static arguments must be hashable, got {static}.') from e
    if trace is None:
      static_args = {i: v for i, v in static if isinstance(i, int)}
      static_kwargs = {k: v for k, v in static if isinstance(k, str)}

      def with_static(dynamic_args, dynamic_kwargs):
        it = iter(dynamic_args)
        n_args = len(dynamic_args) + len(static_args)
        full = [static_args[i] if i in static_args else next(it) for i in range(n_args)]
        return f(*full, **dynamic_kwargs, **static_kwargs)

      trace = traces[static] = tf.function(with_static, autograph=False)
    return trace(
      [a for i, a in enumerate(args) if i not in positions],
      {k: v for k, v in kwargs.items() if k not in static_argnames},
    )

  return jitted


def _differentiable(tree: Any, where: str) -> Any:
  def check(x):
    x = tf_numpy.asarray(x)
    if not (x.dtype.is_floating or x.dtype.is_complex):
      raise TypeError(
        f'{where} requires float inputs, got {x.dtype.name}; cast integer '
        'inputs to float, or leave them out of argnums.'
      )
    return x

  return tf.nest.map_structure(check, tree)


def _dense(gradient: Any) -> Any:
  """Gradients of gathers arrive as `IndexedSlices`; jax gives dense arrays."""
  return tf.convert_to_tensor(gradient) if isinstance(gradient, tf.IndexedSlices) else gradient


def value_and_grad(
  f: Callable, argnums: 'int | Sequence[int]' = 0, has_aux: bool = False
) -> Callable:
  """Returns `g(*args) -> (f(*args), df/dargs[argnums])` (`((value, aux), grads)` with aux)."""
  positions = _as_tuple(argnums)

  @functools.wraps(f)
  def value_and_grad_f(*args, **kwargs):
    args = list(args)
    for i in positions:
      args[i] = _differentiable(args[i], f'grad of argument {i}')
    sources = [args[i] for i in positions]
    with tf.GradientTape(watch_accessed_variables=False) as tape:  # Only the sources.
      tape.watch(sources)
      out = f(*args, **kwargs)
      value, aux = out if has_aux else (out, None)
      value = tf_numpy.asarray(value)
    if value.shape.rank != 0:
      raise TypeError(
        f'grad needs a scalar-valued function; {getattr(f, "__name__", f)} '
        f'returned shape {value.shape}.'
      )
    grads = tape.gradient(value, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = tf.nest.map_structure(_dense, grads)
    grads = grads[0] if isinstance(argnums, int) else tuple(grads)
    return ((value, aux), grads) if has_aux else (value, grads)

  return value_and_grad_f


def grad(f: Callable, argnums: 'int | Sequence[int]' = 0, has_aux: bool = False) -> Callable:
  """Returns `g(*args) -> df/dargs[argnums]` (`(grads, aux)` with aux)."""
  value_and_grad_f = value_and_grad(f, argnums, has_aux)

  @functools.wraps(f)
  def grad_f(*args, **kwargs):
    value, grads = value_and_grad_f(*args, **kwargs)
    return (grads, value[1]) if has_aux else grads

  return grad_f


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
  """Returns `(f(*primals), vjp_fn)` (and aux), `vjp_fn(cotangent)` a tuple per primal."""
  tensors = [_to_tensors(p) for p in primals]
  # Persistent: vjp_fn may be called more than once.
  tape = tf.GradientTape(persistent=True, watch_accessed_variables=False)
  with tape:
    tape.watch(tensors)
    out = f(*tensors)
  out, aux = out if has_aux else (out, None)

  def vjp_fn(cotangent):
    tf.nest.assert_same_structure(out, cotangent)
    cotangents = [tf_numpy.asarray(c) for c in tf.nest.flatten(cotangent)]
    grads = tape.gradient(
      tf.nest.flatten(out),
      tensors,
      output_gradients=cotangents,
      unconnected_gradients=tf.UnconnectedGradients.ZERO,
    )
    return tuple(tf.nest.map_structure(_dense, grads))

  return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def vmap(f: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
  """Maps `f` over an axis of its arguments with `tf.vectorized_map`.

  `in_axes` is an int or None (not mapped) for all arguments, or a tuple of those, one per
  argument; `out_axes` an int for all outputs.
  """

  @functools.wraps(f)
  def batched(*args):
    axes = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    if len(axes) != len(args) or not all(a is None or isinstance(a, int) for a in axes):
      raise BackendError(
        f'fastmath.vmap on the tensorflow-numpy backend takes in_axes as an '
        f'int, None, or one of those per argument ({len(args)} arguments); '
        f'got {in_axes}.'
      )
    if not isinstance(out_axes, int):
      raise BackendError(
        f'fastmath.vmap on the tensorflow-numpy backend takes an int out_axes, got {out_axes}.'
      )
    mapped = [
      tf.nest.map_structure(lambda x, ax=ax: tf_numpy.moveaxis(x, ax, 0), arg)
      for arg, ax in zip(args, axes)
      if ax is not None
    ]

    def one_example(slices):
      it = iter(slices)
      return f(*(arg if ax is None else next(it) for arg, ax in zip(args, axes)))

    out = tf.vectorized_map(one_example, tuple(mapped))
    return (
      out
      if out_axes == 0
      else tf.nest.map_structure(lambda y: tf_numpy.moveaxis(y, 0, out_axes), out)
    )

  return batched


class custom_vjp:
  """A function with a hand-written backward pass, as `jax.custom_vjp`.

  `f.defvjp(fwd, bwd)`: `fwd(*args) -> (out, residuals)`, `bwd(*nondiff_args, residuals,
  out_cotangent) -> cotangents` (a tuple, one per differentiable argument). Built on
  `tf.custom_gradient`; arguments are trees of arrays.
  """

  def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
    functools.update_wrapper(self, fun)
    self._fun, self._nondiff_argnums = fun, tuple(nondiff_argnums)
    self.__name__ = getattr(fun, '__name__', repr(fun))
    self._fwd: Callable | None = None
    self._bwd: Callable | None = None

  def defvjp(self, fwd: Callable, bwd: Callable) -> None:
    self._fwd, self._bwd = fwd, bwd

  def __call__(self, *args):
    fwd, bwd = self._fwd, self._bwd
    if fwd is None or bwd is None:
      raise TypeError(
        f'No VJP defined for custom_vjp function {self.__name__}; call .defvjp(fwd, bwd) first.'
      )
    nondiff = [args[i] for i in self._nondiff_argnums]
    diff_args = [_to_tensors(a) for i, a in enumerate(args) if i not in self._nondiff_argnums]
    out_structure = []

    def with_nondiff(diff):
      it = iter(diff)
      return [args[i] if i in self._nondiff_argnums else next(it) for i in range(len(args))]

    @tf.custom_gradient
    def apply(*flat_inputs):
      out, residuals = fwd(*with_nondiff(tf.nest.pack_sequence_as(diff_args, flat_inputs)))
      out_structure.append(out)
      flat_out = tf.nest.flatten(out)

      def backward(*flat_cotangents, variables=None):
        if variables:
          raise BackendError(
            f'custom_vjp function {self.__name__} reads TF variables; pass '
            'them as arguments instead.'
          )
        flat_cotangents = [
          tf.zeros_like(o) if c is None else c for o, c in zip(flat_out, flat_cotangents)
        ]
        cotangent = tf.nest.pack_sequence_as(out, flat_cotangents)
        return tf.nest.flatten(bwd(*nondiff, residuals, cotangent))

      return flat_out, backward

    flat_out = apply(*tf.nest.flatten(diff_args))
    return tf.nest.pack_sequence_as(out_structure[0], flat_out)


def remat(f: Callable, **unused_options) -> Callable:
  """`f` recomputing its activations in the backward pass (`tf.recompute_grad`)."""

  @functools.wraps(f)
  def rematerialized(*args):
    leaves = tf.nest.flatten(args)
    array_positions = [i for i, x in enumerate(leaves) if _is_array(x)]
    out_structure = []

    @tf.recompute_grad
    def apply(*arrays):
      full = list(leaves)
      for i, x in zip(array_positions, arrays):
        full[i] = x
      out = f(*tf.nest.pack_sequence_as(args, full))
      out_structure[:] = [out]
      return tf.nest.flatten(out)

    flat_out = apply(*(tf_numpy.asarray(leaves[i]) for i in array_positions))
    return tf.nest.pack_sequence_as(out_structure[0], flat_out)

  return rematerialized


def stop_gradient(x: Any) -> Any:
  return tf.nest.map_structure(lambda t: tf.stop_gradient(tf_numpy.asarray(t)), x)


def abstract_eval(f: Callable) -> Callable:
  """Maps `ShapeDtype` trees (None dims allowed) to the `ShapeDtype`s `f` would output."""

  def eval_on_signatures(*args):
    to_spec = lambda s: (
      tf.TensorSpec(s.shape, tf.as_dtype(s.dtype)) if isinstance(s, shapes.ShapeDtype) else s
    )
    specs = tf.nest.map_structure(to_spec, args)
    traced = tf.function(f, autograph=False).get_concrete_function(*specs)
    return tf.nest.map_structure(
      lambda t: shapes.ShapeDtype(t.shape, np.dtype(t.dtype.as_numpy_dtype)),
      traced.structured_outputs,
    )

  return eval_on_signatures
