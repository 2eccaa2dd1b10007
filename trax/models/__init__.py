"""`trax.models`: ready-made models built from `trax.layers`.

Each model is a registered factory returning one layer, so `model.config()` describes it as
the factory call and `tl.from_config(config, mode='eval')` rebuilds it in another mode.
"""

from trax.models import atari_cnn
from trax.models import mlp
from trax.models import neural_gpu
from trax.models import resnet
from trax.models import rnn
from trax.models import transformer
from trax.models.atari_cnn import AtariCnn
from trax.models.atari_cnn import AtariCnnBody
from trax.models.atari_cnn import FrameStackMLP
from trax.models.mlp import MLP
from trax.models.neural_gpu import NeuralGPU
from trax.models.resnet import ConvBlock
from trax.models.resnet import IdentityBlock
from trax.models.resnet import Resnet50
from trax.models.resnet import WideResnet
from trax.models.resnet import WideResnetBlock
from trax.models.resnet import WideResnetGroup
from trax.models.rnn import GRULM
from trax.models.rnn import LSTMSeq2SeqAttn
from trax.models.rnn import RNNLM
from trax.models.transformer import Transformer
from trax.models.transformer import TransformerDecoder
from trax.models.transformer import TransformerEncoder
from trax.models.transformer import TransformerLM

__all__ = [
  'MLP',
  'Transformer',
  'TransformerDecoder',
  'TransformerEncoder',
  'TransformerLM',
  'RNNLM',
  'GRULM',
  'LSTMSeq2SeqAttn',
  'Resnet50',
  'ConvBlock',
  'IdentityBlock',
  'WideResnet',
  'WideResnetBlock',
  'WideResnetGroup',
  'AtariCnn',
  'AtariCnnBody',
  'FrameStackMLP',
  'NeuralGPU',
]
