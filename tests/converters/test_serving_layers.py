"""Serving forms of layers compute what the layers they replace compute."""

import numpy as np
import pytest
import tensorflow as tf

import converters
from converters import serving_layers
from converters import sources
from trax import fastmath
from trax import shapes
import trax.layers as tl
from trax import models
from tests.converters import helpers


@pytest.mark.parametrize(
  'n_batches, shape, center, scale',
  [
    (0, (3, 4, 4, 5), True, True),  # 4-D: one FusedBatchNormV3 op on TensorFlow.
    (2, (3, 4, 4, 5), False, True),
    (10_000, (3, 4, 4, 5), True, False),
    (2, (6, 5), True, True),  # 2-D: scale and offset ops.
  ],
)
def test_serving_batch_norm_equals_batch_norm_in_eval(n_batches, shape, center, scale):
  signature = shapes.ShapeDtype(shape)
  norm = tl.BatchNorm(
    axis=tuple(range(len(shape) - 1)), mode='eval', momentum=0.9, center=center, scale=scale
  )
  weights, state = norm.init(signature, rng=helpers.RNG)
  rng = np.random.default_rng(n_batches)
  weights = tuple(
    rng.normal(size=w.shape).astype(np.float32) if hasattr(w, 'shape') else w for w in weights
  )
  state = (
    rng.normal(size=state[0].shape).astype(np.float32),
    rng.random(state[1].shape).astype(np.float32) + 0.5,
    np.int32(n_batches),
  )
  x = helpers.random_floats(signature.shape)
  expected, _ = norm.pure_fn(x, weights, state, helpers.RNG)

  serving = sources.rebuild(norm.config())
  assert isinstance(serving, serving_layers.ServingBatchNorm)
  serving_state = serving_layers.serving_state(serving, state)
  for backend in ('jax', 'tensorflow-numpy'):
    with fastmath.use_backend(backend):
      got, _ = serving.pure_fn(x, weights, serving_state, helpers.RNG)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)
  with fastmath.use_backend('tensorflow-numpy'):
    graph = (
      tf.function(lambda x: serving.pure_fn(x, weights, serving_state, helpers.RNG)[0])
      .get_concrete_function(tf.TensorSpec(shape, tf.float32))
      .graph
    )
  fused = 'FusedBatchNormV3' in {op.type for op in graph.get_operations()}
  assert fused == (len(shape) == 4)


def test_serving_relu_equals_relu_on_both_backends():
  x = np.array([[-2.0, -0.0, 0.0, 0.5, np.inf, -np.inf]], np.float32)
  relu = sources.rebuild(tl.Relu().config())
  assert relu.config()['factory'] == 'converters.serving_layers.ServingRelu'
  for backend in ('jax', 'tensorflow-numpy'):
    with fastmath.use_backend(backend):
      got, _ = relu.pure_fn(x, (), (), helpers.RNG)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(tl.Relu()(x)))


def test_for_serving_swaps_nested_and_shared_layers_and_leaves_the_rest():
  relu = tl.Relu()
  model = tl.Serial(
    tl.Dense(3), relu, tl.Residual(tl.BatchNorm(axis=0, momentum=0.5)), relu, tl.LeakyRelu()
  )
  served = serving_layers.for_serving(model)
  assert served is model
  dense, relu_1, residual, relu_2, leaky = model.sublayers
  assert relu_1 is relu_2 and relu_1.config()['factory'] == 'converters.serving_layers.ServingRelu'
  (norm,) = [layer for _, layer in residual.walk() if isinstance(layer, tl.BatchNorm)]
  assert isinstance(norm, serving_layers.ServingBatchNorm)
  assert norm.config()['kwargs'] == {'axis': 0, 'momentum': 0.5}  # Arguments kept.
  assert dense.config()['factory'] == 'Dense' and leaky.config()['factory'] == 'LeakyRelu'


def _served_ops(saved_model_dir: str, x: np.ndarray) -> tuple[list, np.ndarray]:
  """`[(op type, fused ops)]` of the graph TF runs for `serving_default` after Grappler
  (loaded in a Session, as TF Serving does), and the output of that run."""
  with tf.compat.v1.Session(graph=tf.Graph()) as session:
    meta = tf.compat.v1.saved_model.load(session, ['serve'], saved_model_dir)
    signature = meta.signature_def['serving_default']
    metadata = tf.compat.v1.RunMetadata()
    (y,) = session.run(
      [signature.outputs['logits'].name],
      {signature.inputs['inputs'].name: x},
      options=tf.compat.v1.RunOptions(output_partition_graphs=True),
      run_metadata=metadata,
    )
  ops = [
    (n.op, [s.decode() for s in n.attr['fused_ops'].list.s])
    for graph in metadata.partition_graphs
    for n in graph.node
  ]
  return ops, y


def test_conv_batch_norm_relu_serve_as_one_fused_convolution(tmp_path):
  # Grappler fuses Conv2D -> FusedBatchNormV3 -> Relu into one kernel only with nothing
  # between the conv and the norm; a bias add there left the norm and ReLU as another
  # pass over the activations (11% of the benchmark conv net's serving latency).
  signature = shapes.ShapeDtype((2, 8, 8, 3))
  model = helpers.trained_conv_net(signature)
  export = converters.to_saved_model(
    model, tmp_path, shapes.ShapeDtype((None, 8, 8, 3)), verify=False
  )
  x = helpers.random_floats(signature.shape)
  ops, y = _served_ops(export.path, x)
  np.testing.assert_allclose(y, helpers.jax_outputs(model, x), rtol=1e-5, atol=1e-5)
  convs = [fused for op, fused in ops if 'Conv2D' in op]
  assert convs == [['FusedBatchNorm', 'Relu']], ops
  assert [fused for op, fused in ops if 'MatMul' in op] == [['BiasAdd']], ops
  assert not [op for op, _ in ops if 'BatchNorm' in op or op == 'Relu'], ops


def test_layers_a_factory_made_serve_in_their_serving_forms(tmp_path):
  # trax.models' blocks build their norms and ReLUs inside a factory, where a config
  # cannot reach them: the swap finds them by how they were built.
  signature = shapes.ShapeDtype((2, 8, 8, 3))
  block = tl.Serial(models.resnet.ConvBlock(3, (4, 4, 8), (2, 2)), tl.Flatten(), tl.Dense(5))
  block.init(signature, rng=helpers.RNG)
  train_x = np.random.default_rng(1).normal(2.0, 3.0, size=signature.shape).astype(np.float32)
  block(train_x)  # Moves the norms' statistics.
  export = converters.to_saved_model(block, tmp_path, shapes.ShapeDtype((None, 8, 8, 3)))
  x = helpers.random_floats(signature.shape)
  ops, y = _served_ops(export.path, x)
  np.testing.assert_allclose(y, helpers.jax_outputs(block, x), rtol=1e-5, atol=1e-5)
  convs = sorted(fused for op, fused in ops if 'Conv2D' in op)
  assert convs == [['FusedBatchNorm']] * 2 + [['FusedBatchNorm', 'Relu']] * 2, ops


def test_exports_are_checked_against_the_model_s_own_layers_not_their_serving_forms(
  tmp_path, monkeypatch
):
  signature = shapes.ShapeDtype((2, 8, 8, 3))
  model = helpers.trained_conv_net(signature)
  resolved = sources.resolve(model, shapes.ShapeDtype((None, 8, 8, 3)))
  assert resolved.trax_reference is not None
  reference_layer, reference_state = resolved.trax_reference
  names = {type(layer).__name__ for _, layer in reference_layer.walk()}
  assert 'BatchNorm' in names and 'ServingBatchNorm' not in names
  x = helpers.random_floats(signature.shape)
  (y,) = resolved.jax_outputs([x])
  np.testing.assert_allclose(y, helpers.jax_outputs(model, x), rtol=1e-5, atol=1e-6)
  # A serving form that computed something else would be served: verification stops it.
  real_forward = serving_layers.ServingBatchNorm.forward
  monkeypatch.setattr(
    serving_layers.ServingBatchNorm, 'forward', lambda self, x: real_forward(self, x) * 1.01
  )
  with pytest.raises(converters.ExportVerificationError):
    converters.to_saved_model(model, tmp_path, shapes.ShapeDtype((None, 8, 8, 3)))
