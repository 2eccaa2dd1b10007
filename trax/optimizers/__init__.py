"""`trax.optimizers`: optimizers that update the weights of Trax layers.

Each optimizer defines the update of one weight array (`init`, `update`); the base class
`Optimizer` applies it over a model's whole weight tree (`tree_init`, `tree_update`), with
gradient clipping and mixed-precision handling. See `trax.optimizers.base`.
"""

from trax.optimizers.adafactor import Adafactor
from trax.optimizers.adam import Adam
from trax.optimizers.adam import AdamSlots
from trax.optimizers.base import Optimizer
from trax.optimizers.base import clip_grads
from trax.optimizers.base import l2_norm
from trax.optimizers.momentum import Momentum
from trax.optimizers.rms_prop import RMSProp
from trax.optimizers.sgd import SGD
from trax.optimizers.sm3 import SM3
from trax.optimizers.sm3 import MomentumType
from trax.optimizers.trainer import Trainer

__all__ = [
  'Optimizer',
  'SGD',
  'Momentum',
  'RMSProp',
  'Adam',
  'AdamSlots',
  'Adafactor',
  'SM3',
  'MomentumType',
  'l2_norm',
  'clip_grads',
  'Trainer',
]
