"""`History`: the metrics a training run recorded, by mode and metric name.

Trax 1.x pickled this class as `trax.supervised.history.History` (still importable there)
with its attribute `_values`; the restricted unpickler reads those records by that name.
"""

import copy
from typing import Any


class History:
  """Values of metrics recorded during training and evaluation.

  Each `(mode, metric)` pair holds a list of `(step, value)` pairs in the order appended.

  >>> history = History()
  >>> history.append('train', 'metrics/accuracy', 1, 0.04)
  >>> history.append('train', 'metrics/accuracy', 1000, 0.31)
  >>> history.get('train', 'metrics/accuracy')
  [(1, 0.04), (1000, 0.31)]
  """

  # Pickles name a class by its module: keep Trax 1.x's path, so the files we pickle (Trax
  # 1.4's `pickle_to_file`, trainer states) read in Trax 1.x and in our restricted unpickler.
  __module__ = 'trax.supervised.history'

  def __init__(self):
    self._values: dict[str, dict[str, list[tuple[int, Any]]]] = {}

  def append(self, mode: str, metric: str, step: int, value: Any) -> None:
    """Records `value` of `metric` at `step` under `mode` (e.g. 'train' or 'eval').

    Scalars (Python, numpy or jax) are stored as Python numbers, so a history survives a
    round trip through JSON unchanged.
    """
    self._values.setdefault(mode, {}).setdefault(metric, []).append(
      (int(step), _as_python_scalar(value))
    )

  def get(self, mode: str, metric: str) -> list[tuple[int, Any]]:
    """The `(step, value)` pairs of `metric` under `mode`; `[]` if none were recorded."""
    return list(self._values.get(mode, {}).get(metric, []))

  @property
  def modes(self) -> list[str]:
    """The modes with recorded metrics, sorted."""
    return sorted(self._values)

  def metrics_for_mode(self, mode: str) -> list[str]:
    """The metric names recorded under `mode`, sorted; `[]` for an unknown mode."""
    return sorted(self._values.get(mode, {}))

  def to_dict(self) -> dict:
    """A deep copy of the recorded values, as Trax 1.x lays it out: `{'_values': ...}`."""
    return {'_values': copy.deepcopy(self._values)}

  @classmethod
  def from_dict(cls, json_object: dict) -> 'History':
    """Rebuilds a `History` from `to_dict()` output (ours, from JSON, or Trax 1.x's).

    Raises:
      ValueError: `json_object` does not hold a `'_values'` mapping of modes to metrics.
    """
    values = json_object.get('_values') if isinstance(json_object, dict) else None
    if not isinstance(values, dict):
      raise ValueError(
        'History.from_dict expects a dict with a "_values" entry mapping '
        f'modes to metrics, got {json_object!r:.200}.'
      )
    history = cls()
    for mode, metrics in values.items():
      for metric, pairs in metrics.items():
        for step, value in pairs:
          history.append(mode, metric, step, value)
    return history

  def __eq__(self, other: Any) -> bool:
    return isinstance(other, History) and self._values == other._values

  def __repr__(self) -> str:
    return f'History({self._values})'


def _as_python_scalar(value: Any) -> Any:
  if hasattr(value, 'ndim') and value.ndim == 0:
    return value.item()
  return value
