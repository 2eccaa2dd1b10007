"""Checks of layer constructor arguments, shared so every layer says the same thing."""


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
  if not (0. <= value <= 1. if one_allowed else 0. <= value < 1.):
    interval = '[0, 1]' if one_allowed else '[0, 1)'
    prefix = f'{where}: ' if where else ''
    raise ValueError(f'{prefix}{name} must be in {interval}, got {value}.')
