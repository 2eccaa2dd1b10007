"""`AsKeras`: Trax 1.4's name and arguments for a trax layer as a Keras layer (`TraxLayer`).

Trax 1.4 exported it as `trax.AsKeras`; `trax` still answers to that name, importing this
module (and Keras) only when the name is used.
"""

from typing import Any

import trax.layers as tl
from trax_keras.traxlayer import TraxLayer


def AsKeras(
  trax_layer: tl.Layer,
  batch_size: 'int | None' = None,
  initializer_rng: Any = None,
  rng: Any = None,
  name: 'str | None' = None,
  dtype: Any = None,
) -> TraxLayer:
  """A Keras layer computing `trax_layer` with its current weights, as Trax 1.4's `AsKeras`.

  >>> model = tl.Serial(tl.Dense(2), tl.LogSoftmax())
  >>> _ = model.init(ShapeDtype((1, 3), np.float32))
  >>> tuple(AsKeras(model)(np.ones((1, 3), np.float32)).shape)
  (1, 2)

  Args:
    trax_layer: the layer; its weights (if initialized) become the Keras variables.
    batch_size: accepted for Trax 1.4's signature; the batch size stays dynamic.
    initializer_rng: unsupported (Trax initialized an uninitialized layer with it):
      initialize the layer with `trax_layer.init(signature, rng=...)` first.
    rng: unsupported (the random key of the layer's computation): use `TraxLayer(...,
      seed=...)`.
    name: the Keras layer's name.
    dtype: the Keras layer's dtype policy.

  Raises:
    ValueError: `initializer_rng` or `rng` is given.
  """
  del batch_size  # Every TraxLayer takes any batch size.
  for arg_name, value in (('initializer_rng', initializer_rng), ('rng', rng)):
    if value is not None:
      raise ValueError(
        f'AsKeras({arg_name}=...) is not supported: initialize the trax layer '
        'with layer.init(signature, rng=...) first, and give TraxLayer a '
        'seed= for its random numbers.'
      )
  kwargs: dict[str, Any] = {
    key: value for key, value in (('name', name), ('dtype', dtype)) if value
  }
  return TraxLayer(trax_layer, **kwargs)
