"""What a checkpoint holds: the plain data both formats (ours and Trax 1.x's) read into."""

import dataclasses
from typing import Any

from trax import history as history_lib
from trax.checkpoint_files.checkpoint_archive import FORMAT


@dataclasses.dataclass
class TaskCheckpoint:
  """What a checkpoint keeps of one train task."""

  flat_slots: list = dataclasses.field(default_factory=list)
  opt_params: dict = dataclasses.field(default_factory=dict)
  flat_loss_weights: list = dataclasses.field(default_factory=list)
  flat_loss_state: list = dataclasses.field(default_factory=list)
  n_batches: int = 0


@dataclasses.dataclass
class Checkpoint:
  """The contents of a checkpoint file (numpy arrays and plain data)."""

  flat_weights: list
  flat_state: 'list | None' = None
  step: int = 0
  history: history_lib.History = dataclasses.field(default_factory=history_lib.History)
  input_signature: Any = None
  model_config: 'dict | None' = None
  tasks: list = dataclasses.field(default_factory=list)
  eval_n_batches: list = dataclasses.field(default_factory=list)
  rng: Any = None
  source_format: str = FORMAT
