"""Serving signatures check token ids against the vocabulary before using them.

Inside a served graph an id past the end of an embedding table does not fail loudly: the
gather clamps it, or fills zeros, depending on the device. So the model inputs that reach
an `Embedding` unchanged (`tl.id_input_vocab_sizes`) pass through `tf.debugging`
assertions first: a request with an id outside `[0, vocab_size)` fails with an
`InvalidArgumentError` naming the input, instead of returning a quietly wrong answer.
TF Lite drops assertion ops when converting (it has no builtin for them), so `.tflite`
files do not check.
"""

from collections.abc import Sequence

import tensorflow as tf

import trax.layers as tl


def vocab_sizes(layer: 'tl.Layer | None', n_flat_inputs: int) -> dict[int, int]:
  """`{flat input index: vocab size}` of a model's id inputs (none for Keras models)."""
  if layer is None or n_flat_inputs != max(layer.n_in, 1):
    return {}  # Nested inputs: their leaves are not the layer's inputs one to one.
  return tl.id_input_vocab_sizes(layer)


def checked(
  inputs: Sequence[tf.Tensor], sizes: dict[int, int], names: 'Sequence[str | None] | None' = None
) -> list[tf.Tensor]:
  """`inputs`, those in `sizes` behind assertions that they lie in `[0, size)`."""
  inputs = list(inputs)
  for i, size in sorted(sizes.items()):
    x = inputs[i]
    if not x.dtype.is_integer:
      continue
    name = repr(names[i]) if names and i < len(names) and names[i] else f'model input {i}'
    message = f'input {name}: token ids must lie in [0, {size})'
    with tf.control_dependencies(
      [
        tf.debugging.assert_non_negative(x, message=message),
        tf.debugging.assert_less(x, tf.constant(size, x.dtype), message=message),
      ]
    ):
      inputs[i] = tf.identity(x)
  return inputs
