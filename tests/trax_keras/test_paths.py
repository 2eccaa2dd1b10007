"""Names of trax weights as Keras variable paths (no Keras needed)."""

import trax.layers as tl
from trax import shapes
from trax_keras import paths


def _names(layer, signature):
  weights, state = layer.init(signature)
  return paths.weight_paths(layer, weights, state)


def test_serial_names_index_and_sublayer():
  weights, state = _names(
    tl.Serial(tl.Dense(32), tl.Relu(), tl.Dense(1)), shapes.ShapeDtype((2, 4))
  )
  assert weights == ['serial/0/dense/w', 'serial/0/dense/b', 'serial/2/dense/w', 'serial/2/dense/b']
  assert state == []


def test_nested_combinators_norms_and_state():
  model = tl.Serial(
    tl.Residual(tl.LayerNorm(), tl.Dense(4)), tl.BatchNorm(axis=(0,)), tl.Dropout(0.1)
  )
  weights, state = _names(model, shapes.ShapeDtype((2, 4)))
  # Residual is Serial(Branch(None, body), Add()), and Branch a Serial(Select, Parallel).
  body = 'serial/0/residual/0/branch/1/parallel/1/serial'
  assert weights == [
    f'{body}/0/layer_norm/scale',
    f'{body}/0/layer_norm/bias',
    f'{body}/1/dense/w',
    f'{body}/1/dense/b',
    'serial/1/batch_norm/beta',
    'serial/1/batch_norm/gamma',
  ]
  assert state == [
    'serial/1/batch_norm/running_mean',
    'serial/1/batch_norm/running_var',
    'serial/1/batch_norm/n_batches',
    'serial/2/dropout/state',
  ]


def test_shared_layer_is_named_once_and_names_are_unique():
  dense = tl.Dense(4)
  weights, _ = _names(tl.Serial(dense, dense), shapes.ShapeDtype((2, 4)))
  assert weights == ['serial/0/dense/w', 'serial/0/dense/b']
  assert paths._deduplicated(['a/w', 'a/w', 'a/w']) == ['a/w', 'a/w_1', 'a/w_2']


def test_layer_names_are_snake_case_without_sizes():
  assert paths.layer_name(tl.Dense(32)) == 'dense'
  assert paths.layer_name(tl.Embedding(100, 16)) == 'embedding'
  assert paths.layer_name(tl.LayerNorm()) == 'layer_norm'
  assert paths.layer_name(tl.Serial(name='LSTMCell')) == 'lstm_cell'
  assert paths.layer_name(tl.Select([0, 0])) == 'select_0_0'


def test_declared_entry_names_and_index_names_of_subclasses():
  # Conv declares (w, b); CausalConv and GroupedConv keep the index names .keras files use.
  sig = shapes.ShapeDtype((1, 6, 4))
  conv = tl.Conv(2, (3,), dimension_numbers=('NWC', 'WIO', 'NWC'))
  assert _names(conv, sig)[0] == ['conv/w', 'conv/b']
  assert _names(tl.CausalConv(2, 3), sig)[0] == ['causal_conv/0', 'causal_conv/1']
  assert _names(tl.LSTMCell(4), (shapes.ShapeDtype((2, 4)), shapes.ShapeDtype((2, 8))))[0] == [
    'lstm_cell/w',
    'lstm_cell/b',
  ]
