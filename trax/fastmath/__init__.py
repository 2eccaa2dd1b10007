"""`trax.fastmath`: numpy-like math, random numbers and transforms over backends.

Layers compute with `fastmath.numpy` and the functions here; `use_backend` picks the engine
(jax by default; tensorflow-numpy for plain TensorFlow ops; numpy as a reference).
"""

from trax.fastmath import numpy
from trax.fastmath import random
from trax.fastmath.backend import Backend
from trax.fastmath.backend import BackendError
from trax.fastmath.backend import backend
from trax.fastmath.backend import backend_name
from trax.fastmath.backend import set_backend
from trax.fastmath.backend import use_backend
from trax.fastmath.ops import *
from trax.fastmath.transforms import *
from trax.fastmath.tree import nested_map
from trax.fastmath.tree import nested_map_multiarg
from trax.fastmath.tree import nested_stack
from trax.fastmath.tree import nested_zip
from trax.fastmath.tree import tree_flatten
from trax.fastmath.tree import tree_leaves
from trax.fastmath.tree import tree_unflatten
