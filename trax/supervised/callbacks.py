"""Callbacks: code the training `Loop` runs before and after chosen training steps.

Use them for custom evaluations, logging to external services, exporting checkpoints, or
updating a target network. Pass the classes (or any callable taking the loop) to
`Loop(..., callbacks=[MyCallback])`; the loop builds one instance per entry.

>>> class PrintLoss(TrainingStepCallback):
...   def call_at(self, step):
...     return step % 100 == 0
...   def on_step_end(self, step):
...     print(step, self._loop.history.get('train', 'metrics/loss')[-1:])
"""

from typing import Any


class TrainingStepCallback:
  """Base class of callbacks triggered before and after a training step.

  For every step `n` (counting from 1, as `Loop.step` does after the step) the loop calls
  `on_step_begin(n)` before computing the step and `on_step_end(n)` after it, each only when
  `call_at(n)` is true. Both see `loop.model` holding the current weights and state.

  Unlike Trax 1.4, whose base class raised `NotImplementedError`, the defaults here are
  usable: `call_at` is true at every step and the hooks do nothing, so a subclass overrides
  only what it needs.

  Args:
    loop: the `trax.supervised.training.Loop` running the callback.
  """

  def __init__(self, loop: Any):
    self._loop = loop

  def call_at(self, step: int) -> bool:
    """Whether the hooks run at training step `step`."""
    del step
    return True

  def on_step_begin(self, step: int) -> None:
    """Runs before training step `step` (when `call_at(step)`)."""

  def on_step_end(self, step: int) -> None:
    """Runs after training step `step` (when `call_at(step)`)."""
