"""Control-flow combinators: a loop (`Scan`), a branch (`Cond`) and `Cache`.

These run a sublayer inside a traced function (`fastmath.scan`, `fastmath.cond`), so each
call of the sublayer goes through its own `pure_fn`, which restores the sublayer afterwards:
no value traced inside the loop or branch stays on a layer when the loop ends.
"""

from typing import Any

import numpy as np

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import combinators as cb

__all__ = [
  'Scan',
  'Cond',
  'Cache',
]


class _WrapperWithState(base.Layer):
  """One sublayer plus state of the wrapper's own: `state == (sublayer_state, own_state)`.

  Weights are `(sublayer_weights,)`, as for any combinator.
  """

  def __init__(self, layer: base.Layer, name: str):
    super().__init__(n_in=layer.n_in, n_out=layer.n_out, name=name)
    self._sublayers = (layer,)
    self._weights = (None,)
    self._state = (None, ())

  @property
  def sublayer(self) -> base.Layer:
    return self._sublayers[0]

  @property
  def state(self) -> Any:
    mark, own_state = self._state
    return (self.sublayer.state if mark is None else mark, own_state)

  @state.setter
  def state(self, state: Any) -> None:
    if isinstance(state, dict) and state == base.GET_STATE_FROM_CACHE:
      return
    if not (isinstance(state, (tuple, list)) and len(state) == 2):
      raise ValueError(
        f'{self.name} state must be a pair (sublayer state, own state); got {state!r:.200}.'
      )
    sublayer_state, own_state = state
    if isinstance(sublayer_state, dict) and sublayer_state == base.GET_STATE_FROM_CACHE:
      self._state = (sublayer_state, own_state)
    else:
      self.sublayer.state = sublayer_state
      self._state = (None, own_state)


class Scan(_WrapperWithState):
  """Runs a layer along an axis of its inputs, threading a carry from step to step.

  The layer maps `(x_1, ..., x_n, carry_1, ..., carry_m)` to
  `(y_1, ..., y_k, new_carry_1, ..., new_carry_m)` with `m == n_carry`. `Scan(layer)` takes
  the `x_i` with an extra `axis` (the steps), applies the layer at every step and returns
  the `y_i` stacked along `axis`, followed by the final carry:

      carry = carry_0
      for t in range(xs.shape[axis]):
        y[t], carry = layer(x[t], carry)
      return stack(y, axis), carry

  The layer's weights are shared by all steps; step `t` draws randomness from
  `fold_in(rng, t)`. In `'predict'` mode (incremental decoding) the final carry is kept in
  the state and used, instead of the carry inputs, as the start of the next call.

  Weights: `(layer_weights,)`. State: `(layer_state, ())`, or in predict mode with
  `n_carry > 0`, `(layer_state, (started, carry))`. (Trax 1.4 switched the predict state
  from `()` to the carry after the first call, which changed the state's structure and
  forced a re-trace; here it has the same structure from the start.)

  >>> running_sum = Scan(Fn('Add', lambda x, c: (x + c, x + c), n_out=2))
  >>> ys, total = running_sum((np.array([1., 2., 3.]), np.array(0.)))  # [1, 3, 6], 6

  Args:
    layer: the layer run at each step; `layer.n_in > n_carry`, `layer.n_out >= n_carry`.
    axis: the axis of the step inputs and outputs that indexes the steps.
    n_carry: how many of the layer's last inputs and outputs form the carry.
    remat: recompute each step's activations in the backward pass, saving memory.
    mode: 'train', 'eval' or 'predict'.
  """

  def __init__(
    self,
    layer: base.Layer,
    axis: int = 0,
    n_carry: int = 1,
    remat: bool = False,
    mode: str = 'train',
  ):
    super().__init__(layer, name='Scan')
    if not 0 <= n_carry < layer.n_in or n_carry > layer.n_out:
      raise ValueError(
        f'Scan needs a layer with more than n_carry={n_carry} inputs and at '
        f'least n_carry outputs; got {layer.name} with n_in={layer.n_in}, '
        f'n_out={layer.n_out}.'
      )
    self._axis = axis
    self._n_carry = n_carry
    self._remat = remat
    self._mode = mode

  def init_weights_and_state(self, input_signature: Any) -> None:
    stack = cb.as_stack(input_signature, self.n_in, self)
    n_xs = self.n_in - self._n_carry
    step_signature = tuple(_without_axis(x, self._axis) for x in stack[:n_xs])
    carry_signature = tuple(stack[n_xs:])
    layer_inputs = cb.inputs_from_stack(step_signature + carry_signature, self.n_in)
    weights, layer_state = self.sublayer.init(
      layer_inputs, rng=cb.split_rngs(self.rng, 1)[0], use_cache=True
    )
    own_state = ()
    if self._mode == 'predict' and self._n_carry:
      zeros = tuple(np.zeros(c.shape, c.dtype) for c in carry_signature)
      own_state = (np.array(False), zeros)
    self.weights, self.state = (weights,), (layer_state, own_state)

  def forward(self, inputs: Any) -> Any:
    stack = cb.as_stack(inputs, self.n_in, self)
    n_xs = self.n_in - self._n_carry
    xs, carry = stack[:n_xs], stack[n_xs:]
    layer, (layer_weights,) = self.sublayer, self.weights
    layer_state, own_state = self.state
    if own_state:
      started, kept_carry = own_state
      carry = tuple(jnp.where(started, kept, c) for kept, c in zip(kept_carry, carry))
    rng, n_ys = cb.call_rng(self), layer.n_out - self._n_carry

    def run_layer(weights, inputs, state, rng):
      return layer.pure_fn(inputs, weights, state, rng)

    if self._remat:
      # Weights are an argument, not a closure: TF's recompute_grad only differentiates
      # with respect to arguments.
      run_layer = fastmath.remat(run_layer)

    def step(loop_carry, x):
      carry, state, t = loop_carry
      layer_inputs = cb.inputs_from_stack(tuple(x) + tuple(carry), layer.n_in)
      step_rng = None if rng is None else fastmath.random.fold_in(rng, t)
      outputs, new_state = run_layer(layer_weights, layer_inputs, state, step_rng)
      outputs = cb.as_stack(outputs, layer.n_out)
      if base.is_cache_marker(state):
        new_state = state
      return (outputs[n_ys:], new_state, t + 1), outputs[:n_ys]

    xs = tuple(jnp.swapaxes(x, 0, self._axis) for x in xs)
    init = (tuple(carry), layer_state, jnp.array(0, jnp.int32))
    (carry, layer_state, _), ys = fastmath.scan(step, init, xs)
    ys = tuple(jnp.swapaxes(y, 0, self._axis) for y in ys)
    if own_state:
      own_state = (jnp.array(True), carry)
    self.state = (layer_state, own_state)
    return cb.inputs_from_stack(ys + tuple(carry), self.n_out)


class Cond(base.Layer):
  """Runs `true` or `false` on the stack, depending on the boolean that `cond` computes.

  `cond` takes the top `cond.n_in` items and returns one boolean scalar; the chosen branch
  then runs on the items below them. Only that branch is computed, so it may be expensive
  (under jit both are compiled); the other branch's state is left as it was. The branches
  must agree in `n_in`, `n_out` and output shapes. `false=None` is an identity on one item.

  Weights and state: `(cond_*, true_*, false_*)`.

  >>> double_if_positive = Cond(Fn('Positive', lambda x: jnp.sum(x) > 0),
  ...                           Fn('Double', lambda x: 2. * x))
  >>> y = double_if_positive((np.ones(2), np.ones((2, 3))))  # 2 * ones((2, 3))
  """

  def __init__(
    self,
    cond: base.Layer,
    true: base.Layer,
    false: 'base.Layer | None' = None,
    name: 'str | None' = None,
  ):
    super().__init__(name=name or 'Cond')
    false = cb.Serial() if false is None else false
    if cond.n_out != 1:
      raise ValueError(
        f'Cond needs a cond layer with one output (a boolean), got '
        f'{cond.name} with n_out={cond.n_out}.'
      )
    if (true.n_in, true.n_out) != (false.n_in, false.n_out):
      raise ValueError(
        f'Cond branches must have equal n_in and n_out: true ({true.name}) '
        f'has {true.n_in} -> {true.n_out}, false ({false.name}) '
        f'{false.n_in} -> {false.n_out} (false=None is 1 -> 1).'
      )
    self._sublayers = (cond, true, false)
    self._n_in, self._n_out = cond.n_in + true.n_in, true.n_out
    self._weights = self._state = (None, None, None)

  def init_weights_and_state(self, input_signature: Any) -> None:
    stack = cb.as_stack(input_signature, self.n_in, self)
    cond, true, false = self.sublayers
    rngs = cb.split_rngs(self.rng, 3)
    inits = [cond.init(cb.inputs_from_stack(stack, cond.n_in), rng=rngs[0], use_cache=True)]
    branch_inputs = cb.inputs_from_stack(stack[cond.n_in :], true.n_in)
    for layer, rng in zip((true, false), rngs[1:]):
      inits.append(layer.init(branch_inputs, rng=rng, use_cache=True))
    weights, states = zip(*inits)
    self.weights, self.state = tuple(weights), tuple(states)

  def forward(self, xs: Any) -> Any:
    stack = cb.as_stack(xs, self.n_in, self)
    cond, true, false = self.sublayers
    weights, states = self.weights, self.state
    rngs = cb.split_rngs(cb.call_rng(self), 3)
    predicate, cond_state = cond.pure_fn(
      cb.inputs_from_stack(stack, cond.n_in), weights[0], states[0], rngs[0], use_cache=True
    )
    stack = stack[cond.n_in :]
    branch_inputs = cb.inputs_from_stack(stack, true.n_in)

    def run(index):
      def branch(branch_inputs, branch_states):
        layer = (true, false)[index]
        outputs, new_state = layer.pure_fn(
          branch_inputs, weights[index + 1], branch_states[index], rngs[index + 1]
        )
        if base.is_cache_marker(branch_states[index]):
          new_state = branch_states[index]
        new_states = list(branch_states)
        new_states[index] = new_state
        return outputs, tuple(new_states)

      return branch

    outputs, (true_state, false_state) = fastmath.cond(
      predicate, run(0), run(1), branch_inputs, tuple(states[1:])
    )
    if base.is_cache_marker(states[0]):
      cond_state = states[0]
    self.state = (cond_state, true_state, false_state)
    return cb.inputs_from_stack(cb.replace_top(stack, true.n_in, outputs, true.n_out), self.n_out)


class Cache(_WrapperWithState):
  """Computes `layer` on the first call only; later calls return the stored outputs.

  As in Trax 1.4, the first call computes whatever the shapes of its inputs (a model
  initialized with `(1, 1)` inputs caches an encoding of 8 tokens), and the state says in
  its structure whether outputs are stored: `(layer_state, ())` before the first call,
  `(layer_state, (outputs,))` after it. So a jitted function of the state compiles once
  for each, as in Trax; the decoders do that. (Trax 1.4 ordered the state
  `(outputs, layer_state)`.)

  Weights: `(layer_weights,)`.

  >>> encode_once = Cache(Dense(4))
  >>> y = encode_once(np.ones((1, 3)))
  >>> same = encode_once(np.zeros((1, 3)))  # == y: the stored outputs
  """

  def __init__(self, layer: base.Layer):
    super().__init__(layer, name='Cache')

  def init_weights_and_state(self, input_signature: Any) -> None:
    # The layer's own key (Trax split it): in predict mode, a model whose eval build has
    # the layer bare gets the same weights from the same key.
    weights, layer_state = self.sublayer.init(input_signature, rng=self.rng, use_cache=True)
    self.weights, self.state = (weights,), (layer_state, ())

  def forward(self, inputs: Any) -> Any:
    (weights,), (layer_state, stored) = self.weights, self.state
    if stored:
      return stored[0]
    outputs, new_state = self.sublayer.pure_fn(inputs, weights, layer_state, cb.call_rng(self))
    if base.is_cache_marker(layer_state):
      new_state = layer_state
    self.state = (new_state, (outputs,))
    return outputs


def _without_axis(signature: shapes.ShapeDtype, axis: int) -> shapes.ShapeDtype:
  """The signature of one step: `signature` with `axis` removed."""
  shape = list(signature.shape)
  del shape[axis]
  return shapes.ShapeDtype(shape, signature.dtype)
