"""Dense, Embedding, Dropout, Flatten, Reshape, Rescale, merges, stack moves and numpy ops.

- `NumpyFn` (what `from_keras` makes of op nodes such as `x + 3` or `ops.multiply`)
  becomes the `keras.ops` function of the same name applied to the Keras tensors (an op
  node of the functional graph), for the functions `from_keras` maps one to one from
  `keras.ops` (same name, same positional arguments).
- `Dropout` with `shared_axes` is Keras' `Dropout` with a `noise_shape` of 1 there.
"""

from converters.keras_mappings.ops import BINARY
from converters.keras_mappings.ops import UNARY
from converters.to_keras_mappings.base import flat_weights
from converters.to_keras_mappings.base import keras
from converters.to_keras_mappings.base import simple
from converters.to_keras_mappings.base import Unmapped


def dense(builder, layer, arguments, inputs):
  if arguments['use_bfloat16']:
    raise Unmapped('bfloat16 weights')
  values = flat_weights(layer)
  made = builder.keras_layer(
    layer,
    lambda: keras().layers.Dense(arguments['n_units'], use_bias=arguments['use_bias']),
    values,
  )
  return [made(inputs[0])]


def embedding(builder, layer, arguments, inputs):
  if arguments['use_bfloat16']:
    raise Unmapped('bfloat16 weights')
  made = builder.keras_layer(
    layer,
    lambda: keras().layers.Embedding(arguments['vocab_size'], arguments['d_feature']),
    flat_weights(layer),
  )
  return [made(inputs[0])]


def dropout(builder, layer, arguments, inputs):
  shared = set(arguments['shared_axes'] or ())
  rank = len(inputs[0].shape)
  noise = (
    None
    if not shared
    else tuple(1 if (i in shared or i - rank in shared) else None for i in range(rank))
  )
  made = builder.keras_layer(
    layer, lambda: keras().layers.Dropout(arguments['rate'], noise_shape=noise), []
  )
  return [made(inputs[0])]


def flatten(builder, layer, arguments, inputs):
  if arguments['n_axes_to_keep'] != 1:
    raise Unmapped(f'Flatten keeping {arguments["n_axes_to_keep"]} axes')
  return [builder.keras_layer(layer, lambda: keras().layers.Flatten(), [])(inputs[0])]


def merge(class_name: str, reverse: bool = False):
  def mapping(builder, layer, arguments, inputs):
    made = builder.keras_layer(layer, lambda: getattr(keras().layers, class_name)(), [])
    return [made(inputs[::-1] if reverse else inputs)]

  return mapping


def concatenate(builder, layer, arguments, inputs):
  made = builder.keras_layer(layer, lambda: keras().layers.Concatenate(axis=arguments['axis']), [])
  return [made(list(inputs))]


def numpy_fn(builder, layer, arguments, inputs):
  """The functions of `keras.ops` that are numpy's, without keyword arguments."""
  function = arguments['function']
  if function not in UNARY + BINARY or arguments['kwargs']:
    raise Unmapped(
      f'numpy.{function} with keyword arguments {arguments["kwargs"]}'
      if arguments['kwargs']
      else f'numpy.{function} (not mapped to keras.ops)'
    )
  args = list(inputs)
  for position, value in sorted(arguments['constants']):
    args.insert(position, value)
  return [getattr(keras().ops, function)(*args)]


def _rescaling(arguments):
  return keras().layers.Rescaling(arguments['scale'], arguments['offset'])


def _reshape(arguments):
  return keras().layers.Reshape(tuple(arguments['shape']))


def table() -> dict:
  return {
    'Dense': dense,
    'Embedding': embedding,
    'Dropout': dropout,
    'Flatten': flatten,
    'Reshape': simple(_reshape),
    'Rescale': simple(_rescaling),
    'Add': merge('Add'),
    'Multiply': merge('Multiply'),
    'SubtractTop': merge('Subtract', reverse=True),
    'Concatenate': concatenate,
    'Select': lambda b, l, a, x: [x[i] for i in a['indices']],
    'Dup': lambda b, l, a, x: [x[0], x[0]],
    'Drop': lambda b, l, a, x: [],
    'Swap': lambda b, l, a, x: [x[1], x[0]],
    'NumpyFn': numpy_fn,
  }
