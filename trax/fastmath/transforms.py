"""Transforms and control flow of `trax.fastmath`, each forwarded to the selected backend.

Every function here has the meaning of its jax namesake (see the jax backend): jax's
transforms under jax, `tf.function` and `tf.GradientTape` under tensorflow-numpy.
"""

from typing import Any
from collections.abc import Callable, Sequence

from trax.fastmath.backend import lookup

# Set by `disable_jit()`: `jit(f)` returns `f` itself.
_jit_disabled = False

# Transforms.


def jit(f: Callable, **kwargs) -> Callable:
  """Compiles `f` (XLA under jax; `tf.function` under tensorflow-numpy).

  After `disable_jit()`, returns `f` itself.
  """
  if _jit_disabled:
    return f
  return lookup('jit')(f, **kwargs)


def disable_jit() -> None:
  """Turns compilation off for the rest of the process, for debugging (as Trax 1.x).

  `jit` then returns functions unchanged, and jax's own compilation (the training step,
  decoding) is switched off too (`jax_disable_jit`), so code runs op by op.
  """
  global _jit_disabled
  _jit_disabled = True
  import jax

  jax.config.update('jax_disable_jit', True)


def grad(f: Callable, argnums: 'int | Sequence[int]' = 0, has_aux: bool = False) -> Callable:
  """Returns a function computing the gradient of scalar-valued `f`."""
  return lookup('grad')(f, argnums=argnums, has_aux=has_aux)


def value_and_grad(
  f: Callable, argnums: 'int | Sequence[int]' = 0, has_aux: bool = False
) -> Callable:
  """Returns a function computing `(f(...), grad f(...))`."""
  return lookup('value_and_grad')(f, argnums=argnums, has_aux=has_aux)


def vjp(f: Callable, *primals: Any, has_aux: bool = False):
  """Returns `(f(*primals), vjp_fn)` (and aux when `has_aux`)."""
  return lookup('vjp')(f, *primals, has_aux=has_aux)


def vmap(f: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
  """Vectorizes `f` over a leading (or given) axis."""
  return lookup('vmap')(f, in_axes=in_axes, out_axes=out_axes)


def custom_vjp(
  f: Callable,
  f_fwd: 'Callable | None' = None,
  f_bwd: 'Callable | None' = None,
  nondiff_argnums: tuple = (),
) -> Any:
  """Gives `f` a custom backward pass; two forms.

  - `custom_vjp(f, nondiff_argnums=...)`, as `jax.custom_vjp`: returns an object whose
    `defvjp(fwd, bwd)` sets the pass; `bwd(*nondiff_args, residuals, g)` returns one
    cotangent per differentiable argument.
  - Trax 1.x's `custom_vjp(f, f_fwd, f_bwd)`: returns the function itself;
    `f_fwd(*args) -> (out, residuals)` and `f_bwd(residuals, g)` returns one cotangent per
    argument (`None` for arguments not differentiated). Trax 1.x ignored
    `nondiff_argnums` in this form, and so does this.
  """
  if f_fwd is None and f_bwd is None:
    return lookup('custom_vjp')(f, nondiff_argnums=nondiff_argnums)
  if f_fwd is None or f_bwd is None:
    raise ValueError('custom_vjp takes both f_fwd and f_bwd, or neither.')
  wrapped = lookup('custom_vjp')(f)
  wrapped.defvjp(f_fwd, f_bwd)
  return wrapped


def custom_grad(f_vjp: Callable, f_original: Callable) -> Callable:
  """`f_original` with the gradient that `f_vjp` defines (Trax 1.x).

  `f_vjp(*args)` returns `(f_original(*args), vjp_fn)`, and `vjp_fn(g)` one cotangent per
  argument. The backward pass calls `f_vjp` again (the forward runs twice when
  differentiating), since a function cannot be kept as a residual of the pass.
  """

  def fwd(*args):
    return f_vjp(*args)[0], args

  def bwd(args, g):
    return tuple(f_vjp(*args)[1](g))

  return custom_vjp(f_original, fwd, bwd)


def remat(f: Callable) -> Callable:
  """Recomputes `f`'s activations in the backward pass instead of storing them."""
  return lookup('remat')(f)


def stop_gradient(x: Any) -> Any:
  """Identity whose gradient is zero."""
  return lookup('stop_gradient')(x)


# Control flow.


def scan(
  f: Callable, init: Any, xs: Any, length: 'int | None' = None, reverse: bool = False
) -> tuple[Any, Any]:
  """`carry, ys = scan(f, init, xs)`: loops `carry, y = f(carry, x)` over `xs`' axis 0."""
  return lookup('scan')(f, init, xs, length=length, reverse=reverse)


def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
  """`true_fn(*operands)` if `pred` else `false_fn(*operands)`, inside compiled code."""
  return lookup('cond')(pred, true_fn, false_fn, *operands)


def map(f: Callable, xs: Any) -> Any:
  """`f` applied to each slice of `xs` (a tree) along axis 0, results stacked (lax.map)."""
  return lookup('map')(f, xs)


def fori_loop(lower: int, upper: int, body_fn: Callable, init_val: Any) -> Any:
  """`val = body_fn(i, val)` for `i` in `range(lower, upper)`."""
  return lookup('fori_loop')(lower, upper, body_fn, init_val)


__all__ = [
  'jit',
  'disable_jit',
  'grad',
  'value_and_grad',
  'vjp',
  'vmap',
  'custom_vjp',
  'custom_grad',
  'remat',
  'stop_gradient',
  'scan',
  'cond',
  'map',
  'fori_loop',
]
