"""trax.data holds every public name of Trax 1.4's trax.data, except the README's omissions."""

import pathlib
import re

from trax import data

# Trax 1.4's trax/data/__init__.py, name for name.
TRAX14_DATA = """
debug_pipeline add_loss_weights addition_inputs AddLossWeights AppendValue batch Batch
bucket_by_length BucketByLength CastTo ConcatenateToLMInput consume_noise_mask CountAndSkip
Dup FilterByLength FilterEmptyExamples generate_random_noise_mask generate_sequential_chunks
Log MLM PadToLength Parallel Prefetch PrefixLM random_spans_noise_mask sequence_copy_inputs
Serial shuffle Shuffle simple_sequence_copy_inputs sine_inputs TruncateToLength UnBatch
UniformlySeek add_eos_to_output_features BertGlueEvalStream BertGlueTrainStream
BertNextSentencePredictionInputs cifar10_augmentation_flatten_preprocess
cifar10_augmentation_preprocess ConvertToUnicode CorpusToRandomChunks
CreateAnnotatedDropInputs CreateAquaInputs CreateBertInputs CreateDropInputs
CreateMathQAInputs data_streams detokenize downsampled_imagenet_flatten_bare_preprocess
filter_dataset_on_len lm1b_preprocess mask_random_tokens sentencepiece_tokenize
SentencePieceTokenize squeeze_targets_preprocess T5GlueEvalStream T5GlueEvalStreamsParallel
T5GlueEvalTasks T5GlueTrainStream T5GlueTrainStreamsParallel TFDS tokenize Tokenize
truncate_dataset_on_len vocab_size wmt_concat_preprocess wmt_preprocess
""".split()

# The public names of Trax 1.4's trax/data/inputs.py.
TRAX14_INPUTS = """
Serial Parallel Shuffle Batch Dup FilterEmptyExamples FilterByLength TruncateToLength
PadToLength BucketByLength MLM PrefixLM ConcatenateToLMInput CastTo AppendValue
AddLossWeights UnBatch Prefetch UniformlySeek CountAndSkip Log shuffle batch pad_to_max_dims
bucket_by_length add_loss_weights generate_random_noise_mask consume_noise_mask
generate_sequential_chunks addition_input_stream random_spans_noise_mask
lower_endian_to_number number_to_lower_endian random_number_lower_endian data_counters
count_and_skip save_data_counters load_data_counters Inputs make_inputs
make_additional_stream make_parallel_stream batcher batch_fn random_inputs
sequence_copy_inputs simple_sequence_copy_inputs addition_inputs sine_inputs
""".split()

# Generic functions of Trax 1.4's trax/data/tf_inputs.py beyond those in __init__.
TRAX14_TF_INPUTS = """
dataset_to_stream no_preprocess cifar10_no_augmentation_preprocess concat_preprocess
lm_token_preprocessing pad_dataset_to_length
""".split()

README = pathlib.Path(__file__).resolve().parents[2] / 'README.md'


def omitted(namespace: str) -> set:
  """Names the README's 'Differences from Trax 1.4' section lists as omitted."""
  text = README.read_text(encoding='utf-8')
  section = text.split('## Differences from Trax 1.4', 1)[1].split('\n## ', 1)[0]
  bullet = section.split(f'\n- `{namespace}`:', 1)[1].split('\n- ', 1)[0]
  names = bullet.split(':', 1)[0]  # The names end at the colon before the reason.
  return set(re.findall(r'`([A-Za-z_][A-Za-z0-9_]*)`', names))


def test_trax_data_has_trax_14_names_except_listed_omissions():
  omissions = omitted('trax.data')
  assert omissions <= set(TRAX14_DATA), omissions - set(TRAX14_DATA)
  missing = [n for n in TRAX14_DATA if n not in omissions and not hasattr(data, n)]
  assert not missing
  assert not [n for n in omissions if hasattr(data, n)]  # The list is up to date.


def test_trax_data_inputs_and_tf_inputs_namespaces():
  assert not [n for n in TRAX14_INPUTS if not hasattr(data.inputs, n)]
  tf_names = [
    n
    for n in TRAX14_DATA
    if n not in omitted('trax.data') and n not in TRAX14_INPUTS and n != 'debug_pipeline'
  ] + TRAX14_TF_INPUTS
  assert not [n for n in tf_names if not hasattr(data.tf_inputs, n)]
