"""Migrate a Keras model to trax: convert it, train it with trax, serve it through TensorFlow.

The model is the kind a TensorFlow shop already has: a functional Keras image classifier
with preprocessing (`Rescaling`), convolutions with batch norm, a depthwise-separable block
with a residual `Add`, global pooling, dropout and a `Dense` head. The path:

1. In: `converters.from_keras` maps every layer exactly (`conversion_report` says so); the
   converted model computes what Keras computes (printed).
2. Train: trax's `Loop` trains it on a generated task (which way the stripes of an image
   run: 4 classes), BatchNorm statistics and dropout included, with eval accuracy. Pick
   the engine with `--backend`: 'jax' (XLA; the choice on GPU and TPU) or
   'tensorflow-numpy' (the same layers as TF ops; faster for CNNs on CPU, see
   bench/README.md).
3. Out: `converters.to_keras` gives native Keras layers again (a `.keras` file that needs
   neither trax nor JAX), `to_saved_model` a SavedModel for TF Serving (verified in a
   process where JAX cannot be imported) and `to_tflite` a TF Lite model (verified with
   ai_edge_litert); each is compared with the trained trax model (printed).

Nothing is downloaded; about a minute on a 2-core CPU. Everything lands in one directory
(default `keras_migration_out/`): `original.keras`, `train/` (Loop checkpoints),
`trained.keras`, `serving/1/` and `classifier.tflite`.

Run: python examples/keras_migration.py [--output_dir DIR] [--steps N]
                                        [--backend jax|tensorflow-numpy]
"""

import argparse
import os
import time

import numpy as np

SIZE, CLASSES, BATCH = 32, 4, 32


def stripes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """`n` RGB images of noisy stripes (pixels 0..255) and which way they run: 0 horizontal,
  1 vertical, 2 and 3 the diagonals."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, CLASSES, n)
  rows, cols = np.mgrid[:SIZE, :SIZE].astype(np.float32)
  directions = np.stack([rows, cols, (rows + cols) / np.sqrt(2), (rows - cols) / np.sqrt(2)])
  frequency = rng.uniform(0.4, 1.2, (n, 1, 1))
  phase = rng.uniform(0.0, 2 * np.pi, (n, 1, 1))
  waves = np.sin(frequency * directions[labels] + phase)[..., None]
  colors = rng.uniform(0.3, 1.0, (n, 1, 1, 3))
  pixels = 127.5 + 100.0 * waves * colors + rng.normal(0.0, 25.0, (n, SIZE, SIZE, 3))
  return np.clip(pixels, 0.0, 255.0).astype(np.float32), labels.astype(np.int32)


def batches(seed: int):
  while True:
    yield stripes(BATCH, seed)
    seed += 1000


def keras_classifier():
  """The Keras model being migrated (random weights: nothing is downloaded)."""
  import keras

  L = keras.layers
  keras.utils.set_random_seed(0)
  inputs = keras.Input((SIZE, SIZE, 3), name='pixels')
  x = L.Rescaling(1 / 127.5, offset=-1.0)(inputs)
  x = L.Conv2D(16, 3, strides=2, padding='same', use_bias=False)(x)
  x = L.ReLU(6.0)(L.BatchNormalization()(x))
  block = L.DepthwiseConv2D(3, padding='same', use_bias=False)(x)
  block = L.ReLU(6.0)(L.BatchNormalization()(block))
  block = L.BatchNormalization()(L.Conv2D(16, 1, use_bias=False)(block))
  x = L.Add()([x, block])
  x = L.SeparableConv2D(32, 3, strides=2, padding='same', activation='relu')(x)
  x = L.Dropout(0.2)(L.GlobalAveragePooling2D()(x))
  outputs = L.Dense(CLASSES, name='logits')(x)
  return keras.Model(inputs, outputs, name='stripes_classifier')


def relative_error(got, expected) -> float:
  return float(np.max(np.abs(np.asarray(got) - expected)) / np.max(np.abs(expected)))


def convert(keras_model, output_dir: str):
  """Keras -> trax: every layer exact, outputs equal to Keras'."""
  import converters

  keras_model.save(os.path.join(output_dir, 'original.keras'))
  report = converters.conversion_report(keras_model)
  exact = sum(node.status == 'exact' for node in report)
  layer, _ = converters.from_keras(keras_model)
  x, _ = stripes(8, seed=1)
  error = relative_error(layer(x), keras_model(x, training=False))
  print(
    f'Converted {keras_model.name}: {exact} of {len(report)} nodes map exactly; '
    f'outputs vs Keras: relative error {error:.1e}'
  )
  trainable, _ = converters.from_keras(keras_model, mode='train')
  return trainable


def train(model, output_dir: str, n_steps: int, backend: str):
  """Trains the converted model with trax's Loop; returns the Loop."""
  from trax import optimizers
  import trax.layers as tl
  from trax.supervised import training

  every = max(1, n_steps // 4)
  train_task = training.TrainTask(
    batches(seed=0), tl.CategoryCrossEntropy(), optimizers.Adam(3e-3), n_steps_per_checkpoint=every
  )
  eval_task = training.EvalTask(
    batches(seed=1), [tl.CategoryCrossEntropy(), tl.CategoryAccuracy()], n_eval_batches=4
  )
  loop = training.Loop(
    model,
    train_task,
    eval_tasks=[eval_task],
    random_seed=0,
    output_dir=os.path.join(output_dir, 'train'),
    backend=backend,
  )
  loop.run(n_steps)
  return loop


def ship(eval_model, output_dir: str) -> None:
  """trax -> native Keras, SavedModel and TF Lite, each checked against the trax model."""
  import keras
  import converters
  from trax import shapes

  signature = shapes.ShapeDtype((None, SIZE, SIZE, 3))
  x, labels = stripes(64, seed=2)
  expected = np.asarray(eval_model(x))
  print(
    f'Trained model: accuracy {np.mean(np.argmax(expected, -1) == labels):.3f} on 64 new images'
  )

  back = converters.to_keras(eval_model, signature, allow_wrapping=False)
  path = os.path.join(output_dir, 'trained.keras')
  back.save(path)
  reloaded = keras.saving.load_model(path)
  print(
    f'Native Keras model {path} ({len(back.layers)} Keras layers, no TraxLayer): '
    f'relative error vs trax {relative_error(reloaded(x, training=False), expected):.1e}'
  )

  saved = converters.to_saved_model(
    eval_model, os.path.join(output_dir, 'serving'), signature, tolerance=1e-4
  )
  print(
    f'SavedModel {saved.path} ({saved.path_kind} TF ops), checked in a process without '
    f'JAX on {len(saved.verification.cases)} batch sizes: max |error| '
    f'{saved.verification.worst:.1e}'
  )
  lite = converters.to_tflite(saved.path, os.path.join(output_dir, 'classifier.tflite'))
  from ai_edge_litert.interpreter import Interpreter

  runner = Interpreter(model_path=lite.path).get_signature_runner()
  (served,) = runner(**{next(iter(runner.get_input_details())): x}).values()
  print(
    f'TF Lite {lite.path}: {sum(lite.op_counts.values())} ops, {lite.size_bytes} bytes; '
    f'relative error vs trax {relative_error(served, expected):.1e}'
  )


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument(
    '--output_dir',
    default='keras_migration_out',
    help='where everything is written (default: %(default)s)',
  )
  parser.add_argument('--steps', type=int, default=400, help='training steps')
  parser.add_argument(
    '--backend',
    default='jax',
    choices=['jax', 'tensorflow-numpy'],
    help="trax's training engine (default: %(default)s)",
  )
  args = parser.parse_args()
  output_dir = os.path.abspath(args.output_dir)
  os.makedirs(output_dir, exist_ok=True)
  start = time.time()
  print(f'Writing to {output_dir}')
  model = convert(keras_classifier(), output_dir)
  loop = train(model, output_dir, args.steps, args.backend)
  accuracy = loop.history.get('eval', 'metrics/CategoryAccuracy')[-1][1]
  print(
    f'Trained {loop.step} steps on {args.backend} in {time.time() - start:.0f}s: eval '
    f'accuracy {accuracy:.3f}'
  )
  ship(loop.eval_model, output_dir)
  print(f'Done in {time.time() - start:.0f}s; outputs in {output_dir}')


if __name__ == '__main__':
  main()
