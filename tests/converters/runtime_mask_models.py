"""keras_hub models whose padding mask exists only at run time (`TokenAndPositionEmbedding`
with `mask_zero=True` attaches it inside its call), converted with wrapping.

`main` prints one JSON line per model: refused (the layers named) or converted (the
largest difference from Keras on padded ids). Needs Keras on the JAX backend and
keras_hub; tests run it in a subprocess.
"""

import json
import logging
import sys

import jax
import keras
import keras_hub
import numpy as np

import converters

L = keras.layers
IDS = np.array([[5, 6, 7, 0, 0, 0], [1, 2, 3, 4, 5, 6]], np.int32)  # Row 0 padded.


def _embedding(mask_zero: bool = True) -> keras.layers.Layer:
  return keras_hub.layers.TokenAndPositionEmbedding(30, 6, 8, mask_zero=mask_zero)


def _encoder() -> keras.layers.Layer:
  return keras_hub.layers.TransformerEncoder(16, 2)


def _explicit_mask(tokens):
  mask = keras.ops.not_equal(tokens, 0)
  x = _encoder()(L.LayerNormalization()(_embedding(mask_zero=False)(tokens)), padding_mask=mask)
  return L.GlobalAveragePooling1D()(x, mask=mask)


class NonZeroIds(keras.layers.Layer):
  """Refuses a batch of ids that are all zero (so the mask check cannot run on zeros)."""

  def call(self, ids):
    if not isinstance(ids, jax.core.Tracer) and not np.any(np.asarray(ids)):  # Run eagerly.
      raise ValueError('all ids are padding')
    return ids


MODELS = {
  # An exact layer reading the mask: Keras averages over the tokens only.
  'pooled': lambda tokens: L.GlobalAveragePooling1D()(_embedding()(tokens)),
  # A trax LayerNorm between two keras_hub layers: the mask would not reach the encoder.
  'norm_between': lambda tokens: _encoder()(L.LayerNormalization()(_embedding()(tokens))),
  # The encoder maps exactly, but runs wrapped so that Keras hands it the mask.
  'wrapped_chain': lambda tokens: L.Dense(3)(_encoder()(_embedding()(tokens))),
  # Through an eval-mode Dropout (no trax layer): the array and its mask arrive unchanged.
  'through_dropout': lambda tokens: L.Dense(3)(_encoder()(L.Dropout(0.1)(_embedding()(tokens)))),
  # The fix the error suggests: the mask as a tensor of the graph.
  'explicit_mask': _explicit_mask,
  # The check cannot run: converted, with a warning that says so.
  'fails_on_zeros': lambda tokens: L.Dense(3)(_encoder()(_embedding()(NonZeroIds()(tokens)))),
}


def main() -> None:
  logging.basicConfig(stream=sys.stdout, format='%(levelname)s %(message)s')
  for name, build in MODELS.items():
    tokens = keras.Input((6,), dtype='int32')
    model = keras.Model(tokens, build(tokens))
    try:
      layer, _ = converters.from_keras(model, allow_wrapping=True)
    except converters.UnsupportedLayerError as e:
      print(json.dumps({'model': name, 'refused': [n for n, _ in e.layers], 'message': str(e)}))
      continue
    error = np.abs(np.asarray(layer(IDS)) - np.asarray(model(IDS, training=False))).max()
    report = converters.conversion_report(model)
    wrapped = sorted(s.kind for s in report if s.status == 'wrapped')
    print(json.dumps({'model': name, 'error': float(error), 'wrapped': wrapped}))


if __name__ == '__main__':
  main()
