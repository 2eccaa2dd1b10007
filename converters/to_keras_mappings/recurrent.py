"""LSTM and GRU (full sequences out).

- LSTM: trax's gates are ordered (i, j, f, o) with the new-value gate second, Keras'
  (i, f, c, o); the permutation swapping blocks 1 and 2 is its own inverse.
- GRU: trax's cell is Keras' `GRU(reset_after=False)`.
"""

import numpy as np

from converters.to_keras_mappings.base import flat_weights
from converters.to_keras_mappings.base import keras
from converters.to_keras_mappings.base import Unmapped


def lstm(builder, layer, arguments, inputs):
  if arguments['return_state'] or arguments['initial_state']:
    raise Unmapped('return_state or initial_state')
  w, b = flat_weights(layer)
  n, d_in = arguments['n_units'], inputs[0].shape[-1]
  order = np.concatenate([np.arange(n) + block * n for block in (0, 2, 1, 3)])
  w, b = w[:, order], b[order]
  made = builder.keras_layer(
    layer, lambda: keras().layers.LSTM(n, return_sequences=True), [w[:d_in], w[d_in:], b]
  )
  return [made(inputs[0])]


def gru(builder, layer, arguments, inputs):
  w1, b1, w2, b2 = flat_weights(layer)
  n, d_in = arguments['n_units'], inputs[0].shape[-1]
  kernel = np.concatenate([w1[:d_in], w2[:d_in]], axis=1)
  recurrent = np.concatenate([w1[d_in:], w2[d_in:]], axis=1)
  made = builder.keras_layer(
    layer,
    lambda: keras().layers.GRU(n, reset_after=False, return_sequences=True),
    [kernel, recurrent, np.concatenate([b1, b2])],
  )
  return [made(inputs[0])]


def table() -> dict:
  return {'LSTM': lstm, 'GRU': gru}
