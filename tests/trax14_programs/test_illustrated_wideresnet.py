"""The illustrated WideResnet notebook (`illustrated_wideresnet.ipynb`), run as written.

Swapped: CIFAR-10 (a tiny prepared `cifar10` with the same features). Shrunk: batch 64 ->
8, 5000 steps -> 4, eval batches. Both models have the trainable-weight counts Trax
printed for them (295,866 and 1,167,242); they train on the tensorflow-numpy backend.
"""

import numpy as np
import pytest

import trax
from trax import layers as tl
from trax import shapes
from trax.models.resnet import WideResnet
from trax.supervised import training


def test_models_have_trax_weight_counts():
  thin_model = tl.Serial(WideResnet(widen_factor=1), tl.LogSoftmax())
  wide_model = tl.Serial(WideResnet(widen_factor=2), tl.LogSoftmax())
  counts = []
  for model in (thin_model, wide_model):
    weights, _ = model.weights_and_state_signature(shapes.ShapeDtype((1, 32, 32, 3), np.uint8))
    counts.append(sum(int(np.prod(w.shape)) for w in tl.flatten_weights_and_state(weights, ())[0]))
  assert counts == [295866, 1167242]


@pytest.mark.slow  # About 9 s: compiles a WideResnet training step in TensorFlow.
def test_thin_model_trains_on_tensorflow_numpy(tfds_data, workdir):
  tfds_data('cifar10')
  trax.fastmath.set_backend('tensorflow-numpy')

  train_stream = trax.data.TFDS('cifar10', keys=('image', 'label'), train=True)()
  eval_stream = trax.data.TFDS('cifar10', keys=('image', 'label'), train=False)()

  train_data_pipeline = trax.data.Serial(
    trax.data.Shuffle(),
    trax.data.Batch(8),
    trax.data.AddLossWeights(),
  )
  train_batches_stream = train_data_pipeline(train_stream)
  eval_data_pipeline = trax.data.Serial(
    trax.data.Batch(8),
    trax.data.AddLossWeights(),
  )
  eval_batches_stream = eval_data_pipeline(eval_stream)

  thin_model = tl.Serial(WideResnet(widen_factor=1), tl.LogSoftmax())
  train_task = training.TrainTask(
    labeled_data=train_batches_stream,
    loss_layer=tl.CrossEntropyLoss(),
    optimizer=trax.optimizers.Adam(0.01),
    n_steps_per_checkpoint=2,
  )
  eval_task = training.EvalTask(
    labeled_data=eval_batches_stream,
    metrics=[tl.CrossEntropyLoss(), tl.Accuracy()],
    n_eval_batches=1,
  )
  training_loop = training.Loop(
    thin_model, train_task, eval_tasks=[eval_task], output_dir='./thin_model'
  )
  training_loop.run(4)

  losses = training_loop.history.get('train', 'metrics/CrossEntropyLoss')
  assert [step for step, _ in losses] == [1, 2, 4]
  assert all(np.isfinite(loss) for _, loss in losses)
  assert training_loop.history.get('eval', 'metrics/Accuracy')
