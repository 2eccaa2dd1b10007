"""Trax 1.x's networks for Atari frames: convolutional towers over stacked frames.

Inputs are `(batch, time, height, width, channels)` uint8 frames; each model scales them
to [0, 1], stacks each frame with the `n_frames - 1` frames before it along the channels
(shifting the sequence right, zeros before the start), and maps every time step to a
vector: outputs `(batch, time, output_size)`.
"""

from typing import Any
from collections.abc import Sequence

import trax.layers as tl
from trax.fastmath import numpy as jnp
from trax.layers.config import register

__all__ = ['AtariCnn', 'AtariCnnBody', 'FrameStackMLP']


def _frame_stack(n_frames: int) -> list:
  """`(B, T, ..., C) -> (B, T, ..., C * n_frames)`: frames t, t-1, ... side by side."""
  if n_frames < 1:
    raise ValueError(f'n_frames must be at least 1, got {n_frames}.')
  if n_frames == 1:
    return []
  shifted = [[tl.ShiftRight() for _ in range(n)] for n in range(n_frames)]
  return [tl.Branch(*shifted), tl.Concatenate(n_items=n_frames, axis=-1)]


def _bytes_to_floats() -> tl.Layer:
  # A cast first: TF's operators do not promote uint8 to float as jax does.
  return tl.Fn('BytesToFloats', lambda x: jnp.astype(x, jnp.float32) / 255.0)


@register
def AtariCnn(
  n_frames: int = 4,
  hidden_sizes: Sequence[int] = (32, 32),
  output_size: int = 128,
  mode: str = 'train',
) -> tl.Layer:
  """Two 5x5 stride-2 SAME convolutions and a dense layer, all with ReLU (Trax 1.x).

  >>> AtariCnn()(np.zeros((1, 3, 16, 16, 3), np.uint8)).shape
  (1, 3, 128)
  """
  del mode  # No mode-dependent layers, as in Trax 1.x.
  return tl.Serial(
    _bytes_to_floats(),
    _frame_stack(n_frames),  # (B, T, H, W, C * n)
    tl.Conv(hidden_sizes[0], (5, 5), (2, 2), 'SAME'),
    tl.Relu(),
    tl.Conv(hidden_sizes[1], (5, 5), (2, 2), 'SAME'),
    tl.Relu(),
    tl.Flatten(n_axes_to_keep=2),  # (B, T, features)
    tl.Dense(output_size),
    tl.Relu(),
  )


@register
def AtariCnnBody(
  n_frames: int = 4,
  hidden_sizes: Sequence[int] = (32, 64, 64),
  output_size: int = 512,
  mode: str = 'train',
  kernel_initializer: Any = None,
  padding: str = 'VALID',
) -> tl.Layer:
  """The DQN tower: 8x8/4, 4x4/2 and 3x3/1 convolutions, then a dense layer, with ReLU.

  Args:
    n_frames, hidden_sizes, output_size, mode: as in `AtariCnn` (three hidden sizes).
    kernel_initializer: the convolutions' initializer; their default when None.
    padding: the convolutions' padding.
  """
  del mode
  init = {} if kernel_initializer is None else {'kernel_initializer': kernel_initializer}
  return tl.Serial(
    _bytes_to_floats(),
    _frame_stack(n_frames),
    tl.Conv(hidden_sizes[0], (8, 8), (4, 4), padding=padding, **init),
    tl.Relu(),
    tl.Conv(hidden_sizes[1], (4, 4), (2, 2), padding=padding, **init),
    tl.Relu(),
    tl.Conv(hidden_sizes[2], (3, 3), (1, 1), padding=padding, **init),
    tl.Relu(),
    tl.Flatten(n_axes_to_keep=2),
    tl.Dense(output_size),
    tl.Relu(),
  )


@register
def FrameStackMLP(
  n_frames: int = 4, hidden_sizes: Sequence[int] = (64,), output_size: int = 64, mode: str = 'train'
) -> tl.Layer:
  """Dense layers with ReLU over the last `n_frames` frames' features (stacked)."""
  del mode
  return tl.Serial(
    _frame_stack(n_frames),
    [[tl.Dense(d_hidden), tl.Relu()] for d_hidden in hidden_sizes],
    tl.Dense(output_size),
  )
