"""Batch, UnBatch, pad_to_max_dims and BucketByLength."""

import numpy as np
import pytest

from trax import data


def _seq(n, value=1, dtype=np.int32):
  return np.full(n, value, dtype)


def test_batch_pads_each_position_to_its_longest_and_drops_the_remainder():
  examples = [(_seq(2, 1), _seq(1, 7)), (_seq(3, 2), _seq(4, 8)), (_seq(1, 3), _seq(1, 9))]
  batches = list(data.Batch(2)(iter(examples)))
  assert len(batches) == 1  # The third example does not fill a batch.
  inputs, targets = batches[0]
  np.testing.assert_array_equal(inputs, [[1, 1, 0], [2, 2, 2]])
  np.testing.assert_array_equal(targets, [[7, 0, 0, 0], [8, 8, 8, 8]])
  assert inputs.dtype == np.int32


def test_batch_pads_every_axis_and_stacks_scalars():
  examples = [(np.ones((2, 3)), np.int64(0)), (np.ones((3, 1)), np.int64(1))]
  images, labels = next(data.batch(iter(examples), 2))
  assert images.shape == (2, 3, 3)
  np.testing.assert_array_equal(images[1], [[1, 0, 0]] * 3)
  np.testing.assert_array_equal(labels, [0, 1])


def test_batch_of_single_arrays_is_a_single_array():
  batch = next(data.batch(iter([_seq(1), _seq(2)]), 2))
  np.testing.assert_array_equal(batch, [[1, 0], [1, 1]])


def test_batch_errors_name_the_array_position():
  examples = [(_seq(2), np.ones((2, 2))), (_seq(2), np.ones(2))]
  with pytest.raises(ValueError, match='array 1'):
    next(data.batch(iter(examples), 2))
  with pytest.raises(ValueError, match='positive'):
    data.Batch(0)


def test_unbatch_inverts_batch():
  examples = [(_seq(2, i), np.int32(i)) for i in range(4)]
  round_trip = list(data.UnBatch()(data.batch(iter(examples), 2)))
  assert len(round_trip) == 4
  for (x, y), (x2, y2) in zip(examples, round_trip):
    np.testing.assert_array_equal(x, x2)
    assert y == y2


def test_pad_to_max_dims_without_boundary():
  batch = data.pad_to_max_dims([np.ones((2, 10)), np.ones((3, 9))])
  assert batch.shape == (2, 3, 10)
  assert batch[0, 2].sum() == 0 and batch[1, :, 9].sum() == 0


def test_pad_to_max_dims_with_boundary_pads_towards_it_or_a_power_of_two():
  # Trax 1.4's own test: every axis not already at the boundary grows to it, even the
  # equal first axis (its docstring said (2, 8, 12)).
  assert data.pad_to_max_dims([np.ones((8, 10)), np.ones((8, 9))], 12).shape == (2, 12, 12)
  # Equal small axes grow to a power of two as well: 3 features become 4.
  assert data.pad_to_max_dims([np.ones((5, 3)), np.ones((6, 3))], 16).shape == (2, 8, 4)
  # Axis 0 (max 3) is far below 12, so it goes to 4, the next power of two.
  assert data.pad_to_max_dims([np.ones((2, 10)), np.ones((3, 9))], 12).shape == (2, 4, 12)
  # Axes already all at the boundary stay.
  assert data.pad_to_max_dims([np.ones(12), np.ones(12)], 12).shape == (2, 12)


def test_pad_to_max_dims_strict_pads_to_multiples():
  batch = data.pad_to_max_dims([np.ones(5), np.ones(9)], 4, strict_pad_on_len=True)
  assert batch.shape == (2, 12)
  # As in Trax 1.4, strict padding rounds every axis up to a multiple, not only the length.
  both = data.pad_to_max_dims([np.ones((5, 3)), np.ones((9, 2))], 4, strict_pad_on_len=True)
  assert both.shape == (2, 12, 4)
  per_axis = data.pad_to_max_dims([np.ones((5, 3)), np.ones((9, 2))], [8, None])
  assert per_axis.shape == (2, 16, 3)


def test_bucket_by_length_routes_by_inclusive_boundaries():
  bucket = data.BucketByLength(boundaries=[4, 8], batch_sizes=[3, 2, 1])
  lengths = [4, 5, 9, 1, 8, 2, 12]
  examples = [(_seq(n), _seq(n)) for n in lengths]
  batches = [b[0] for b in bucket(iter(examples))]
  # Length 9 fills the last bucket (size 1) first; 5 and 8 fill the middle one; then
  # 4, 1, 2 the first; then 12 the last again.
  assert [b.shape for b in batches] == [(1, 9), (2, 8), (3, 4), (1, 12)]
  np.testing.assert_array_equal(batches[2].sum(axis=1), [4, 1, 2])


def test_bucket_by_length_pads_small_buckets_to_a_power_of_two():
  bucket = data.BucketByLength(boundaries=[16], batch_sizes=[2, 1])
  ((inputs, _),) = list(bucket(iter([(_seq(3), _seq(3)), (_seq(2), _seq(2))])))
  assert inputs.shape == (2, 4)  # 2 * 3 < 16, so 4 rather than 16.
  ((inputs, _),) = list(bucket(iter([(_seq(9), _seq(9)), (_seq(12), _seq(12))])))
  assert inputs.shape == (2, 16)


def test_bucket_by_length_strict_pad_and_length_keys():
  bucket = data.BucketByLength([8, 16], [2, 2, 2], length_keys=[1], strict_pad_on_len=True)
  examples = [(_seq(20), _seq(3)), (_seq(2), _seq(5))]
  inputs, targets = next(bucket(iter(examples)))
  # Bucketed by targets (length <= 8); inputs padded to a multiple of 8.
  assert inputs.shape == (2, 24) and targets.shape == (2, 8)


def test_bucket_by_length_checks_its_arguments():
  with pytest.raises(ValueError, match='one more batch size'):
    data.BucketByLength([8, 16], [4, 2])
  with pytest.raises(ValueError, match='increase'):
    data.BucketByLength([16, 8], [4, 2, 1])
