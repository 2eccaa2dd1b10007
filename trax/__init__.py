"""Trax: a combinator library for deep learning on JAX, shipping through TensorFlow.

`import trax` loads jax and numpy only (and gin, if installed, to register Trax's
configurables; see `trax.gin_config`); TensorFlow is imported when the tensorflow-numpy
backend is first selected or a TensorFlow-facing tool (TensorBoard files, tf.data, TFDS)
is used. `trax.AsKeras` (Trax 1.4's name) is `trax_keras.AsKeras`, imported with Keras only
when the name is first used.

On Linux, `import trax` sets glibc's malloc to keep freed memory for reuse, and jax to run
single-device CPU computations on the calling thread, which spares a CPU training step
from faulting in its buffers afresh (`trax.host_memory`; `TRAX_KEEP_FREED_MEMORY=0` turns
it off).
"""

import importlib

from trax import data
from trax import fastmath
from trax import gin_config
from trax import host_memory
from trax import layers
from trax import models
from trax import optimizers
from trax import shapes
from trax import supervised
from trax.supervised import lr_schedules as lr

__version__ = '2.0.0.dev0'

host_memory.keep_freed_memory()  # Importing trax starts no jax threads; this precedes them.

gin_config.register_if_installed()  # Trax 1.4's gin names, only if gin-config is installed.


def __getattr__(name: str):
  if name == 'AsKeras':  # Trax 1.4's name; the Keras adapter is a separate package.
    return importlib.import_module('trax_keras').AsKeras
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
