"""Op nodes: `keras.ops` functions and operators applied to KerasTensors in a graph.

A Keras 3 functional graph holds, besides layer calls, `Operation` nodes such as `GetItem`
(slicing), `Add` (`x + y`), `Matmul`, `Reshape`, `Transpose`, `Mean`, `NotEqual` (the mask
of `Embedding(mask_zero=True)`), and the activation functions of `keras.ops.nn`. Each op
keeps its parameters (`axis`, `keepdims`, ...) on the op; constant arguments (`x + 1`)
sit in the node's arguments. Numpy-like ops map to trax's `NumpyFn` of the same function
(jax's numpy semantics, which Keras follows), the others to the matching trax layers.
Ops whose arguments are computed tensors where trax wants constants (a shape taken from
`ops.shape(x)`, a dynamic index) refuse.
"""

from typing import Any
from collections.abc import Callable

import numpy as np

import trax.layers as tl
from converters.keras_mappings.activations import ACTIVATIONS
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import Unsupported

UNARY = (
  'abs absolute negative exp expm1 log log1p log2 log10 sqrt square cbrt sin cos '
  'tan tanh sinh cosh arcsin arccos arctan arcsinh arccosh arctanh floor ceil sign '
  'reciprocal logical_not isnan isinf isfinite trunc ravel'
).split()
BINARY = (
  'add subtract multiply divide true_divide floor_divide power maximum minimum mod '
  'equal not_equal greater greater_equal less less_equal logical_and logical_or '
  'logical_xor matmul arctan2 logaddexp dot outer where'
).split()
# Op class -> numpy function, for ops whose parameters are numpy keyword arguments.
_KEYWORDS = {
  'Sum': 'sum',
  'Mean': 'mean',
  'Prod': 'prod',
  'Any': 'any',
  'All': 'all',
  'Argmax': 'argmax',
  'Argmin': 'argmin',
  'Std': 'std',
  'Var': 'var',
  'Amax': 'max',
  'Amin': 'min',
  'Max': 'max',
  'Min': 'min',
  'ExpandDims': 'expand_dims',
  'Squeeze': 'squeeze',
  'Flip': 'flip',
  'Roll': 'roll',
  'Repeat': 'repeat',
  'Cumsum': 'cumsum',
  'Cumprod': 'cumprod',
  'Take': 'take',
  'TakeAlongAxis': 'take_along_axis',
  'Tril': 'tril',
  'Triu': 'triu',
  'OnesLike': 'ones_like',
  'ZerosLike': 'zeros_like',
  'FullLike': 'full_like',
  'Cast': 'astype',
  'Swapaxes': 'swapaxes',
  'Moveaxis': 'moveaxis',
  'Round': 'round',
  'Sort': 'sort',
  'Argsort': 'argsort',
  'Tensordot': 'tensordot',
}
# Op class -> (numpy function, parameters passed positionally after the tensor).
_POSITIONAL = {
  'Reshape': ('reshape', ('newshape',)),
  'Transpose': ('transpose', ('axes',)),
  'Tile': ('tile', ('repeats',)),
  'Clip': ('clip', ('x_min', 'x_max')),
  'BroadcastTo': ('broadcast_to', ('shape',)),
  'Split': ('split', ('indices_or_sections',)),
  'Pad': ('pad', ('pad_width',)),
  'Einsum': ('einsum', ()),
}
# keras.ops.nn activations -> the activation names of `activations.ACTIVATIONS`.
_NN = {
  'Relu': 'relu',
  'Relu6': 'relu6',
  'Sigmoid': 'sigmoid',
  'Softplus': 'softplus',
  'Softsign': 'softsign',
  'Silu': 'silu',
  'HardSigmoid': 'hard_sigmoid',
  'HardSilu': 'hard_silu',
  'Selu': 'selu',
  'TanhShrink': 'tanh_shrink',
  'HardTanh': 'hard_tanh',
  'SparsePlus': 'sparse_plus',
  'SparseSigmoid': 'sparse_sigmoid',
  'LogSigmoid': 'log_sigmoid',
}
_NN_WITH_ARGUMENTS = {
  'LeakyRelu': lambda c: tl.LeakyRelu(c['negative_slope']),
  'Elu': lambda c: tl.Elu(c['alpha']),
  'Celu': lambda c: tl.Celu(c['alpha']),
  'Gelu': lambda c: tl.FastGelu() if c['approximate'] else tl.Gelu(),
  'HardShrink': lambda c: tl.HardShrink(c['threshold']),
  'SoftShrink': lambda c: tl.SoftShrink(c['threshold']),
  'Squareplus': lambda c: tl.Squareplus(c['b']),
  'Threshold': lambda c: tl.ThresholdReplace(c['threshold'], c['default_value']),
  'Softmax': lambda c: tl.Softmax(_single_axis(c['axis'])),
  'LogSoftmax': lambda c: tl.LogSoftmax(_single_axis(c['axis'])),
  'StopGradient': lambda c: tl.StopGradient(),
}


def _single_axis(axis: Any) -> int:
  if isinstance(axis, (list, tuple)):
    if len(axis) != 1:
      raise Unsupported(f'axis={axis}')
    axis = axis[0]
  return axis


def _is_tensor(x: Any) -> bool:
  import keras

  return isinstance(x, keras.KerasTensor)


def _constant(value: Any) -> Any:
  """A JSON-able constant argument, or Unsupported for computed tensors inside it."""
  import keras

  if any(_is_tensor(v) for v in keras.tree.flatten(value)):
    raise Unsupported('a computed tensor where trax takes a constant (e.g. a shape)')
  if isinstance(value, np.ndarray) or hasattr(value, 'dtype'):
    return np.asarray(value)
  return value


def _parameters(op: Any) -> dict:
  return {k: v for k, v in op.get_config().items() if k != 'name'}


def numpy_fn(function: str, positional: tuple = (), keywords: bool = True) -> Callable:
  def mapping(op, call: Call) -> Mapped:
    """As the numpy function."""
    parameters = _parameters(op)
    if keywords and parameters.get('initial') is not None:
      raise Unsupported('initial=')
    parameters.pop('initial', None)
    if call.kwargs:
      raise Unsupported(f'keyword arguments {sorted(call.kwargs)}')
    args = list(call.args)
    if function == 'pad' and len(args) > 1:  # ops.pad(x, pad_width, mode, constant_values)
      parameters['constant_values'] = _constant(args.pop())
    tensor_positions = [i for i, a in enumerate(args) if _is_tensor(a)]
    constants = [(i, _constant(a)) for i, a in enumerate(args) if not _is_tensor(a)]
    extra = [parameters.pop(name) for name in positional]
    if function == 'einsum':
      constants = [(0, parameters.pop('subscripts'))] + [(i + 1, v) for i, v in constants]
    else:
      offset = len(args)
      constants += [(offset + i, _constant(v)) for i, v in enumerate(extra)]
    kwargs = parameters if keywords else {}
    if function == 'astype':  # numpy's astype takes its dtype positionally only.
      constants.append((len(args), str(kwargs.pop('dtype'))))
    return Mapped(
      [
        tl.NumpyFn(
          function,
          n_in=len(tensor_positions),
          constants=constants,
          n_out=len(call.outputs),
          **kwargs,
        )
      ],
      inputs=[args[i] for i in tensor_positions],
    )

  return mapping


def get_item(op, call: Call) -> Mapped:
  """Basic indices (ints, slices, None, Ellipsis); not tensors as indices."""
  x, key = call.args
  if any(_is_tensor(k) for k in (key if isinstance(key, tuple) else (key,))):
    raise Unsupported('a tensor as index')
  try:
    spec = tl.index_spec(key)
  except ValueError as e:
    raise Unsupported(str(e)) from None
  return Mapped([tl.GetItem(spec)], inputs=[x])


def concatenate(op, call: Call) -> Mapped:
  """Any axis."""
  (xs,) = call.args
  return Mapped([tl.Concatenate(n_items=len(xs), axis=_parameters(op)['axis'])], inputs=list(xs))


def stack(op, call: Call) -> Mapped:
  """Any axis."""
  (xs,) = call.args
  axis = _parameters(op)['axis']
  expand = [tl.NumpyFn('expand_dims', axis=axis) for _ in xs]
  return Mapped([tl.Parallel(*expand), tl.Concatenate(n_items=len(xs), axis=axis)], inputs=list(xs))


def nn_activation(op, call: Call) -> Mapped:
  """As the activation layer."""
  name = type(op).__name__
  if name in _NN:
    layers = ACTIVATIONS[_NN[name]]()
  else:
    layers = [_NN_WITH_ARGUMENTS[name](_parameters(op))]
  return Mapped(layers, inputs=call.data[:1])


def normalize(op, call: Call) -> Mapped:
  """order=2."""
  import keras

  parameters = _parameters(op)
  if parameters['order'] != 2:
    raise Unsupported(f'order={parameters["order"]}')
  epsilon = parameters['epsilon']
  return Mapped(
    [
      tl.L2Normalize(
        parameters['axis'], epsilon=keras.backend.epsilon() if epsilon is None else epsilon
      )
    ],
    inputs=call.data[:1],
  )


def identity(op, call: Call) -> Mapped:
  """When it converts nothing (no dtype or the same)."""
  dtype = _parameters(op).get('dtype')
  x = call.data[0]
  if dtype is not None and str(dtype) != str(x.dtype):
    return numpy_fn('astype')(op, call)
  return Mapped([], inputs=[x])


def table() -> dict:
  """`{op class name: mapping}` for the ops of `keras.src.ops`."""
  mappings = {}
  for function in UNARY + BINARY:
    mappings[''.join(part.capitalize() for part in function.split('_'))] = numpy_fn(function)
  for name, function in _KEYWORDS.items():
    mappings[name] = numpy_fn(function)
  for name, (function, positional) in _POSITIONAL.items():
    mappings[name] = numpy_fn(function, positional)
  for name in (*_NN, *_NN_WITH_ARGUMENTS):
    mappings[name] = nn_activation
  mappings.update(
    {
      'GetItem': get_item,
      'Concatenate': concatenate,
      'Stack': stack,
      'Normalize': normalize,
      'ConvertToTensor': identity,
    }
  )
  return mappings
