"""Trax 1.4's Atari and Neural GPU models, checked piece by piece with numpy."""

import numpy as np

from trax import fastmath
from trax import models
from trax import shapes
import trax.layers as tl
from trax.models import atari_cnn
from trax.models import neural_gpu
from tests.layers import harness


def test_frame_stack_puts_earlier_frames_beside_each_frame():
  x = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
  stacked = tl.Serial(atari_cnn._frame_stack(3))(x)
  shift = lambda y, n: np.concatenate([np.zeros_like(y[:, :n]), y[:, :-n]], axis=1)
  np.testing.assert_array_equal(stacked, np.concatenate([x, shift(x, 1), shift(x, 2)], -1))


def test_atari_models_shapes_and_backends():
  frames = np.random.default_rng(0).integers(0, 256, (1, 3, 20, 20, 3)).astype(np.uint8)
  assert models.AtariCnn()(frames).shape == (1, 3, 128)
  assert models.AtariCnnBody(hidden_sizes=(4, 4, 4), output_size=8)(
    np.zeros((2, 2, 36, 36, 1), np.uint8)
  ).shape == (2, 2, 8)
  harness.check_layer(
    models.FrameStackMLP(n_frames=2, hidden_sizes=(8,), output_size=4),
    shapes.ShapeDtype((2, 5, 3)),
    check_modes=False,
  )


def test_atari_cnn_scales_bytes_and_ends_in_relu():
  model = models.AtariCnn(n_frames=1, hidden_sizes=(2, 2), output_size=3)
  frames = np.full((1, 1, 8, 8, 1), 255, np.uint8)
  out = model(frames)
  assert (np.asarray(out) >= 0).all()
  # The same weights on frames already in [0, 1] after the byte scaling give the same.
  rest = tl.Serial(model.sublayers[1:])
  np.testing.assert_allclose(
    rest(np.ones((1, 1, 8, 8, 1), np.float32), weights=model.weights[1:], state=model.state[1:]),
    out,
    rtol=1e-6,
  )


def test_diagonal_gate_shifts_thirds():
  x = np.arange(1 * 1 * 4 * 6, dtype=np.float32).reshape(1, 1, 4, 6)
  out = np.asarray(neural_gpu.DiagonalGate()(x))
  padded = np.pad(x, [(0, 0), (0, 0), (1, 1), (0, 0)])
  np.testing.assert_array_equal(out[..., :2], padded[:, :, :-2, :2])
  np.testing.assert_array_equal(out[..., 2:4], x[..., 2:4])
  np.testing.assert_array_equal(out[..., 4:], padded[:, :, 2:, 4:])


def test_neural_gpu_shares_its_cell_across_steps():
  model = models.NeuralGPU(d_feature=6, steps=3, vocab_size=4, mode='eval')
  tokens = np.random.default_rng(1).integers(0, 4, (2, 1, 5)).astype(np.int32)
  logits = model(tokens)
  assert logits.shape == (2, 1, 5, 4)
  flat, _ = tl.flatten_weights_and_state(model.weights, model.state)
  assert len(flat) == 1 + 6 + 2  # embedding, one cell's three convolutions, dense
  # Running the one cell three times by hand gives the same logits.
  embedding, cell, dense = model.sublayers[0], model.sublayers[1], model.sublayers[-1]
  memory = embedding(tokens)
  for _ in range(3):
    memory = cell(memory)
  np.testing.assert_allclose(dense(memory), logits, rtol=1e-5, atol=1e-6)
  with fastmath.use_backend('tensorflow-numpy'):
    tf_logits = model.pure_fn(tokens, model.weights, model.state, harness.RNG)[0]
  np.testing.assert_allclose(np.asarray(tf_logits), logits, rtol=1e-4, atol=1e-5)
