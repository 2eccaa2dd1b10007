"""A small trax TransformerLM trained by Keras `fit`."""

import keras
import numpy as np

import trax.models
from trax_keras import TraxLayer

_HPARAMS = dict(vocab_size=16, d_model=32, d_ff=64, n_layers=1, n_heads=2, max_len=64)


def _counting_sequences(n: int, length: int) -> np.ndarray:
  """Each token is the previous one plus one (mod 16): learnable from one token back."""
  starts = np.random.default_rng(0).integers(0, 16, (n, 1))
  return ((starts + np.arange(length)) % 16).astype(np.int32)


def test_transformer_lm_trains_in_keras_and_predicts_like_trax_eval_mode():
  tokens = _counting_sequences(64, 12)
  layer = TraxLayer(trax.models.TransformerLM(dropout=0.05, **_HPARAMS), seed=0)
  model = keras.Sequential([keras.Input((None,), dtype='int32'), layer])
  model.compile(
    keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  )
  losses = model.fit(tokens, tokens, epochs=5, batch_size=16, verbose=0).history['loss']
  assert losses[-1] < 0.5 * losses[0], losses

  eval_model = trax.models.TransformerLM(dropout=0.05, mode='eval', **_HPARAMS)
  for length in (5, 12):  # any sequence length, one Keras model
    logits, _ = eval_model.pure_fn(
      tokens[:4, :length], layer.trax_weights(), layer.trax_state(), np.zeros(2, np.uint32)
    )
    np.testing.assert_allclose(
      model.predict(tokens[:4, :length], verbose=0), logits, rtol=1e-4, atol=1e-4
    )
