"""`LayerError`: exceptions raised inside layers, naming the layer, its origin and inputs.

An exception inside a layer's `init` or `pure_fn` becomes a `LayerError` that says which
layer failed (and the path of combinators above it), where in the user's code that layer
was created, and the signature of the inputs it got — instead of a deep trace from XLA.
"""

import contextlib
import os
import sys
import traceback
from typing import Any, Iterator

from trax import shapes

_LAYERS_DIR = os.path.dirname(os.path.abspath(__file__))


class LayerError(Exception):
  """An exception raised inside a layer, naming the layer, its origin and its inputs.

  Attributes:
    path: names of the layers the error passed through, outermost first.
  """

  def __init__(self, layer_name: str, method: str, caller: str, input_signature: Any,
               message: str):
    super().__init__()
    self.path = [layer_name]
    self._method, self._caller = method, caller
    self._input_signature, self._message = input_signature, message

  def __str__(self) -> str:
    where = ' > '.join(self.path)
    return (f'{self.path[-1]} (created at {self._caller}) failed in {self._method}.\n'
            f'  layer path: {where}\n'
            f'  input signature: {self._input_signature}\n'
            f'  {self._message}')


@contextlib.contextmanager
def reraised_as_layer_error(layer_name: str, caller: str, method: str,
                            inputs: Any) -> Iterator[None]:
  """Turns exceptions in the block into a `LayerError` (or extends one's layer path)."""
  try:
    yield
  except LayerError as e:
    e.path.insert(0, layer_name)
    raise
  except Exception as e:  # pylint: disable=broad-except
    message = ''.join(traceback.format_exception_only(type(e), e)).strip() + _hint(e, inputs)
    raise LayerError(layer_name, method, caller, _signature_or_repr(inputs), message) from e


def _hint(error: Exception, inputs: Any) -> str:
  """What probably went wrong when a layer taking one array was given several."""
  kind = type(inputs).__name__
  if (isinstance(inputs, (tuple, list)) and isinstance(error, (AttributeError, TypeError))
      and f"'{kind}' object" in str(error)):
    return (f'\n  The layer got a {kind} of {len(inputs)} items where it takes one array: '
            'pass one array, or as many inputs as the model takes (its n_in).')
  return ''


# A module that builds layers on its users' behalf (e.g. rebuilding them from a config)
# sets this global to True, so errors name its caller's line instead of its own.
BUILDS_LAYERS_FOR_CALLER = '_TRAX_BUILDS_LAYERS_FOR_CALLER'


def caller_location() -> str:
  """`file:line` of the code that built a layer: the first frame outside trax/layers and
  the modules that set `BUILDS_LAYERS_FOR_CALLER`."""
  frame = sys._getframe(2)  # pylint: disable=protected-access
  while frame is not None:
    file_name = frame.f_code.co_filename
    if (not os.path.abspath(file_name).startswith(_LAYERS_DIR) and 'functools' not in file_name
        and not frame.f_globals.get(BUILDS_LAYERS_FOR_CALLER, False)):
      return f'{os.path.basename(file_name)}:{frame.f_lineno}'
    frame = frame.f_back
  return 'unknown location'


def _signature_or_repr(x: Any) -> Any:
  try:
    return shapes.signature(x)
  except Exception:  # pylint: disable=broad-except
    return repr(x)[:200]
