"""Trax 1.4's README (the same code as its `trax/intro.ipynb`), run as written.

Swapped because they download: the pretrained translator and its vocabulary (a small copy
model in Trax 1.x's checkpoint format, with a vocabulary of whole words), the IMDB reviews
(a tiny prepared `imdb_reviews` with the same features) and `en_8k.subword` (the shipped
`en_tiny.subwords`). Sizes and steps are shrunk; everything else is the README's code.
"""

import os

import numpy as np
import pytest

import trax
from tests.trax14_programs import programs


@pytest.mark.slow  # About 7 s: builds and compiles a predict-mode Transformer.
def test_run_a_pretrained_transformer(tmp_path):
  vocab_dir = str(tmp_path) + '/'
  programs.write_words_vocab(vocab_dir + 'ende_32k.subword', programs.COPY_WORDS)
  programs.copy_checkpoint(vocab_dir + 'ende_wmt32k.pkl.gz')

  # Create a Transformer model.
  model = trax.models.Transformer(
    input_vocab_size=13,
    d_model=64,
    d_ff=128,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    max_len=256,
    mode='predict',
  )

  # Initialize using pre-trained weights.
  model.init_from_file(vocab_dir + 'ende_wmt32k.pkl.gz', weights_only=True)

  # Tokenize a sentence.
  sentence = 'to want learn to be nice please'
  tokenized = list(
    trax.data.tokenize(
      iter([sentence]),  # Operates on streams.
      vocab_dir=vocab_dir,
      vocab_file='ende_32k.subword',
    )
  )[0]

  # Decode from the Transformer.
  tokenized = tokenized[None, :]  # Add batch dimension.
  tokenized_translation = trax.supervised.decoding.autoregressive_sample(
    model, tokenized, temperature=0.0
  )  # Higher temperature: more diverse results.

  # De-tokenize,
  tokenized_translation = tokenized_translation[0][:-1]  # Remove batch and EOS.
  translation = trax.data.detokenize(
    tokenized_translation, vocab_dir=vocab_dir, vocab_file='ende_32k.subword'
  )
  # The copy model "translates" by copying up to the end of sequence ('please', id 1).
  assert tokenized.tolist() == [[3, 7, 5, 3, 2, 4, 1]]
  assert translation == 'to want learn to be nice'


def test_tensors_and_fast_math():
  from trax.fastmath import numpy as fastnp

  trax.fastmath.use_backend('jax')  # Can be 'jax' or 'tensorflow-numpy'.

  matrix = fastnp.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
  vector = fastnp.ones(3)
  product = fastnp.dot(vector, matrix)
  tanh = fastnp.tanh(product)

  def f(x):
    return 2.0 * x * x

  grad_f = trax.fastmath.grad(f)

  assert str(matrix) == '[[1 2 3]\n [4 5 6]\n [7 8 9]]'
  assert str(vector) == '[1. 1. 1.]' and str(product) == '[12. 15. 18.]'
  np.testing.assert_allclose(tanh, np.tanh([12.0, 15.0, 18.0]), rtol=1e-6)
  assert grad_f(1.0) == 4.0


def test_layers_and_models():
  from trax import layers as tl

  # Create an input tensor x.
  x = np.arange(15)

  # Create the embedding layer.
  embedding = tl.Embedding(vocab_size=20, d_feature=32)
  embedding.init(trax.shapes.signature(x))

  # Run the layer -- y = embedding(x).
  y = embedding(x)
  assert y.shape == (15, 32)
  np.testing.assert_array_equal(y, np.asarray(embedding.weights)[:15])

  model = tl.Serial(
    tl.Embedding(vocab_size=8192, d_feature=256),
    tl.Mean(axis=1),  # Average on axis 1 (length of sentence).
    tl.Dense(2),  # Classify 2 classes.
    tl.LogSoftmax(),  # Produce log-probabilities.
  )

  # You can print model structure.
  assert str(model) == 'Serial[\n  Embedding_8192_256\n  Mean\n  Dense_2\n  LogSoftmax\n]'


@pytest.mark.slow  # About 6 s (15 s in a fresh process: TensorFlow and TFDS start).
def test_data_training_and_inference(tfds_data, workdir):
  from trax import layers as tl
  from trax.supervised import training

  tfds_data('imdb_reviews')

  model = tl.Serial(
    tl.Embedding(vocab_size=8192, d_feature=256),
    tl.Mean(axis=1),  # Average on axis 1 (length of sentence).
    tl.Dense(2),  # Classify 2 classes.
    tl.LogSoftmax(),  # Produce log-probabilities.
  )
  train_stream = trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=True)()
  eval_stream = trax.data.TFDS('imdb_reviews', keys=('text', 'label'), train=False)()
  text, label = next(train_stream)  # See one example.
  assert isinstance(text, bytes) and label in (0, 1)

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
  # Lengths padded to a power of 2 within the bucket (Trax's shapes: [(4, 1024), ...]).
  assert [x.shape for x in example_batch] in ([(16, 32), (16,), (16,)], [(16, 64), (16,), (16,)])

  # Training task.
  train_task = training.TrainTask(
    labeled_data=train_batches_stream,
    loss_layer=tl.WeightedCategoryCrossEntropy(),
    optimizer=trax.optimizers.Adam(0.01),
    n_steps_per_checkpoint=20,
  )

  # Evaluaton task.
  eval_task = training.EvalTask(
    labeled_data=eval_batches_stream,
    metrics=[tl.WeightedCategoryCrossEntropy(), tl.WeightedCategoryAccuracy()],
    n_eval_batches=4,  # For less variance in eval numbers.
  )

  # Training loop saves checkpoints to output_dir.
  output_dir = os.path.expanduser('output_dir/')
  training_loop = training.Loop(model, train_task, eval_tasks=[eval_task], output_dir=output_dir)

  # Run 2000 steps (batches).
  training_loop.run(40)

  history = training_loop.history
  losses = [v for _, v in history.get('eval', 'metrics/WeightedCategoryCrossEntropy')]
  accuracies = [v for _, v in history.get('eval', 'metrics/WeightedCategoryAccuracy')]
  assert losses[-1] < losses[0] / 2 and accuracies[-1] >= 0.8, (losses, accuracies)
  assert os.path.exists(os.path.join(output_dir, 'model.pkl.gz')) or os.listdir(output_dir)

  eval_batch = next(eval_batches_stream)
  example_input = eval_batch[0][0]
  example_input_str = trax.data.detokenize(example_input, vocab_file='en_tiny.subwords')
  sentiment_log_probs = model(example_input[None, :])  # Add batch dimension.
  probabilities = np.exp(sentiment_log_probs)

  text = example_input_str.replace('<pad>', '')
  assert text.endswith(('It was wonderful.', 'It was terrible.')), example_input_str
  assert probabilities.shape == (1, 2)
  np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)
  # The trained model tells the batch's reviews apart (not every one: 40 small steps).
  predictions = np.argmax(model(eval_batch[0]), axis=-1)
  assert np.mean(predictions == eval_batch[1]) >= 0.75
