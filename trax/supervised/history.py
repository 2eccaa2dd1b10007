"""Trax 1.4's `trax.supervised.history`: `History` lives in `trax.history`, below the
checkpoint files that store it."""

from trax.history import History

__all__ = ['History']
