"""`Accelerate`: a layer run jit-compiled and data-parallel over the local devices.

Placing arrays on devices is jax's business, done by `trax.sharding` (meshes and
placement); under the other backends `Accelerate` simply runs the layer it wraps.
"""

from typing import Any

from trax import fastmath
from trax import sharding as mesh_lib
from trax.layers import base
from trax.layers import errors

__all__ = [
  'Accelerate',
]


class Accelerate(base.Layer):
  """Runs `layer` jit-compiled, with its batch split over `n_devices` local devices.

  Data parallel: the leading (batch) axis of every input is sharded over the data axis of
  a `trax.sharding` mesh of local devices, weights, state and rng are replicated, and XLA
  partitions the computation. The numbers are those of `layer` itself: one rng for the
  whole batch (the same dropout masks), batch statistics over the whole batch. A batch
  that `n_devices` does not divide runs replicated instead of split (Trax 1.4 padded it
  with zeros, which changed batch statistics and batch means).

  Weights and state are those of `layer` itself (not wrapped in a tuple), so
  `Accelerate(layer)` can stand in for `layer`: same checkpoints, same flat weight order,
  and an already initialized `layer` needs no `init`.

  Called on tracers (inside another jit or grad) or under a non-jax backend, it just runs
  `layer.pure_fn`: the enclosing computation decides where arrays live.

  >>> fast = Accelerate(Serial(Dense(64), Relu()))
  >>> y = fast(np.ones((16, 8), np.float32))  # y.shape == (16, 64)

  Args:
    layer: the layer to run.
    n_devices: how many local devices to use; all of them by default.
  """

  def __init__(self, layer: base.Layer, n_devices: 'int | None' = None):
    super().__init__(n_in=layer.n_in, n_out=layer.n_out, name='Accelerate')
    self._sublayers = (layer,)
    with fastmath.use_backend('jax'):  # Only jax runs it on devices (pure_fn).
      n_local = fastmath.local_device_count()
      self._jit_pure_fn = fastmath.jit(lambda x, w, s, r: self.sublayer.pure_fn(x, w, s, r))
    n_devices = n_devices or n_local
    if not 1 <= n_devices <= n_local:
      raise ValueError(
        f'Accelerate: n_devices={n_devices}, but this host has {n_local} local devices.'
      )
    self._mesh = mesh_lib.make_mesh(data=n_devices, local_only=True)

  @property
  def sublayer(self) -> base.Layer:
    return self._sublayers[0]

  @property
  def n_devices(self) -> int:
    return self._mesh.size

  @property
  def weights(self) -> Any:
    return self.sublayer.weights

  @weights.setter
  def weights(self, weights: Any) -> None:
    self.sublayer.weights = weights

  @property
  def state(self) -> Any:
    return self.sublayer.state

  @state.setter
  def state(self, state: Any) -> None:
    self.sublayer.state = state

  def replicate_weights(self, weights: Any) -> None:
    """Sets the weights, copying them to every device once (not on every call)."""
    self.sublayer.weights = self._replicated(weights)

  def replicate_state(self, state: Any) -> None:
    """Sets the state, copying it to every device once."""
    self.sublayer.state = self._replicated(state)

  def init_weights_and_state(self, input_signature: Any) -> None:
    weights, state = self.sublayer.init(input_signature, rng=self.rng, use_cache=True)
    self.weights, self.state = self._replicated(weights), self._replicated(state)

  def pure_fn(
    self, x: Any, weights: Any, state: Any, rng: Any, use_cache: bool = False
  ) -> tuple[Any, Any]:
    """Runs `layer.pure_fn` jit-compiled on the mesh: returns `(outputs, new_state)`."""
    if fastmath.backend_name() != 'jax' or fastmath.is_traced((x, weights, state, rng)):
      return self.sublayer.pure_fn(x, weights, state, rng, use_cache=use_cache)
    try:
      return self._jit_pure_fn(
        mesh_lib.split_batch(x, self._mesh), *self._replicated((weights, state, rng))
      )
    except errors.LayerError as e:
      e.path.insert(0, self.name)
      raise

  def __call__(self, x: Any, weights: Any = None, state: Any = None, rng: Any = None) -> Any:
    if self.sublayer._initialized:
      self._initialized = True  # A wrapped, initialized layer brings its own weights.
    return super().__call__(x, weights, state, rng)

  def _replicated(self, tree: Any) -> Any:
    if fastmath.is_traced(tree):  # e.g. under `weights_and_state_signature`
      return tree
    return mesh_lib.replicate(tree, self._mesh)
