"""Checks of layer constructor arguments, shared so every layer says the same thing."""

import inspect
from collections.abc import Callable


def check_fraction(where: str, name: str, value: float, one_allowed: bool = False) -> None:
  """Raises ValueError unless `0 <= value < 1` (`<= 1` with `one_allowed`).

  Dropout rates exclude 1 (nothing would be kept, and kept units are scaled by
  `1 / (1 - rate)`); probabilities and smoothing weights may be 1.

  Args:
    where: the layer (or function) named in the message, e.g. `'PureAttention'`.
    name: the argument, e.g. `'dropout'`.
    value: its value.
    one_allowed: whether 1 itself is valid.
  """
  if not (0.0 <= value <= 1.0 if one_allowed else 0.0 <= value < 1.0):
    interval = '[0, 1]' if one_allowed else '[0, 1)'
    prefix = f'{where}: ' if where else ''
    raise ValueError(f'{prefix}{name} must be in {interval}, got {value}.')


def n_positional_args(f: Callable, name: str) -> int:
  """The number of arguments of `f`, which may have no default, keyword or variable ones
  (as Trax's `Fn` required)."""
  try:
    parameters = inspect.signature(f).parameters.values()
  except (TypeError, ValueError):
    raise ValueError(f'Fn {name}: cannot read the signature of {f!r}.') from None
  refused = {
    inspect.Parameter.VAR_POSITIONAL: 'variable args (*args)',
    inspect.Parameter.VAR_KEYWORD: 'keyword args (**kwargs)',
    inspect.Parameter.KEYWORD_ONLY: 'keyword-only args',
  }
  for p in parameters:
    if p.kind in refused or p.default is not p.empty:
      what = refused.get(p.kind, 'default args')
      raise ValueError(
        f'Fn {name}: the function has {what} ({p.name}); it must take only '
        'positional arguments without defaults, one per input. (Bind '
        'options in a closure.)'
      )
  return len(parameters)
