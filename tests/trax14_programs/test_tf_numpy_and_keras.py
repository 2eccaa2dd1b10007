"""Trax 1.4's `trax/tf_numpy_and_keras.ipynb`: train on TensorFlow NumPy, run in Keras.

Swapped: the IMDB reviews (a tiny prepared `imdb_reviews`) and `en_8k.subword` (the
shipped `en_tiny.subwords`). Shrunk: batch sizes and steps. Differs: Keras 3 saves only to
`.keras` (or `.h5`) file names, so the last cell's extension-less `model_checkpoint`
becomes `model_checkpoint.keras` (Keras 3 refuses the former with a ValueError).
"""

import os

import numpy as np
import pytest

import trax


@pytest.mark.slow  # About 8 s: trains on TF, then builds, saves and reloads a Keras model.
def test_train_on_tf_numpy_then_keras_and_savedmodel(tfds_data, workdir):
  tf = pytest.importorskip('tensorflow')
  tfds_data('imdb_reviews')
  # Use the tensorflow-numpy backend.
  trax.fastmath.set_backend('tensorflow-numpy')
  assert trax.fastmath.backend_name() == 'tensorflow-numpy'

  # Create data streams.
  train_stream = trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True)()
  eval_stream = trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=False)()

  data_pipeline = trax.data.Serial(
    trax.data.Tokenize(vocab_file='en_tiny.subwords', keys=[0]),
    trax.data.Shuffle(),
    trax.data.FilterByLength(max_length=2048, length_keys=[0]),
    trax.data.BucketByLength(
      boundaries=[32, 128, 512, 2048], batch_sizes=[16, 16, 4, 2, 1], length_keys=[0]
    ),
    trax.data.AddLossWeights(),
  )
  train_batches_stream = data_pipeline(train_stream)
  eval_batches_stream = data_pipeline(eval_stream)
  example_batch = next(train_batches_stream)
  assert [x.shape[0] for x in example_batch] == [16, 16, 16]

  # Create the model.
  from trax import layers as tl

  model = tl.Serial(
    tl.Embedding(vocab_size=8192, d_feature=256),
    tl.Mean(axis=1),  # Average on axis 1 (length of sentence).
    tl.Dense(2),  # Classify 2 classes.
    tl.LogSoftmax(),  # Produce log-probabilities.
  )

  # Train the model.
  from trax.supervised import training

  train_task = training.TrainTask(
    labeled_data=train_batches_stream,
    loss_layer=tl.CrossEntropyLoss(),
    optimizer=trax.optimizers.Adam(0.01),
    n_steps_per_checkpoint=20,
  )
  eval_task = training.EvalTask(
    labeled_data=eval_batches_stream,
    metrics=[tl.CrossEntropyLoss(), tl.Accuracy()],
    n_eval_batches=4,  # For less variance in eval numbers.
  )
  output_dir = os.path.expanduser('output_dir/')
  training_loop = training.Loop(model, train_task, eval_tasks=[eval_task], output_dir=output_dir)
  training_loop.run(40)
  ((_, accuracy),) = training_loop.history.get('eval', 'metrics/Accuracy')[-1:]
  assert accuracy >= 0.7

  # Run on an example.
  example_input = next(eval_batches_stream)[0][0]
  example_input_str = trax.data.detokenize(example_input, vocab_file='en_tiny.subwords')
  assert 'It was' in example_input_str
  sentiment_log_probs = model(example_input[None, :])  # Add batch dimension.
  expected = np.exp(sentiment_log_probs)

  # Convert the model into a Keras layer, use the weights from model.
  keras_layer = trax.AsKeras(model)
  sentiment_log_probs = keras_layer(example_input[None, :])
  np.testing.assert_allclose(np.exp(sentiment_log_probs), expected, rtol=1e-5)

  # Create a full Keras  model using the layer from Trax.
  inputs = tf.keras.Input(shape=(None,), dtype='int32')
  hidden = keras_layer(inputs)
  # You can add other Keras layers here operating on hidden.
  outputs = hidden
  keras_model = tf.keras.Model(inputs=inputs, outputs=outputs)
  sentiment_log_probs = keras_model(example_input[None, :])
  np.testing.assert_allclose(np.exp(sentiment_log_probs), expected, rtol=1e-5)

  # Save the Keras model to output_dir.
  with pytest.raises(ValueError, match='.keras'):  # Keras 3, not trax.
    keras_model.save(os.path.join(output_dir, 'model_checkpoint'))
  model_file = os.path.join(output_dir, 'model_checkpoint.keras')
  keras_model.save(model_file)

  # Load the model from SavedModel.
  loaded_model = tf.keras.models.load_model(model_file)

  # Run the loaded model to verify it returns the same result.
  sentiment_log_probs = loaded_model(example_input[None, :])
  np.testing.assert_allclose(np.exp(sentiment_log_probs), expected, rtol=1e-5)
