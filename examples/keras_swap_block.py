"""Swap a block of an existing tf.keras model for a trax block, train, save and reload it.

The starting point is an ordinary Keras classifier (built here, trained briefly). Its
hidden block, two `Dense` layers, is replaced by a trax block with a residual connection
and layer norm, wrapped in a `TraxLayer`; the layers around it keep their trained weights.
The new model trains with `fit` on generated data, is saved to a `.keras` file, reloaded
(only `import trax_keras` is needed for that) and its predictions are checked against the
original's. Nothing is downloaded; it runs in well under a minute on a 2-core CPU, on the
TensorFlow Keras backend by default (KERAS_BACKEND=jax works too).

Run: python examples/keras_swap_block.py [--output_dir DIR]
"""

import argparse
import os

import numpy as np
import tensorflow as tf

import trax.layers as tl
from trax_keras import TraxLayer

keras = tf.keras  # Keras 3

N_FEATURES, N_CLASSES, WIDTH = 20, 4, 64


def generated_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Points labeled by which of four fixed random directions they lean to most."""
  directions = np.random.default_rng(123).normal(size=(N_FEATURES, N_CLASSES))
  x = np.random.default_rng(seed).normal(size=(n, N_FEATURES)).astype(np.float32)
  return x, np.argmax(np.tanh(x) @ directions, axis=-1).astype(np.int32)


def original_model() -> keras.Model:
  inputs = keras.Input((N_FEATURES,), name='features')
  x = keras.layers.Dense(WIDTH, activation='relu', name='stem')(inputs)
  x = keras.layers.Dense(WIDTH, activation='relu', name='block_1')(x)
  x = keras.layers.Dense(WIDTH, activation='relu', name='block_2')(x)
  outputs = keras.layers.Dense(N_CLASSES, name='head')(x)
  return keras.Model(inputs, outputs, name='original')


def with_trax_block(model: keras.Model) -> keras.Model:
  """`model` with layers block_1..block_2 replaced by a TraxLayer; other layers shared."""
  trax_block = TraxLayer(
    tl.Serial(
      tl.Residual(tl.LayerNorm(), tl.Dense(2 * WIDTH), tl.Gelu(), tl.Dense(WIDTH)),
      tl.Dropout(0.1),
      tl.Relu(),
    ),
    seed=0,
    name='trax_block',
  )
  x = model.get_layer('stem').output
  x = trax_block(x)
  outputs = model.get_layer('head')(x)
  return keras.Model(model.inputs, outputs, name='swapped')


def compile_for_training(model: keras.Model) -> None:
  model.compile(
    keras.optimizers.Adam(3e-3),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=['accuracy'],
  )


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--output_dir', default='keras_swap_block_out')
  args = parser.parse_args()
  os.makedirs(args.output_dir, exist_ok=True)
  print(f'Keras {keras.__version__} on the {keras.backend.backend()} backend')
  x_train, y_train = generated_data(4096, seed=0)
  x_test, y_test = generated_data(1024, seed=1)

  original = original_model()
  compile_for_training(original)
  original.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0)
  print(f'original accuracy: {original.evaluate(x_test, y_test, verbose=0)[1]:.3f}')

  swapped = with_trax_block(original)
  swapped.summary()
  compile_for_training(swapped)
  history = swapped.fit(x_train, y_train, epochs=4, batch_size=64, verbose=0)
  losses = history.history['loss']
  print(
    f'swapped model: loss {losses[0]:.3f} -> {losses[-1]:.3f}, test accuracy '
    f'{swapped.evaluate(x_test, y_test, verbose=0)[1]:.3f}'
  )

  path = os.path.join(args.output_dir, 'swapped.keras')
  swapped.save(path)
  reloaded = keras.models.load_model(path)
  expected = swapped.predict(x_test, verbose=0)
  got = reloaded.predict(x_test, verbose=0)
  worst = float(np.max(np.abs(got - expected)))
  print(f'saved to {path}; reloaded predictions differ by at most {worst:.2e}')
  if worst > 1e-5:
    raise SystemExit(f'reloaded model disagrees with the saved one (max |diff| {worst})')
  trax_weights = reloaded.get_layer('trax_block').trax_weights()
  print(
    f'the trained trax block, back as a trax weights tree: '
    f'{sum(w.size for w in tl.flatten_weights_and_state(trax_weights, ())[0]):,} '
    'weights'
  )


if __name__ == '__main__':
  main()
