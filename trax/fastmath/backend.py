"""Backend selection: which engine `trax.fastmath` dispatches to.

Layers never import jax or tensorflow; they call `trax.fastmath`, which forwards each call to
the selected backend module:

- ``'jax'`` (default): training, decoding, jit/grad/vmap under XLA.
- ``'tensorflow-numpy'``: the same layer code builds plain TensorFlow ops (for Keras on the
  TF backend and for SavedModel / TF Lite export). TensorFlow is imported only when this
  backend is first selected.
- ``'numpy'``: a plain numpy reference, for the ops that have a numpy meaning.

The selection is process-wide (not per thread) so that TensorFlow's replica threads, e.g.
under `tf.distribute.MirroredStrategy`, see the backend their caller selected.
"""

import contextlib
import enum
import importlib
import types
from collections.abc import Iterator


class Backend(enum.Enum):
  JAX = 'jax'
  TFNP = 'tensorflow-numpy'
  NUMPY = 'numpy'


class BackendError(RuntimeError):
  """An operation the selected backend cannot perform."""


_MODULES = {
  Backend.JAX: 'trax.fastmath.jax_backend',
  Backend.TFNP: 'trax.fastmath.tf_backend',
  Backend.NUMPY: 'trax.fastmath.numpy_backend',
}
_ALIASES = {'tf': Backend.TFNP, 'tfnp': Backend.TFNP, 'tensorflow': Backend.TFNP}

_default = Backend.JAX
_override_stack: list[Backend] = []


def as_backend(name: 'str | Backend') -> Backend:
  """The `Backend` named `name` (or one of its aliases)."""
  if isinstance(name, Backend):
    return name
  if name in _ALIASES:
    return _ALIASES[name]
  try:
    return Backend(name)
  except ValueError:
    names = ', '.join(repr(b.value) for b in Backend)
    raise ValueError(f'Unknown fastmath backend {name!r}; expected one of {names}.') from None


def backend_name() -> str:
  """Returns the name of the backend `fastmath` currently dispatches to."""
  return (_override_stack[-1] if _override_stack else _default).value


def set_backend(name: 'str | Backend') -> None:
  """Sets the default backend (used outside any `use_backend` block)."""
  global _default
  _default = as_backend(name)


@contextlib.contextmanager
def use_backend(name: 'str | Backend') -> Iterator[None]:
  """Context manager: `fastmath` dispatches to backend `name` inside the block."""
  _override_stack.append(as_backend(name))
  try:
    yield
  finally:
    _override_stack.pop()


def backend() -> types.ModuleType:
  """Returns the module implementing the current backend (imported on first use)."""
  return importlib.import_module(_MODULES[as_backend(backend_name())])


def lookup(op_name: str):
  """Returns the current backend's implementation of `op_name`, or raises BackendError."""
  impl = getattr(backend(), op_name, None)
  if impl is None:
    raise BackendError(
      f'fastmath.{op_name} is not available on the {backend_name()!r} '
      f'backend; run it under the \'jax\' backend (fastmath.use_backend).'
    )
  return impl
