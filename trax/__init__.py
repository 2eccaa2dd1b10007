"""Trax: a combinator library for deep learning on JAX, shipping through TensorFlow.

`import trax` loads jax and numpy only (and gin, if installed, to register Trax's
configurables; see `trax.gin_config`); TensorFlow is imported when the tensorflow-numpy
backend is first selected or a TensorFlow-facing tool (TensorBoard files, tf.data, TFDS)
is used.
"""

from trax import data
from trax import fastmath
from trax import gin_config
from trax import layers
from trax import models
from trax import optimizers
from trax import shapes
from trax import supervised
from trax.supervised import lr_schedules as lr

__version__ = '2.0.0.dev0'

gin_config.register_if_installed()  # Trax 1.4's gin names, only if gin-config is installed.
