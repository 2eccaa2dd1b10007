"""Per-example transformations: filter, truncate, pad, LM concatenation, weights, casts."""

import numpy as np
import pytest

from trax import data


def _ex(*lengths):
  return tuple(np.arange(1, n + 1, dtype=np.int32) for n in lengths)


def _lengths(examples):
  return [tuple(len(x) for x in example) for example in examples]


def test_filter_by_length_uses_the_longest_keyed_array_and_inclusive_bounds():
  examples = [_ex(2, 2), _ex(3, 6), _ex(5, 1), _ex(1, 1), _ex(6, 6)]
  kept = data.FilterByLength(max_length=5, min_length=2)(iter(examples))
  assert _lengths(kept) == [(2, 2), (5, 1)]


def test_filter_by_length_on_chosen_keys_and_axis():
  examples = [(np.zeros((2, 7)), np.zeros(9)), (np.zeros((2, 3)), np.zeros(1))]
  kept = data.FilterByLength(max_length=4, length_keys=[0], length_axis=1)(iter(examples))
  assert [x[0].shape for x in kept] == [(2, 3)]
  with pytest.raises(ValueError, match='both are None'):
    data.FilterByLength(None, None)


def test_filter_empty_examples():
  examples = [_ex(0, 2), _ex(2, 0), _ex(1, 1)]
  assert _lengths(data.FilterEmptyExamples()(iter(examples))) == [(1, 1)]
  assert _lengths(data.FilterEmptyExamples(axes=[0])(iter(examples))) == [(2, 0), (1, 1)]


def test_truncate_to_length_cuts_as_trax_where_trax_cuts_cleanly():
  x = np.arange(20).reshape(5, 4)
  ((a, b),) = data.TruncateToLength({0: (3, 4), 1: 2})(iter([(x, np.arange(6))]))
  np.testing.assert_array_equal(a, x[:3])  # np.resize(x, (3, 4)) is the same.
  np.testing.assert_array_equal(a, np.resize(x, (3, 4)))
  np.testing.assert_array_equal(b, [0, 1])
  row = np.arange(5).reshape(1, 5)  # Trax 1.4's test: (1, 5) -> (1, 3).
  ((out,),) = data.TruncateToLength({0: (1, 3)})(iter([(row,)]))
  np.testing.assert_array_equal(out, [[0, 1, 2]])
  # Shapes are compared as tuples, as in Trax: (5, 4) is not larger than (8, 8) nor
  # than (6, 2), so the array stays whole.
  for bound in ((8, 8), (6, 2)):
    ((c, _),) = data.TruncateToLength({0: bound})(iter([(x, np.arange(6))]))
    np.testing.assert_array_equal(c, x)


def test_truncate_to_length_refuses_cuts_that_trax_would_scramble():
  x = np.arange(20).reshape(5, 4)
  # np.resize(x, (3, 2)) gives [[0, 1], [2, 3], [4, 5]]: rows mixed, not x[:3, :2].
  with pytest.raises(ValueError, match=r'maximum shape \(3, 2\).*np.resize'):
    next(data.TruncateToLength({0: (3, 2)})(iter([(x,)])))
  with pytest.raises(ValueError, match='np.resize'):  # Trax's test wrapped 21 values.
    next(data.TruncateToLength({0: (1, 4, 6)})(iter([np.arange(21).reshape(1, 21, 1)])))


def test_truncate_keeps_single_arrays_single_and_without_len_map_passes_through():
  (out,) = data.TruncateToLength({0: (2,)})(iter([np.arange(5)]))
  np.testing.assert_array_equal(out, [0, 1])
  example = _ex(3, 4)
  assert next(data.TruncateToLength()(iter([example]))) == example


def test_pad_to_length_pads_axis_zero_with_the_pad_value():
  ((a, b),) = data.PadToLength({0: 5, 1: 3}, pad_value={0: -1, 1: 9})(iter([_ex(2, 4)]))
  np.testing.assert_array_equal(a, [1, 2, -1, -1, -1])
  np.testing.assert_array_equal(b, [1, 2, 3, 4])  # Longer than 3: kept.
  ((m,),) = data.PadToLength({0: 4})(iter([(np.ones((2, 3)),)]))
  assert m.shape == (4, 3) and m[2:].sum() == 0


def test_pad_to_length_multiple_pads_up_to_the_next_multiple():
  pad = data.PadToLength({0: 4}, multiple=True)
  assert [len(x[0]) for x in pad(iter([_ex(1), _ex(4), _ex(5), _ex(7)]))] == [4, 4, 8, 8]
  (single,) = data.PadToLength({0: 4}, multiple=True)(iter([np.arange(5)]))
  assert single.shape == (8,)


def test_pad_to_length_errors():
  with pytest.raises(ValueError, match='needs len_map'):
    data.PadToLength()
  with pytest.raises(ValueError, match='key 3'):
    next(data.PadToLength({3: 4})(iter([_ex(1, 1)])))


def test_concatenate_to_lm_input():
  ((x, y, w),) = data.ConcatenateToLMInput(pad_to_length=7)(
    iter([(np.array([5, 6]), np.array([7, 8, 9]))])
  )
  np.testing.assert_array_equal(x, [5, 6, 7, 8, 9, 0, 0])
  np.testing.assert_array_equal(y, x)
  np.testing.assert_array_equal(w, [0, 0, 1, 1, 1, 0, 0])
  with pytest.raises(ValueError, match='longer than pad_to_length'):
    next(data.ConcatenateToLMInput(pad_to_length=2)(iter([_ex(2, 2)])))


def test_add_loss_weights_to_pairs_and_masking_by_id():
  pair = (np.array([1, 2]), np.array([3, 0, 4, 0]))
  ((_, _, w),) = data.AddLossWeights()(iter([pair]))
  np.testing.assert_array_equal(w, [1, 1, 1, 1])
  assert w.dtype == np.float32
  ((_, _, w),) = data.AddLossWeights(id_to_mask=0)(iter([pair]))
  np.testing.assert_array_equal(w, [1, 0, 1, 0])


def test_add_loss_weights_keeps_and_masks_given_weights():
  triple = (np.array([1]), np.array([3, 0, 4]), np.array([0.5, 1.0, 0.0]))
  ((_, _, w),) = data.add_loss_weights(iter([triple]), id_to_mask=0)
  np.testing.assert_array_equal(w, [0.5, 0.0, 0.0])


def test_add_loss_weights_passes_other_examples_unless_masking():
  single = (np.array([1]),)
  assert next(data.add_loss_weights(iter([single]))) is single
  with pytest.raises(ValueError, match='id_to_mask=0'):
    next(data.add_loss_weights(iter([single]), id_to_mask=0))


def test_cast_to_casts_only_the_given_indices():
  example = (np.array([1, 2], np.int64), np.array([1.5]), np.array([3], np.int64))
  a, b, c = next(data.CastTo(np.int32, indices=(0, 1))(iter([example])))
  assert (a.dtype, b.dtype, c.dtype) == (np.int32, np.int32, np.int64)
  np.testing.assert_array_equal(b, [1])


def test_cast_to_debug_logs_changes_but_not_int64_to_int32(caplog):
  examples = [(np.array([1], np.int64),), (np.array([1.0]),)]
  with caplog.at_level('INFO', logger='trax.data.transforms'):
    list(data.CastTo(np.int32, indices=(0,), debug=True)(iter(examples)))
  assert len(caplog.records) == 1 and 'example 1' in caplog.records[0].getMessage()
