"""Tests of layer.config() / tl.from_config: JSON round trips, sharing, modes and safety."""

import json
import os

import jax
import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness
from tests.layers import test_acceleration
from tests.layers import test_combinators
from tests.layers import test_control_flow
from tests.layers import test_wrappers

S = shapes.ShapeDtype
RNG = harness.RNG
COMBINATOR_CASES = (
  test_combinators.PARITY_CASES
  + test_control_flow.PARITY_CASES
  + test_wrappers.PARITY_CASES
  + test_acceleration.PARITY_CASES
)


@tl.register
def _double(x):
  return 2.0 * x


def _through_json(layer, mode=None):
  return tl.from_config(json.loads(json.dumps(layer.config())), mode=mode)


@pytest.mark.parametrize('case', COMBINATOR_CASES, ids=str)
def test_every_combinator_round_trips_through_json(case):
  layer = case.make()
  rebuilt = _through_json(layer)
  assert rebuilt.config() == layer.config()
  assert repr(rebuilt) == repr(layer)
  weights, state = layer.init(case.input_signature, rng=RNG)
  rebuilt_weights, rebuilt_state = rebuilt.init(case.input_signature, rng=RNG)
  harness.assert_trees_close(rebuilt_weights, weights, 0.0, 0.0)
  inputs = harness.random_inputs(
    case.input_signature, **{k: v for k, v in case.options.items() if k == 'int_high'}
  )
  harness.assert_trees_close(
    rebuilt.pure_fn(inputs, rebuilt_weights, rebuilt_state, RNG)[0],
    layer.pure_fn(inputs, weights, state, RNG)[0],
  )


def test_config_is_plain_json_naming_factories_and_arguments():
  layer = tl.Serial(tl.Dense(3, use_bias=False), tl.Select([1, 0], n_in=2))
  assert layer.config() == {
    'factory': 'Serial',
    'args': [
      {'factory': 'Dense', 'args': [3], 'kwargs': {'use_bias': False}},
      {'factory': 'Select', 'args': [[1, 0]], 'kwargs': {'n_in': 2}},
    ],
  }


def test_initializers_tuples_and_dtypes_round_trip():
  layer = tl.Serial(
    tl.Dense(3, kernel_initializer=tl.RandomNormalInitializer(0.5)),
    tl.Dropout(0.1, shared_axes=(0,)),
    tl.Fn('Double', _double),
  )
  rebuilt = _through_json(layer)
  assert rebuilt.config() == layer.config()
  assert rebuilt.sublayers[1]._shared_axes == (0,)
  weights, _ = layer.init(S((2, 4)), rng=RNG)
  harness.assert_trees_close(rebuilt.init(S((2, 4)), rng=RNG)[0], weights, 0.0, 0.0)


def test_shared_layers_come_back_shared():
  dense = tl.Dense(4)
  model = tl.Serial(dense, tl.Relu(), tl.Branch(dense, None), tl.Add())
  config = model.config()
  assert json.dumps(config).count('"Dense"') == 1
  rebuilt = _through_json(model)
  first, second = rebuilt.sublayers[0], rebuilt.sublayers[2].sublayers[1].sublayers[0]
  assert first is second
  weights, state = rebuilt.init(S((2, 4)), rng=RNG)
  assert len(tl.flatten_weights_and_state(weights, state)[0]) == 2


def _walk(layer):
  yield layer
  for sublayer in layer.sublayers:
    yield from _walk(sublayer)


def test_from_config_switches_the_mode():
  model = tl.Serial(
    tl.Dense(8),
    tl.Residual(tl.Dropout(0.9)),
    tl.Scan(tl.Fn('Step', test_control_flow._running_sum, n_out=2)),
  )
  eval_model = tl.from_config(model.config(), mode='eval')
  modes = lambda m: [l._mode for l in _walk(m) if hasattr(l, '_mode')]
  assert modes(model) == ['train', 'train'] and modes(eval_model) == ['eval', 'eval']
  x = np.ones((4, 8), np.float32)
  residual = tl.Serial(eval_model.sublayers[:2])
  residual.init(S((4, 8)))
  np.testing.assert_allclose(residual(x), 2.0 * eval_model.sublayers[0](x), rtol=1e-6)


def test_a_lambda_cannot_be_described_and_the_error_says_how_to_fix_it():
  layer = tl.Serial(tl.Dense(2), tl.Fn('Square', lambda x: x * x))
  with pytest.raises(tl.ConfigError) as error:
    layer.config()
  message = str(error.value)
  assert 'test_config.py:' in message  # where the layer was made
  assert '@tl.register' in message and 'module level' in message


def test_a_registered_function_round_trips():
  layer = tl.Fn('Double', _double)
  config = layer.config()
  assert config['args'][1] == {'fn': 'tests.layers.test_config._double'}
  rebuilt = _through_json(layer)
  np.testing.assert_allclose(rebuilt(np.ones(3, np.float32)), 2.0)


def test_unregistered_names_are_refused_with_a_clear_error():
  with pytest.raises(tl.ConfigError, match="'NoSuchLayer'.*registered.*@tl.register"):
    tl.from_config({'factory': 'NoSuchLayer', 'args': [3]})
  with pytest.raises(tl.ConfigError, match='Unrecognized config node'):
    tl.from_config({'factory': 'Serial', 'args': [{'pickle': 'x'}]})


@pytest.mark.parametrize(
  'node',
  [
    {'factory': 'os.system', 'args': ['touch {target}']},
    {'factory': 'posix.system', 'args': ['touch {target}']},
    {'factory': 'builtins.eval', 'args': ['open("{target}", "w")']},
    {'factory': 'subprocess.call', 'args': [['touch', '{target}']]},
    {'factory': 'Fn', 'args': ['Evil', {'fn': 'os.system'}]},
    {'factory': 'Serial', 'args': [{'fn': 'builtins.exec'}]},
  ],
)
def test_a_crafted_config_cannot_run_arbitrary_functions(node, tmp_path):
  target = str(tmp_path / 'pwned')
  config = json.loads(json.dumps(node).replace('{target}', target))
  with pytest.raises(tl.ConfigError, match='registered'):
    tl.from_config(config)
  assert not os.path.exists(target)


def test_config_survives_a_second_round_trip_and_mode_none_keeps_modes():
  model = tl.Serial(tl.Dense(2), tl.Dropout(0.3, mode='eval'))
  once = _through_json(model)
  twice = _through_json(once)
  assert twice.config() == model.config()
  assert twice.sublayers[1]._mode == 'eval'
  weights, _ = model.init(S((1, 2)), rng=RNG)
  for a, b in zip(jax.tree.leaves(weights), jax.tree.leaves(twice.init(S((1, 2)), rng=RNG)[0])):
    np.testing.assert_array_equal(a, b)


def test_safe_mode_is_the_default_and_refuses_file_readers_and_huge_sizes(tmp_path):
  path = str(tmp_path / 'w.npy')
  np.save(path, np.ones((3, 2), np.float32))
  reads_file = tl.Dense(2, kernel_initializer=tl.InitializerFromFile(path)).config()
  with pytest.raises(
    tl.ConfigError,
    match=r'Safe mode: refusing InitializerFromFile, which '
    r'reads local files.*safe_mode=False',
  ):
    tl.from_config(reads_file)
  trusted = tl.from_config(reads_file, safe_mode=False)
  np.testing.assert_array_equal(trusted.init(shapes.ShapeDtype((1, 3)))[0][0], np.ones((3, 2)))
  for bad, where in (
    ({'factory': 'Dense', 'args': [10**12]}, 'argument 0=10'),
    ({'factory': 'Embedding', 'kwargs': {'vocab_size': 2**25, 'd_feature': 4}}, 'vocab_size='),
    (
      {'factory': 'Serial', 'args': [{'factory': 'Select', 'args': [[0, 2**30]]}]},
      r'Select\(argument 0=',
    ),
  ):
    with pytest.raises(
      tl.ConfigError,
      match=rf'Safe mode: refusing .*{where}.* sizes above '
      '16,777,216',
    ):
      tl.from_config(bad)
  assert tl.from_config({'factory': 'Dense', 'args': [10**12]}, safe_mode=False).n_out == 1


def test_malformed_configs_raise_config_errors():
  for bad in ({'ref': 3}, {'factory': 'Serial', 'args': [{'ref': 0}]}):
    with pytest.raises(tl.ConfigError, match='Malformed config'):
      tl.from_config(bad)
  deep = {'factory': 'Serial', 'args': []}
  for _ in range(5000):
    deep = {'factory': 'Serial', 'args': [deep]}
  with pytest.raises(tl.ConfigError, match='Malformed config: RecursionError'):
    tl.from_config(deep)


def test_build_record_names_the_factory_and_its_arguments():
  dense = tl.Dense(3, use_bias=False)
  factory, args, kwargs = tl.build_record(dense)
  assert (factory, args, kwargs) == (tl.Dense, (3,), {'use_bias': False})
  relu = tl.Relu()
  assert tl.build_record(relu)[0] is tl.Relu and tl.build_record(np.ones(2)) is None
  # The record is what config() describes: rebuilding from it gives the same layer.
  rebuilt = factory(*args, **kwargs)
  x = np.ones((2, 4), np.float32)
  rebuilt.init(shapes.ShapeDtype(x.shape))
  dense.init(shapes.ShapeDtype(x.shape))
  rebuilt.weights = dense.weights
  np.testing.assert_array_equal(rebuilt(x), dense(x))


class _Expects(tl.Layer):
  """A layer built from a ShapeDtype argument (as shape-checking layers are)."""

  def __init__(self, expected: shapes.ShapeDtype):
    super().__init__()
    self.expected = expected

  def forward(self, x):
    return x


def test_shape_dtype_arguments_round_trip_as_shape_dtypes():
  layer = _Expects(S((None, 3), np.int32))
  assert layer.config()['args'] == [{'shape_dtype': {'shape': [None, 3], 'dtype': 'int32'}}]
  rebuilt = _through_json(layer)
  assert rebuilt.expected == S((None, 3), np.int32)
  assert rebuilt.config() == layer.config()
  bad = {**layer.config(), 'args': [{'shape_dtype': {'shape': [2], 'dtype': 'object'}}]}
  with pytest.raises(tl.ConfigError, match="Malformed ShapeDtype.*'object'"):
    tl.from_config(bad)
