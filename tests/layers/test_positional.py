"""PositionalEncoding and ShiftRight: tables, modes, Trax 1.x weights, predict positions."""

import math

import jax
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness

ShapeDtype = shapes.ShapeDtype
RNG = jax.random.PRNGKey(0)

PARITY_CASES = [
  harness.Case(
    'PositionalEncoding', lambda: tl.PositionalEncoding(max_len=16), ShapeDtype((2, 5, 6))
  ),
  # 'predict' is the identity by design (the decoder feeds shifted inputs), so it differs
  # from 'eval'; see test_shift_right_is_identity_in_predict.
  harness.Case(
    'ShiftRight',
    lambda: tl.ShiftRight(n_positions=2),
    ShapeDtype((2, 5, 3)),
    {'check_modes': False},
  ),
]


def expected_table(max_len, d):
  """The sinusoid table entry by entry, straight from the formula."""
  table = np.zeros((max_len, d))
  for t in range(max_len):
    for j in range(d):
      angle = t / 10000 ** ((j - j % 2) / d)
      table[t, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
  return table


@pytest.mark.parametrize('d', [6, 7])
def test_eval_adds_the_sinusoid_table(d):
  x = np.random.default_rng(0).normal(size=(2, 5, d)).astype(np.float32)
  layer = tl.PositionalEncoding(max_len=9, mode='eval')
  y = layer(x)
  assert layer.weights.shape == (9, d)
  np.testing.assert_allclose(layer.weights, expected_table(9, d), atol=1e-6)
  np.testing.assert_allclose(y, x + expected_table(9, d)[:5], atol=1e-6)


def test_accepts_trax1_weights_of_shape_1_max_len_d():
  table = np.random.default_rng(1).normal(size=(1, 8, 4)).astype(np.float32)
  x = np.zeros((2, 3, 4), np.float32)
  layer = tl.PositionalEncoding(max_len=8)
  layer.init(shapes.signature(x))
  layer.weights = table
  assert layer.weights.shape == (8, 4)
  np.testing.assert_allclose(layer(x), np.broadcast_to(table[:, :3], (2, 3, 4)))
  y, _ = tl.PositionalEncoding(max_len=8).pure_fn(x, table, (), RNG)
  np.testing.assert_allclose(y, np.broadcast_to(table[:, :3], (2, 3, 4)))


def test_predict_adds_consecutive_positions():
  x = np.random.default_rng(2).normal(size=(2, 7, 4)).astype(np.float32)
  expected = tl.PositionalEncoding(max_len=10, mode='eval')(x)
  layer = tl.PositionalEncoding(max_len=10, mode='predict')
  _, state = layer.init(ShapeDtype((2, 1, 4)))
  assert state.shape == () and int(state) == 0
  step = jax.jit(lambda x, s: layer.pure_fn(x, layer.weights, s, RNG))
  outputs, start = [], 0
  for size in (3, 1, 1, 2):
    y, state = step(x[:, start : start + size], state)
    outputs.append(y)
    start += size
  assert int(state) == 7
  np.testing.assert_allclose(np.concatenate(outputs, axis=1), expected, atol=1e-6)


def test_dropout_shares_draws_along_broadcast_dims():
  x = np.zeros((3, 6, 40), np.float32)
  table = expected_table(6, 40)
  # The default (-2,) shares one draw over positions (and the batch): whole features drop.
  y = np.asarray(tl.PositionalEncoding(max_len=6, dropout=0.5)(x))
  kept = ~np.isclose(y[0, 1], 0.0)  # Row 1 of the table has no zeros.
  assert 0 < kept.sum() < 40
  np.testing.assert_allclose(y, np.broadcast_to(2.0 * kept * table, x.shape), atol=1e-5)
  y = np.asarray(tl.PositionalEncoding(max_len=6, dropout=0.5, dropout_broadcast_dims=(-1,))(x))
  kept = ~np.isclose(y[0, :, 1], 0.0)  # Column 1 (cos t) has no zeros: whole positions drop.
  np.testing.assert_allclose(y, np.broadcast_to(2.0 * kept[:, None] * table, x.shape), atol=1e-5)
  eval_layer = tl.PositionalEncoding(max_len=6, dropout=0.5, mode='eval')
  np.testing.assert_allclose(eval_layer(x), np.broadcast_to(table, x.shape), atol=1e-6)


@pytest.mark.parametrize('max_offset, allowed', [(None, range(8)), (2, range(3)), (0, [0])])
def test_random_start_offsets(max_offset, allowed):
  x = np.zeros((1, 5, 4), np.float32)
  layer = tl.PositionalEncoding(max_len=12, start_from_zero_prob=0.0, max_offset=max_offset)
  layer.init(shapes.signature(x), rng=RNG)
  table = expected_table(12, 4)
  starts = set()
  for seed in range(12):
    y, _ = layer.pure_fn(x, layer.weights, (), jax.random.PRNGKey(seed))
    matches = [s for s in range(8) if np.allclose(y[0], table[s : s + 5], atol=1e-6)]
    assert len(matches) == 1
    starts.add(matches[0])
  assert starts <= set(allowed) and (len(starts) > 1 or len(allowed) == 1)


def test_bfloat16_table():
  layer = tl.PositionalEncoding(max_len=8, use_bfloat16=True)
  layer.init(ShapeDtype((1, 3, 4)))
  assert layer.weights.dtype == np.dtype('bfloat16')


def test_shift_right():
  np.testing.assert_array_equal(
    tl.ShiftRight()(np.array([[1, 2, 3], [4, 5, 6]])), [[0, 1, 2], [0, 4, 5]]
  )
  x = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
  y = tl.ShiftRight(n_positions=2, mode='eval')(x)
  np.testing.assert_array_equal(y[:, 2:], x[:, :2])
  np.testing.assert_array_equal(y[:, :2], 0)


def test_shift_right_is_identity_in_predict():
  x = np.array([[0, 7, 8]])
  np.testing.assert_array_equal(tl.ShiftRight(mode='predict')(x), x)


def test_errors_name_the_layer():
  layer = tl.PositionalEncoding(max_len=4)
  with pytest.raises(tl.LayerError, match=r'PositionalEncoding(.|\n)*max_len=4'):
    layer(np.zeros((1, 5, 2), np.float32))
  with pytest.raises(ValueError, match='PositionalEncoding: dropout'):
    tl.PositionalEncoding(dropout=1.0)
  with pytest.raises(ValueError, match='ShiftRight: n_positions'):
    tl.ShiftRight(-1)
