"""Trax 1.4's `semantic_segmentation.ipynb`: a per-pixel CNN trained with a custom `Fn` loss.

Swapped: the Kaggle Cityscapes image pairs and the sklearn k-means that maps label colours
to 13 classes. The stand-in stream yields what the notebook's `load_dataset` yields (an
RGB image and its flattened class map), made of 13 flat colour patches whose class is
the patch's colour index; the k-means `cluster_centers_` become those 13 colours. Shrunk:
256x256 images to 8x8, batch 32 to 4, 500 steps to 6. The model has the notebook's
211,795 trainable weights, as the count Trax printed says (conv weights do not depend on
the image size).
"""

import numpy as np
import pytest

import trax
import trax.layers as tl

SIZE = 8  # The notebook's images are 256 x 256.
COLORS = np.random.default_rng(7).integers(0, 256, (13, 3))  # The k-means centres.


def load_dataset(seed):
  """The notebook's `load_dataset` output: (H, W, 3) uint8 image, (H * W,) class ids."""
  rng = np.random.default_rng(seed)
  while True:
    seg = rng.integers(0, 13, (SIZE // 2, SIZE // 2)).repeat(2, 0).repeat(2, 1)
    img = COLORS[seg].astype(np.uint8)
    yield img, seg.reshape(-1).astype(np.int32)


def CrossEntropy3d(criterion_2d):
  """returns 3D cross entropy loss function"""

  def _loss_fn(output, target):
    output = output.reshape(-1, 13)
    target = target.reshape(
      -1,
    )
    loss = criterion_2d((output, target))
    return loss

  return _loss_fn


def conv(n):
  return tl.Conv(
    n, (3, 3), (1, 1), padding='SAME', kernel_initializer=tl.KaimingNormalInitializer()
  )


@pytest.mark.slow  # About 5 s: compiling nine convolutions.
def test_segmentation_cnn_trains_and_predicts(workdir, capsys):
  batch_size = 4
  print(trax.fastmath.backend_name())
  train_dataset = load_dataset(0)
  val_dataset = load_dataset(1)

  train_transforms = trax.data.Serial(
    trax.data.Shuffle(),
    trax.data.Batch(batch_size),
    lambda g: map(lambda p: (p[0].astype(np.float32), p[1]), g),
  )
  val_transforms = trax.data.Serial(
    trax.data.Batch(batch_size),
    lambda g: map(lambda p: (p[0].astype(np.float32), p[1]), g),
  )
  train_dataset = train_transforms(train_dataset)
  val_dataset = val_transforms(val_dataset)

  x, y = next(train_dataset)
  print(x.shape, y.shape)
  print(x.dtype, y.dtype)

  lr = 1e-2
  criterion = trax.layers.base.Fn("CrossEntropy3d", CrossEntropy3d(tl.CategoryCrossEntropy()))
  train_task = trax.supervised.training.TrainTask(
    labeled_data=train_dataset,
    loss_layer=criterion,
    optimizer=trax.optimizers.Momentum(lr),
    n_steps_per_checkpoint=3,  # The notebook: 50.
  )
  eval_task = trax.supervised.training.EvalTask(labeled_data=val_dataset, metrics=[criterion])

  layers = []
  for n in (13, 32, 32, 64, 128, 64, 32, 32):
    layers += [conv(n), tl.Relu(), tl.LayerNorm()]
  model = tl.Serial(*layers, conv(13))

  training_loop = trax.supervised.training.Loop(
    model, train_task, eval_tasks=[eval_task], output_dir=None
  )
  training_loop.run(6)  # The notebook: 500.

  out = capsys.readouterr().out
  assert out.startswith('jax\n(4, 8, 8, 3) (4, 64)\nfloat32 int32\n'), out
  assert 'Total number of trainable weights: 211795' in out, out
  assert 'train CrossEntropy3d' in out and 'eval  CrossEntropy3d' in out, out
  losses = [v for _, v in training_loop.history.get('train', 'metrics/CrossEntropy3d')]
  # Logged at steps 1, 3 and 6; the flat colour patches are quickly learnt.
  assert len(losses) == 3 and losses[2] < losses[0], losses

  x, y = next(val_dataset)
  x = x[0]
  y = y[0]
  y = np.reshape(y, (SIZE, SIZE))
  x = np.expand_dims(x, 0)
  y_hat = model(x)
  y_hat = y_hat[0]
  assert y_hat.shape == (SIZE, SIZE, 13)
  y_hat = np.argmax(y_hat, 2)
  y_hat = np.reshape(y_hat, (-1,))
  y_hat = COLORS[y_hat]  # The notebook: km.cluster_centers_[y_hat].
  y_hat = np.reshape(y_hat, (SIZE, SIZE, 3))
  y_hat = np.round(y_hat).astype(np.int32)  # np.round_ is gone in numpy 2.
  assert y_hat.shape == (SIZE, SIZE, 3) and set(map(tuple, y_hat.reshape(-1, 3))) <= set(
    map(tuple, COLORS)
  )
  # Against a hand computation of the loss on the trained model: Fn + CategoryCrossEntropy
  # give the mean over the batch's pixels of logsumexp(logits) - logit[target].
  xb, yb = next(val_dataset)
  logits = np.asarray(model(xb)).reshape(-1, 13)
  logz = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
  expected = np.mean(logz - logits[np.arange(len(logits)), yb.reshape(-1)])
  np.testing.assert_allclose(criterion((np.asarray(model(xb)), yb)), expected, rtol=1e-4)
