"""Errors that used to surface raw (IndexError, JAX broadcasting) name layer and cause."""

import numpy as np
import pytest

from trax import models
from trax import shapes
import trax.layers as tl


def test_rank_1_tokens_into_a_language_model():
  model = models.TransformerLM(
    vocab_size=10, d_model=8, d_ff=16, n_heads=2, n_layers=1, max_len=16, mode='eval'
  )
  with pytest.raises(
    tl.LayerError,
    match=r'(?s)TransformerLM > ShiftRight.*ShiftRight '
    r'shifts axis 1 of inputs \(batch, length, ...\), but got shape \(5,\); '
    r'give a single sequence a batch axis',
  ):
    model(np.zeros((5,), np.int32))


def test_a_tuple_where_a_layer_takes_one_array():
  x = np.zeros((2, 3), np.float32)
  with pytest.raises(
    tl.LayerError,
    match=r'(?s)Dense_2.*The layer got a tuple of 2 items '
    r'where it takes one array',
  ):
    tl.Dense(2)((x, x))


def test_layer_norm_size_mismatch():
  layer = tl.LayerNorm()
  layer.init(shapes.ShapeDtype((2, 4)))
  with pytest.raises(
    tl.LayerError,
    match=r'(?s)LayerNorm .*input shape \(2, 5\) has last '
    r'dimension 5, but the scale and bias were initialized for 4',
  ):
    layer(np.zeros((2, 5), np.float32))


@tl.builds_layers_for_caller
def _builder() -> tl.Layer:
  return tl.Serial(tl.Dense(3), _inner_builder())


@tl.builds_layers_for_caller
def _inner_builder() -> tl.Layer:
  return tl.Dense(2)


def _created_at(layer: tl.Layer) -> str:
  """The `file:line` the layer's errors name (as `test_base` checks in a real error)."""
  return layer._caller


def test_layers_a_builder_makes_say_they_were_made_where_the_builder_was_called():
  lines = open(__file__).read().splitlines()
  model = _builder()  # The site every layer below names, the inner builder's included.
  file_name, line = _created_at(model).split(':')
  assert file_name == 'test_error_messages.py'
  assert 'model = _builder()' in lines[int(line) - 1]
  assert {_created_at(layer) for layer in [model, *model.sublayers, model.sublayers[1]]} == {
    _created_at(model)
  }
  outside = tl.Dense(1)  # Outside any builder: this line.
  assert 'outside = tl.Dense(1)' in lines[int(_created_at(outside).split(':')[1]) - 1]


def test_layers_created_at_names_the_given_site_and_the_outermost_wins():
  with tl.layers_created_at('config.py:7'):
    with tl.layers_created_at('inner.py:1'):
      layer = tl.Dense(2)
  assert _created_at(layer) == 'config.py:7'
