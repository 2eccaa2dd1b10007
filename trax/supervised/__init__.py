"""`trax.supervised`: supervised training."""

from trax.supervised import lr_schedules
