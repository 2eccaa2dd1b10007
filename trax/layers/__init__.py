"""`trax.layers` (import as `tl`): layers and combinators."""

from trax.layers.acceleration import *  # pylint: disable=wildcard-import
from trax.layers.activation_fns import *  # pylint: disable=wildcard-import
from trax.layers.array_fns import *  # pylint: disable=wildcard-import
from trax.layers.assert_shape import *  # pylint: disable=wildcard-import
from trax.layers.attention import *
from trax.layers.attention_heads import *
from trax.layers.base import EMPTY_STATE
from trax.layers.base import EMPTY_WEIGHTS
from trax.layers.base import Fn
from trax.layers.base import GET_STATE_FROM_CACHE
from trax.layers.base import GET_WEIGHTS_FROM_CACHE
from trax.layers.base import Layer
from trax.layers.errors import LayerError
from trax.layers.errors import builds_layers_for_caller
from trax.layers.errors import caller_site
from trax.layers.errors import layers_created_at
from trax.layers.base import PureLayer
from trax.layers.flatten import np_from_file
from trax.layers.flatten import np_to_file
from trax.layers.stack import to_list
from trax.layers.flatten import flatten_weights_and_state
from trax.layers.flatten import unflatten_weights_and_state
from trax.layers.causal_attention import *  # pylint: disable=wildcard-import
from trax.layers.combinators import *  # pylint: disable=wildcard-import
from trax.layers.control_flow import *  # pylint: disable=wildcard-import
from trax.layers.config import ConfigError
from trax.layers.config import build_record
from trax.layers.config import from_config
from trax.layers.config import register
from trax.layers.pure_call import observing_calls
from trax.layers.convolution import *
from trax.layers.convolution_transpose import *
from trax.layers.convolution_variants import *  # pylint: disable=wildcard-import
from trax.layers.core import *  # pylint: disable=wildcard-import
from trax.layers.id_inputs import id_input_vocab_sizes
from trax.layers.device_helpers import *  # pylint: disable=wildcard-import
from trax.layers.initializers import *  # pylint: disable=wildcard-import
from trax.layers.legacy_metrics import *  # pylint: disable=wildcard-import
from trax.layers.merges import *  # pylint: disable=wildcard-import
from trax.layers.metrics import *  # pylint: disable=wildcard-import
from trax.layers.more_activations import *  # pylint: disable=wildcard-import
from trax.layers.multi_head_attention import *  # pylint: disable=wildcard-import
from trax.layers.normalization import *  # pylint: disable=wildcard-import
from trax.layers.normalization_variants import *  # pylint: disable=wildcard-import
from trax.layers.numpy_fn import *  # pylint: disable=wildcard-import
from trax.layers.padding import *  # pylint: disable=wildcard-import
from trax.layers.pooling import *  # pylint: disable=wildcard-import
from trax.layers.positional import *  # pylint: disable=wildcard-import
from trax.layers.recurrence import *  # pylint: disable=wildcard-import
from trax.layers.reshaping import *  # pylint: disable=wildcard-import
from trax.layers.rnn import *
from trax.layers.rnn_variants import *
from trax.layers.summaries import *  # pylint: disable=wildcard-import
from trax.layers.gaussian import *  # pylint: disable=wildcard-import
from trax.layers.wrappers import *  # pylint: disable=wildcard-import
