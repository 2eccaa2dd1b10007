"""Errors that used to surface raw (IndexError, JAX broadcasting) name layer and cause."""

import numpy as np
import pytest

from trax import models
from trax import shapes
import trax.layers as tl


def test_rank_1_tokens_into_a_language_model():
  model = models.TransformerLM(vocab_size=10, d_model=8, d_ff=16, n_heads=2, n_layers=1,
                               max_len=16, mode='eval')
  with pytest.raises(tl.LayerError, match=r'(?s)TransformerLM > ShiftRight.*ShiftRight '
                     r'shifts axis 1 of inputs \(batch, length, ...\), but got shape \(5,\); '
                     r'give a single sequence a batch axis'):
    model(np.zeros((5,), np.int32))


def test_a_tuple_where_a_layer_takes_one_array():
  x = np.zeros((2, 3), np.float32)
  with pytest.raises(tl.LayerError, match=r'(?s)Dense_2.*The layer got a tuple of 2 items '
                     r'where it takes one array'):
    tl.Dense(2)((x, x))


def test_layer_norm_size_mismatch():
  layer = tl.LayerNorm()
  layer.init(shapes.ShapeDtype((2, 4)))
  with pytest.raises(tl.LayerError, match=r'(?s)LayerNorm .*input shape \(2, 5\) has last '
                     r'dimension 5, but the scale and bias were initialized for 4'):
    layer(np.zeros((2, 5), np.float32))
