"""`trax.supervised`: supervised training (`training.Loop`), decoding, schedules, history."""

from trax.supervised import callbacks
from trax.supervised import decoding
from trax.supervised import history
from trax.supervised import lr_schedules
from trax.supervised import trainer_lib
from trax.supervised import training
from trax.supervised.trainer_lib import train
from trax.supervised.training import EvalTask
from trax.supervised.training import Loop
from trax.supervised.training import TrainTask
