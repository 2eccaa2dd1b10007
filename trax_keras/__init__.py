"""`trax_keras`: trax layers as Keras 3 layers and models, and Keras layers inside trax.

- `TraxLayer(layer)`: any trax layer or model as a Keras layer (JAX or TensorFlow backend).
- `to_keras_model(layer, input_signature)`: a functional `keras.Model` around a trax model.
- `KerasLayer(keras_layer)`: a Keras layer or model as a trax layer (Keras on JAX).
- `AsKeras(layer)`: Trax 1.4's name and arguments for `TraxLayer` (also `trax.AsKeras`).
"""

try:
  import keras  # TraxLayer is a Keras 3 layer: nothing here works without it.
except ModuleNotFoundError as e:
  raise ModuleNotFoundError(
    'trax_keras needs Keras 3 and TensorFlow (or JAX) as its backend, '
    'which are not installed: pip install "trax[keras]".',
    name=e.name,
  ) from e

from trax_keras.as_keras import AsKeras
from trax_keras.keras_layer import KerasLayer
from trax_keras.model import to_keras_model
from trax_keras.traxlayer import TraxLayer

__all__ = ['AsKeras', 'KerasLayer', 'TraxLayer', 'to_keras_model']
