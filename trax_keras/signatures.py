"""Input signatures between Keras and trax: dynamic dimensions and output specs.

Keras describes inputs by shapes with `None` for dimensions known only at run time (the
batch, often the sequence length); trax computes weights and output shapes from concrete
`ShapeDtype`s. Two stand-in sizes bridge them: a layer is evaluated abstractly once with
every `None` replaced by `PROBE_SIZES[0]` and once by `PROBE_SIZES[1]`; output dimensions
that differ between the two depend on a dynamic input dimension and become `None`.
"""

from typing import Any
from collections.abc import Callable

import jax
import keras
import numpy as np

from trax import fastmath
from trax import shapes

# Powers of two, so layers that split a length into chunks or heads accept them.
PROBE_SIZES = (8, 16)

ShapeDtype = shapes.ShapeDtype


def is_signature(x: Any) -> bool:
  return isinstance(x, ShapeDtype)


def as_signature(tree: Any) -> Any:
  """`ShapeDtype` tree of arrays, Keras tensors or `ShapeDtype`s (lists become tuples)."""

  def to_signature(x):
    if is_signature(x):
      return x
    if not hasattr(x, 'shape') or not hasattr(x, 'dtype'):
      raise TypeError(f'Expected arrays, tensors or ShapeDtypes as inputs; got {x!r:.100}.')
    # Symbolic sizes (Keras tracing a jax function) are unknown sizes.
    shape = tuple(int(d) if isinstance(d, (int, np.integer)) else None for d in x.shape)
    return ShapeDtype(shape, _numpy_dtype(x.dtype))

  return as_tuples(shapes.map_signature(to_signature, tree))


def as_tuples(tree: Any) -> Any:
  """Lists in `tree` become tuples: trax takes several inputs as a tuple."""
  if isinstance(tree, (tuple, list)):
    return tuple(as_tuples(x) for x in tree)
  if isinstance(tree, dict):
    return {k: as_tuples(v) for k, v in tree.items()}
  return tree


def ids_as_declared(tree: Any, signature: Any, cast: Callable) -> Any:
  """`tree` with `cast(x, dtype)` where `signature` declares integer ids but `x` is float.

  Keras casts a model's inputs to its `Input` dtypes, and without `keras.Input` (a
  `Sequential`) it guesses the first layer's float compute dtype: integer ids then
  arrive as floats (exact below 2**24) and go back to the declared integer dtype here.
  """
  if signature is None:
    return tree
  # keras.tree: `tree` is Keras' structure of its (backend) tensors, as Keras nests them.
  flat, declared = keras.tree.flatten(tree), keras.tree.flatten(signature)
  if len(flat) != len(declared):
    return tree

  def to_declared(x, s):
    x_dtype = _numpy_dtype(x.dtype)
    if np.issubdtype(s.dtype, np.integer) and np.issubdtype(x_dtype, np.floating):
      return cast(x, s.dtype.name)
    return x

  return keras.tree.pack_sequence_as(tree, [to_declared(x, s) for x, s in zip(flat, declared)])


def output_signature(fn: Callable, input_signature: Any, *args: Any) -> Any:
  """`ShapeDtype`s of `fn(inputs, *args)`, `None` where an input's `None` dimension leaks in.

  `fn` maps jax arrays to a tree of jax arrays; it is only evaluated abstractly. `args` are
  `ShapeDtype` trees of further arguments (weights, say), all dimensions known.
  """
  probes = [
    _abstract_eval(fn, shapes.concrete(input_signature, size), *args) for size in PROBE_SIZES
  ]

  def merge(a, b):
    return ShapeDtype(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype)

  return fastmath.nested_map_multiarg(merge, probes[0], probes[1])


def _abstract_eval(fn: Callable, *signatures: Any) -> Any:
  # Cache markers of shared layers are dicts of empty tuples: they map to themselves.
  to_struct = lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype)
  structs = [shapes.map_signature(to_struct, s) for s in signatures]
  out = jax.eval_shape(fn, *structs)
  return shapes.map_signature(lambda s: ShapeDtype(s.shape, s.dtype), out)


def _numpy_dtype(dtype: Any) -> np.dtype:
  name = getattr(dtype, 'name', dtype)  # tf.DType and strings alike
  return np.dtype(getattr(dtype, 'as_numpy_dtype', name))
