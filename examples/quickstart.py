"""End to end: train a TransformerLM under JAX, use it from Keras, ship it to TF Serving, TF Lite.

The task is the built-in copy task (`0 x1..xn 0 x1..xn`: after the second 0 the model must
repeat the sequence). Nothing is downloaded. On a 2-core CPU it takes about a minute, and
everything it writes lands in one directory (default `quickstart_out/`):

  train/      checkpoints and TensorBoard event files of the training loop
  keras/      the Keras model (a TraxLayer inside) saved as a .keras file
  serving/1/  a SavedModel for TF Serving (plain TF ops), verified in a process without JAX
  lm.tflite   a TF Lite model (dynamic batch and length), verified with ai_edge_litert

Run: python examples/quickstart.py [--output_dir DIR] [--steps N]
"""

import argparse
import os
import time

import numpy as np

import trax
from trax import shapes
import trax.layers as tl
from trax.supervised import decoding
from trax.supervised import lr_schedules
from trax.supervised import training

VOCAB_SIZE = 16
MAX_COPY_LENGTH = 8  # Sequences of up to 8 symbols: inputs are 2 * (n + 1) tokens.


def copy_task():
  # Trax's length arguments bound `0 w` (one more than the symbols): train on 1 to 8
  # symbols, evaluate on 4 to 8.
  return trax.data.sequence_copy_inputs(
    vocab_size=VOCAB_SIZE,
    batch_size=32,
    train_length=MAX_COPY_LENGTH + 1,
    eval_min_length=MAX_COPY_LENGTH // 2,
    eval_max_length=MAX_COPY_LENGTH + 1,
    seed=0,
  )


def small_lm(mode: str) -> tl.Layer:
  return trax.models.TransformerLM(
    VOCAB_SIZE, d_model=64, d_ff=128, n_layers=2, n_heads=2, max_len=64, dropout=0.0, mode=mode
  )


def train(output_dir: str, n_steps: int) -> training.Loop:
  """Trains the LM with trax's Loop (one compiled JAX step), printing progress."""
  inputs = copy_task()
  train_task = training.TrainTask(
    inputs.train_stream(1),
    tl.WeightedCategoryCrossEntropy(),
    trax.optimizers.Adam(),
    lr_schedule=lr_schedules.warmup_and_rsqrt_decay(200, 0.01),
    n_steps_per_checkpoint=250,
  )
  eval_task = training.EvalTask(
    inputs.eval_stream(1),
    [tl.WeightedCategoryCrossEntropy(), tl.WeightedCategoryAccuracy()],
    n_eval_batches=4,
  )
  loop = training.Loop(
    small_lm('train'),
    train_task,
    eval_tasks=[eval_task],
    output_dir=os.path.join(output_dir, 'train'),
    random_seed=0,
  )
  loop.run(n_steps)
  return loop


def decode_copy(weights, state, sequence: list[int]) -> list[int]:
  """Greedy predict-mode decoding (key/value caches): the model repeats `sequence`."""
  model = small_lm('predict')
  model.init(shapes.ShapeDtype((1, 1), np.int32))
  model.weights = weights
  prompt = np.array([[0, *sequence, 0]], np.int32)
  del state  # The LM has no state that carries over from training (dropout rates only).
  return decoding.autoregressive_sample(
    model, inputs=prompt, max_length=len(sequence), temperature=0.0
  )[0].tolist()


def evaluate_in_keras(eval_model: tl.Layer, output_dir: str) -> None:
  """Wraps the trained model as a Keras model, evaluates it, saves and reloads it."""
  import keras
  import trax_keras

  keras_model = trax_keras.to_keras_model(eval_model, shapes.ShapeDtype((None, None), np.int32))
  path = os.path.join(output_dir, 'keras', 'copy_lm.keras')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  keras_model.save(path)
  reloaded = keras.saving.load_model(path)
  reloaded.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), weighted_metrics=['accuracy']
  )
  inputs, targets, weights = next(copy_task().eval_stream(1))
  loss, accuracy = reloaded.evaluate(inputs, targets, sample_weight=weights, verbose=0)
  difference = np.max(
    np.abs(reloaded.predict(inputs, verbose=0) - keras_model.predict(inputs, verbose=0))
  )
  del loss  # Keras averages over all positions, not over the weighted ones.
  print(
    f'Keras ({keras.backend.backend()} backend) model saved to {path} and reloaded '
    f'(predictions differ by {difference:.1e}); evaluate: accuracy on copied tokens '
    f'{accuracy:.4f}'
  )


def export(eval_model: tl.Layer, output_dir: str) -> str:
  """SavedModel and TF Lite exports, each checked against the JAX outputs."""
  import converters

  signature = shapes.ShapeDtype((None, None), np.int32)  # Dynamic batch and length.
  saved = converters.to_saved_model(eval_model, os.path.join(output_dir, 'serving'), signature)
  print(
    f'SavedModel {saved.path} ({saved.path_kind} TF ops), reloaded without JAX on '
    f'{len(saved.verification.cases)} input shapes: max |error| vs JAX '
    f'{saved.verification.worst:.2e}'
  )
  lite = converters.to_tflite(eval_model, os.path.join(output_dir, 'lm.tflite'), signature)
  print(
    f'TF Lite {lite.path}: {sum(lite.op_counts.values())} ops, {lite.size_bytes} bytes, '
    f'max |error| vs JAX {max(lite.max_abs_error.values()):.2e} on {len(lite.cases)} '
    'input shapes'
  )
  return lite.path


def decode_with_tflite(tflite_path: str, sequence: list[int]) -> list[int]:
  """Greedy decoding with the TF Lite model alone (no JAX): recompute, take the argmax."""
  from ai_edge_litert.interpreter import Interpreter

  interpreter = Interpreter(model_path=tflite_path)
  runner = interpreter.get_signature_runner()
  input_name = next(iter(runner.get_input_details()))
  tokens = [0, *sequence, 0]
  for _ in sequence:
    # The LM predicts token t+1 at position t; ShiftRight inside the model handles it.
    logits = next(iter(runner(**{input_name: np.array([tokens + [0]], np.int32)}).values()))
    tokens.append(int(np.argmax(logits[0, len(tokens)])))
  return tokens[len(sequence) + 2 :]


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument(
    '--output_dir',
    default='quickstart_out',
    help='where everything is written (default: %(default)s)',
  )
  parser.add_argument(
    '--steps', type=int, default=2500, help='training steps (evals run every 250 steps)'
  )
  args = parser.parse_args()
  output_dir = os.path.abspath(args.output_dir)
  start = time.time()
  print(f'Writing to {output_dir}')

  loop = train(output_dir, args.steps)
  accuracy = loop.history.get('eval', 'metrics/WeightedCategoryAccuracy')[-1][1]
  print(
    f'Trained {loop.step} steps in {time.time() - start:.0f}s: eval accuracy on copied '
    f'tokens {accuracy:.4f}'
  )

  sequence = [3, 7, 5, 2, 4, 9, 12, 6]  # No 1: decoding stops at eos_id=1.
  copied = decode_copy(loop.model.weights, loop.model.state, sequence)
  print(f'Predict-mode decode of {sequence}: {copied}')

  eval_model = small_lm('eval')
  eval_model.init(shapes.ShapeDtype((1, 2 * MAX_COPY_LENGTH + 2), np.int32))
  eval_model.weights = loop.model.weights
  evaluate_in_keras(eval_model, output_dir)
  tflite_path = export(eval_model, output_dir)
  print(f'TF Lite decode of {sequence}: {decode_with_tflite(tflite_path, sequence)}')
  print(f'Done in {time.time() - start:.0f}s; outputs in {output_dir}')


if __name__ == '__main__':
  main()
