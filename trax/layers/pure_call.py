"""How `Layer.pure_fn` runs a layer as a pure function (see `base.py` for the contract).

`pure_fn` installs the given weights, state and rng on the layer tree, calls `forward`, and
(at the outermost call) puts back what was there, using `snapshot`/`restore`. A layer with
`has_backward` runs its forward as a custom vjp whose backward pass is `layer.backward`.
"""

import contextlib
import contextvars
from typing import Any
from collections.abc import Callable, Iterator

from trax import fastmath
from trax import shapes

_OBSERVER: contextvars.ContextVar = contextvars.ContextVar('trax_call_observer', default=None)


@contextlib.contextmanager
def observing_calls(observer: Callable[[Any], contextlib.AbstractContextManager]) -> Iterator[None]:
  """Inside, every `pure_fn` call of any layer runs within `observer(layer)`.

  For tools that attribute work to layers, such as which layer made which TensorFlow op
  of an export (`converters.tflite_ops`): sublayers' calls nest inside their parent's, so
  an observer sees the innermost layer exit first.
  """
  token = _OBSERVER.set(observer)
  try:
    yield
  finally:
    _OBSERVER.reset(token)


def observed(layer: Any) -> contextlib.AbstractContextManager:
  """The context `layer.pure_fn` runs in: the observer's, if one is set."""
  observer = _OBSERVER.get()
  return observer(layer) if observer is not None else contextlib.nullcontext()


def snapshot(layer: Any) -> list:
  """The weights, state, rng and init flags of `layer` and all layers below it."""
  return [
    (
      current,
      current._weights,
      current._state,
      current._rng,
      current._initialized,
      current._init_cached,
    )
    for _, current in layer.walk()
  ]


def restore(saved: list) -> None:
  """Puts back what `snapshot` saw."""
  for layer, weights, state, rng, initialized, init_cached in saved:
    layer._weights, layer._state, layer._rng = weights, state, rng
    layer._initialized, layer._init_cached = initialized, init_cached


def signature_or_marker(tree: Any) -> Any:
  """`ShapeDtype`s of the arrays of `tree`; cache markers (dicts of `()`) stay as they are."""
  if isinstance(tree, (tuple, list)):
    return type(tree)(signature_or_marker(x) for x in tree)
  if isinstance(tree, dict):
    return {k: signature_or_marker(v) for k, v in tree.items()}
  return shapes.ShapeDtype(tree.shape, tree.dtype)


def init_eagerly(layer: Any, input_signature: Any) -> None:
  """`layer.init`, computing concrete weights even inside a jax trace (`Layer.__call__`
  under `jax.jit` must not keep traced weights on the layer)."""
  import jax  # Initialization is jax-only.

  with jax.ensure_compile_time_eval():
    layer.init(input_signature)


def forward_with_backward(layer: Any, inputs: Any) -> Any:
  """`layer.forward(inputs)`, whose gradients `layer.backward` computes.

  The weights and inputs are differentiated; the state and rng are constants of the pass.
  `backward` returns `(gradient of inputs, gradient of weights)`, as in Trax 1.x.
  """
  state, rng = layer.state, layer._rng

  def run(x, weights):
    saved = layer.weights, layer.state, layer._rng
    layer.weights, layer.state, layer._rng = weights, state, rng
    try:
      return layer.forward(x), layer.state
    finally:
      layer.weights, layer.state, layer._rng = saved

  def run_keeping_residuals(x, weights):
    output, new_state = run(x, weights)
    return (output, new_state), (x, weights, output, new_state)

  def run_backward(residuals, cotangents):
    x, weights, output, new_state = residuals
    return tuple(layer.backward(x, output, cotangents[0], weights, state, new_state, rng))

  forward = fastmath.custom_vjp(run)
  forward.defvjp(run_keeping_residuals, run_backward)
  outputs, layer.state = forward(inputs, layer.weights)
  return outputs
