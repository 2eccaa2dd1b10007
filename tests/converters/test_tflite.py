"""`to_tflite`: float32 parity with JAX, quantization measured, unsupported ops named."""

import os

from ai_edge_litert.interpreter import Interpreter
import numpy as np
import pytest

import converters
from trax import fastmath
from trax import shapes
import trax.layers as tl
from tests.converters import helpers

ShapeDtype = shapes.ShapeDtype


def _run(path, **inputs):
  """The `.tflite` file's serving signature on `inputs`, resizing to their shapes."""
  return Interpreter(model_path=str(path)).get_signature_runner('serving_default')(**inputs)


def _classifier():
  model = tl.Serial(tl.Dense(128), tl.Relu(), tl.Dense(128), tl.Relu(), tl.Dense(10))
  model.init(ShapeDtype((2, 32)), rng=helpers.RNG)
  return model


def test_lm_float32_keeps_batch_and_length_dynamic(tmp_path):
  model = helpers.lm()
  model.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  path = tmp_path / 'lm.tflite'
  result = converters.to_tflite(model, path, ShapeDtype((None, None), np.int32))
  assert result.path == str(path) and os.path.getsize(path) == result.size_bytes
  assert {tuple(c['tokens']) for c in result.cases} == {(1, 8), (3, 5), (2, 12)}
  assert result.max_abs_error['logits'] < 1e-4
  assert not any(op.startswith(('FLEX', 'CUSTOM')) for op in result.op_counts)
  assert result.input_signature['tokens'] == ShapeDtype((None, None), np.int32)
  # An independent run at a shape the verification did not use.
  tokens = helpers.random_tokens((5, 9), seed=7)
  np.testing.assert_allclose(
    _run(path, tokens=tokens)['logits'], helpers.jax_outputs(model, tokens), atol=1e-4
  )
  assert os.listdir(tmp_path) == ['lm.tflite']  # No temporary files left.


def test_dynamic_shapes_add_few_ops_to_the_lm(tmp_path):
  model = helpers.lm()  # One layer.
  model.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  dynamic = converters.to_tflite(
    model, tmp_path / 'd.tflite', ShapeDtype((None, None), np.int32), verify=False
  )
  fixed = converters.to_tflite(
    model, tmp_path / 'f.tflite', ShapeDtype((1, 8), np.int32), dynamic_shapes=False, verify=False
  )
  # Measured: 63 ops against 51 (the causal mask and the heads' shapes from the length);
  # 68 when the mask indexed `[:, None]` and `[None, :]`, 127 against 57 when every Dense
  # folded its leading axes with shape ops.
  assert dynamic.n_ops - fixed.n_ops <= 12, (dynamic.op_counts, fixed.op_counts)
  assert dynamic.op_counts['FULLY_CONNECTED'] == fixed.op_counts['FULLY_CONNECTED']


def test_dynamic_range_quantization_is_measured_against_jax(tmp_path):
  model = _classifier()
  float_result = converters.to_tflite(model, tmp_path / 'f32.tflite', ShapeDtype((None, 32)))
  result = converters.to_tflite(
    model, tmp_path / 'q.tflite', ShapeDtype((None, 32)), quantize='dynamic_range'
  )
  assert result.size_bytes < 0.5 * float_result.size_bytes  # int8 weights.
  assert result.top1_agreement['logits'] >= 0.9
  assert 0.0 < result.max_abs_error['logits'] < 0.1  # Changed a little, and reported.
  x = helpers.random_floats((4, 32), seed=3)
  np.testing.assert_allclose(
    _run(tmp_path / 'q.tflite', inputs=x)['logits'], helpers.jax_outputs(model, x), atol=0.1
  )


def test_poor_agreement_is_an_error_and_writes_nothing(tmp_path):
  with pytest.raises(converters.ExportVerificationError, match='top-1') as e:
    converters.to_tflite(
      _classifier(),
      tmp_path / 'q.tflite',
      ShapeDtype((None, 32)),
      quantize='dynamic_range',
      min_top1_agreement=1.01,
    )
  assert 'logits' in e.value.report.top1_agreement
  assert os.listdir(tmp_path) == []


@tl.register
def _cumulative_product(x):
  return fastmath.backend().numpy.cumprod(x, axis=-1)


def test_unsupported_op_is_reported_with_the_layer_that_makes_it(tmp_path):
  model = tl.Serial(tl.Dense(4), tl.Fn('CumProd', _cumulative_product), tl.Dense(2))
  model.init(ShapeDtype((1, 3)), rng=helpers.RNG)
  with pytest.raises(
    converters.UnsupportedOpsError, match=r'Cumprod \(from serial/1/cum_prod'
  ) as e:
    converters.to_tflite(model, tmp_path / 'm.tflite', ShapeDtype((None, 3)))
  assert e.value.ops == {'Cumprod': ['serial/1/cum_prod']}
  assert os.listdir(tmp_path) == []
  assert 'pure_fn' not in vars(model.sublayers[1])  # The tracing hooks are gone.


def test_the_layer_is_named_in_a_model_with_a_dynamic_length_positional_table(tmp_path):
  # The table sliced to a dynamic length: traced with its weights as tensors, as exported.
  model = tl.Serial(
    tl.Embedding(10, 4), tl.PositionalEncoding(max_len=8), tl.Fn('CumProd', _cumulative_product)
  )
  model.init(ShapeDtype((1, 3), np.int32), rng=helpers.RNG)
  with pytest.raises(converters.UnsupportedOpsError) as e:
    converters.to_tflite(model, tmp_path / 'm.tflite', ShapeDtype((None, None), np.int32))
  assert e.value.ops == {'Cumprod': ['serial/2/cum_prod']}


def test_bad_arguments(tmp_path):
  with pytest.raises(converters.ExportError, match="quantize='int4'"):
    converters.to_tflite(
      _classifier(), tmp_path / 'm.tflite', ShapeDtype((None, 32)), quantize='int4'
    )
  with pytest.raises(converters.ExportError, match='every dimension but the batch'):
    converters.to_tflite(
      helpers.lm(),
      tmp_path / 'm.tflite',
      ShapeDtype((None, None), np.int32),
      dynamic_shapes=False,
      allow_random_weights=True,
    )


@pytest.mark.slow
def test_int8_full_integer_agreement_is_measured_and_reported(tmp_path):
  model = _classifier()
  calibration = [[helpers.random_floats((1, 32), seed=i)] for i in range(32)]
  result = converters.to_tflite(
    model,
    tmp_path / 'int8.tflite',
    ShapeDtype((None, 32)),
    quantize='int8',
    representative_data=calibration,
    min_top1_agreement=0.0,
  )
  agreement = result.top1_agreement['logits']
  print(f'int8 top-1 agreement {agreement:.3f}, max abs error {result.max_abs_error["logits"]:.3g}')
  assert 0.0 <= agreement <= 1.0 and result.max_abs_error['logits'] > 0.0
  assert any(op == 'FULLY_CONNECTED' for op in result.op_counts)
  # A transformer calibrated on random tokens: measured and reported, whatever it is.
  lm = helpers.lm()
  lm.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  result = converters.to_tflite(
    lm,
    tmp_path / 'lm8.tflite',
    ShapeDtype((None, None), np.int32),
    quantize='int8',
    min_top1_agreement=0.0,
  )
  print(
    f'TransformerLM int8 top-1 agreement {result.top1_agreement["logits"]:.3f}, max '
    f'abs error {result.max_abs_error["logits"]:.3g}'
  )
  assert len(result.cases) == 3


@pytest.mark.slow
def test_float16_weights(tmp_path):
  result = converters.to_tflite(
    _classifier(), tmp_path / 'f16.tflite', ShapeDtype((None, 32)), quantize='float16'
  )
  assert result.top1_agreement['logits'] >= 0.9
  assert result.max_abs_error['logits'] < 0.05


@pytest.mark.slow
def test_fixed_shapes_need_fewer_ops(tmp_path):
  model = helpers.lm()
  model.init(ShapeDtype((2, 8), np.int32), rng=helpers.RNG)
  dynamic = converters.to_tflite(model, tmp_path / 'd.tflite', ShapeDtype((None, None), np.int32))
  fixed = converters.to_tflite(
    model, tmp_path / 'f.tflite', ShapeDtype((1, 16), np.int32), dynamic_shapes=False
  )
  assert fixed.cases == [{'tokens': [1, 16]}] * 2
  assert fixed.n_ops < dynamic.n_ops
  assert fixed.max_abs_error['logits'] < 1e-4


@pytest.mark.slow
def test_from_a_saved_model_serving_directory(tmp_path):
  model = helpers.trained_conv_net(ShapeDtype((4, 8, 8, 3)))
  serving = tmp_path / 'serving'
  converters.to_saved_model(model, serving, ShapeDtype((None, 8, 8, 3)), verify=False)
  converters.to_saved_model(model, serving, ShapeDtype((None, 8, 8, 3)), verify=False)
  result = converters.to_tflite(str(serving), tmp_path / 'conv.tflite')  # Version 2.
  assert result.max_abs_error['logits'] < 1e-4
  x = helpers.random_floats((2, 8, 8, 3))
  np.testing.assert_allclose(
    _run(tmp_path / 'conv.tflite', inputs=x)['logits'], helpers.jax_outputs(model, x), atol=1e-4
  )
