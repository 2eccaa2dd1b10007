"""`converters`: ship trax models through TensorFlow, and bring Keras and Trax 1.x models in.

- `to_saved_model(model, export_dir, input_signature)`: a versioned SavedModel for TF
  Serving (plain TF ops, or jax2tf's XLA call), verified in a process without jax.
- `to_tflite(model, output_path, input_signature)`: a TF Lite flat buffer (float32,
  dynamic-range, float16 or int8), verified with ai_edge_litert.
- `from_keras(keras_model)`: an equivalent trax layer with the Keras weights.
- `to_keras(layer, input_signature)`: a native Keras model where every layer maps.
- `trax1`: read Trax 1.x checkpoints and convert them to ours.

TensorFlow is imported with this package; `trax` itself never imports it.
"""

from converters.errors import ExportError
from converters.errors import ExportVerificationError
from converters.errors import UnsupportedLayerError
from converters.errors import UnsupportedOpsError
from converters.saved_model import SavedModelExport
from converters.saved_model import to_saved_model
from converters.tflite import TFLiteExport
from converters.tflite import to_tflite

__all__ = [
    'ExportError', 'ExportVerificationError', 'UnsupportedLayerError',
    'UnsupportedOpsError', 'SavedModelExport', 'TFLiteExport', 'to_saved_model',
    'to_tflite',
]
