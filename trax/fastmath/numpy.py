"""`fastmath.numpy`: the numpy-like array API of the selected backend.

`from trax.fastmath import numpy as jnp` then `jnp.dot(x, w)` calls `jax.numpy.dot` under
the jax backend and a TensorFlow op under the tensorflow-numpy backend.
"""

from trax.fastmath import backend as _backend


class _MissingAttributeError(_backend.BackendError, AttributeError):
  """A name the selected backend lacks; an AttributeError too, so that `hasattr` and
  `getattr(module, name, default)` work on this module (torch.compile probes modules)."""


# Names numpy (and so jax.numpy) had in Trax 1.4's time and has since renamed; Trax 1.4
# code (e.g. its knowledge-tracing notebook's `tnp.trapz`) still calls them.
_RENAMED = {
  'trapz': 'trapezoid',
  'round_': 'round',
  'product': 'prod',
  'cumproduct': 'cumprod',
  'alltrue': 'all',
  'sometrue': 'any',
}


def __getattr__(name: str):
  if name.startswith('__'):  # Module protocol probes (autograph, inspect) expect this.
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  namespace = _backend.backend().numpy
  try:
    return getattr(namespace, name)
  except AttributeError:
    if name in _RENAMED and hasattr(namespace, _RENAMED[name]):
      return getattr(namespace, _RENAMED[name])
    raise _MissingAttributeError(
      f'fastmath.numpy.{name} is not available on the {_backend.backend_name()!r} backend.'
    ) from None
