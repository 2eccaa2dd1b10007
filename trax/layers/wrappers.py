"""Wrappers running one layer on reshaped or reordered inputs.

- `Chunk` runs a layer on slices of the batch, one after another, to save memory.
- `BatchLeadingAxes` folds extra leading axes into the batch axis for a layer.
- `Bidirectional` runs a copy of a (recurrent) layer on the time-reversed sequence too.
"""

import copy
import math
from typing import Any

from trax import fastmath
from trax import shapes
from trax.fastmath import numpy as jnp
from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import control_flow
from trax.layers.config import register

__all__ = [
  'Chunk',
  'BatchLeadingAxes',
  'Bidirectional',
]


@register
def Chunk(layer: base.Layer, chunk_size: int, pass_unchunkable: bool = True) -> base.Layer:
  """Runs `layer` on consecutive chunks of `chunk_size` batch items, to save memory.

  The batch axis of every input is split into chunks that `Scan` (with rematerialization)
  feeds to `layer` one at a time; the outputs are joined back. When `chunk_size` does not
  divide the batch, the whole batch runs as one chunk if `pass_unchunkable`, else a
  ValueError is raised. With a batch size known only at run time (TensorFlow, `None`
  batch), `chunk_size` must divide it. `chunk_size < 1` returns `layer` itself.

  Weights: `((), (layer_weights,), ())`, as in Trax 1.4.

  >>> y = Chunk(Dense(4), chunk_size=2)(np.ones((6, 3)))  # three chunks of 2 items
  """
  if chunk_size < 1:
    return layer

  def to_chunks(x):
    batch, size = fastmath.shape(x)[0], chunk_size
    if isinstance(batch, int) and batch % size:
      if not pass_unchunkable:
        raise ValueError(
          f'Chunk: chunk_size {size} does not divide the batch size {batch} '
          '(pass_unchunkable=False).'
        )
      size = batch
    return jnp.reshape(x, (-1, size) + tuple(fastmath.shape(x)[1:]))

  def from_chunks(x):
    return jnp.reshape(x, (-1,) + tuple(fastmath.shape(x)[2:]))

  def on_items(f, n):
    return lambda xs: tuple(f(x) for x in xs) if n > 1 else f(xs)

  return cb.Serial(
    base.PureLayer(on_items(to_chunks, layer.n_in), layer.n_in, layer.n_in, 'ToChunks'),
    control_flow.Scan(layer, axis=0, n_carry=0, remat=True),
    base.PureLayer(on_items(from_chunks, layer.n_out), layer.n_out, layer.n_out, 'FromChunks'),
    name='Chunk',
  )


class BatchLeadingAxes(base.Layer):
  """Runs `layer` with all but the last `n_last_axes_to_keep` axes folded into one batch.

  A layer written for inputs `(batch, *kept)` then accepts `(*leading, *kept)`: the inputs
  are reshaped to `(prod(leading), *kept)` and the output `(prod(leading), *rest)` back to
  `(*leading, *rest)`, where `leading` comes from the first input. Needs `layer.n_out == 1`.

  Weights and state: `(layer_weights,)`, `(layer_state,)`.

  >>> layer = BatchLeadingAxes(Dense(4))  # Dense sees a (2 * 5, 3) batch
  >>> y = layer(np.ones((2, 5, 3)))  # y.shape == (2, 5, 4)
  """

  def __init__(self, layer: base.Layer, n_last_axes_to_keep: int = 1):
    if layer.n_out != 1 or n_last_axes_to_keep < 1:
      raise ValueError(
        f'BatchLeadingAxes needs a layer with n_out=1 and '
        f'n_last_axes_to_keep >= 1; got {layer.name} with '
        f'n_out={layer.n_out} and n_last_axes_to_keep={n_last_axes_to_keep}.'
      )
    super().__init__(n_in=layer.n_in, n_out=1, name='BatchLeadingAxes')
    self._sublayers = (layer,)
    self._weights = self._state = (None,)
    self._n_kept = n_last_axes_to_keep

  def init_weights_and_state(self, input_signature: Any) -> None:
    def batched(s):
      return shapes.ShapeDtype(
        (math.prod(s.shape[: -self._n_kept]),) + s.shape[-self._n_kept :], s.dtype
      )

    inputs = tuple(batched(s) for s in cb.as_stack(input_signature, self.n_in, self))
    layer_weights, layer_state = self.sublayers[0].init(
      cb.inputs_from_stack(inputs, self.n_in), rng=cb.split_rngs(self.rng, 1)[0], use_cache=True
    )
    self.weights, self.state = (layer_weights,), (layer_state,)

  def forward(self, xs: Any) -> Any:
    stack = cb.as_stack(xs, self.n_in, self)
    leading = tuple(fastmath.shape(stack[0])[: -self._n_kept])
    inputs = tuple(jnp.reshape(x, (-1,) + tuple(fastmath.shape(x)[-self._n_kept :])) for x in stack)
    (layer_weights,), (layer_state,) = self.weights, self.state
    y, new_state = self.sublayers[0].pure_fn(
      cb.inputs_from_stack(inputs, self.n_in),
      layer_weights,
      layer_state,
      cb.call_rng(self),
      use_cache=True,
    )
    self.state = (layer_state if base.is_cache_marker(layer_state) else new_state,)
    return jnp.reshape(y, leading + tuple(fastmath.shape(y)[1:]))


@register
def Bidirectional(
  forward_layer: base.Layer, axis: int = 1, merge_layer: 'base.Layer | None' = None
) -> base.Layer:
  """Runs `forward_layer` on a sequence and a copy of it on the reversed sequence.

  Outputs `merge_layer(forward(x), flip(backward(flip(x))))`, where `backward` is a deep
  copy of `forward_layer` (its own weights) and `flip` reverses `axis`, the time axis.

  >>> layer = Bidirectional(Dense(4))
  >>> y = layer(np.ones((2, 5, 3)))  # y.shape == (2, 5, 8)

  Args:
    forward_layer: a one-input, one-output sequence layer, e.g. `LSTM(n_units)`.
    axis: the time axis of the input.
    merge_layer: combines the two outputs; a new `Concatenate()` by default (Trax 1.4
      shared one default instance between all `Bidirectional` layers).
  """

  def flip():
    return base.Fn('_FlipAlongTimeAxis', lambda x: jnp.flip(x, axis=axis))

  backward = cb.Serial(flip(), copy.deepcopy(forward_layer), flip())
  merge_layer = cb.Concatenate() if merge_layer is None else merge_layer
  return cb.Serial(cb.Branch(forward_layer, backward), merge_layer, name='Bidirectional')
