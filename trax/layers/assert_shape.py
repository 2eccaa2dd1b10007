"""Shape checks written like einsum: the `@assert_shape` decorator and the `AssertShape` layer.

A specification gives one pattern per tensor: inputs and outputs are separated by `->`,
tensors by `,`. In a pattern

- a letter names one dimension: equal letters must have equal sizes, across all inputs and
  outputs of one call;
- a digit is a dimension of exactly that size;
- `...` stands for any number of dimensions (at most one per pattern); every `...` of a
  specification stands for the same dimensions.

So `'...a->...b'` (Dense) keeps all but the last dimension, `'...ab,b->...a'` multiplies a
batch of matrices by a vector, and `'bld,bld->bl2'` ends in a dimension of size 2.

Sizes that are unknown match anything: `None` (TensorFlow's dynamic batch inside
`tf.function`) and symbolic sizes (jax shape polymorphism, as in jax2tf exports). A
mismatch raises `ValueError` naming the layer, the specification and the shapes; `pure_fn`
re-raises it as a `LayerError` that also says where the layer was built.

Differences from Trax 1.x: sizes are bound afresh on every call (Trax 1.x shared one
dictionary between an input and an output check layer, which broke when layers ran out of
order); a decorated factory returns its layer itself, given a checking `forward` of its own
(an instance attribute), rather than a `Serial` of checks around it, so weights, names and
configs are as without the decorator; and malformed specifications and mismatches raise
`ValueError`, not `AssertionError`.
"""

import functools
import inspect
import string
import types
from typing import Any, NamedTuple
from collections.abc import Callable, Sequence

import numpy as np

from trax import fastmath
from trax.layers import base
from trax.layers import combinators as cb

__all__ = [
  'assert_shape',
  'AssertShape',
  'AssertFunction',
]

_DIM_CHARACTERS = set(string.ascii_letters + string.digits)


class _Pattern(NamedTuple):
  """One tensor's pattern: dimensions before and after `...` (all in `head` if no `...`)."""

  text: str
  head: str
  tail: str
  has_ellipsis: bool

  def rank_message(self) -> str:
    rank = len(self.head) + len(self.tail)
    return f'at least {rank}' if self.has_ellipsis else f'{rank}'

  def fits_rank(self, rank: int) -> bool:
    needed = len(self.head) + len(self.tail)
    return rank >= needed if self.has_ellipsis else rank == needed


def _parse_patterns(text: str, specification: str) -> tuple[_Pattern, ...]:
  patterns = []
  for part in text.split(','):
    part = part.strip()
    if part.count('...') > 1:
      raise ValueError(
        f'Shape specification {specification!r}: pattern {part!r} has more than one \'...\'.'
      )
    head, ellipsis, tail = part.partition('...')
    bad = sorted(set(head + tail) - _DIM_CHARACTERS)
    if bad:
      raise ValueError(
        f'Shape specification {specification!r}: pattern {part!r} contains '
        f'{bad}; use letters, digits and at most one "...".'
      )
    patterns.append(_Pattern(part, head, tail, bool(ellipsis)))
  return tuple(patterns)


def _static_shape(x: Any) -> 'tuple | None':
  """The shape of `x` with unknown sizes as None, or None if even the rank is unknown."""
  shape = getattr(x, 'shape', None)
  if shape is None:
    shape = np.shape(x)
  if getattr(shape, 'rank', 0) is None:  # A TF tensor of unknown rank.
    return None
  return tuple(shape)


def _differ(a: Any, b: Any) -> bool:
  """Whether two sizes are known to differ: only concrete sizes are compared.

  `None` (TensorFlow) and symbolic sizes (jax shape polymorphism, where `b != 3` is True
  although `b` may be 3 at run time) are unknown.
  """
  known = lambda size: isinstance(size, (int, np.integer))
  return known(a) and known(b) and a != b


class _Matcher:
  """Matches tensors against patterns, binding letters and `...` as it goes."""

  def __init__(self, layer_name: str, specification: str, message: 'str | None' = None):
    self._prefix = f'{layer_name}: shapes do not match {specification!r}'
    self._suffix = f' ({message})' if message else ''
    self._sizes: dict[str, tuple[Any, str]] = {}  # letter -> (size, where it was bound)
    self._ellipsis: tuple[tuple, str] | None = None

  def _fail(self, detail: str):
    raise ValueError(f'{self._prefix}: {detail}{self._suffix}')

  def match(self, patterns: Sequence[_Pattern], arrays: Sequence[Any], kind: str) -> None:
    """Checks `arrays` (the layer's inputs or outputs, named by `kind`) against `patterns`."""
    if len(arrays) != len(patterns):
      self._fail(f'expected {len(patterns)} {kind}s, got {len(arrays)}.')
    for i, (pattern, x) in enumerate(zip(patterns, arrays)):
      shape = _static_shape(x)
      if shape is None:
        continue
      where = f'{kind} {i} (shape {shape})'
      if not pattern.fits_rank(len(shape)):
        self._fail(
          f'{where} has rank {len(shape)}, but pattern {pattern.text!r} needs rank '
          f'{pattern.rank_message()}.'
        )
      n_head, n_tail = len(pattern.head), len(shape) - len(pattern.tail)
      for axis, letter in enumerate(pattern.head):
        self._bind(letter, shape[axis], axis, where)
      for axis, letter in enumerate(pattern.tail, start=n_tail):
        self._bind(letter, shape[axis], axis, where)
      if pattern.has_ellipsis:
        self._bind_ellipsis(shape[n_head:n_tail], where)

  def _bind(self, letter: str, size: Any, axis: int, where: str) -> None:
    if letter.isdigit():
      if _differ(size, int(letter)):
        self._fail(f'{where}: axis {axis} has size {size}, but the pattern fixes it to {letter}.')
      return
    bound, bound_where = self._sizes.get(letter, (None, None))
    if _differ(bound, size):
      self._fail(
        f"dimension '{letter}' is {bound} in {bound_where} but {size} in {where} (axis {axis})."
      )
    if bound is None:
      self._sizes[letter] = (size, where)

  def _bind_ellipsis(self, dims: tuple, where: str) -> None:
    if self._ellipsis is None:
      self._ellipsis = (dims, where)
      return
    bound, bound_where = self._ellipsis
    if len(bound) != len(dims) or any(_differ(a, b) for a, b in zip(bound, dims)):
      self._fail(f"'...' stands for {bound} in {bound_where} but for {dims} in {where}.")
    merged = tuple(b if a is None else a for a, b in zip(bound, dims))
    self._ellipsis = (merged, bound_where)


def _as_list(xs: Any, n: int) -> list:
  """The `n` tensors of a layer's inputs or outputs (one bare tensor when `n == 1`)."""
  if n == 1:
    return [xs]
  return list(xs) if isinstance(xs, (tuple, list)) else [xs]


class _Specification:
  """A parsed `'inputs->outputs'` specification, checking calls of a layer's forward."""

  def __init__(self, specification: str):
    if specification.count('->') != 1:
      raise ValueError(
        f'Shape specification {specification!r} must contain exactly one '
        "'->' between the input and output patterns, e.g. '...a->...b'."
      )
    inputs, outputs = specification.split('->')
    self.text = specification
    self.inputs = _parse_patterns(inputs, specification)
    self.outputs = _parse_patterns(outputs, specification)

  def call(self, layer: base.Layer, inputs: Any, forward: Callable) -> Any:
    matcher = _Matcher(layer.name, self.text)
    matcher.match(self.inputs, _as_list(inputs, layer.n_in), 'input')
    outputs = forward(layer, inputs)
    matcher.match(self.outputs, _as_list(outputs, layer.n_out), 'output')
    return outputs


def assert_shape(specification: str) -> Callable:
  """Decorator checking the input and output shapes of a layer class or layer factory.

  See the module docstring for the specification language. On a `Layer` subclass, every
  call of `forward` is checked; on a function returning a layer, that layer's `forward` is.
  Put `@register` above `@assert_shape` so that rebuilding from a config keeps the check.

  >>> @assert_shape('...d->...')
  ... def ReduceSum():
  ...   return Fn('ReduceSum', lambda x: jnp.sum(x, axis=-1))
  >>> ReduceSum()(np.ones((2, 3))).shape
  (2,)

  Args:
    specification: input patterns, `->`, output patterns, e.g. `'...a,ab->...b'`.

  Returns:
    The decorator.

  Raises:
    ValueError: at decoration time if the specification is malformed; when the decorated
      layer runs, if shapes do not match it.
  """
  spec = _Specification(specification)

  def decorate(cls_or_factory):
    if inspect.isclass(cls_or_factory):
      if not issubclass(cls_or_factory, base.Layer):
        raise TypeError(
          f'assert_shape decorates Layer subclasses or functions returning '
          f'layers, not class {cls_or_factory.__name__}.'
        )
      unchecked_forward = cls_or_factory.forward

      @functools.wraps(unchecked_forward)
      def forward(self, inputs):
        return spec.call(self, inputs, unchecked_forward)

      cls_or_factory.forward = forward
      return cls_or_factory

    @functools.wraps(cls_or_factory)
    def checked_factory(*args, **kwargs):
      layer = cls_or_factory(*args, **kwargs)
      if not isinstance(layer, base.Layer):
        raise TypeError(
          f'{cls_or_factory.__name__} is decorated with assert_shape but '
          f'returned {type(layer).__name__}, not a layer.'
        )
      _add_instance_check(layer, spec)
      return layer

    return checked_factory

  return decorate


def _add_instance_check(layer: base.Layer, spec: _Specification) -> None:
  """Makes `layer.forward` check `spec` (on top of checks added before)."""
  layer._shape_specifications = (  # pyright: ignore[reportAttributeAccessIssue] (ours to add)
    getattr(layer, '_shape_specifications', ()) + (spec,)
  )
  # A bound method (not a closure) so that copies of the layer check themselves.
  layer.forward = types.MethodType(_forward_with_instance_checks, layer)


def _forward_with_instance_checks(layer: base.Layer, inputs: Any) -> Any:
  forward = type(layer).forward
  for spec in getattr(layer, '_shape_specifications'):  # noqa: B009 (set by _add_instance_check)
    forward = functools.partial(spec.call, forward=forward)
  return forward(layer, inputs)


class AssertShape(base.Layer):
  """Checks the shapes of its inputs against a pattern and returns them unchanged.

  `spec` has the patterns of `assert_shape` for the inputs only (no `->`), one per input:
  `AssertShape('...ab,...b')` takes two inputs. Place it anywhere in a `Serial` to document
  and enforce the shapes flowing there.

  >>> AssertShape('bld')(np.zeros((2, 3, 4))).shape  # A (2, 3) input would raise.
  (2, 3, 4)

  Args:
    spec: comma-separated patterns, one per input.
    message: text added to the error when a check fails.
    visible_layer: show this layer when a model is printed (hidden by default).
  """

  def __init__(self, spec: str, message: 'str | None' = None, visible_layer: bool = False):
    patterns = _parse_patterns(spec, spec)
    super().__init__(n_in=len(patterns), n_out=len(patterns), name='AssertShape')
    self._spec = spec
    self._patterns = patterns
    self._message = message
    self._visible_layer = visible_layer

  def __repr__(self) -> str:
    return super().__repr__() if self._visible_layer else ''

  def forward(self, inputs: Any) -> Any:
    matcher = _Matcher(self.name, self._spec, self._message)
    matcher.match(self._patterns, _as_list(inputs, self.n_in), 'input')
    return inputs


class AssertFunction(base.Layer):
  """Runs `layer`, checking its inputs and outputs against `specification` (`'in->out'`).

  The layer form of `@assert_shape` for a layer built elsewhere: `layer` itself is left
  unchanged (it may be used unchecked elsewhere). Weights and state: `(layer's,)`. (Trax
  1.4 built a `Serial` of two `AssertShape`s around the layer, with weights
  `((), layer's, ())`; the flat weight order is the same.)

  >>> checked = AssertFunction('...a->...b', Dense(4))
  >>> checked(np.ones((2, 3))).shape  # A rank-mismatched output would raise.
  (2, 4)

  Args:
    specification: input patterns, `->`, output patterns (see the module docstring).
    layer: the layer to run.
    message: text added to the error when a check fails.
  """

  def __init__(self, specification: str, layer: base.Layer, message: 'str | None' = None):
    super().__init__(n_in=layer.n_in, n_out=layer.n_out, name='AssertFunction')
    self._sublayers = (layer,)
    self._weights = self._state = (None,)
    self._specification = _Specification(specification)
    self._message = message

  def _layer_rng(self, rng: Any) -> Any:
    return None if rng is None else fastmath.random.split(rng, 3)[1]

  def init_weights_and_state(self, input_signature: Any) -> None:
    # The layer's key is that of the middle sublayer of Trax's Serial(check, layer, check).
    weights, state = self.sublayers[0].init(
      input_signature, rng=self._layer_rng(self.rng), use_cache=True
    )
    self.weights, self.state = (weights,), (state,)

  def forward(self, inputs: Any) -> Any:
    layer = self.sublayers[0]
    (weights,), (state,) = self.weights, self.state
    spec = self._specification
    matcher = _Matcher(layer.name, spec.text, self._message)
    matcher.match(spec.inputs, _as_list(inputs, layer.n_in), 'input')
    outputs, new_state = layer.pure_fn(
      inputs, weights, state, self._layer_rng(cb.call_rng(self)), use_cache=True
    )
    matcher.match(spec.outputs, _as_list(outputs, layer.n_out), 'output')
    self.state = (state if base.is_cache_marker(state) else new_state,)
    return outputs
