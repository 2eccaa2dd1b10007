"""Trax 1.4's `Deep_N_Gram_Models.ipynb` (character language models), run as written.

Swapped: the Kaggle text files under `/kaggle/input/` (the shipped `corpus.txt`, in a
directory of that layout). Shrunk: `d_model` 512 -> 32, `n_layers` 5 -> 2, the 1000-line
eval holdout -> 8 lines, `max_length` 64 -> 100 (the corpus lines are longer), and the
steps. The notebook imports `trax.fastmath.numpy as np`, so its batches are jax arrays.
"""

import itertools
import math
import os
import random as rnd
import shutil

import pytest

import trax
import trax.fastmath.numpy as np
from trax import layers as tl
from tests.trax14_programs import programs


def line_to_tensor(line, EOS_int=1):
  tensor = []
  for c in line:
    c_int = ord(c)
    tensor.append(c_int)
  tensor.append(EOS_int)
  return tensor


def data_generator(batch_size, max_length, data_lines, line_to_tensor=line_to_tensor, shuffle=True):
  index = 0
  cur_batch = []
  num_lines = len(data_lines)
  lines_index = [*range(num_lines)]
  if shuffle:
    rnd.shuffle(lines_index)
  while True:
    if index >= num_lines:
      index = 0
      if shuffle:
        rnd.shuffle(lines_index)
    line = data_lines[lines_index[index]]
    if len(line) < max_length:
      cur_batch.append(line)
    index += 1
    if len(cur_batch) == batch_size:
      batch = []
      mask = []
      for li in cur_batch:
        tensor = line_to_tensor(li)
        pad = [0] * (max_length - len(tensor))
        tensor_pad = tensor + pad
        batch.append(tensor_pad)
        example_mask = [0 if t == 0 else 1 for t in tensor_pad]
        mask.append(example_mask)
      batch_np_arr = np.array(batch)
      mask_np_arr = np.array(mask)
      yield batch_np_arr, batch_np_arr, mask_np_arr
      cur_batch = []


def GRULM(vocab_size=256, d_model=512, n_layers=2, mode='train'):
  model = tl.Serial(
    tl.ShiftRight(mode=mode),
    tl.Embedding(vocab_size=vocab_size, d_feature=d_model),
    [tl.GRU(n_units=d_model) for _ in range(n_layers)],
    tl.Dense(n_units=vocab_size),
    tl.LogSoftmax(),
  )
  return model


def LSTMLM(vocab_size=256, d_model=512, n_layers=2, mode='train'):
  model = tl.Serial(
    tl.ShiftRight(mode=mode),
    tl.Embedding(vocab_size=vocab_size, d_feature=d_model),
    [tl.LSTM(n_units=d_model) for _ in range(n_layers)],
    tl.Dense(n_units=vocab_size),
    tl.LogSoftmax(),
  )
  return model


def SRULM(vocab_size=256, d_model=512, n_layers=2, mode='train'):
  model = tl.Serial(
    tl.ShiftRight(mode=mode),
    tl.Embedding(vocab_size=vocab_size, d_feature=d_model),
    [tl.SRU(n_units=d_model) for _ in range(n_layers)],
    tl.Dense(n_units=vocab_size),
    tl.LogSoftmax(),
  )
  return model


def _kaggle_lines(input_dir):
  directories = os.listdir(input_dir)
  lines = []
  for directory in directories:
    for filename in os.listdir(os.path.join(input_dir, directory)):
      if filename.endswith('.txt'):
        with open(os.path.join(os.path.join(input_dir, directory), filename)) as files:
          for line in files:
            processed_line = line.strip()
            if processed_line:
              lines.append(processed_line)
  for i, line in enumerate(lines):
    lines[i] = line.lower()
  return lines


def train_model(
  model,
  data_generator,
  batch_size=32,
  max_length=64,
  lines=None,
  eval_lines=None,
  n_steps=10,
  output_dir='model/',
):
  from trax.supervised import training

  bare_train_generator = data_generator(batch_size, max_length, data_lines=lines)
  infinite_train_generator = itertools.cycle(bare_train_generator)

  bare_eval_generator = data_generator(batch_size, max_length, data_lines=eval_lines)
  infinite_eval_generator = itertools.cycle(bare_eval_generator)

  train_task = training.TrainTask(
    labeled_data=infinite_train_generator,
    loss_layer=tl.CrossEntropyLoss(),
    optimizer=trax.optimizers.Adam(0.0005),
    n_steps_per_checkpoint=1,
  )

  eval_task = training.EvalTask(
    labeled_data=infinite_eval_generator,
    metrics=[tl.CrossEntropyLoss(), tl.Accuracy()],
    n_eval_batches=1,
  )

  training_loop = training.Loop(model, train_task, eval_tasks=[eval_task], output_dir=output_dir)

  training_loop.run(n_steps=n_steps)

  return training_loop


@pytest.mark.parametrize(
  'make_model, name',
  [
    (GRULM, 'GRU'),
    pytest.param(LSTMLM, 'LSTM', marks=pytest.mark.slow),  # About 4 s each.
    pytest.param(SRULM, 'SRU', marks=pytest.mark.slow),
  ],
)
def test_language_model_trains(make_model, name, workdir):
  shutil.copytree(os.path.dirname(programs.CORPUS), workdir / 'kaggle_input' / 'corpus')
  lines = _kaggle_lines(str(workdir / 'kaggle_input'))
  eval_lines = lines[-8:]  # Create a holdout validation set
  lines = lines[:-8]  # Leave the rest for training

  model = make_model(d_model=32, n_layers=2)
  assert str(model) == (
    'Serial[\n  ShiftRight(1)\n  Embedding_256_32\n'
    f'  {name}_32\n  {name}_32\n  Dense_256\n  LogSoftmax\n]'
  )

  rnd.seed(0)
  loop = train_model(
    model,
    data_generator,
    batch_size=8,
    max_length=100,
    lines=lines,
    eval_lines=eval_lines,
    n_steps=3,
    output_dir=f'model/{name}',
  )

  train_losses = loop.history.get('train', 'metrics/CrossEntropyLoss')
  assert [step for step, _ in train_losses] == [1, 2, 3]
  # An untrained model is close to uniform over the 256 byte values.
  assert abs(train_losses[0][1] - math.log(256)) < 0.05
  ((_, accuracy),) = loop.history.get('eval', 'metrics/Accuracy')[-1:]
  assert 0.0 <= accuracy <= 1.0
  assert os.listdir(f'model/{name}')
