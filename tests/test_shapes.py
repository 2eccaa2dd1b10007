"""trax.shapes: signature trees, their concrete and dynamic forms, and their JSON codec."""

import json

import ml_dtypes
import numpy as np
import pytest

from trax import shapes
from trax.shapes import ShapeDtype as S


def test_json_round_trip_keeps_containers_dtypes_and_dynamic_sizes():
  tree = (
    S((None, 8), np.int32),
    [S((2,), ml_dtypes.bfloat16), S(())],
    {'mask': S((None, None), np.bool_)},
  )
  data = json.loads(json.dumps(shapes.signature_to_json(tree)))
  assert shapes.signature_from_json(data) == tree
  assert data['tuple'][0] == {'shape': [None, 8], 'dtype': 'int32'}
  assert shapes.signature_to_json(None) is None
  # Arrays are described by their signature.
  assert shapes.signature_to_json(np.zeros((3,), np.float16)) == {'shape': [3], 'dtype': 'float16'}


def test_json_reads_hand_written_forms_and_refuses_non_numeric_dtypes():
  assert shapes.signature_from_json({'shape': [None, 4]}) == S((None, 4), np.float32)
  assert shapes.signature_from_json({'ids': {'shape': [2], 'dtype': 'int32'}}) == {
    'ids': S((2,), np.int32)
  }
  assert shapes.signature_from_json(S((1,))) == S((1,))
  for dtype in ('object', 'str', 'os.system'):
    with pytest.raises(ValueError, match='dtype'):
      shapes.signature_from_json({'shape': [1], 'dtype': dtype})
  with pytest.raises(ValueError, match='Expected a signature'):
    shapes.signature_from_json(3)


def test_dynamic_and_concrete_sizes():
  tree = (S((4, None, 3)), S(()))
  assert shapes.with_dynamic_batch(tree) == (S((None, None, 3)), S(()))
  assert shapes.concrete(shapes.with_dynamic_batch(tree), 2, 16) == (S((2, 16, 3)), S(()))
  assert shapes.concrete([S((None, None))], 5) == [S((5, 5))]


def test_random_inputs_follow_the_signature():
  tree = {'x': S((2, 3), np.float32), 'ids': S((4,), np.int32), 'm': S((2,), np.bool_)}
  arrays = shapes.random_inputs(tree, seed=1, int_high=5)
  assert {k: (a.shape, a.dtype) for k, a in arrays.items()} == {
    k: (s.shape, np.dtype(s.dtype)) for k, s in tree.items()
  }
  assert arrays['ids'].min() >= 0 and arrays['ids'].max() < 5
  np.testing.assert_array_equal(shapes.random_inputs(tree, seed=1)['x'], arrays['x'])
  with pytest.raises(ValueError, match=r'every size known.*\(None, 3\)'):
    shapes.random_inputs(S((None, 3)))
