"""`converters`: ship trax models through TensorFlow, and bring Keras and Trax 1.x models in.

- `to_saved_model(model, export_dir, input_signature)`: a versioned SavedModel for TF
  Serving (plain TF ops, or jax2tf's XLA call), verified in a process without jax;
  `verify_export` re-runs that check on an existing export.
- `to_tflite(model, output_path, input_signature)`: a TF Lite flat buffer (float32,
  dynamic-range, float16 or int8), verified with ai_edge_litert.
- Both take their settings as keywords or as one `options=` value (`SavedModelOptions`,
  `TFLiteOptions`; keywords replace its fields).
- `from_keras(keras_model)`: an equivalent trax layer with the Keras weights;
  `conversion_report(keras_model)` says node by node what maps exactly and what would be
  wrapped.
- `to_keras(layer, input_signature)`: a native Keras model where every layer maps.
- `trax1`: read Trax 1.x checkpoints and convert them to ours.
- Command line: `trax-convert` (`python -m converters`), see `__main__`.

The TensorFlow-backed names are imported on first use (PEP 562 `__getattr__`): importing
TensorFlow takes seconds, and `trax-convert --help` or `trax1` alone should not wait for
it. `from_keras` and `to_keras` are imported here (they load Keras only when called), so
the functions, not their modules of the same name, are the package's attributes.
"""

import importlib
from typing import TYPE_CHECKING

from converters.from_keras import conversion_report
from converters.from_keras import from_keras
from converters.to_keras import to_keras

_PUBLIC = {
  'ExportError': 'converters.errors',
  'ExportVerificationError': 'converters.errors',
  'UnsupportedLayerError': 'converters.errors',
  'UnsupportedOpsError': 'converters.errors',
  'SavedModelExport': 'converters.saved_model',
  'SavedModelOptions': 'converters.export_options',
  'TFLiteOptions': 'converters.export_options',
  'to_saved_model': 'converters.saved_model',
  'TFLiteExport': 'converters.tflite',
  'to_tflite': 'converters.tflite',
  'VerificationReport': 'converters.verify',
  'verify_export': 'converters.check_export',
}

__all__ = [  # Written out for type checkers; tests/converters/test_package.py checks it.
  'ExportError',
  'ExportVerificationError',
  'SavedModelExport',
  'SavedModelOptions',
  'TFLiteExport',
  'TFLiteOptions',
  'UnsupportedLayerError',
  'UnsupportedOpsError',
  'VerificationReport',
  'conversion_report',
  'from_keras',
  'to_keras',
  'to_saved_model',
  'to_tflite',
  'trax1',
  'verify_export',
]

if TYPE_CHECKING:  # What `__getattr__` imports on first use, for type checkers and IDEs.
  from converters import trax1
  from converters.check_export import verify_export
  from converters.errors import ExportError
  from converters.errors import ExportVerificationError
  from converters.errors import UnsupportedLayerError
  from converters.errors import UnsupportedOpsError
  from converters.export_options import SavedModelOptions
  from converters.export_options import TFLiteOptions
  from converters.saved_model import SavedModelExport
  from converters.saved_model import to_saved_model
  from converters.tflite import TFLiteExport
  from converters.tflite import to_tflite
  from converters.verify import VerificationReport


def __getattr__(name: str):
  if name == 'trax1':
    return importlib.import_module('converters.trax1')
  if name in _PUBLIC:
    try:
      module = importlib.import_module(_PUBLIC[name])
    except ModuleNotFoundError as e:
      if e.name and e.name.split('.')[0] in ('tensorflow', 'keras', 'ai_edge_litert'):
        raise ModuleNotFoundError(
          f'converters.{name} needs {e.name.split(".")[0]}, which is not installed: '
          'pip install "trax[export]".',
          name=e.name,
        ) from e
      raise
    return getattr(module, name)
  raise AttributeError(f'module converters has no attribute {name!r}')


def __dir__():
  return __all__
