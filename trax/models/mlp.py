"""A multilayer perceptron: dense layers with a nonlinearity between them."""

from collections.abc import Callable, Sequence

import trax.layers as tl


@tl.register
def MLP(
  layer_widths: Sequence[int] = (128, 64),
  activation_fn: Callable[[], tl.Layer] = tl.Relu,
  out_activation: bool = False,
  flatten: bool = True,
  mode: str = 'train',
) -> tl.Layer:
  """A fully connected feed-forward network: `(B, ...) -> (B, layer_widths[-1])`.

  One `Dense` per entry of `layer_widths`, with `activation_fn()` between consecutive ones
  (and after the last with `out_activation`). Weights: `(w, b)` of each `Dense` in order.

  >>> MLP(layer_widths=(16, 4))(np.ones((2, 3, 5), np.float32)).shape
  (2, 4)

  Args:
    layer_widths: output width of each dense layer, first to last.
    activation_fn: factory of the nonlinearity.
    out_activation: also apply the nonlinearity to the output.
    flatten: first flatten each example to a vector, `(B, ...) -> (B, -1)`; without it,
      the dense layers act on the last axis only.
    mode: accepted like every model's; an MLP computes the same in every mode.
  """
  del mode
  layers = []
  for width in layer_widths:
    layers += [tl.Dense(width), activation_fn()]
  if layers and not out_activation:
    layers.pop()
  return tl.Serial(  # x (B, ...)
    tl.Flatten() if flatten else None,  # x (B, d_in)
    layers,  # y (B, layer_widths[-1])
    name='MLP',
  )
