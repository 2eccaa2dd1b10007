"""trax holds every public name of Trax 1.4's core namespaces, except the README's omissions.

The lists are Trax 1.4.1's public names (read from its source): `trax.layers` without its
research, reversible and efficient-attention modules, `trax.fastmath`, `trax.shapes`,
`trax.optimizers`, `trax.models` (without its research models) and `trax.supervised` with
its `training`, `decoding`, `lr_schedules` and `trainer_lib` modules. (`trax.data` has
its own test, tests/data/test_trax14_names.py.)
"""

import importlib
import pathlib
import re

import pytest

TRAX14 = {
  'trax.layers': """
Accelerate Accuracy Add ArgMax AssertFunction AssertShape AtariConvInit Attention
AttentionQKV AvgPool BatchLeadingAxes BatchNorm Bidirectional BinaryCrossEntropy
BinaryCrossEntropyLoss BinaryCrossEntropySum Branch Cache CategoryAccuracy
CategoryCrossEntropy CausalAttention CausalConv CausalDepthwiseConv Chunk Concatenate
Cond ConfigurableAttention Conv Conv1d ConvGRUCell ConvTranspose CrossEntropyLoss
CrossEntropyLossWithLogSoftmax CrossEntropySum Dense DotProductAttention
DotProductCausalAttention Drop Dropout Dup EMPTY_STATE EMPTY_WEIGHTS Elu Embedding
EncoderDecoderMask Exp FastGelu FilterResponseNorm Flatten FlattenList Fn
GET_STATE_FROM_CACHE GET_WEIGHTS_FROM_CACHE GRU GRUCell Gate Gelu GeneralGRUCell
GlorotNormalInitializer GlorotUniformInitializer Glu HardSigmoid HardTanh
InitializerFromFile InnerSRUCell KaimingNormalInitializer KaimingUniformInitializer
L2Loss LSTM LSTMCell Layer LayerError LayerNorm LeCunNormalInitializer
LeCunUniformInitializer LeakyRelu LocallyConnected1d Log LogSoftmax LogSumExp
MacroAveragedFScore MakeZeroState MaskedSequenceAccuracy Max MaxPool Mean MergeHeads Min
Multiply N_WEIGHTS_SHARDS Negate OrthogonalInitializer PaddingMask Parallel
ParametricRelu PositionalEncoding PrintShape PureAttention PureLayer
RandomNormalInitializer RandomUniform RandomUniformInitializer Relu Residual SRU
ScaledInitializer Scan ScanSRUCell Select Selu SequenceAccuracy Serial
SerialWithSideOutputs ShiftRight Sigmoid SmoothL1Loss Softmax Softplus Split
SplitIntoHeads StopGradient SubtractTop Sum SumPool SummaryImage SummaryScalar Swap
Swish Tanh ThresholdToBinary ThresholdedLinearUnit ToFloat WeightedCategoryAccuracy
WeightedCategoryCrossEntropy WeightedFScore WeightedSum Weights assert_shape
flatten_weights_and_state for_n_devices inputs_from_stack jit_forward
log_gaussian_diag_pdf log_gaussian_pdf log_softmax logsoftmax_sample mean_or_pmean
multigaussian_loss np_from_file np_to_file on_accelerator on_cpu one_hot
outputs_onto_stack reshape_by_device shard to_list unflatten_weights_and_state unshard
unshard_in_pmap
""",
  'trax.fastmath': """
Backend NumpyBackend RandomBackend abstract_eval avg_pool backend backend_name cond conv
custom_grad custom_vjp dataset_as_numpy default_backend disable_jit dynamic_slice
dynamic_slice_in_dim dynamic_update_slice dynamic_update_slice_in_dim erf expit
fori_loop global_device_count grad index_add index_max index_min index_update is_backend
jit local_device_count logsumexp lt map max_pool nested_map nested_map_multiarg
nested_stack nested_zip numpy override_backend pmap psum random remat scan set_backend
sigmoid sort_key_val stop_gradient sum_pool top_k tree_flatten tree_leaves
tree_unflatten use_backend value_and_grad vjp vmap
""",
  'trax.shapes': 'ShapeDtype assert_same_shape assert_shape_equals signature splice_signatures',
  'trax.optimizers': """
Adafactor Adam Momentum RMSProp SGD SM3 Trainer ReversibleSerialTrainer adafactor adam base
momentum rms_prop sm3 trainer
""",
  'trax.models': """
AtariCnn AtariCnnBody FrameStackMLP MLP NeuralGPU Resnet50 WideResnet Policy PolicyAndValue
Value Quality RNNLM GRULM LSTMSeq2SeqAttn Transformer TransformerDecoder TransformerEncoder
TransformerLM atari_cnn mlp neural_gpu resnet rl rnn transformer
""",
  'trax.supervised': """
callbacks decoding lr_schedules trainer_lib training train Trainer EvalTask TrainTask
""",
  'trax.supervised.training': """
EvalTask Loop TrainTask init_host_and_devices pickle_to_file unpickle_from_file
""",
  'trax.supervised.decoding': 'autoregressive_sample autoregressive_sample_stream beam_search',
  'trax.supervised.lr_schedules': 'constant multifactor warmup warmup_and_rsqrt_decay',
  'trax.supervised.trainer_lib': """
NamedStream OptState Trainer TrainerState epochs load_trainer_state log
make_trainer_state_dict named_stream num_devices train trainer_state_from_dict
""",
}

README = pathlib.Path(__file__).resolve().parents[1] / 'README.md'


def omitted(namespace: str) -> set:
  """Names the README's 'Differences from Trax 1.4' section lists as omitted."""
  text = README.read_text(encoding='utf-8')
  section = text.split('## Differences from Trax 1.4', 1)[1].split('\n## ', 1)[0]
  parts = section.split(f'\n- `{namespace}`:', 1)
  if len(parts) == 1:
    return set()
  names = parts[1].split('\n- ', 1)[0].split(':', 1)[0]  # Names end at the colon.
  return set(re.findall(r'`([A-Za-z_][A-Za-z0-9_]*)`', names))


@pytest.mark.parametrize('namespace', sorted(TRAX14))
def test_trax14_names_exist_except_listed_omissions(namespace):
  module = importlib.import_module(namespace)
  names, omissions = set(TRAX14[namespace].split()), omitted(namespace)
  assert omissions <= names, f'omissions that are no Trax 1.4 names: {omissions - names}'
  missing = sorted(n for n in names - omissions if not hasattr(module, n))
  assert not missing, f'{namespace} lacks {missing} (add them or list them in the README)'
  present = sorted(n for n in omissions if hasattr(module, n))
  assert not present, f'{namespace}: the README lists {present} as omitted, but they exist'
