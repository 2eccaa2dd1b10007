"""Keras activations (the functions and the activation layers) as trax layers.

Every built-in activation maps except two: `sparsemax`, whose Keras 3.15 implementation
takes the threshold from the sum of the support's cumulative sums rather than the k-th one
(its outputs do not sum to 1; trax's `Sparsemax` computes the paper's formula), and
`threshold`, which has required arguments and so never appears as an activation name.
Keras' `gelu` activation is the exact (erf) form (`approximate=False`), trax's `Gelu`;
`keras.ops.gelu` defaults to the tanh form, trax's `FastGelu`, as does keras_hub's
`gelu_approximate`.
"""

from typing import Any
from collections.abc import Callable

import trax.layers as tl
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported

ACTIVATIONS: dict[str, Callable[[], list]] = {
  'linear': list,
  'relu': lambda: [tl.Relu()],
  'relu6': lambda: [tl.Relu6()],
  'sigmoid': lambda: [tl.Sigmoid()],
  'tanh': lambda: [tl.Tanh()],
  'softmax': lambda: [tl.Softmax()],
  'log_softmax': lambda: [tl.LogSoftmax()],
  'elu': lambda: [tl.Elu()],
  'selu': lambda: [tl.Selu()],
  'softplus': lambda: [tl.Softplus()],
  'softsign': lambda: [tl.Softsign()],
  'swish': lambda: [tl.Swish()],
  'silu': lambda: [tl.Swish()],
  'gelu': lambda: [tl.Gelu()],
  'exponential': lambda: [tl.Exp()],
  'leaky_relu': lambda: [tl.LeakyRelu(0.2)],
  'hard_tanh': lambda: [tl.HardTanh()],
  'glu': lambda: [tl.Glu()],
  'hard_sigmoid': lambda: [tl.HSigmoid()],
  'hard_silu': lambda: [tl.HardSwish()],
  'hard_swish': lambda: [tl.HardSwish()],
  'mish': lambda: [tl.Mish()],
  'celu': lambda: [tl.Celu()],
  'log_sigmoid': lambda: [tl.LogSigmoid()],
  'hard_shrink': lambda: [tl.HardShrink()],
  'soft_shrink': lambda: [tl.SoftShrink()],
  'tanh_shrink': lambda: [tl.TanhShrink()],
  'sparse_plus': lambda: [tl.SparsePlus()],
  'sparse_sigmoid': lambda: [tl.SparseSigmoid()],
  'squareplus': lambda: [tl.Squareplus()],
}

# Activations of Keras libraries, by their registered names (a layer's config names them
# so): keras_hub's transformer blocks use the tanh form of gelu.
REGISTERED_ACTIVATIONS: dict[str, Callable[[], list]] = {
  'keras_hub>gelu_approximate': lambda: [tl.FastGelu()],
}

REFUSED_ACTIVATIONS = {
  'sparsemax': "Keras 3.15's sparsemax is not the projection onto the simplex (its "
  'outputs need not sum to 1); trax computes the real one',
  'threshold': 'takes required arguments',
}


def activation(name: Any) -> list:
  """Trax layers computing the Keras activation `name` (as in a layer's config)."""
  if isinstance(name, str) and name in ACTIVATIONS:
    return ACTIVATIONS[name]()
  registered = name.get('config') if isinstance(name, dict) else None
  if registered in REGISTERED_ACTIVATIONS:
    return REGISTERED_ACTIVATIONS[registered]()
  if isinstance(name, str) and name in REFUSED_ACTIVATIONS:
    raise Unsupported(f'activation {name!r}: {REFUSED_ACTIVATIONS[name]}')
  raise Unsupported(f'activation {name!r} is not a built-in Keras activation')


def activation_layer(layer, call: Call) -> Mapped:
  """Every built-in activation but sparsemax."""
  return Mapped(activation(layer.get_config()['activation']))


def relu(layer, call: Call) -> Mapped:
  """Any max_value, negative_slope and threshold."""
  config = layer.get_config()
  max_value, slope = config.get('max_value'), config.get('negative_slope', 0.0)
  threshold = config.get('threshold', 0.0)
  if threshold == 0.0 and not slope and max_value in (None, 6.0):
    return Mapped([tl.Relu() if max_value is None else tl.Relu6()])
  if threshold == 0.0 and max_value is None:
    return Mapped([tl.LeakyRelu(slope)])
  return Mapped(
    [
      tl.GeneralRelu(
        None if max_value is None else float(max_value), float(slope), float(threshold)
      )
    ]
  )


def leaky_relu(layer, call: Call) -> Mapped:
  """LeakyRelu."""
  return Mapped([tl.LeakyRelu(layer.get_config()['negative_slope'])])


def elu(layer, call: Call) -> Mapped:
  """Elu."""
  return Mapped([tl.Elu(layer.get_config()['alpha'])])


def softmax(layer, call: Call) -> Mapped:
  """Any axes, with or without a Keras mask (masked entries get -1e9, as in Keras)."""
  axis = layer.get_config()['axis']
  axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
  mask = call.kwargs.get('mask')
  if len(axes) == 1:
    layers = [tl.Softmax(axis=axes[0])]
  else:
    # Keras computes exp(x - logsumexp(x)) over several axes.
    layers = [tl.Branch(tl.LogSumExp(axis=axes), None), tl.SubtractTop(), tl.Exp()]
  if mask is None:
    return Mapped(layers, inputs=call.data[:1])
  # Keras: softmax(where(mask, x, -1e9)), then zeros where masked (also on fully masked
  # rows, which would otherwise be uniform). The mask broadcasts against x.
  return Mapped(
    [
      tl.Select([0, 1, 0], n_in=2),  # mask x mask
      tl.NumpyFn('where', n_in=2, constants=[(2, -1e9)]),  # masked mask
      *layers,
      tl.Swap(),  # mask p
      tl.NumpyFn('where', n_in=2, constants=[(2, 0.0)]),
    ],
    inputs=[_bool(mask), call.data[0]],
  )


def _bool(mask: Any) -> Any:
  if str(mask.dtype) != 'bool':
    raise Unsupported(f'a {mask.dtype} mask (Keras compares it with 0.5)')
  return mask


def prelu(layer, call: Call) -> Mapped:
  """Any shared_axes (alpha broadcast over them)."""
  shared = layer.get_config()['shared_axes']
  shared = [] if shared is None else shared if isinstance(shared, (list, tuple)) else [shared]
  return Mapped([tl.PRelu(shared_axes=tuple(shared))], [numpy(layer.alpha)])


def table() -> dict:
  import keras

  layers = keras.layers
  return {
    layers.Activation: activation_layer,
    layers.ReLU: relu,
    layers.LeakyReLU: leaky_relu,
    layers.ELU: elu,
    layers.Softmax: softmax,
    layers.PReLU: prelu,
  }
