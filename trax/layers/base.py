"""The Layer contract: every trax layer is a pure function plus the weights it owns.

A layer maps `n_in` inputs to `n_out` outputs. Its computation is a pure function

    pure_fn(x, weights, state, rng) -> (y, new_state)

which jit, grad and the exporters see. `x` is one array when `n_in == 1`, else a tuple;
a combinator also takes a longer stack and leaves the extra items in place (`stack.py`).

Weights and state are nested tuples mirroring the layer tree; `()` means "none". Leaf
layers implement two methods and read their parameters from `self.weights`/`self.state`:

- `init_weights_and_state(input_signature)`: set `self.weights` (and `self.state`) from
  `ShapeDtype`s of the inputs, using `self.rng` for randomness.
- `forward(x)`: compute the outputs (and optionally assign `self.state`).

`pure_fn` makes that style pure: it installs the given weights, state and rng on the layer,
calls `forward`, reads the new state, and (at the outermost call) puts everything back
(`pure_call.py`). A layer with `has_backward` gets its gradients from `backward`.

Sharing: a layer instance used twice shares its weights; its second use holds a cache
marker (`sharing.py`). Within one outermost `pure_fn` the first use installs its (traced)
weights on the shared instance and the second use reads them from there, so gradients
reach the shared weights from both uses.

Initialization always runs on the jax backend (weights are jax arrays); `pure_fn` runs on
whichever `fastmath` backend is selected.

Construction is recorded (class and arguments of the outermost `__init__`) so `config()` can
describe the layer and `from_config` can rebuild it, possibly in another mode.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np

from trax import fastmath
from trax import shapes
from trax.layers import checks
from trax.layers import config as config_lib
from trax.layers import files
from trax.layers import pure_call
from trax.layers import sharing
from trax.layers import stack
from trax.layers.errors import creation_site
from trax.layers.errors import reraised_as_layer_error
from trax.layers.sharing import EMPTY_STATE as EMPTY_STATE
from trax.layers.sharing import EMPTY_WEIGHTS as EMPTY_WEIGHTS
from trax.layers.sharing import GET_STATE_FROM_CACHE as GET_STATE_FROM_CACHE
from trax.layers.sharing import GET_WEIGHTS_FROM_CACHE as GET_WEIGHTS_FROM_CACHE
from trax.layers.sharing import is_cache_marker as is_cache_marker

# The documented default rng of a fresh layer: jax.random.PRNGKey(0).
DEFAULT_RNG = np.zeros(2, np.uint32)


class Layer:
  """Base class of all layers; see the module docstring for the contract.

  Args:
    n_in: number of inputs taken from the data stack.
    n_out: number of outputs put back on the stack.
    name: name shown in errors and `repr`; defaults to the class name.
    sublayers_to_print: sublayers shown by `repr` (defaults to all).
  """

  def __init_subclass__(cls, **kwargs):
    super().__init_subclass__(**kwargs)
    if '__init__' in cls.__dict__:
      cls.__init__ = config_lib.recording_init(cls.__init__)
    config_lib.register_name(cls)

  def __init__(
    self,
    n_in: int = 1,
    n_out: int = 1,
    name: 'str | None' = None,
    sublayers_to_print: 'list | None' = None,
  ):
    self._n_in = n_in
    self._n_out = n_out
    self._name = name or type(self).__name__
    self._sublayers: tuple[Layer, ...] = ()
    self._sublayers_to_print = sublayers_to_print
    self._weights: Any = EMPTY_WEIGHTS
    self._state: Any = EMPTY_STATE
    self._rng: Any = None
    self._n_calls = 0
    self._init_cached = False
    self._initialized = False
    self._caller = creation_site()

  def __repr__(self) -> str:
    name = self._name
    if self._n_in != 1:
      name += f'_in{self._n_in}'
    if self._n_out != 1:
      name += f'_out{self._n_out}'
    sublayers = self.sublayers if self._sublayers_to_print is None else self._sublayers_to_print
    if not sublayers:
      return name
    body = '\n'.join(repr(layer) for layer in sublayers)
    return f'{name}[\n' + _indent(body) + '\n]'

  # Structure.

  @property
  def n_in(self) -> int:
    return self._n_in

  @property
  def n_out(self) -> int:
    return self._n_out

  @property
  def name(self) -> str:
    return self._name

  @property
  def sublayers(self) -> tuple['Layer', ...]:
    return self._sublayers

  def walk(self) -> Iterator[tuple[tuple[int, ...], 'Layer']]:
    """Yields `(path, layer)` for this layer and every layer below it, depth first, each
    instance once (a shared layer where first used); `path` is the sublayer indices from
    here, `()` for this layer, so a parent always comes before its sublayers."""
    seen: set[int] = set()
    todo: list[tuple[tuple[int, ...], Layer]] = [((), self)]
    while todo:
      path, layer = todo.pop()
      if id(layer) not in seen:
        seen.add(id(layer))
        yield path, layer
        todo.extend(((*path, i), sub) for i, sub in reversed(list(enumerate(layer.sublayers))))

  # Names of a leaf layer's weight and state entries (tuples in this order), e.g. `('w', 'b')`,
  # used in Keras variable paths (`trax_keras/paths.py`); `()`: entries named by index.
  weight_names: tuple[str, ...] = ()
  state_names: tuple[str, ...] = ()

  # Weights, state and rng. For a layer with sublayers, its own `_weights` only marks
  # which entries are cache markers; the sublayers hold the actual values.

  @property
  def weights(self) -> Any:
    return sharing.gather(self._weights, self._sublayers, 'weights')

  @weights.setter
  def weights(self, weights: Any) -> None:
    self._weights = sharing.distribute(
      weights, self._weights, self._sublayers, 'weights', GET_WEIGHTS_FROM_CACHE, self._name
    )

  @property
  def state(self) -> Any:
    return sharing.gather(self._state, self._sublayers, 'state')

  @state.setter
  def state(self, state: Any) -> None:
    self._state = sharing.distribute(
      state, self._state, self._sublayers, 'state', GET_STATE_FROM_CACHE, self._name
    )

  @property
  def rng(self) -> Any:
    """The key this layer draws randomness from; `jax.random.PRNGKey(0)` when fresh."""
    return DEFAULT_RNG if self._rng is None else self._rng

  @rng.setter
  def rng(self, rng: Any) -> None:
    self._rng = rng

  @property
  def has_weights(self) -> bool:
    return bool(fastmath.tree_flatten(self.weights))

  # Initialization.

  def init_weights_and_state(self, input_signature: Any) -> None:
    """Sets `self.weights` and `self.state` for inputs of `input_signature`.

    Leaf layers without weights need not override this.
    """
    del input_signature

  @property
  def has_backward(self) -> bool:
    """Whether `backward` computes this layer's gradients (instead of autodiff of forward).

    A subclass with a custom backward pass overrides this to return True.
    """
    return False

  def backward(
    self, inputs: Any, output: Any, grad: Any, weights: Any, state: Any, new_state: Any, rng: Any
  ) -> tuple[Any, Any]:
    """The custom backward pass: `(gradient of inputs, gradient of weights)`.

    Args:
      inputs: the inputs of the forward pass; output: its output.
      grad: the gradient with respect to `output` (same structure).
      weights, state, new_state, rng: as in the forward pass (state before and after).
    """
    raise NotImplementedError(f'{type(self).__name__} has has_backward but no backward().')

  def init(self, input_signature: Any, rng: Any = None, use_cache: bool = False) -> tuple[Any, Any]:
    """Initializes weights and state for inputs described by `input_signature`.

    Args:
      input_signature: a `ShapeDtype` (or tuple of them, one per input).
      rng: key for random initializers; defaults to `self.rng`.
      use_cache: if set and this layer was already initialized (a shared instance used a
        second time), returns cache markers instead of initializing again.

    Returns:
      `(weights, state)` of this layer.
    """
    if self._init_cached and use_cache:
      return GET_WEIGHTS_FROM_CACHE, GET_STATE_FROM_CACHE
    if rng is not None:
      self.rng = rng
    with reraised_as_layer_error(self._name, self._caller, 'init', input_signature):
      if self._takes_stack():
        input_signature = stack.take(input_signature, self._n_in, True, self._name)[0]
      with fastmath.use_backend('jax'):
        self.init_weights_and_state(input_signature)
    self._initialized = True
    if use_cache:
      self._init_cached = True
    else:
      self._clear_init_cache()
    return self.weights, self.state

  def _takes_stack(self) -> bool:
    """Combinators take their inputs from a longer stack and leave the rest (stack.py)."""
    return bool(self._sublayers)

  def _clear_init_cache(self) -> None:
    self._init_cached = False
    for layer in self._sublayers:
      layer._clear_init_cache()

  def output_signature(self, input_signature: Any) -> Any:
    """`ShapeDtype`s of the outputs for inputs of `input_signature` (computes nothing)."""

    def call(x, weights, state, rng):
      return self.pure_fn(x, weights, state, rng)[0]

    with fastmath.use_backend('jax'):
      return fastmath.abstract_eval(call)(
        input_signature,
        pure_call.signature_or_marker(self.weights),
        pure_call.signature_or_marker(self.state),
        shapes.ShapeDtype((2,), np.uint32),
      )

  def weights_and_state_signature(self, input_signature: Any) -> tuple[Any, Any]:
    """`ShapeDtype` trees of the weights and state `init` would create (computes nothing)."""
    snapshot = pure_call.snapshot(self)
    try:
      with fastmath.use_backend('jax'):  # Initialization is jax-only (module docstring).
        init = fastmath.abstract_eval(lambda rng: self.init(input_signature, rng))
        return init(self.rng)
    finally:
      pure_call.restore(snapshot)

  # Running.

  def forward(self, inputs: Any) -> Any:
    """Computes outputs from `inputs` using `self.weights`, `self.state` and `self.rng`."""
    raise NotImplementedError(f'{type(self).__name__} must implement forward().')

  def pure_fn(
    self, x: Any, weights: Any, state: Any, rng: Any, use_cache: bool = False
  ) -> tuple[Any, Any]:
    """Runs the layer as a pure function: returns `(outputs, new_state)`.

    Args:
      x: the inputs (one array, or a tuple of `n_in` arrays); a combinator also takes a
        longer stack and returns the items beyond its inputs below its outputs.
      weights: weights as returned by `init`.
      state: state as returned by `init`.
      rng: a random key (dropout and other random layers draw from it).
      use_cache: keep the installed weights on the layer afterwards (combinators pass this
        to their sublayers so a second use of a shared layer finds them).
    """
    snapshot = None if use_cache else pure_call.snapshot(self)
    try:
      with (
        pure_call.observed(self),
        reraised_as_layer_error(self._name, self._caller, 'pure_fn', x),
      ):
        inputs, rest = stack.take(x, self._n_in, self._takes_stack(), self._name)
        if not is_cache_marker(weights):
          self.weights = fastmath.widen_floats(weights, inputs)
        if not is_cache_marker(state):
          self.state = fastmath.widen_floats(state, inputs)
        self._rng = rng
        outputs = (
          pure_call.forward_with_backward(self, inputs)
          if self.has_backward
          else self.forward(inputs)
        )
        return stack.put(outputs, rest, self._n_out), self.state
    finally:
      if snapshot is not None:
        pure_call.restore(snapshot)

  def __call__(self, x: Any, weights: Any = None, state: Any = None, rng: Any = None) -> Any:
    """Runs the layer on `x` with its own weights and state (initializing if needed).

    The new state is kept on the layer. Without an explicit `rng`, call `i` uses the key
    `fold_in(layer.rng, i)`, so train-mode dropout changes between calls (Trax 1.4 reused
    `layer.rng`). Inside `jax.jit` or `tf.function` nothing traced is kept on the layer:
    initialization runs eagerly and a traced new state is returned only.
    """
    if weights is None and not self._initialized:
      pure_call.init_eagerly(self, shapes.signature(x))
    if rng is None:
      rng = fastmath.random.fold_in(self.rng, self._n_calls)
      self._n_calls += 1
    outputs, new_state = self.pure_fn(
      fastmath.to_backend_arrays(x),
      self.weights if weights is None else weights,
      self.state if state is None else state,
      rng,
    )
    if not fastmath.is_traced(new_state):
      self.state = new_state
    return outputs

  # Description and files.

  def config(self) -> dict:
    """The JSON-able description of how this layer was built (see `trax.layers.config`)."""
    try:
      return config_lib.to_config(self)
    except config_lib.ConfigError as e:
      raise config_lib.ConfigError(f'{self._name} (created at {self._caller}): {e}') from None

  def save_to_file(
    self, file_name: str, weights_only: bool = False, input_signature: Any = None
  ) -> None:
    """Saves weights (and state unless `weights_only`) to a trax checkpoint file."""
    files.save_layer(self, file_name, weights_only=weights_only, input_signature=input_signature)

  def init_from_file(
    self, file_name: str, weights_only: bool = False, input_signature: Any = None
  ) -> None:
    """Loads weights (and state unless `weights_only`) from a trax or Trax 1.x checkpoint."""
    files.load_layer(self, file_name, weights_only=weights_only, input_signature=input_signature)


class PureLayer(Layer):
  """A layer without weights or state, computing `forward_fn(inputs)`."""

  def __init__(self, forward_fn, n_in: int = 1, n_out: int = 1, name: str = 'PureLayer'):
    super().__init__(n_in, n_out, name)
    self._forward_fn = forward_fn

  def forward(self, inputs: Any) -> Any:
    return self._forward_fn(inputs)


class Fn(Layer):
  """A layer computing `f(*inputs)`: no weights, no state.

  `n_in` is the number of positional arguments of `f`. For `config()` to describe the
  layer, `f` must be a registered function (`@tl.register`), not a lambda.

  >>> Square = Fn('Square', lambda x: x * x)
  """

  def __init__(self, name: str, f, n_out: int = 1):
    super().__init__(checks.n_positional_args(f, name), n_out, name)
    self._f = f

  def forward(self, inputs: Any) -> Any:
    outputs = self._f(*inputs) if self._n_in != 1 else self._f(inputs)
    if self._n_out == 1:
      return outputs
    if not (isinstance(outputs, (tuple, list)) and len(outputs) == self._n_out):
      raise ValueError(
        f'the function of Fn {self._name} must return {self._n_out} outputs, '
        f'got {type(outputs).__name__}.'
      )
    return tuple(outputs)


def _indent(text: str) -> str:
  return '\n'.join('  ' + line for line in text.split('\n'))
