"""Trax 1.4's `Fashion_MNIST_with_Trax.ipynb`: a CNN trained on the tensorflow-numpy backend.

Swapped: Fashion-MNIST (a tiny prepared `fashion_mnist` with the same features). Shrunk:
the steps and eval batches. The model has the notebook's 451,658 trainable weights, as the
count Trax printed says.
"""

import math

import trax
from trax import layers as tl
from trax.supervised import training


def get_model(n_output_classes=10):
  model = tl.Serial(
    tl.ToFloat(),
    tl.Conv(32, (3, 3), (1, 1), 'SAME'),
    tl.LayerNorm(),
    tl.Relu(),
    tl.MaxPool(),
    tl.Conv(64, (3, 3), (1, 1), 'SAME'),
    tl.LayerNorm(),
    tl.Relu(),
    tl.MaxPool(),
    tl.Flatten(),
    tl.Dense(n_output_classes),
    tl.LogSoftmax(),
  )
  return model


def test_cnn_trains_on_tensorflow_numpy(tfds_data, workdir, capsys):
  tfds_data('fashion_mnist')
  # Use the tensorflow-numpy backend.
  trax.fastmath.set_backend('tensorflow-numpy')
  assert trax.fastmath.backend_name() == 'tensorflow-numpy'

  train_stream = trax.data.TFDS('fashion_mnist', keys=('image', 'label'), train=True)()
  eval_stream = trax.data.TFDS('fashion_mnist', keys=('image', 'label'), train=False)()

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

  example_batch = next(train_batches_stream)
  assert [x.shape for x in example_batch] == [(8, 28, 28, 1), (8,), (8,)]

  train_task = training.TrainTask(
    labeled_data=train_batches_stream,
    loss_layer=tl.CrossEntropyLoss(),
    optimizer=trax.optimizers.Adam(0.01),
    n_steps_per_checkpoint=10,
  )
  eval_task = training.EvalTask(
    labeled_data=eval_batches_stream,
    metrics=[tl.CrossEntropyLoss(), tl.Accuracy()],
    n_eval_batches=2,
  )

  model = get_model()
  capsys.readouterr()
  training_loop = training.Loop(model, train_task, eval_tasks=[eval_task], output_dir='./cnn_model')
  training_loop.run(20)

  assert 'Total number of trainable weights: 451658' in capsys.readouterr().out
  losses = training_loop.history.get('train', 'metrics/CrossEntropyLoss')
  assert [step for step, _ in losses] == [1, 10, 20]
  # Step 1 is an untrained model (Trax printed 2.06; ln 10 = 2.3 for uniform guesses);
  # Adam(0.01) on raw pixels then jumps, in Trax's run too.
  assert 1.0 < losses[0][1] < 2 * math.log(10)
  assert all(math.isfinite(loss) for _, loss in losses)
