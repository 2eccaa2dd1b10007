"""`trax.data`: input pipelines, synthetic tasks and tokenizers the training `Loop` consumes.

A pipeline is a function from a stream (generator) of examples to a stream; `Serial`
chains them (see `trax.data.inputs`). Importing this package does not import TensorFlow;
`TFDS` and `from_tf_dataset` import it when called.
"""

from trax.data import inputs
from trax.data import tf_inputs
from trax.data.batching import Batch
from trax.data.batching import batch
from trax.data.batching import BucketByLength
from trax.data.batching import bucket_by_length
from trax.data.batching import pad_to_max_dims
from trax.data.batching import UnBatch
from trax.data.inputs import Log
from trax.data.inputs import Parallel
from trax.data.inputs import Serial
from trax.data.inputs import Shuffle
from trax.data.inputs import shuffle
from trax.data.per_process import shard_for_process
from trax.data.per_process import ShardForProcess
from trax.data.prefetch import Prefetch
from trax.data.prefetch import prefetch
from trax.data.synthetic import addition_inputs
from trax.data.synthetic import Inputs
from trax.data.synthetic import random_inputs
from trax.data.synthetic import sequence_copy_inputs
from trax.data.synthetic import simple_sequence_copy_inputs
from trax.data.tf_inputs import dataset_to_stream
from trax.data.tf_inputs import from_tf_dataset
from trax.data.tf_inputs import TFDS
from trax.data.tokenizers import build_sentencepiece_vocab
from trax.data.tokenizers import detokenize
from trax.data.tokenizers import Tokenize
from trax.data.tokenizers import tokenize
from trax.data.tokenizers import vocab_size
from trax.data.transforms import add_loss_weights
from trax.data.transforms import AddLossWeights
from trax.data.transforms import CastTo
from trax.data.transforms import ConcatenateToLMInput
from trax.data.transforms import FilterByLength
from trax.data.transforms import FilterEmptyExamples
from trax.data.transforms import PadToLength
from trax.data.transforms import TruncateToLength
