"""Input pipelines: functions from a stream of examples to a stream of examples.

A pipeline stage is a function `generator -> generator`; `Serial` chains stages, and the
first stage is called with `None`, so it is usually a data source::

  from trax import data

  pipeline = data.Serial(
      data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
      data.Tokenize(vocab_type='sentencepiece', vocab_file='spm.model', keys=[0]),
      data.Shuffle(seed=0),
      data.FilterByLength(max_length=2048, length_keys=[0]),
      data.BucketByLength(boundaries=[32, 128, 512, 2048],
                          batch_sizes=[128, 32, 8, 2, 1],
                          length_keys=[0]),
      data.AddLossWeights(),
      data.Prefetch(),
  )
  batches = pipeline()  # A generator of (inputs, targets, weights) numpy batches.

Examples are tuples of numpy arrays (or single arrays); plain Python `map` and `filter` are
pipeline stages too (`lambda g: map(f, g)`).

Randomness: only `Shuffle` (and the synthetic tasks) draw random numbers. Each takes a
`seed`; each call of the stage makes its own `numpy.random.Generator` from that seed, so
rebuilding a pipeline replays the same order. `seed=None` draws fresh entropy from the
operating system. Nothing here reads or changes numpy's global random state.

This module is Trax 1.4's `trax.data.inputs` namespace: it re-exports the functions that
sibling modules define (`pipeline`, `mixing`, `batching`, `transforms`, `span_corruption`,
`counters`, `bundles`, `prefetch`, `synthetic`, `arithmetic`).
"""

from trax.data.arithmetic import addition_input_stream
from trax.data.arithmetic import addition_inputs
from trax.data.arithmetic import lower_endian_to_number
from trax.data.arithmetic import number_to_lower_endian
from trax.data.arithmetic import random_number_lower_endian
from trax.data.bundles import batch_fn
from trax.data.bundles import batcher
from trax.data.bundles import make_additional_stream
from trax.data.bundles import make_inputs
from trax.data.bundles import make_parallel_stream
from trax.data.batching import Batch
from trax.data.batching import batch
from trax.data.batching import BucketByLength
from trax.data.batching import bucket_by_length
from trax.data.batching import pad_to_max_dims
from trax.data.batching import UnBatch
from trax.data.counters import count_and_skip
from trax.data.counters import CountAndSkip
from trax.data.counters import data_counters
from trax.data.counters import load_data_counters
from trax.data.counters import save_data_counters
from trax.data.counters import UniformlySeek
from trax.data.mixing import Parallel
from trax.data.pipeline import debug_pipeline
from trax.data.pipeline import Log
from trax.data.pipeline import Serial
from trax.data.pipeline import shuffle
from trax.data.pipeline import Shuffle
from trax.data.prefetch import Prefetch
from trax.data.prefetch import prefetch
from trax.data.span_corruption import consume_noise_mask
from trax.data.span_corruption import generate_random_noise_mask
from trax.data.span_corruption import generate_sequential_chunks
from trax.data.span_corruption import MLM
from trax.data.span_corruption import PrefixLM
from trax.data.span_corruption import random_spans_noise_mask
from trax.data.synthetic import Inputs
from trax.data.synthetic import random_inputs
from trax.data.synthetic import sequence_copy_inputs
from trax.data.synthetic import simple_sequence_copy_inputs
from trax.data.synthetic import sine_inputs
from trax.data.transforms import add_loss_weights
from trax.data.transforms import AddLossWeights
from trax.data.transforms import AppendValue
from trax.data.transforms import CastTo
from trax.data.transforms import ConcatenateToLMInput
from trax.data.transforms import Dup
from trax.data.transforms import FilterByLength
from trax.data.transforms import FilterEmptyExamples
from trax.data.transforms import PadToLength
from trax.data.transforms import TruncateToLength

__all__ = [
  'add_loss_weights',
  'addition_input_stream',
  'addition_inputs',
  'AddLossWeights',
  'AppendValue',
  'Batch',
  'batch',
  'batch_fn',
  'batcher',
  'bucket_by_length',
  'BucketByLength',
  'CastTo',
  'ConcatenateToLMInput',
  'consume_noise_mask',
  'count_and_skip',
  'CountAndSkip',
  'data_counters',
  'debug_pipeline',
  'Dup',
  'FilterByLength',
  'FilterEmptyExamples',
  'generate_random_noise_mask',
  'generate_sequential_chunks',
  'Inputs',
  'load_data_counters',
  'Log',
  'lower_endian_to_number',
  'make_additional_stream',
  'make_inputs',
  'make_parallel_stream',
  'MLM',
  'number_to_lower_endian',
  'pad_to_max_dims',
  'PadToLength',
  'Parallel',
  'Prefetch',
  'prefetch',
  'PrefixLM',
  'random_inputs',
  'random_number_lower_endian',
  'random_spans_noise_mask',
  'save_data_counters',
  'sequence_copy_inputs',
  'Serial',
  'Shuffle',
  'shuffle',
  'simple_sequence_copy_inputs',
  'sine_inputs',
  'TruncateToLength',
  'UnBatch',
  'UniformlySeek',
]
