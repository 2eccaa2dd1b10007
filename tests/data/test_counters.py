"""CountAndSkip with its saved counters (Trax 1.4's data_counters<host>.pkl), UniformlySeek."""

import pickle

import pytest

from trax import data
from trax.data import counters


@pytest.fixture(autouse=True)
def _fresh_counters():
  saved = dict(data.inputs.data_counters)
  data.inputs.data_counters.clear()
  yield
  data.inputs.data_counters.clear()
  data.inputs.data_counters.update(saved)


def test_count_and_skip_as_trax_test():
  examples = data.Serial(lambda _: ((i, i + 1) for i in range(10)), data.CountAndSkip('toy'))
  stream = examples()
  assert next(stream) == (0, 1) and data.inputs.data_counters['toy'] == 1
  assert next(stream) == (1, 2) and data.inputs.data_counters['toy'] == 2
  assert next(examples()) == (2, 3)  # A new stream skips what was counted.
  assert data.inputs.data_counters['toy'] == 3
  data.inputs.data_counters['toy'] = 0
  assert next(examples()) == (0, 1)


def test_counters_save_and_load_in_trax_file_format(tmp_path):
  list(zip(range(4), data.CountAndSkip('a')(iter(range(10)))))
  data.save_data_counters(str(tmp_path), host_id=0)
  with open(tmp_path / 'data_counters0.pkl', 'rb') as f:
    assert pickle.load(f) == {'a': 4}
  data.inputs.data_counters['a'] = 0
  data.load_data_counters(str(tmp_path), host_id=0)
  assert data.inputs.data_counters == {'a': 4}
  assert counters.data_counters is data.inputs.data_counters  # Same dict, loaded in place.
  data.load_data_counters(str(tmp_path / 'missing'), host_id=0)  # No file: unchanged.
  assert data.inputs.data_counters == {'a': 4}


def test_loading_refuses_anything_but_counts(tmp_path):
  with open(tmp_path / 'data_counters0.pkl', 'wb') as f:
    pickle.dump({'a': 'four'}, f)
  with pytest.raises(ValueError, match='names to example counts'):
    data.load_data_counters(str(tmp_path), host_id=0)


def test_uniformly_seek_starts_each_host_at_its_share():
  seek = data.UniformlySeek(name='d', host_id=2, n_hosts=4, dataset_size=20)
  assert next(seek(iter(range(100)))) == 10
  assert next(data.UniformlySeek('d', host_id=0, n_hosts=4, dataset_size=20)(iter([7]))) == 7
  with pytest.raises(ValueError, match='name'):
    data.UniformlySeek()
