"""Elementwise functions for the TF namespace, with jax's dtype rules.

Functions that need a float (`exp`, `divide`, `arctan2`) turn integers into float32; the
others keep the (promoted) input dtype. Binary functions broadcast like numpy.
"""

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from trax.fastmath.tf_numpy._dtypes import as_bool
from trax.fastmath.tf_numpy._dtypes import as_inexact
from trax.fastmath.tf_numpy._dtypes import asarray
from trax.fastmath.tf_numpy._dtypes import promote

__all__ = [
  'exp',
  'exp2',
  'expm1',
  'log',
  'log2',
  'log10',
  'log1p',
  'sqrt',
  'cbrt',
  'reciprocal',
  'sin',
  'cos',
  'tan',
  'arcsin',
  'arccos',
  'arctan',
  'sinh',
  'cosh',
  'tanh',
  'arcsinh',
  'arccosh',
  'arctanh',
  'rint',
  'abs',
  'absolute',
  'negative',
  'positive',
  'sign',
  'square',
  'floor',
  'ceil',
  'trunc',
  'fix',
  'isnan',
  'isinf',
  'isfinite',
  'logical_not',
  'invert',
  'bitwise_not',
  'add',
  'subtract',
  'multiply',
  'divide',
  'true_divide',
  'floor_divide',
  'mod',
  'remainder',
  'fmod',
  'power',
  'maximum',
  'minimum',
  'arctan2',
  'equal',
  'not_equal',
  'less',
  'less_equal',
  'greater',
  'greater_equal',
  'bitwise_and',
  'bitwise_or',
  'bitwise_xor',
  'left_shift',
  'right_shift',
  'logical_and',
  'logical_or',
  'logical_xor',
  'logaddexp',
  'round',
  'where',
  'nonzero',
  'clip',
  'nan_to_num',
  'isclose',
  'allclose',
  'array_equal',
  'around',
]

_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))


def _unary(name: str, tf_fn: Callable, inexact: bool = False) -> Callable:
  def fn(x):
    return tf_fn(as_inexact(x) if inexact else asarray(x))

  fn.__name__ = fn.__qualname__ = name
  fn.__doc__ = f'Elementwise numpy.{name} with TF ops.'
  return fn


def _binary(name: str, tf_fn: Callable, inexact: bool = False) -> Callable:
  def fn(x1, x2):
    x1, x2 = promote(x1, x2)
    if inexact:
      x1, x2 = as_inexact(x1), as_inexact(x2)
    return tf_fn(x1, x2)

  fn.__name__ = fn.__qualname__ = name
  fn.__doc__ = f'Elementwise numpy.{name} with TF ops (numpy broadcasting).'
  return fn


def _floats_only(tf_fn: Callable) -> Callable:
  """Rounding functions leave integers and bools as they are (as jax does)."""
  return lambda x: tf_fn(x) if x.dtype.is_floating else x


def _logical(name: str, tf_fn: Callable) -> Callable:
  def fn(x1, x2):
    return tf_fn(as_bool(x1), as_bool(x2))

  fn.__name__ = fn.__qualname__ = name
  fn.__doc__ = f'Elementwise numpy.{name}: inputs are cast to bool.'
  return fn


def _float_test(tf_fn: Callable, for_integers: bool) -> Callable:
  return lambda x: tf_fn(x) if x.dtype.is_floating else tf.fill(tf.shape(x), for_integers)


def _trunc(x):
  return tf.where(x < 0, tf.math.ceil(x), tf.math.floor(x))


def _cbrt(x):
  return tf.math.sign(x) * tf.math.pow(tf.math.abs(x), tf.constant(1.0 / 3.0, x.dtype))


# Float-valued functions: integer inputs become float32.
exp = _unary('exp', tf.math.exp, inexact=True)
exp2 = _unary('exp2', lambda x: tf.math.exp(x * _LN2), inexact=True)
expm1 = _unary('expm1', tf.math.expm1, inexact=True)
log = _unary('log', tf.math.log, inexact=True)
log2 = _unary('log2', lambda x: tf.math.log(x) / _LN2, inexact=True)
log10 = _unary('log10', lambda x: tf.math.log(x) / _LN10, inexact=True)
log1p = _unary('log1p', tf.math.log1p, inexact=True)
sqrt = _unary('sqrt', tf.math.sqrt, inexact=True)
cbrt = _unary('cbrt', _cbrt, inexact=True)
reciprocal = _unary('reciprocal', tf.math.reciprocal, inexact=True)
sin = _unary('sin', tf.math.sin, inexact=True)
cos = _unary('cos', tf.math.cos, inexact=True)
tan = _unary('tan', tf.math.tan, inexact=True)
arcsin = _unary('arcsin', tf.math.asin, inexact=True)
arccos = _unary('arccos', tf.math.acos, inexact=True)
arctan = _unary('arctan', tf.math.atan, inexact=True)
sinh = _unary('sinh', tf.math.sinh, inexact=True)
cosh = _unary('cosh', tf.math.cosh, inexact=True)
tanh = _unary('tanh', tf.math.tanh, inexact=True)
arcsinh = _unary('arcsinh', tf.math.asinh, inexact=True)
arccosh = _unary('arccosh', tf.math.acosh, inexact=True)
arctanh = _unary('arctanh', tf.math.atanh, inexact=True)
rint = _unary('rint', tf.math.round, inexact=True)  # Round half to even, like numpy.

# Dtype-preserving functions.
abs = absolute = _unary('abs', tf.math.abs)
negative = _unary('negative', tf.math.negative)
positive = _unary('positive', tf.identity)
sign = _unary('sign', tf.math.sign)
square = _unary('square', tf.math.square)
floor = _unary('floor', _floats_only(tf.math.floor))
ceil = _unary('ceil', _floats_only(tf.math.ceil))
trunc = fix = _unary('trunc', _floats_only(_trunc))
isnan = _unary('isnan', _float_test(tf.math.is_nan, False))
isinf = _unary('isinf', _float_test(tf.math.is_inf, False))
isfinite = _unary('isfinite', _float_test(tf.math.is_finite, True))
logical_not = _unary('logical_not', lambda x: tf.math.logical_not(as_bool(x)))
invert = bitwise_not = _unary(
  'invert', lambda x: tf.math.logical_not(x) if x.dtype == tf.bool else tf.bitwise.invert(x)
)

add = _binary('add', tf.math.add)
subtract = _binary('subtract', tf.math.subtract)
multiply = _binary('multiply', tf.math.multiply)
divide = true_divide = _binary('divide', tf.math.divide, inexact=True)
floor_divide = _binary('floor_divide', tf.math.floordiv)
mod = remainder = _binary('mod', tf.math.floormod)  # Sign of the divisor, like numpy.
fmod = _binary('fmod', tf.truncatemod)  # Sign of the dividend, like C.
power = _binary('power', tf.math.pow)
maximum = _binary('maximum', tf.math.maximum)
minimum = _binary('minimum', tf.math.minimum)
arctan2 = _binary('arctan2', tf.math.atan2, inexact=True)
equal = _binary('equal', tf.math.equal)
not_equal = _binary('not_equal', tf.math.not_equal)
less = _binary('less', tf.math.less)
less_equal = _binary('less_equal', tf.math.less_equal)
greater = _binary('greater', tf.math.greater)
greater_equal = _binary('greater_equal', tf.math.greater_equal)
bitwise_and = _binary('bitwise_and', tf.bitwise.bitwise_and)
bitwise_or = _binary('bitwise_or', tf.bitwise.bitwise_or)
bitwise_xor = _binary('bitwise_xor', tf.bitwise.bitwise_xor)
left_shift = _binary('left_shift', tf.bitwise.left_shift)
right_shift = _binary('right_shift', tf.bitwise.right_shift)
logical_and = _logical('logical_and', tf.math.logical_and)
logical_or = _logical('logical_or', tf.math.logical_or)
logical_xor = _logical('logical_xor', tf.math.logical_xor)


def logaddexp(x1, x2) -> tf.Tensor:
  """`log(exp(x1) + exp(x2))` without overflow."""
  x1, x2 = (as_inexact(x) for x in promote(x1, x2))
  delta = x1 - x2
  stable = tf.math.maximum(x1, x2) + tf.math.log1p(tf.math.exp(-tf.math.abs(delta)))
  return tf.where(tf.math.is_nan(delta), x1 + x2, stable)  # Equal infinities.


def round(a, decimals=0) -> tf.Tensor:
  """Rounds half to even, like numpy."""
  a = asarray(a)
  if not a.dtype.is_floating:
    return a
  if decimals == 0:
    return tf.math.round(a)
  scale = tf.constant(10.0**decimals, a.dtype)
  return tf.math.round(a * scale) / scale


around = round


def where(condition, x=None, y=None):
  """`x` where `condition` holds, else `y`; with one argument, `nonzero(condition)`."""
  if x is None and y is None:
    return nonzero(condition)
  if x is None or y is None:
    raise ValueError('where takes either both x and y or neither.')
  x, y = promote(x, y)
  return tf.where(as_bool(condition), x, y)


def nonzero(a) -> tuple:
  """Indices (int32) of the nonzero entries, one array per axis; sizes are dynamic."""
  mask = as_bool(a)
  coordinates = tf.cast(tf.where(mask), tf.int32)
  return tuple(coordinates[:, axis] for axis in range(len(mask.shape)))


def clip(a, a_min=None, a_max=None, *, min=None, max=None) -> tf.Tensor:
  """`a` limited to `[a_min, a_max]` (either may be None); jax's `min`/`max` also work."""
  a_min = min if a_min is None else a_min
  a_max = max if a_max is None else a_max
  bounds = [b for b in (a_min, a_max) if b is not None]
  a, *bounds = promote(a, *bounds)
  if a_min is not None:
    a = tf.math.maximum(a, bounds.pop(0))
  return a if a_max is None else tf.math.minimum(a, bounds[0])


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None) -> tf.Tensor:
  """Replaces NaN by `nan` and infinities by `posinf`/`neginf` (default: finite extremes)."""
  x = asarray(x)
  if not x.dtype.is_floating:
    return x
  big = float(x.dtype.max)
  x = tf.where(tf.math.is_nan(x), tf.constant(nan, x.dtype), x)
  x = tf.where(x == np.inf, tf.constant(big if posinf is None else posinf, x.dtype), x)
  return tf.where(x == -np.inf, tf.constant(-big if neginf is None else neginf, x.dtype), x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> tf.Tensor:
  a, b = (as_inexact(x) for x in promote(a, b))
  close = tf.math.abs(a - b) <= atol + rtol * tf.math.abs(b)
  close = tf.math.logical_or(close, tf.equal(a, b))  # Equal infinities.
  if equal_nan:
    close = tf.math.logical_or(close, tf.math.logical_and(tf.math.is_nan(a), tf.math.is_nan(b)))
  return close


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> tf.Tensor:
  return tf.reduce_all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2) -> tf.Tensor:
  a1, a2 = promote(a1, a2)
  if a1.shape.is_fully_defined() and a2.shape.is_fully_defined() and a1.shape != a2.shape:
    return tf.constant(False)
  return tf.reduce_all(tf.equal(a1, a2))
