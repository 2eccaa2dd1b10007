"""Trax: a combinator library for deep learning on JAX, shipping through TensorFlow.

`import trax` loads jax and numpy only; TensorFlow is imported when the tensorflow-numpy
backend is first selected or a TensorFlow-facing tool (TensorBoard, TFDS) is used.
"""

from trax import fastmath
from trax import shapes

__version__ = '2.0.0.dev0'
