"""Residual networks for images: ResNet-50 and Wide ResNet, and their blocks.

He et al. (2016), "Deep residual learning for image recognition",
https://arxiv.org/abs/1512.03385; Zagoruyko & Komodakis (2016), "Wide residual networks",
https://arxiv.org/abs/1605.07146. Images are NHWC. Layer structures (and so the flat order
of weights and state) are Trax 1.4's, so its checkpoints load.
"""

from collections.abc import Callable, Sequence

import trax.layers as tl

_Factory = Callable[..., tl.Layer]


@tl.register
def ConvBlock(
  kernel_size: int,
  filters: Sequence[int],
  strides: Sequence[int],
  norm: _Factory = tl.BatchNorm,
  non_linearity: _Factory = tl.Relu,
  mode: str = 'train',
) -> tl.Layer:
  """A bottleneck block that changes the width (and with `strides`, the size) of images.

  Main path: 1x1 conv (strided) to `filters[0]`, `kernel_size` conv to `filters[1]`,
  1x1 conv to `filters[2]`, each followed by `norm` (and the first two by
  `non_linearity`); the shortcut is a strided 1x1 conv to `filters[2]` and `norm`; the
  sum goes through `non_linearity`. `(B, H, W, C) -> (B, H / s, W / s, filters[2])`.
  (Trax 1.4 had no defaults for `norm` and `non_linearity`.)
  """
  filters1, filters2, filters3 = filters
  main = [
    tl.Conv(filters1, (1, 1), strides),
    norm(mode=mode),
    non_linearity(),
    tl.Conv(filters2, (kernel_size, kernel_size), padding='SAME'),
    norm(mode=mode),
    non_linearity(),
    tl.Conv(filters3, (1, 1)),
    norm(mode=mode),
  ]
  shortcut = [tl.Conv(filters3, (1, 1), strides), norm(mode=mode)]
  return tl.Serial(tl.Residual(main, shortcut=shortcut), non_linearity(), name='ConvBlock')


@tl.register
def IdentityBlock(
  kernel_size: int,
  filters: Sequence[int],
  norm: _Factory = tl.BatchNorm,
  non_linearity: _Factory = tl.Relu,
  mode: str = 'train',
) -> tl.Layer:
  """A bottleneck block that keeps the image shape: `ConvBlock`'s main path, unstrided,
  around an identity shortcut. `filters[2]` must equal the input channels.
  """
  filters1, filters2, filters3 = filters
  main = [
    tl.Conv(filters1, (1, 1)),
    norm(mode=mode),
    non_linearity(),
    tl.Conv(filters2, (kernel_size, kernel_size), padding='SAME'),
    norm(mode=mode),
    non_linearity(),
    tl.Conv(filters3, (1, 1)),
    norm(mode=mode),
  ]
  return tl.Serial(tl.Residual(main), non_linearity(), name='IdentityBlock')


@tl.register
def Resnet50(
  d_hidden: int = 64,
  n_output_classes: int = 1001,
  mode: str = 'train',
  norm: _Factory = tl.BatchNorm,
  non_linearity: _Factory = tl.Relu,
) -> tl.Layer:
  """ResNet-50: images `(B, 224, 224, C)` -> class logits `(B, n_output_classes)`.

  The final 7x7 average pool needs 7x7 feature maps, i.e. 224x224 inputs (any size that
  reaches at least 7x7 works; a bigger map is averaged in overlapping windows and
  flattened, as in Trax 1.4).

  Args:
    d_hidden: width of the first layers; the four stages use 1, 2, 4 and 8 times it inside
      their blocks and 4 times that between blocks.
    n_output_classes: number of classes.
    mode: 'train' (batch statistics) or 'eval'/'predict' (running averages).
    norm: normalization factory taking `mode`, e.g. `tl.BatchNorm` or
      `tl.FilterResponseNorm`.
    non_linearity: nonlinearity factory, e.g. `tl.Relu` (with `tl.FilterResponseNorm`,
      `tl.ThresholdedLinearUnit`).
  """

  def Stage(n_blocks, multiplier, strides=(2, 2)):  # A ConvBlock, then IdentityBlocks.
    filters = [multiplier * d_hidden, multiplier * d_hidden, 4 * multiplier * d_hidden]
    return [
      ConvBlock(3, filters, strides, norm, non_linearity, mode),
      [IdentityBlock(3, filters, norm, non_linearity, mode) for _ in range(n_blocks - 1)],
    ]

  return tl.Serial(  # image (B, 224, 224, C)
    tl.ToFloat(),
    tl.Conv(d_hidden, (7, 7), (2, 2), 'SAME'),  # (B, 112, 112, d)
    norm(mode=mode),
    non_linearity(),
    tl.MaxPool(pool_size=(3, 3), strides=(2, 2)),  # (B, 55, 55, d)
    Stage(3, 1, strides=(1, 1)),  # (B, 55, 55, 4d)
    Stage(4, 2),  # (B, 28, 28, 8d)
    Stage(6, 4),  # (B, 14, 14, 16d)
    Stage(3, 8),  # (B, 7, 7, 32d)
    tl.AvgPool(pool_size=(7, 7)),  # (B, 1, 1, 32d)
    tl.Flatten(),  # (B, 32d)
    tl.Dense(n_output_classes),  # logits (B, n_classes)
    name='Resnet50',
  )


@tl.register
def WideResnetBlock(
  channels: int, strides: Sequence[int] = (1, 1), bn_momentum: float = 0.9, mode: str = 'train'
) -> tl.Layer:
  """The residual branch of a Wide ResNet block: (BatchNorm, Relu, 3x3 conv) twice.

  `(B, H, W, C) -> (B, H / s, W / s, channels)`; the first conv has the `strides`.
  """
  return tl.Serial(
    tl.BatchNorm(momentum=bn_momentum, mode=mode),
    tl.Relu(),
    tl.Conv(channels, (3, 3), strides, padding='SAME'),
    tl.BatchNorm(momentum=bn_momentum, mode=mode),
    tl.Relu(),
    tl.Conv(channels, (3, 3), padding='SAME'),
    name='WideResnetBlock',
  )


@tl.register
def WideResnetGroup(
  n: int,
  channels: int,
  strides: Sequence[int] = (1, 1),
  bn_momentum: float = 0.9,
  mode: str = 'train',
) -> tl.Layer:
  """`n` Wide ResNet blocks of `channels` channels, the first with `strides`.

  The first block's shortcut is a strided 3x3 conv. As in Trax 1.4, the other `n - 1`
  blocks share one residual connection around them all (the paper gives each its own);
  with `n == 1` there is none (Trax 1.4 then added the input to itself).
  """

  def Block(strides):
    return WideResnetBlock(channels, strides, bn_momentum=bn_momentum, mode=mode)

  shortcut = tl.Conv(channels, (3, 3), strides, padding='SAME')
  return tl.Serial(
    tl.Residual(Block(strides), shortcut=shortcut),
    tl.Residual([Block((1, 1)) for _ in range(n - 1)]) if n > 1 else None,
    name='WideResnetGroup',
  )


@tl.register
def WideResnet(
  n_blocks: int = 3,
  widen_factor: int = 1,
  n_output_classes: int = 10,
  bn_momentum: float = 0.9,
  mode: str = 'train',
) -> tl.Layer:
  """Wide ResNet: images `(B, 32, 32, C)` -> class logits `(B, n_output_classes)`.

  Three groups of `n_blocks` blocks (`6 n_blocks + 4` layers deep), of 16, 32 and 64 times
  `widen_factor` channels, the last two halving the image size; then BatchNorm, Relu and
  an 8x8 average pool (so 32x32 inputs give 1x1 maps).

  Args:
    n_blocks: blocks per group.
    widen_factor: channel multiplier (1 is a plain ResNet).
    n_output_classes: number of classes.
    bn_momentum: momentum of the BatchNorm running averages.
    mode: 'train' (batch statistics) or 'eval'/'predict' (running averages).
  """

  def Group(width, strides=(1, 1)):
    return WideResnetGroup(
      n_blocks, width * widen_factor, strides, bn_momentum=bn_momentum, mode=mode
    )

  return tl.Serial(  # image (B, 32, 32, C)
    tl.ToFloat(),
    tl.Conv(16, (3, 3), padding='SAME'),  # (B, 32, 32, 16)
    Group(16),  # (B, 32, 32, 16k)
    Group(32, (2, 2)),  # (B, 16, 16, 32k)
    Group(64, (2, 2)),  # (B, 8, 8, 64k)
    tl.BatchNorm(momentum=bn_momentum, mode=mode),
    tl.Relu(),
    tl.AvgPool(pool_size=(8, 8)),  # (B, 1, 1, 64k)
    tl.Flatten(),  # (B, 64k)
    tl.Dense(n_output_classes),  # logits (B, n_classes)
    name='WideResnet',
  )
