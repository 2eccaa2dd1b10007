"""The namespace the packages' docstring examples run in (`pytest --doctest-modules`).

Examples are written as a user types them after `import numpy as np` and
`import trax.layers as tl`; in `trax.layers` the layer names are also bare, as the
layers' docstrings use them.
"""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _docstring_namespace(request: pytest.FixtureRequest) -> None:
  if not isinstance(request.node, pytest.DoctestItem):
    return
  import trax
  from trax import fastmath, shapes
  import trax.layers as tl

  namespace = request.getfixturevalue('doctest_namespace')
  if request.node.name.startswith('trax.layers.'):
    namespace.update(vars(tl))
  namespace.update(
    np=np,
    jnp=fastmath.numpy,
    fastmath=fastmath,
    tl=tl,
    trax=trax,
    shapes=shapes,
    ShapeDtype=shapes.ShapeDtype,
  )
  if request.node.name.startswith(('trax_keras.', 'converters.')):
    import keras

    namespace['keras'] = keras
    if request.node.name.startswith('trax_keras.keras_layer') and (
      keras.backend.backend() != 'jax'
    ):
      pytest.skip(
        'KerasLayer needs Keras on JAX: tests/trax_keras/test_jax_backend.py '
        'runs this example there.'
      )
