"""The assert_shape decorator and the AssertShape layer."""

import copy
import importlib

import jax
import numpy as np
import pytest

from trax.fastmath import numpy as jnp
from trax.shapes import ShapeDtype
import trax.layers as tl
from trax.layers.assert_shape import assert_shape
from tests.layers import harness

# The package attribute `assert_shape` is the decorator, which shadows the module.
assert_shape_module = importlib.import_module('trax.layers.assert_shape')

PARITY_CASES = [
  harness.Case(
    'AssertShape', lambda: tl.AssertShape('...ab,b'), (ShapeDtype((2, 4, 3)), ShapeDtype((3,)))
  ),
  harness.Case(
    'AssertShape',
    lambda: tl.AssertShape('b2', message='pairs', visible_layer=True),
    ShapeDtype((3, 2)),
  ),
]


@assert_shape('...ab,b->...a')
class MatrixTimesVector(tl.Layer):
  """Test layer: a batch of matrices times one vector, optionally with a wrong output."""

  def __init__(self, transpose_output: bool = False):
    super().__init__(n_in=2, name='MatrixTimesVector')
    self._transpose_output = transpose_output

  def forward(self, inputs):
    m, v = inputs
    y = jnp.einsum('...ab,b->...a', m, v)
    return jnp.swapaxes(y, 0, 1) if self._transpose_output else y


@tl.register
@assert_shape('...d->...')
def SumLast(keepdims: bool = False) -> tl.Layer:
  """Test factory: sums the last axis (violating its spec with `keepdims`)."""
  return tl.Fn('SumLast', lambda x: jnp.sum(x, axis=-1, keepdims=keepdims))


def _ones(*shape):
  return np.ones(shape, np.float32)


class TestDecoratedClass:
  def test_matching_shapes_pass(self):
    y = MatrixTimesVector()((_ones(5, 2, 3), _ones(3)))
    np.testing.assert_allclose(y, 3 * _ones(5, 2))

  def test_named_dimension_mismatch_across_inputs(self):
    with pytest.raises(
      tl.LayerError,
      match=r"(?s)MatrixTimesVector.*'\.\.\.ab,b->\.\.\.a'.*"
      r"dimension 'b' is 3 in input 0 \(shape \(5, 2, 3\)\) but 4 in input 1",
    ):
      MatrixTimesVector()((_ones(5, 2, 3), _ones(4)))

  def test_ellipsis_mismatch_between_input_and_output(self):
    with pytest.raises(
      tl.LayerError,
      match=r"'\.\.\.' stands for \(5, 4\) in input 0 .* but "
      r'for \(4, 5\) in output 0',
    ):
      MatrixTimesVector(transpose_output=True)((_ones(5, 4, 2, 3), _ones(3)))

  def test_rank_mismatch(self):
    with pytest.raises(
      tl.LayerError,
      match=r"input 1 \(shape \(3, 1\)\) has rank 2, but "
      r"pattern 'b' needs rank 1",
    ):
      MatrixTimesVector()((_ones(2, 3), _ones(3, 1)))

  def test_the_layer_is_otherwise_unchanged(self):
    layer = MatrixTimesVector()
    assert layer.config() == {'factory': 'tests.layers.test_assert_shape.MatrixTimesVector'}
    assert tl.from_config(layer.config()).n_in == 2

  def test_only_layer_classes_can_be_decorated(self):
    with pytest.raises(TypeError, match='Layer subclasses'):
      assert_shape('a->a')(dict)


class TestDecoratedFactory:
  def test_returns_the_layer_itself_with_checks(self):
    layer = SumLast()
    assert type(layer) is tl.Fn and layer.name == 'SumLast' and layer.weights == ()
    np.testing.assert_allclose(layer(_ones(2, 3)), [3.0, 3.0])
    with pytest.raises(
      tl.LayerError,
      match=r"'\.\.\.' stands for \(2,\) in input 0 .* but for "
      r'\(2, 1\) in output 0',
    ):
      SumLast(keepdims=True)(_ones(2, 3))

  def test_checks_survive_config_round_trips_and_copies(self):
    for layer in (
      tl.from_config(SumLast(keepdims=True).config()),
      copy.deepcopy(SumLast(keepdims=True)),
    ):
      with pytest.raises(tl.LayerError, match='shapes do not match'):
        layer(_ones(2, 3))

  def test_nested_factories_check_every_specification(self):
    @assert_shape('ab->a')
    def Outer():
      return SumLast()

    Outer()(_ones(2, 3))
    with pytest.raises(tl.LayerError, match="'ab->a'.*rank 3"):
      Outer()(_ones(2, 3, 4))

  def test_factory_must_return_a_layer(self):
    with pytest.raises(TypeError, match='not a layer'):
      assert_shape('a->a')(lambda: 3)()


class TestSpecifications:
  @pytest.mark.parametrize(
    'spec, message',
    [
      ('ab', "exactly one '->'"),
      ('a->b->c', "exactly one '->'"),
      ('......a->a', "more than one '...'"),
      ('a_b->a', r"contains \['_'\]"),
    ],
  )
  def test_malformed_specifications_are_rejected_when_decorating(self, spec, message):
    with pytest.raises(ValueError, match=message):
      assert_shape(spec)

  def test_digits_fix_sizes(self):
    tl.AssertShape('a2,a')((_ones(4, 2), _ones(4)))
    with pytest.raises(tl.LayerError, match='axis 1 has size 3, but the pattern fixes it to 2'):
      tl.AssertShape('a2')(_ones(4, 3))

  def test_number_of_tensors_must_match(self):
    with pytest.raises(tl.LayerError, match='expected 2 outputs, got 1'):
      assert_shape('a->a,a')(tl.Relu)()(_ones(3))

  def test_sizes_are_bound_afresh_on_every_call(self):
    layer = tl.AssertShape('ab,b')
    layer((_ones(2, 3), _ones(3)))
    layer((_ones(2, 5), _ones(5)))

  def test_unknown_sizes_match_anything(self):
    layer = tl.AssertShape('...ab,b')
    layer.forward((ShapeDtype((None, 2, 3)), ShapeDtype((3,))))
    layer.forward((ShapeDtype((4, 2, None)), ShapeDtype((3,))))
    with pytest.raises(ValueError, match="dimension 'b'"):
      layer.forward((ShapeDtype((None, 2, 4)), ShapeDtype((3,))))

  def test_symbolic_sizes_under_shape_polymorphism_are_unknown(self):
    (batch,) = jax.export.symbolic_shape('b')
    layer = tl.Dense(4)
    weights, state = layer.init(ShapeDtype((2, 3)))
    y = jax.eval_shape(
      lambda x: layer.pure_fn(x, weights, state, harness.RNG)[0],
      jax.ShapeDtypeStruct((batch, 3), np.float32),
    )
    assert y.shape == (batch, 4)
    tl.AssertShape('a3,a')(
      (jax.ShapeDtypeStruct((batch, 3), np.float32), jax.ShapeDtypeStruct((2,), np.float32))
    )


class TestAssertShapeLayer:
  def test_passes_inputs_through(self):
    x, v = _ones(2, 3), _ones(3)
    outputs = tl.AssertShape('ab,b')((x, v))
    assert outputs[0] is x and outputs[1] is v
    assert tl.AssertShape('...')(x) is x

  def test_message_is_part_of_the_error(self):
    with pytest.raises(tl.LayerError, match=r'\(queries and keys\)'):
      tl.AssertShape('ab,ab', message='queries and keys')((_ones(2, 3), _ones(2, 4)))

  def test_hidden_unless_visible_layer(self):
    assert repr(tl.AssertShape('ab')) == ''
    assert repr(tl.AssertShape('ab,b', visible_layer=True)) == 'AssertShape_in2_out2'
