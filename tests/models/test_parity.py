"""Every model and block passes the layer contract on jax and tensorflow-numpy, switches
mode through its config, and trains: gradients reach every weight, equal on both backends.

`harness.check_layer` (tests/layers) checks shapes, flat weight order, the config round
trip, eval == predict where it applies, and TF-backend outputs (eagerly and in a
`tf.function` with a `None` batch). Its float64 finite-difference check is left to the
layer tests: models here get the cheaper gradient checks below.
"""

import json

import jax
import numpy as np
import pytest

import trax.layers as tl
from trax import fastmath
from trax import models
from trax import shapes
from tests.layers import harness

S = shapes.ShapeDtype
_TOKENS = S((2, 5), np.int32)
_PAIR = (S((2, 6), np.int32), S((2, 5), np.int32))
_LM = dict(d_model=8, d_ff=16, n_heads=2, max_len=16, dropout=0.0)
# Language models shift their input except in 'predict' mode, so eval != predict there
# by design; their incremental decoding is tested in their own test modules.
_NO_MODES = dict(check_modes=False, check_grads=False)
_CONTRACT = dict(check_grads=False)

CASES = [
  harness.Case(
    'MLP', lambda: models.MLP(layer_widths=(8, 4), mode='eval'), S((2, 3, 5), np.float32), _CONTRACT
  ),
  harness.Case(
    'TransformerLM',
    lambda: models.TransformerLM(16, n_layers=1, **_LM, mode='eval'),
    _TOKENS,
    _NO_MODES,
  ),
  harness.Case(
    'TransformerDecoder',
    lambda: models.TransformerDecoder(None, n_layers=1, **_LM, mode='eval'),
    S((2, 5, 3), np.float32),
    _NO_MODES,
  ),
  harness.Case(
    'TransformerEncoder',
    lambda: models.TransformerEncoder(16, n_classes=3, n_layers=1, **_LM, mode='eval'),
    _TOKENS,
    _CONTRACT,
  ),
  harness.Case(
    'Transformer',
    lambda: models.Transformer(16, n_encoder_layers=1, n_decoder_layers=1, **_LM, mode='eval'),
    _PAIR,
    _NO_MODES,
  ),
  harness.Case(
    'RNNLM', lambda: models.RNNLM(16, d_model=8, dropout=0.0, mode='eval'), _TOKENS, _NO_MODES
  ),
  harness.Case('GRULM', lambda: models.GRULM(16, d_model=8, mode='eval'), _TOKENS, _NO_MODES),
  harness.Case(
    'LSTMSeq2SeqAttn',
    lambda: models.LSTMSeq2SeqAttn(
      16, 12, d_model=8, n_encoder_layers=1, n_decoder_layers=1, n_attention_heads=2, mode='eval'
    ),
    _PAIR,
    _NO_MODES,
  ),
  harness.Case(
    'ConvBlock',
    lambda: models.ConvBlock(3, (2, 3, 4), (2, 2), mode='eval'),
    S((2, 6, 6, 3), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'IdentityBlock',
    lambda: models.IdentityBlock(3, (2, 3, 4), mode='eval'),
    S((2, 5, 5, 4), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'WideResnetBlock',
    lambda: models.WideResnetBlock(4, (2, 2), mode='eval'),
    S((2, 6, 6, 3), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'WideResnetGroup',
    lambda: models.WideResnetGroup(2, 4, mode='eval'),
    S((2, 6, 6, 3), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'WideResnet',
    lambda: models.WideResnet(n_blocks=1, n_output_classes=3, mode='eval'),
    S((2, 32, 32, 3), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'Resnet50',
    lambda: models.Resnet50(d_hidden=1, n_output_classes=3, mode='eval'),
    S((1, 224, 224, 3), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'AtariCnn',
    lambda: models.AtariCnn(hidden_sizes=(2, 2), output_size=4),
    S((2, 3, 8, 8, 3), np.uint8),
    _CONTRACT,
  ),
  harness.Case(
    'AtariCnnBody',
    lambda: models.AtariCnnBody(hidden_sizes=(2, 2, 2), output_size=4),
    S((1, 2, 36, 36, 1), np.uint8),
    _CONTRACT,
  ),
  harness.Case(
    'FrameStackMLP',
    lambda: models.FrameStackMLP(n_frames=2, hidden_sizes=(4,), output_size=3),
    S((2, 4, 3), np.float32),
    _CONTRACT,
  ),
  harness.Case(
    'NeuralGPU',
    lambda: models.NeuralGPU(d_feature=3, steps=2, vocab_size=8, mode='eval'),
    S((2, 1, 4), np.int32),
    _CONTRACT,
  ),
]
_SLOW = {'Resnet50', 'WideResnet'}


def _params(cases):
  return [
    pytest.param(case, id=case.name, marks=[pytest.mark.slow] if case.name in _SLOW else [])
    for case in cases
  ]


@pytest.mark.parametrize('case', _params(CASES))
def test_model_contract(case: harness.Case):
  harness.check_layer(case.make(), case.input_signature, **case.options)


def test_every_model_and_block_has_a_case():
  assert sorted(case.name for case in CASES) == sorted(models.__all__)


def _in_mode(case: harness.Case, mode: str) -> tl.Layer:
  return tl.from_config(json.loads(json.dumps(case.make().config())), mode=mode)


@pytest.mark.parametrize('case', _params(CASES))
def test_config_rebuilds_a_train_model_for_eval(case: harness.Case):
  train_config = json.loads(json.dumps(_in_mode(case, 'train').config()))
  rebuilt = tl.from_config(train_config, mode='eval')
  reference = case.make()
  inputs = harness.random_inputs(case.input_signature)
  outputs = [
    layer.pure_fn(inputs, *layer.init(case.input_signature, rng=harness.RNG), harness.RNG)[0]
    for layer in (rebuilt, reference)
  ]
  harness.assert_trees_close(outputs[0], outputs[1], message='train -> eval config')


@pytest.mark.parametrize('case', _params(CASES))
def test_gradients_reach_every_weight(case: harness.Case):
  model, inputs, weights, state = _train_model(case)
  grads = jax.jit(jax.grad(_projected_outputs(model)))(weights, inputs, state, harness.RNG)
  flat_grads = fastmath.tree_flatten(grads)
  assert len(flat_grads) == len(fastmath.tree_flatten(weights))
  silent = [i for i, g in enumerate(flat_grads) if not np.any(np.asarray(g))]
  assert not silent, f'{case.name}: weights {silent} (flat order) get no gradient'


# Models whose layers mix in ways the layer tests do not cover: shared weights, caches,
# scans over stacked cells, attention over another sequence.
_TF_GRADIENT_CASES = [
  case
  for case in CASES
  if case.name in ('TransformerLM', 'Transformer', 'RNNLM', 'LSTMSeq2SeqAttn', 'WideResnetGroup')
]


@pytest.mark.parametrize('case', _params(_TF_GRADIENT_CASES))
def test_tensorflow_gradients_equal_jax_gradients(case: harness.Case):
  import tensorflow as tf

  model, inputs, weights, state = _train_model(case)
  loss = _projected_outputs(model)
  grads = jax.jit(jax.grad(loss))(weights, inputs, state, harness.RNG)
  to_tf = lambda tree: tf.nest.map_structure(lambda a: tf.constant(np.asarray(a)), tree)
  tf_weights = to_tf(weights)
  with fastmath.use_backend('tensorflow-numpy'):
    with tf.GradientTape() as tape:
      tape.watch(tf_weights)
      tf_loss = loss(tf_weights, to_tf(inputs), to_tf(state), tf.constant(harness.RNG))
  tf_grads = tape.gradient(tf_loss, tf_weights)
  tf_grads = tf.nest.map_structure(tf.convert_to_tensor, tf_grads)  # IndexedSlices -> dense
  harness.assert_trees_close(
    tf_grads, grads, atol=1e-4, rtol=1e-4, message='tensorflow-numpy gradient != jax gradient'
  )


def _train_model(case: harness.Case):
  model = _in_mode(case, 'train')
  weights, state = model.init(case.input_signature, rng=harness.RNG)
  return model, harness.random_inputs(case.input_signature), weights, state


def _projected_outputs(model: tl.Layer):
  """A scalar function of the weights: the float outputs projected on fixed cosines (a
  plain sum can cancel, e.g. after a normalization)."""

  def loss(weights, inputs, state, rng):
    jnp = fastmath.numpy  # jax or tensorflow-numpy, whichever backend is selected.
    outputs = fastmath.tree_flatten(model.pure_fn(inputs, weights, state, rng)[0])
    floats = [y for y in outputs if np.issubdtype(shapes.as_numpy_dtype(y.dtype), np.floating)]
    return sum(
      jnp.sum(y * jnp.cos(jnp.reshape(jnp.arange(np.prod(y.shape), dtype=y.dtype), tuple(y.shape))))
      for y in floats
    )

  return loss
