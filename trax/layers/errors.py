"""`LayerError`: exceptions raised inside layers, naming the layer, its origin and inputs.

An exception inside a layer's `init` or `pure_fn` becomes a `LayerError` that says which
layer failed (and the path of combinators above it), where in the user's code that layer
was created, and the signature of the inputs it got — instead of a deep trace from XLA.
"""

import contextlib
import contextvars
import functools
import os
import sys
import traceback
from typing import Any, TypeVar
from collections.abc import Callable, Iterator

from trax import shapes

_LAYERS_DIR = os.path.dirname(os.path.abspath(__file__))


class LayerError(Exception):
  """An exception raised inside a layer, naming the layer, its origin and its inputs.

  Attributes:
    path: names of the layers the error passed through, outermost first.
  """

  def __init__(self, layer_name: str, method: str, caller: str, input_signature: Any, message: str):
    super().__init__()
    self.path = [layer_name]
    self._method, self._caller = method, caller
    self._input_signature, self._message = input_signature, message

  def __str__(self) -> str:
    where = ' > '.join(self.path)
    return (
      f'{self.path[-1]} (created at {self._caller}) failed in {self._method}.\n'
      f'  layer path: {where}\n'
      f'  input signature: {self._input_signature}\n'
      f'  {self._message}'
    )


@contextlib.contextmanager
def reraised_as_layer_error(
  layer_name: str, caller: str, method: str, inputs: Any
) -> Iterator[None]:
  """Turns exceptions in the block into a `LayerError` (or extends one's layer path)."""
  try:
    yield
  except LayerError as e:
    e.path.insert(0, layer_name)
    raise
  except Exception as e:
    message = ''.join(traceback.format_exception_only(type(e), e)).strip() + _hint(e, inputs)
    raise LayerError(layer_name, method, caller, _signature_or_repr(inputs), message) from e


def _hint(error: Exception, inputs: Any) -> str:
  """What probably went wrong when a layer taking one array was given several."""
  kind = type(inputs).__name__
  if (
    isinstance(inputs, (tuple, list))
    and isinstance(error, (AttributeError, TypeError))
    and f"'{kind}' object" in str(error)
  ):
    return (
      f'\n  The layer got a {kind} of {len(inputs)} items where it takes one array: '
      'pass one array, or as many inputs as the model takes (its n_in).'
    )
  return ''


# Where layers being made now were asked for, set by `builds_layers_for_caller`.
_CREATED_AT: 'contextvars.ContextVar[str | None]' = contextvars.ContextVar(
  'trax_layers_created_at', default=None
)


def creation_site() -> str:
  """`file:line` a new layer reports as where it was created (its errors name it).

  Inside a `builds_layers_for_caller` function, the line that called that function;
  otherwise the first frame outside trax/layers and gin (combinators, `Layer.__init__`
  chains and gin's wrappers are never the user's lines).
  """
  site = _CREATED_AT.get()
  if site is not None:
    return site
  frame = sys._getframe(1)
  while frame is not None:
    file_name = frame.f_code.co_filename
    if not (
      os.path.abspath(file_name).startswith(_LAYERS_DIR)
      or 'functools' in file_name
      or frame.f_globals.get('__name__', '').partition('.')[0] == 'gin'  # gin's wrappers.
    ):
      return f'{os.path.basename(file_name)}:{frame.f_lineno}'
    frame = frame.f_back
  return 'unknown location'


@contextlib.contextmanager
def layers_created_at(site: str) -> Iterator[None]:
  """Layers made inside the block say they were created at `site` (a `file:line`).

  The outermost block wins: a builder called by another builder keeps the user's line.
  """
  token = _CREATED_AT.set(_CREATED_AT.get() or site)
  try:
    yield
  finally:
    _CREATED_AT.reset(token)


_F = TypeVar('_F', bound=Callable[..., Any])


def builds_layers_for_caller(fn: _F) -> _F:
  """Decorates a function that builds layers on its caller's behalf (e.g. from a config or
  a Keras model): the layers it makes say they were created at the line that called it.

  Where a decorator does not fit (a Keras layer's `__init__`, whose signature Keras reads),
  enter `layers_created_at(caller_site())` instead.
  """

  @functools.wraps(fn)
  def wrapper(*args, **kwargs):
    with layers_created_at(caller_site()):
      return fn(*args, **kwargs)

  return wrapper  # type: ignore[return-value]


def caller_site(depth: int = 1) -> str:
  """`file:line` of the call `depth` levels above the function that calls this (1: the
  line that called that function), like `warnings.warn`'s stacklevel."""
  frame = sys._getframe(depth + 1)
  return f'{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}'


def _signature_or_repr(x: Any) -> Any:
  try:
    return shapes.signature(x)
  except Exception:
    return repr(x)[:200]
