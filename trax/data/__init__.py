"""`trax.data`: input pipelines, synthetic tasks and tokenizers the training `Loop` consumes.

A pipeline is a function from a stream (generator) of examples to a stream; `Serial`
chains them (see `trax.data.inputs`). Importing this package does not import TensorFlow;
`TFDS` and `from_tf_dataset` import it when called.
"""

from trax.data import inputs
from trax.data import tf_inputs
from trax.data.inputs import add_loss_weights
from trax.data.inputs import addition_input_stream
from trax.data.inputs import addition_inputs
from trax.data.inputs import AddLossWeights
from trax.data.inputs import AppendValue
from trax.data.inputs import Batch
from trax.data.inputs import batch
from trax.data.inputs import batch_fn
from trax.data.inputs import batcher
from trax.data.inputs import bucket_by_length
from trax.data.inputs import BucketByLength
from trax.data.inputs import CastTo
from trax.data.inputs import ConcatenateToLMInput
from trax.data.inputs import consume_noise_mask
from trax.data.inputs import count_and_skip
from trax.data.inputs import CountAndSkip
from trax.data.inputs import data_counters
from trax.data.inputs import debug_pipeline
from trax.data.inputs import Dup
from trax.data.inputs import FilterByLength
from trax.data.inputs import FilterEmptyExamples
from trax.data.inputs import generate_random_noise_mask
from trax.data.inputs import generate_sequential_chunks
from trax.data.inputs import Inputs
from trax.data.inputs import load_data_counters
from trax.data.inputs import Log
from trax.data.inputs import lower_endian_to_number
from trax.data.inputs import make_additional_stream
from trax.data.inputs import make_inputs
from trax.data.inputs import make_parallel_stream
from trax.data.inputs import MLM
from trax.data.inputs import number_to_lower_endian
from trax.data.inputs import pad_to_max_dims
from trax.data.inputs import PadToLength
from trax.data.inputs import Parallel
from trax.data.inputs import Prefetch
from trax.data.inputs import prefetch
from trax.data.inputs import PrefixLM
from trax.data.inputs import random_inputs
from trax.data.inputs import random_number_lower_endian
from trax.data.inputs import random_spans_noise_mask
from trax.data.inputs import save_data_counters
from trax.data.inputs import sequence_copy_inputs
from trax.data.inputs import Serial
from trax.data.inputs import Shuffle
from trax.data.inputs import shuffle
from trax.data.inputs import simple_sequence_copy_inputs
from trax.data.inputs import sine_inputs
from trax.data.inputs import TruncateToLength
from trax.data.inputs import UnBatch
from trax.data.inputs import UniformlySeek
from trax.data.tf_inputs import dataset_to_stream
from trax.data.tf_inputs import from_tf_dataset
from trax.data.tf_inputs import TFDS
from trax.data.sentencepiece_vocab import build_sentencepiece_vocab
from trax.data.text_encoder import build_subword_vocab
from trax.data.tokenizers import detokenize
from trax.data.tokenizers import Tokenize
from trax.data.tokenizers import tokenize
from trax.data.tokenizers import vocab_size
