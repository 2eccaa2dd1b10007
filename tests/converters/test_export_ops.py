"""`export_ops`: the ops trax exports contain, and SavedModels holding others refused."""

import numpy as np
import pytest
import tensorflow as tf

import converters
from converters import export_ops
from converters import serving_layers
from trax import fastmath
from trax import shapes
import trax.layers as tl
from tests.converters import helpers

ShapeDtype = shapes.ShapeDtype


@pytest.mark.parametrize('path', ['native', 'xla'])
def test_our_exports_pass(tmp_path, path):
  model = helpers.conv_net(mode='eval')  # BatchNorm's fused serving form, pooling, conv.
  model.init(ShapeDtype((1, 8, 8, 3)), rng=helpers.RNG)
  result = converters.to_saved_model(
    model, tmp_path, ShapeDtype((None, 8, 8, 3)), path=path, verify=False
  )
  export_ops.check_ops(result.path)


def test_file_access_and_python_calls_are_refused(tmp_path):
  class Hostile(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec((None,), tf.float32)])
    def serve(self, x):
      tf.io.write_file(str(tmp_path / 'marker'), 'x')
      return {'y': tf.py_function(lambda v: v * 2, [x], tf.float32)}

  module = Hostile()
  tf.saved_model.save(
    module, str(tmp_path / 'hostile'), signatures={'serving_default': module.serve}
  )
  with pytest.raises(
    export_ops.UntrustedExportError,
    match=r'holds ops that trax exports never contain: EagerPyFunc .*'
    r'WriteFile .*it was not loaded.*--trust',
  ):
    export_ops.check_ops(str(tmp_path / 'hostile'))
  assert not (tmp_path / 'marker').exists()


def _graph_ops(layer: tl.Layer, signature) -> set:
  import jax

  weights, state = layer.init(signature, rng=helpers.RNG)
  specs = jax.tree.map(
    lambda s: tf.TensorSpec(s.shape, tf.as_dtype(s.dtype)),
    signature,
    is_leaf=lambda s: isinstance(s, ShapeDtype),
  )

  def forward(x):
    with fastmath.use_backend('tensorflow-numpy'):
      return layer.pure_fn(x, weights, state, tf.constant(np.zeros(2, np.uint32)))[0]

  graph = tf.function(forward, autograph=False).get_concrete_function(specs).graph
  return {op.type for op in graph.get_operations()} | {
    n.op for f in graph.as_graph_def().library.function for n in f.node_def
  }


@pytest.mark.slow  # Traces every layer and model case under TensorFlow (minutes).
def test_every_layer_and_model_traces_to_serving_ops():
  from tests.layers import test_parity as layer_cases
  from tests.models import test_parity as model_cases

  unexpected = {}
  for case in layer_cases.CASES + model_cases.CASES:
    layer = serving_layers.for_serving(
      tl.from_config(case.make().config(), mode='eval', safe_mode=False)
    )
    for op in _graph_ops(layer, case.input_signature) - export_ops.SERVING_OPS:
      unexpected.setdefault(op, []).append(case.name)
  assert not unexpected, f'ops to add to export_ops.SERVING_OPS (if pure): {unexpected}'


def test_the_verify_process_exits_when_its_parent_is_gone():
  import subprocess
  import sys
  import time
  from converters import verify

  gone = subprocess.Popen([sys.executable, '-c', 'pass'])
  gone.wait()
  with open(verify._CHILD, encoding='utf-8') as f:
    code = f.read()
  start = time.time()
  child = subprocess.run(
    [sys.executable, '-c', code, 'export', 'cases', 'outputs', 'names', str(gone.pid)],
    capture_output=True,
    text=True,
    timeout=60,
  )
  assert child.returncode == 1 and time.time() - start < 30  # Before importing TensorFlow.
  assert 'tensorflow' not in child.stderr.lower()
