"""from_keras on functional graphs: Keras masks, op nodes, shared layers, nested models,
several inputs and outputs, against Keras itself; and `conversion_report`."""

import keras
from keras import ops
import numpy as np
import pytest

import converters
import trax.layers as tl
from tests.converters.keras_helpers import assert_same
from tests.converters.keras_helpers import floats
from tests.converters.keras_helpers import padded_tokens
from tests.converters.keras_helpers import randomize

L = keras.layers


def test_embedding_mask_reaches_recurrent_layers_pooling_and_attention():
  tokens = keras.Input((8,), dtype='int32')
  x = L.Embedding(11, 8, mask_zero=True)(tokens)  # mask: tokens != 0
  attended = L.MultiHeadAttention(2, 4)(x, x)  # query and value masks
  # With dropout Keras masks its softmax otherwise: padding queries attend to nothing.
  # (Keras' MultiHeadAttention deletes the masks of its inputs when it runs, so other
  # layers reading them would depend on the order Keras runs the graph: this embedding
  # feeds it alone.)
  other = L.Embedding(11, 8, mask_zero=True)(tokens)
  dropped = L.MultiHeadAttention(2, 4, dropout=0.1)(other, other)
  x = L.LayerNormalization()(L.Add()([x, attended, dropped]))  # Add merges the masks
  last = L.LSTM(3)(x)  # skips masked steps
  states = L.Bidirectional(L.GRU(3, return_sequences=True))(x)
  pooled = L.GlobalAveragePooling1D()(states)  # averages kept steps only
  model = randomize(keras.Model(tokens, [last, pooled, states]))
  layer = assert_same(model, padded_tokens((3, 8)))
  assert 'NumpyFn_not_equal' in repr(layer) and 'MaskedMean' in repr(layer)


def test_masking_layer_and_explicit_masks():
  x = keras.Input((6, 3))
  masked = L.Masking(0.0)(x)
  m = keras.Input((6, 3), dtype='bool')
  model = randomize(
    keras.Model([x, m], [L.SimpleRNN(4, return_sequences=True)(masked), L.Softmax()(x, mask=m)])
  )
  data = np.concatenate([floats((2, 4, 3)), np.zeros((2, 2, 3), np.float32)], axis=1)
  assert_same(model, [data, np.random.default_rng(1).random((2, 6, 3)) < 0.6])


def test_multi_head_attention_distinct_inputs_and_every_mask():
  q, v, k = keras.Input((5, 6)), keras.Input((7, 4)), keras.Input((7, 3))
  mask = keras.Input((5, 7), dtype='bool')
  cross = L.MultiHeadAttention(3, 2, value_dim=5, output_shape=9)(q, v, k, attention_mask=mask)
  causal = L.MultiHeadAttention(2, 3)(q, q, use_causal_mask=True, attention_mask=mask[:, :, :5])
  model = randomize(keras.Model([q, v, k, mask], [cross, causal]))
  assert_same(
    model,
    [
      floats((2, 5, 6)),
      floats((2, 7, 4), 2),
      floats((2, 7, 3), 3),
      np.random.default_rng(4).random((2, 5, 7)) < 0.7,
    ],
  )


def test_op_nodes_from_keras_ops_and_slicing():
  x, y = keras.Input((4, 6)), keras.Input((4, 6))
  scaled = x[:, 1:3] * 2.0 + 1
  product = ops.matmul(scaled, ops.transpose(y[:, :2], (0, 2, 1)))
  pooled = ops.concatenate(
    [ops.mean(x, axis=1, keepdims=True), ops.max(y, axis=1, keepdims=True)], axis=1
  )
  flat = ops.reshape(ops.softmax(pooled, axis=-1), (-1, 12))
  mixed = ops.where(x > 0, x, y) - ops.sqrt(ops.abs(y)) / (1.0 + ops.square(x))
  stacked = ops.stack([x[:, 0], y[:, -1]], axis=1)
  first, second = ops.split(x, 2, axis=-1)
  counts = ops.expand_dims(ops.sum(x, axis=-1), 1) + ops.cast(ops.argmax(y, -1), 'float32')[:, None]
  activated = ops.gelu(x) + ops.relu6(y) + ops.silu(x) + ops.leaky_relu(y)
  model = keras.Model(
    [x, y],
    [
      product,
      flat,
      mixed,
      stacked,
      first * second,
      counts,
      activated,
      ops.einsum('bij,bkj->bik', x, y),
      ops.tile(x[:, :1], (1, 2, 1)),
      1.0 - ops.exp(-x),
    ],
  )
  assert_same(model, [floats((2, 4, 6)), floats((2, 4, 6), 5)])


def test_merges_dot_and_recurrent_initial_state():
  a, b, c = keras.Input((5,)), keras.Input((5,)), keras.Input((3, 5))
  sequence, h0, c0 = keras.Input((6, 3)), keras.Input((4,)), keras.Input((4,))
  outputs, h, state_c = L.LSTM(4, return_state=True, return_sequences=True)(
    sequence, initial_state=[h0, c0]
  )
  model = randomize(
    keras.Model(
      [a, b, c, sequence, h0, c0],
      [
        L.Dot(1)([a, b]),
        L.Dot(axes=(2, 2), normalize=True)([c, c]),
        L.Dot((1, 2))([a, c]),
        L.Average()([a, b, a]),
        L.Maximum()([a, b]),
        L.Minimum()([a, b, a * 2]),
        L.Subtract()([b, a]),
        outputs,
        h,
        state_c,
      ],
    )
  )
  assert_same(
    model,
    [
      floats((2, 5)),
      floats((2, 5), 2),
      floats((2, 3, 5), 3),
      floats((2, 6, 3), 4),
      floats((2, 4), 5),
      floats((2, 4), 6),
    ],
  )


def test_shared_layers_and_nested_models_keep_their_weights_shared():
  inner_input = keras.Input((5,))
  inner = keras.Model(inner_input, L.Dense(3, activation='tanh')(inner_input))
  shared = L.Dense(5)
  x, y = keras.Input((5,)), keras.Input((5,))
  chain = keras.Sequential([L.Dense(5), L.ReLU()])
  model = randomize(keras.Model([x, y], [inner(chain(shared(x))) + inner(shared(y))]))
  layer = assert_same(model, [floats((3, 5)), floats((3, 5), 2)])
  flat_weights, _ = tl.flatten_weights_and_state(layer.weights, layer.state)
  assert len(flat_weights) == len(model.weights) == 6  # Not 10: shared, not copied.


def test_conversion_report_names_what_would_be_wrapped():
  x = keras.Input((4,))
  hidden = L.Lambda(lambda t: t * 2, name='twice')(L.Dense(4, name='dense')(x))
  outputs = ops.erf(hidden) + ops.top_k(hidden, 2)[0][:, :1]
  report = converters.conversion_report(keras.Model(x, outputs))
  statuses = {(s.name.split('_')[0], s.status) for s in report}
  assert ('dense', 'exact') in statuses and ('twice', 'wrapped') in statuses
  assert ('erf', 'wrapped') in statuses and ('top', 'wrapped') in statuses
  assert all(s.reason for s in report if s.status == 'wrapped')


def test_a_mask_that_would_change_the_outputs_is_never_dropped():
  tokens = keras.Input((6,), dtype='int32')
  embedded = L.Embedding(7, 4, mask_zero=True)(tokens)
  model = randomize(keras.Model(tokens, L.BatchNormalization()(embedded)))
  assert_same(model, padded_tokens((2, 6), vocab=7))  # Inference ignores the mask.
  with pytest.raises(converters.UnsupportedLayerError, match='a Keras mask in train mode'):
    converters.from_keras(model, mode='train')
