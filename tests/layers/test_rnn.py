"""Tests for trax/layers/rnn.py against numpy step-by-step references and Keras RNNs."""

import numpy as np
import pytest

import trax.layers as tl
from trax.shapes import ShapeDtype
from tests.layers import harness
from tests.layers.test_convolution import _conv_reference

PARITY_CASES = [
  harness.Case('LSTMCell', lambda: tl.LSTMCell(4), (ShapeDtype((2, 3)), ShapeDtype((2, 8)))),
  harness.Case('LSTM', lambda: tl.LSTM(4), ShapeDtype((2, 5, 3))),
  harness.Case(
    'LSTM',
    lambda: tl.LSTM(3, return_state=True, initial_state=True),
    (ShapeDtype((2, 4, 3)), ShapeDtype((2, 6))),
  ),
  harness.Case('GRUCell', lambda: tl.GRUCell(4), (ShapeDtype((2, 3)), ShapeDtype((2, 4)))),
  harness.Case('GRU', lambda: tl.GRU(4), ShapeDtype((2, 5, 3))),
  harness.Case(
    'MakeZeroState', lambda: tl.MakeZeroState(depth_multiplier=2), ShapeDtype((2, 5, 3))
  ),
  harness.Case('ConvGRUCell', lambda: tl.ConvGRUCell(3, mode='eval'), ShapeDtype((2, 4, 5, 3))),
  harness.Case('SRU', lambda: tl.SRU(3), ShapeDtype((2, 5, 3))),
]


def _random(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _init(layer, *shapes):
  signature = tuple(ShapeDtype(s) for s in shapes)
  weights, _ = layer.init(signature[0] if len(signature) == 1 else signature)
  return [np.asarray(w, np.float64) for w in tl.flatten_weights_and_state(weights, ())[0]]


def _lstm_reference(x, w, b, c, h):
  """Trax 1.x LSTM equations, gate columns (i, j, f, o), one step at a time."""
  ys = []
  for t in range(x.shape[1]):
    i, j, f, o = np.split(np.concatenate([x[:, t], h], -1) @ w + b, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(j)
    h = _sigmoid(o) * np.tanh(c)
    ys.append(h)
  return np.stack(ys, 1), c, h


def _gru_reference(x, w1, b1, w2, b2, h):
  ys = []
  for t in range(x.shape[1]):
    u, r = np.split(_sigmoid(np.concatenate([x[:, t], h], -1) @ w1 + b1), 2, axis=-1)
    c = np.tanh(np.concatenate([x[:, t], r * h], -1) @ w2 + b2)
    h = u * h + (1 - u) * c
    ys.append(h)
  return np.stack(ys, 1)


def test_lstm_cell_matches_numpy():
  x, c, h = _random((2, 3)), _random((2, 4), 1), _random((2, 4), 2)
  layer = tl.LSTMCell(4)
  w, b = _init(layer, (2, 3), (2, 8))
  assert (w.shape, b.shape) == ((7, 16), (16,))
  y, state = layer((x, np.concatenate([c, h], -1)))
  _, new_c, new_h = _lstm_reference(x[:, None], w, b, c, h)
  np.testing.assert_allclose(np.asarray(y), new_h, atol=1e-6)
  np.testing.assert_allclose(np.asarray(state), np.concatenate([new_c, new_h], -1), atol=1e-6)


def test_lstm_forget_bias_goes_to_the_forget_gate_only():
  _, b = _init(tl.LSTMCell(3, forget_bias=2.0), (1, 2), (1, 6))
  np.testing.assert_allclose(b, [0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0], atol=1e-4)
  _, b1, _, _ = _init(tl.GRUCell(3, forget_bias=2.0), (1, 2), (1, 3))
  np.testing.assert_allclose(b1, [2, 2, 2, 0, 0, 0], atol=1e-4)


@pytest.mark.parametrize('d_in', [3, 4])
def test_lstm_matches_numpy(d_in):
  x = _random((2, 5, d_in))
  layer = tl.LSTM(4)
  w, b = _init(layer, x.shape)
  zeros = np.zeros((2, 4))
  np.testing.assert_allclose(
    np.asarray(layer(x)), _lstm_reference(x, w, b, zeros, zeros)[0], atol=1e-5
  )


def test_lstm_state_options():
  x, c0, h0 = _random((2, 5, 3)), _random((2, 4), 1), _random((2, 4), 2)
  layer = tl.LSTM(4, return_state=True, initial_state=True)
  assert (layer.n_in, layer.n_out) == (2, 2)
  w, b = _init(layer, x.shape, (2, 8))
  y, state = layer((x, np.concatenate([c0, h0], -1)))
  expected_y, c, h = _lstm_reference(x, w, b, c0, h0)
  np.testing.assert_allclose(np.asarray(y), expected_y, atol=1e-5)
  np.testing.assert_allclose(np.asarray(state), np.concatenate([c, h], -1), atol=1e-5)
  assert (tl.LSTM(4, return_state=True).n_in, tl.LSTM(4, return_state=True).n_out) == (1, 2)
  assert (tl.LSTM(4, initial_state=True).n_in, tl.LSTM(4, initial_state=True).n_out) == (2, 1)


def _keras_lstm_weights(w, b, d_in):
  """Trax (w, b) -> Keras (kernel, recurrent_kernel, bias).

  Trax stacks the x rows over the h rows in one matrix with gate columns (i, j, f, o);
  Keras keeps x and h kernels apart with gate columns (i, f, c, o), where Keras' c is
  Trax's candidate j. So Keras' blocks are Trax's blocks [0, 2, 1, 3].
  """
  n = b.shape[0] // 4
  columns = np.concatenate([np.arange(k * n, (k + 1) * n) for k in (0, 2, 1, 3)])
  return [w[:d_in][:, columns], w[d_in:][:, columns], b[columns]]


def test_lstm_matches_keras():
  import keras

  x, c0, h0 = _random((2, 5, 3)), _random((2, 4), 1), _random((2, 4), 2)
  layer = tl.LSTM(4, return_state=True, initial_state=True)
  w, b = _init(layer, x.shape, (2, 8))
  y, state = layer((x, np.concatenate([c0, h0], -1)))
  keras_lstm = keras.layers.LSTM(4, return_sequences=True, return_state=True)
  keras_lstm.build(x.shape)
  keras_lstm.set_weights(_keras_lstm_weights(w, b, 3))
  keras_y, keras_h, keras_c = keras_lstm(x, initial_state=[h0, c0])
  to_numpy = keras.ops.convert_to_numpy
  np.testing.assert_allclose(np.asarray(y), to_numpy(keras_y), atol=1e-5)
  np.testing.assert_allclose(
    np.asarray(state), np.concatenate([to_numpy(keras_c), to_numpy(keras_h)], -1), atol=1e-5
  )


def test_gru_cell_and_gru_match_numpy():
  x = _random((2, 5, 3))
  cell = tl.GRUCell(4)
  w1, b1, w2, b2 = _init(cell, (2, 3), (2, 4))
  assert [a.shape for a in (w1, b1, w2, b2)] == [(7, 8), (8,), (7, 4), (4,)]
  h = _random((2, 4), 1)
  y, new_h = cell((x[:, 0], h))
  expected = _gru_reference(x[:, :1], w1, b1, w2, b2, h)[:, 0]
  np.testing.assert_allclose(np.asarray(y), expected, atol=1e-6)
  np.testing.assert_allclose(np.asarray(new_h), expected, atol=1e-6)
  layer = tl.GRU(4)
  weights = _init(layer, x.shape)
  np.testing.assert_allclose(
    np.asarray(layer(x)), _gru_reference(x, *weights, np.zeros((2, 4))), atol=1e-6
  )


def test_gru_matches_keras():
  import keras

  x = _random((2, 5, 3))
  layer = tl.GRU(4)
  # Larger weights than the default init, so that the gates matter.
  weights = [3 * _random(s.shape, seed) for seed, s in enumerate(_init(layer, x.shape))]
  w1, b1, w2, b2 = weights
  tree = tl.unflatten_weights_and_state(weights, [], layer.init(ShapeDtype(x.shape)))[0]
  y = layer(x, weights=tree)
  # Keras (reset_after=False, the original GRU) has gate columns (z, r, h) with z = Trax's
  # update gate u, and kernels for x and h kept apart: split Trax's rows at d_in.
  keras_gru = keras.layers.GRU(4, return_sequences=True, reset_after=False)
  keras_gru.build(x.shape)
  keras_gru.set_weights(
    [
      np.concatenate([w1[:3], w2[:3]], 1),
      np.concatenate([w1[3:], w2[3:]], 1),
      np.concatenate([b1, b2]),
    ]
  )
  np.testing.assert_allclose(np.asarray(y), keras.ops.convert_to_numpy(keras_gru(x)), atol=1e-5)


@pytest.mark.parametrize(
  'make',
  [
    lambda mode: tl.LSTM(4, mode=mode),
    lambda mode: tl.GRU(4, mode=mode),
    lambda mode: tl.SRU(3, mode=mode),
  ],
)
def test_predict_mode_continues_the_sequence(make):
  x = _random((2, 5, 3))
  full = make('eval')
  weights, state = full.init(ShapeDtype(x.shape))
  expected = np.asarray(full(x))
  stepper = make('predict')
  _, state = stepper.init(ShapeDtype((2, 1, 3)))
  stepper.weights, stepper.state = weights, state
  steps = [np.asarray(stepper(x[:, t : t + 1])) for t in range(5)]
  np.testing.assert_allclose(np.concatenate(steps, 1), expected, atol=1e-5)


def test_make_zero_state():
  x = _random((2, 5, 3)).astype('bfloat16')
  zeros = tl.MakeZeroState(depth_multiplier=2)(x)
  assert zeros.shape == (2, 6) and zeros.dtype == x.dtype and not np.any(np.asarray(zeros))
  with pytest.raises(tl.LayerError, match=r'MakeZeroState.*\(batch, length, depth\)'):
    tl.MakeZeroState()(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize('make', [lambda: tl.LSTM(4), lambda: tl.GRU(4), lambda: tl.SRU(4)])
def test_bad_input_rank_names_layer(make):
  layer = make()
  with pytest.raises(tl.LayerError, match='expects inputs of shape') as error:
    layer.init(ShapeDtype((2, 4)))
  assert layer.name in str(error.value) and 'MakeZeroState' in str(error.value)


def test_cells_check_state_depth():
  with pytest.raises(tl.LayerError, match=r'LSTMCell needs a state of depth 2 \* n_units'):
    tl.LSTMCell(4).init((ShapeDtype((2, 3)), ShapeDtype((2, 4))))
  with pytest.raises(tl.LayerError, match='GRUCell needs a state of depth n_units'):
    tl.GRUCell(4).init((ShapeDtype((2, 3)), ShapeDtype((2, 8))))


def _sru_reference(x, w, b, activation=lambda c: c):
  r, f, y = np.split(x @ w + b, 3, axis=-1)
  r, f = _sigmoid(r), _sigmoid(f)
  c, cs = np.zeros_like(x[:, 0]), []
  for t in range(x.shape[1]):
    c = f[:, t] * c + (1 - f[:, t]) * y[:, t]
    cs.append(c)
  return r * activation(np.stack(cs, 1)) + np.sqrt(3) * (1 - r) * x


def test_sru_matches_numpy():
  x = _random((2, 5, 3))
  layer = tl.SRU(3)
  w, b = _init(layer, x.shape)
  assert (w.shape, b.shape) == ((3, 9), (9,))
  np.testing.assert_allclose(np.asarray(layer(x)), _sru_reference(x, w, b), atol=1e-5)
  cubed = tl.SRU(3, activation=tl.Fn('Cube', lambda c: c**3))
  w, b = _init(cubed, x.shape)
  np.testing.assert_allclose(
    np.asarray(cubed(x)), _sru_reference(x, w, b, lambda c: c**3), atol=1e-5
  )


def test_sru_needs_input_depth_n_units():
  with pytest.raises(tl.LayerError, match='SRU_4 needs inputs of depth n_units=4'):
    tl.SRU(4).init(ShapeDtype((2, 5, 3)))


def test_conv_gru_cell_matches_numpy():
  s = _random((2, 4, 5, 3))
  layer = tl.ConvGRUCell(3, kernel_size=(3, 2), mode='eval')
  wu, bu, wr, br, wc, bc = _init(layer, s.shape)
  assert wu.shape == (3, 2, 3, 3) and bu.shape == (3,)
  u = _sigmoid(_conv_reference(s, wu, (1, 1), 'SAME') + bu + 0.5)
  r = _sigmoid(_conv_reference(s, wr, (1, 1), 'SAME') + br + 0.5)
  c = np.tanh(_conv_reference(r * s, wc, (1, 1), 'SAME') + bc)
  np.testing.assert_allclose(np.asarray(layer(s)), u * s + (1 - u) * c, atol=1e-5)


def test_conv_gru_cell_drops_out_in_train_mode_only():
  s = _random((2, 4, 5, 3))
  train = tl.ConvGRUCell(3)
  weights, state = train.init(ShapeDtype(s.shape))
  evaluate = tl.ConvGRUCell(3, mode='eval')
  evaluate.init(ShapeDtype(s.shape))
  y_eval = np.asarray(evaluate(s, weights=weights))
  y_train = np.asarray(train(s))
  assert not np.allclose(y_train, y_eval)
  assert np.allclose(y_eval, np.asarray(evaluate(s, weights=weights)))
