"""A `TraxLayer`'s trax side as a config: the layer rebuilt from it, Keras' safe mode.

A TraxLayer keeps its trax layer as `config()` JSON (to rebuild it in 'train' and 'eval'
mode, and to save it in `.keras` files). A config read from a file in Keras' safe mode is
refused factories that read files, and limited in the weights it may allocate.
"""

import json
from typing import Any

import numpy as np

from trax import fastmath
import trax.layers as tl

SAFE_MODE_MAX_WEIGHT_BYTES = 2**32  # Of a TraxLayer made from a config in safe mode.


def keras_safe_mode() -> bool:
  """Keras' safe mode: True unless `load_model(safe_mode=False)` or unsafe deserialization."""
  # Keras has no public getter; `in_safe_mode` is None outside `load_model`.
  from keras.src.saving import serialization_lib

  return serialization_lib.in_safe_mode() is not False


def check_weight_bytes(layer: tl.Layer, signature: Any, limit: int, name: str) -> None:
  """Raises ValueError if `layer` would make more than `limit` bytes of weights and state."""
  trees = layer.weights_and_state_signature(signature)
  n_bytes = sum(
    int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in fastmath.tree_flatten(trees)
  )
  if n_bytes > limit:
    raise ValueError(
      f"Safe mode: TraxLayer '{name}' from a config would make {n_bytes:,} bytes of "
      f'weights and state, more than {limit:,}. If you trust the file, load it with '
      'keras.saving.load_model(path, safe_mode=False).'
    )


def layer_and_config(layer: Any) -> tuple[tl.Layer, dict]:
  """The trax layer and its JSON config, from either of them (a config in Keras' safe mode)."""
  if isinstance(layer, dict):
    return tl.from_config(layer, safe_mode=keras_safe_mode()), layer
  if not isinstance(layer, tl.Layer):
    raise TypeError(
      f'TraxLayer takes a trax layer or its config() dict; got '
      f'{type(layer).__name__}: {layer!r:.100}.'
    )
  try:
    config = json.loads(json.dumps(layer.config()))
  except (tl.ConfigError, TypeError) as e:
    raise ValueError(
      f'TraxLayer needs the layer to describe itself with config() (to rebuild it in '
      f"'train' and 'eval' mode and to save it), but: {e}"
    ) from None
  return layer, config
