"""Residual networks: shapes, Trax 1.x weight and state layout, BatchNorm modes."""

import numpy as np

import trax.layers as tl
from trax import models
from trax import shapes
from tests.models import helpers


def _float_signature(*shape):
  return shapes.ShapeDtype(shape, np.float32)


def _images(*shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_resnet50_has_trax1_flat_weights_and_state():
  model = models.Resnet50(d_hidden=2, n_output_classes=5)
  signature = _float_signature(1, 224, 224, 3)
  weight_shapes, state_shapes = helpers.flat_weight_and_state_shapes(model, signature)
  # 53 convolutions (w, b), each followed by a BatchNorm (beta, gamma; 3 state entries).
  assert len(weight_shapes) == 53 * 2 + 53 * 2 + 2 and len(state_shapes) == 53 * 3
  # The first conv and norm, then the first block's shortcut (a Residual's shortcut comes
  # first, as in Trax 1.x).
  assert weight_shapes[:8] == [(7, 7, 3, 2), (2,), (2,), (2,), (1, 1, 2, 8), (8,), (8,), (8,)]
  assert weight_shapes[-2:] == [(64, 5), (5,)]
  assert helpers.output_shape(model, signature) == (1, 5)


def test_conv_block_and_identity_block_shapes_and_shortcuts():
  conv_block = models.ConvBlock(3, [2, 3, 8], (2, 2), mode='eval')
  weight_shapes, _ = helpers.flat_weight_and_state_shapes(conv_block, _float_signature(2, 8, 8, 4))
  # Shortcut (one conv and norm), then the main path (three of them), as in Trax 1.x.
  assert weight_shapes == [
    (1, 1, 4, 8),
    (8,),
    (8,),
    (8,),
    (1, 1, 4, 2),
    (2,),
    (2,),
    (2,),
    (3, 3, 2, 3),
    (3,),
    (3,),
    (3,),
    (1, 1, 3, 8),
    (8,),
    (8,),
    (8,),
  ]
  assert conv_block(_images(2, 8, 8, 4)).shape == (2, 4, 4, 8)

  identity_block = models.IdentityBlock(3, [2, 3, 8], mode='eval')
  x = _images(2, 4, 4, 8)
  y = identity_block(x)
  assert y.shape == (2, 4, 4, 8) and np.all(y >= 0)  # Relu after the sum.


def test_wide_resnet_shapes_and_flat_weights():
  model = models.WideResnet(n_blocks=2, widen_factor=2, n_output_classes=7)
  signature = _float_signature(2, 32, 32, 3)
  weight_shapes, state_shapes = helpers.flat_weight_and_state_shapes(model, signature)
  # First conv; per group 2 blocks of (2 BN + 2 conv) plus the shortcut conv; BN; Dense.
  n_convs, n_norms = 1 + 3 * (2 * 2 + 1), 3 * 2 * 2 + 1
  assert len(weight_shapes) == 2 * n_convs + 2 * n_norms + 2
  assert len(state_shapes) == 3 * n_norms
  assert weight_shapes[-2:] == [(128, 7), (7,)]
  assert helpers.output_shape(model, signature) == (2, 7)


def test_wide_resnet_group_of_one_block_has_no_second_residual():
  group = models.WideResnetGroup(1, 4, mode='eval')
  x = _images(1, 8, 8, 4, seed=1)
  weights, state = helpers.init(group, _float_signature(1, 8, 8, 4))
  shortcut_w, shortcut_b = weights[0][0][1][0]  # Residual > Branch > Parallel > shortcut
  y, _ = group.pure_fn(x, weights, state, helpers.RNG)
  block = models.WideResnetBlock(4, mode='eval')
  block_y, _ = block.pure_fn(x, weights[0][0][1][1], state[0][0][1][1], helpers.RNG)
  shortcut = tl.Conv(4, (3, 3), padding='SAME')
  shortcut_y, _ = shortcut.pure_fn(x, (shortcut_w, shortcut_b), (), helpers.RNG)
  np.testing.assert_allclose(y, block_y + shortcut_y, atol=1e-5)


def test_batch_norm_statistics_update_in_train_mode_only():
  signature = _float_signature(4, 4, 4, 3)
  x = _images(4, 4, 4, 3, seed=2) * 3.0 + 1.0
  train = models.WideResnetBlock(3, bn_momentum=0.5, mode='train')
  weights, state = helpers.init(train, signature)
  _, new_state = train.pure_fn(x, weights, state, helpers.RNG)
  (mean, var, count), _ = new_state[0], new_state[3]  # The first BatchNorm's statistics.
  assert int(count) == 1
  np.testing.assert_allclose(np.ravel(mean), 0.5 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
  np.testing.assert_allclose(np.ravel(var), 0.5 + 0.5 * x.var(axis=(0, 1, 2)), rtol=1e-5)

  evaluation = tl.from_config(train.config(), mode='eval')
  eval_weights, eval_state = helpers.init(evaluation, signature)
  _, unchanged = evaluation.pure_fn(x, eval_weights, eval_state, helpers.RNG)
  for before, after in zip(
    tl.flatten_weights_and_state((), eval_state)[1], tl.flatten_weights_and_state((), unchanged)[1]
  ):
    np.testing.assert_array_equal(before, after)
