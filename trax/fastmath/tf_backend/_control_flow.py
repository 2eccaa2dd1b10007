"""cond, fori_loop and scan with jax.lax semantics, as TF control-flow ops.

Carries and scanned values are trees (tuples, lists, dicts) of arrays. Loops are
`tf.while_loop`s, so they run eagerly, inside `tf.function`, under `tf.GradientTape`, and
with a leading axis unknown until run time.
"""

from typing import Any
from collections.abc import Callable

import tensorflow as tf

from trax.fastmath import tf_numpy
from trax.fastmath.tf_numpy import _dtypes


def _to_tensors(tree: Any) -> Any:
  return tf.nest.map_structure(tf_numpy.asarray, tree)


def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
  """`true_fn(*operands)` if `pred` else `false_fn(*operands)`; a `tf.cond` for tensors."""
  if not _dtypes.is_tensor(pred):
    return true_fn(*operands) if pred else false_fn(*operands)
  pred = tf_numpy.asarray(pred)
  if pred.dtype != tf.bool:
    pred = tf.not_equal(pred, tf.zeros((), pred.dtype))
  return tf.cond(tf.reshape(pred, []), lambda: true_fn(*operands), lambda: false_fn(*operands))


def fori_loop(lower: Any, upper: Any, body_fn: Callable, init_val: Any) -> Any:
  """`val = body_fn(i, val)` for `i` in `range(lower, upper)`; returns the final `val`."""
  lower, upper = _dtypes.promote(lower, upper)
  _, val = tf.while_loop(
    lambda i, _: i < upper, lambda i, val: (i + 1, body_fn(i, val)), (lower, _to_tensors(init_val))
  )
  return val


def _check_carry(init: Any, carry_out: Any) -> None:
  """Raises TypeError unless the traced body keeps the carry's structure, dtypes, shapes."""
  try:
    tf.nest.assert_same_structure(init, carry_out)
    for before, after in zip(tf.nest.flatten(init), tf.nest.flatten(carry_out)):
      if before.dtype != after.dtype or not before.shape.is_compatible_with(after.shape):
        raise TypeError
  except (TypeError, ValueError):
    describe = lambda tree: tf.nest.map_structure(
      lambda t: f'{t.dtype.name}{t.shape}' if hasattr(t, 'dtype') else repr(t), tree
    )
    raise TypeError(
      f'scan: the body must return a carry of the same structure, dtypes and '
      f'shapes as init; init is {describe(init)}, the body returned '
      f'{describe(carry_out)}.'
    ) from None


def scan(
  f: Callable, init: Any, xs: Any, length: Any = None, reverse: bool = False, unroll: int = 1
) -> tuple[Any, Any]:
  """Loops `carry, y = f(carry, x)` over the leading axis of `xs`, like `jax.lax.scan`.

  Args:
    f: the body, `(carry, x) -> (carry, y)`; `y` may be any tree (or None).
    init: the initial carry.
    xs: a tree of arrays sharing their leading axis (of static or dynamic size), or None.
    length: the number of steps; needed when `xs` is None.
    reverse: if True, steps run from the last `x` to the first (`ys` stay aligned with
      `xs`).
    unroll: ignored (jax's unrolling hint).

  Returns:
    `(final_carry, ys)`, `ys` the `y`s stacked along a new leading axis.
  """
  init, xs = _to_tensors(init), None if xs is None else _to_tensors(xs)
  x_leaves = tf.nest.flatten(xs) if xs is not None else []
  if length is None:
    if not x_leaves:
      raise ValueError('scan: give xs or length (the number of steps).')
    length = _dtypes.shape(x_leaves[0])[0]

  # TensorArrays for ys need their dtypes first: trace the body once, abstractly.
  spec = lambda t: tf.TensorSpec(t.shape, t.dtype)
  x_spec = (
    None if xs is None else tf.nest.map_structure(lambda x: tf.TensorSpec(x.shape[1:], x.dtype), xs)
  )
  traced = tf.function(f, autograph=False).get_concrete_function(
    tf.nest.map_structure(spec, init), x_spec
  )
  carry_out, y_out = traced.structured_outputs
  _check_carry(init, carry_out)
  y_leaves = tf.nest.flatten(y_out)
  y_arrays = [
    tf.TensorArray(y.dtype, size=length, element_shape=y.shape) for y in y_leaves if y is not None
  ]

  def body(i, carry, arrays):
    index = length - 1 - i if reverse else i
    x = None if xs is None else tf.nest.map_structure(lambda v: tf.gather(v, index), xs)
    carry, y = f(carry, x)
    ys = [y for y in tf.nest.flatten(y) if y is not None]
    return i + 1, carry, [a.write(index, y) for a, y in zip(arrays, ys)]

  _, carry, y_arrays = tf.while_loop(
    lambda i, *_: i < length, body, (tf.constant(0), init, y_arrays)
  )
  stacked = iter([a.stack() for a in y_arrays])
  ys = tf.nest.pack_sequence_as(y_out, [None if y is None else next(stacked) for y in y_leaves])
  return carry, ys
