"""Checks of each batch on the host, before it goes to the devices: ids and labels in range.

Inside a compiled step nothing can raise: an `Embedding` clips ids past its table (as Trax
1.x does) and a cross-entropy over a label past the last class is NaN, or with a negative
label a plausible number. So before a batch is placed, `BatchCheck` checks what the model
and its loss (or metrics) say about it:

- model inputs that reach an `Embedding` unchanged (`tl.id_input_vocab_sizes`) must hold
  ids in `[0, vocab_size)`;
- the targets of categorical losses and metrics (`tl.takes_class_targets`) must be class
  ids in `[0, N)`, N the last axis of the model output they are compared with.

The cost is a min and a max over each checked integer array of the batch, on the host
while the devices run the previous step (bench/README.md: no measurable change of the
training step). Only numpy arrays are checked: a batch already on a device is not pulled
back to the host.
"""

from typing import Any
from collections.abc import Sequence

import numpy as np

from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import core
from trax.layers import id_inputs
from trax.layers import metrics
from trax.supervised import tasks as tasks_lib


class BatchCheck:
  """Checks the batches of one task (see the module docstring).

  Args:
    model: the model, initialized.
    end_layers: the loss layer or metrics taking the model's outputs, then the rest of the
      batch.
    batch_signature: the signature of the task's batches.
    name: how errors refer to the task (e.g. 'Train task 0').
  """

  def __init__(
    self, model: base.Layer, end_layers: Sequence[base.Layer], batch_signature: tuple, name: str
  ):
    self._name = name
    self._length = len(batch_signature)
    self._checks = {}  # batch index -> (number of ids, what they are)
    for index, vocab_size in id_inputs.id_input_vocab_sizes(model).items():
      self._checks[index] = (
        vocab_size,
        f'model input {index} (token ids of {model.name}\'s Embedding)',
      )
    outputs = model.output_signature(cb.inputs_from_stack(batch_signature, model.n_in))
    logits = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
    n_classes = logits.shape[-1] if logits.shape else None
    targets = model.n_in  # End layers take (model output, batch[n_in], ...).
    if model.n_out == 1 and isinstance(n_classes, int) and targets < len(batch_signature):
      for layer in end_layers:
        if metrics.takes_class_targets(layer) and targets not in self._checks:
          self._checks[targets] = (
            n_classes,
            f'batch item {targets} (targets of '
            f'{layer.name}: class ids of the model\'s '
            f'{n_classes} outputs)',
          )

  def __call__(self, batch: tuple, step: 'int | None') -> None:
    """Raises ValueError naming the task and step if `batch` has the wrong number of
    arrays or holds bad ids."""
    if len(batch) != self._length:
      raise ValueError(
        f'{self._name}, step {step}: got a batch of {len(batch)} arrays, but '
        f'its first batch had {self._length}.'
      )
    for index, (n_ids, what) in self._checks.items():
      array = batch[index] if index < len(batch) else None
      if isinstance(array, np.ndarray) and array.dtype.kind in 'iu':
        try:
          core.check_ids(array, n_ids, what)
        except ValueError as e:
          at = '' if step is None else f', step {step}'
          raise ValueError(f'{self._name}{at}: {e}') from None


def next_batch(task: Any, name: str, step: 'int | None' = None) -> tuple:
  """`task.next_batch()`, with an error naming the task and step if its stream ended."""
  try:
    return task.next_batch()
  except tasks_lib.DataStreamEndedError as e:
    at = '' if step is None else f', step {step}'
    raise tasks_lib.DataStreamEndedError(
      f'{name}{at}: {e} Give the task an endless stream (e.g. repeat the data with '
      'itertools.cycle or a `while True` generator), or run fewer steps.'
    ) from None
