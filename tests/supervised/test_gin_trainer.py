"""gin (optional): Trax 1.4's configurable names, its .gin configs, `python -m trax.trainer`."""

import os
import pathlib
import subprocess
import sys

import pytest

from trax.checkpoint_files import checkpoints
from tests.data import tfds_fixtures

gin = pytest.importorskip('gin')

CONFIGS = pathlib.Path(__file__).parent / 'gin_configs'
ROOT = pathlib.Path(__file__).resolve().parents[2]
SMALL_LM = [
  'TransformerLM.d_model = 16',
  'TransformerLM.d_ff = 32',
  'TransformerLM.n_heads = 2',
  'TransformerLM.n_layers = 1',
  'TransformerLM.vocab_size = 32',
  'TransformerLM.max_len = 64',
  'batcher.batch_size_per_device = 4',
  'batcher.eval_batch_size = 4',
  'batcher.buckets = ([16], [4, 4])',
  'train.eval_frequency = 2',
  'train.eval_steps = 1',
  'train.steps = 3',
]


@pytest.fixture(autouse=True)
def _clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def test_trax_names_are_registered():
  for name in (
    'trax.layers.Relu',
    'trax.layers.Dense',
    'trax.layers.GRUCell',
    'trax.models.TransformerLM',
    'trax.optimizers.Adam',
    'trax.data.BucketByLength',
    'trax.data.data_streams',
    'trax.data.Tokenize',
    'trax.supervised.trainer_lib.train',
    'trax.supervised.lr_schedules.multifactor',
    'trax.supervised.training.TrainTask',
  ):
    assert gin.config._REGISTRY.matching_selectors(name) == [name], name


def test_gin_builds_layers_that_describe_themselves():
  import trax.layers as tl

  @gin.configurable
  def make(layer=None, model=None):
    return tl.Serial(layer, model(mode='eval'))

  gin.parse_config(
    'make.layer = @trax.layers.Dense()\n'
    'Dense.n_units = 3\n'
    'make.model = @trax.models.MLP\n'
    'MLP.layer_widths = (4, 2)'
  )
  import trax.models

  config = make().config()  # gin passes keyword arguments.
  assert (
    config
    == tl.Serial(tl.Dense(n_units=3), trax.models.MLP(layer_widths=(4, 2), mode='eval')).config()
  )
  assert tl.from_config(config).config() == config
  assert tl.Dense(4).config() == {'factory': 'Dense', 'args': [4]}  # Plain calls unchanged.


def test_trax_transformer_lm_config_trains_from_tfds_data(tmp_path):
  from trax.supervised import trainer_lib

  pytest.importorskip('tensorflow_datasets')
  tfds_fixtures.build_tiny_lm(str(tmp_path / 'tfds'))
  gin.parse_config_files_and_bindings(
    [str(CONFIGS / 'transformer_lm1b_8gb_testing.gin')],
    SMALL_LM + [f"DATA_DIR = '{tmp_path / 'tfds'}'"],
  )
  loop = trainer_lib.train(output_dir=str(tmp_path / 'run'))
  assert loop.step == 3
  config = loop.model.config()
  assert config['factory'] == 'TransformerLM' and config['kwargs']['d_model'] == 16
  evals = loop.history.metrics_for_mode('eval')
  assert {
    'metrics/loss',
    'metrics/accuracy',
    'metrics/neg_log_perplexity',
    'metrics/sequence_accuracy',
    'metrics/weights_per_batch_per_core',
  } <= set(evals)
  assert [s for s, _ in loop.history.get('eval', 'metrics/loss')] == [1, 2]
  names = os.listdir(tmp_path / 'run')
  assert {'model.npz', 'config.gin', 'train', 'eval'} <= set(names)
  assert 'TransformerLM.d_model = 16' in (tmp_path / 'run' / 'config.gin').read_text()
  # Running again resumes: nothing left to do at step 3 of 3.
  assert trainer_lib.train(output_dir=str(tmp_path / 'run')).step == 3


def test_python_m_trax_trainer_trains_trax_gru_copy_config(tmp_path):
  bindings = [
    'sequence_copy_inputs.batch_size = 4',
    'sequence_copy_inputs.train_length = 4',
    'sequence_copy_inputs.pad_to_multiple = 8',
    'RNNLM.d_model = 16',
    'RNNLM.n_layers = 1',
    'train.steps = 2',
    'train.eval_frequency = 2',
    'train.eval_steps = 1',
  ]
  command = [
    sys.executable,
    '-m',
    'trax.trainer',
    f'--config_file={CONFIGS / "gru_copy.gin"}',
    f'--output_dir={tmp_path / "run"}',
  ]
  command += [f'--config={b}' for b in bindings]
  environment = dict(
    os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')
  )
  result = subprocess.run(
    command, capture_output=True, text=True, timeout=600, cwd=ROOT, env=environment
  )
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
  assert 'Trained to step 2.' in result.stdout
  saved = checkpoints.read(str(tmp_path / 'run' / 'model.npz'))
  assert saved.step == 2 and saved.model_config['factory'] == 'RNNLM'
  # gin passed its wrapper of GRUCell; the config names the layer class.
  assert saved.model_config['kwargs']['rnn_cell'] == {'fn': 'GRUCell'}


def test_without_gin_nothing_of_gin_is_imported():
  code = (
    'import sys\n'
    'sys.modules["gin"] = None  # As if gin-config were not installed.\n'
    'import trax, trax.layers as tl\n'
    'assert sys.modules["gin"] is None\n'
    'assert not [m for m in sys.modules if m.startswith("gin.")]\n'
    'from trax import trainer\n'
    'assert trainer.main(["--config_file=x.gin"]) == 2\n'
    'print("ok")\n'
  )
  result = subprocess.run(
    [sys.executable, '-c', code],
    capture_output=True,
    text=True,
    cwd=ROOT,
    timeout=300,
    env=dict(os.environ, PYTHONPATH=str(ROOT)),
  )
  assert result.stdout.strip().endswith('ok'), result.stderr[-2000:]
  assert 'install gin-config' in result.stderr


def test_direct_calls_of_configurable_functions_take_the_bindings():
  import trax
  import trax.data.inputs
  import trax.layers as tl
  from trax.supervised import lr_schedules

  gin.parse_config(
    [
      'trax.models.MLP.layer_widths = (7,)',
      'trax.supervised.lr_schedules.constant.value = 0.25',
      'trax.data.sine_inputs.batch_size = 3',
      'trax.data.sine_inputs.length = 8',
    ]
  )
  model = trax.models.MLP()  # As Trax 1.4's wrappers did.
  assert [layer.name for layer in model.sublayers] == ['Flatten_keep1', 'Dense_7']
  assert lr_schedules.constant()(5) == 0.25
  assert next(trax.data.sine_inputs().train_stream(1))[0].shape == (3, 8)
  # Re-exports too (Trax 1.4's `trax.data.inputs.make_inputs` is defined elsewhere here).
  assert trax.data.inputs.make_inputs is trax.data.make_inputs
  assert trax.data.make_inputs.__wrapped__.__module__ == 'trax.data.bundles'
  # The layers describe what they were built with, so they rebuild without gin.
  assert model.config() == {'factory': 'MLP', 'kwargs': {'layer_widths': {'tuple': [7]}}}
  gin.clear_config()
  assert [l.name for l in tl.from_config(model.config()).sublayers][-1] == 'Dense_7'
  assert [l.name for l in trax.models.MLP().sublayers][-1] == 'Dense_64'  # The default widths.
  # Classes stay classes: a direct call takes its own arguments only.
  assert isinstance(tl.Dense(3), tl.Dense)
