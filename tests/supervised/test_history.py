"""History: Trax 1.x's record of metrics, and its dict / JSON round trip."""

import json

import numpy as np

from trax.supervised import history as history_lib


def test_append_get_modes_metrics():
  history = history_lib.History()
  history.append('train', 'metrics/accuracy', 1, 0.04)
  history.append('train', 'metrics/accuracy', 1000, 0.31)
  history.append('eval', 'metrics/loss', 1000, np.float32(2.5))
  assert history.get('train', 'metrics/accuracy') == [(1, 0.04), (1000, 0.31)]
  assert history.get('eval', 'metrics/loss') == [(1000, 2.5)]
  assert isinstance(history.get('eval', 'metrics/loss')[0][1], float)
  assert history.modes == ['eval', 'train']
  assert history.metrics_for_mode('train') == ['metrics/accuracy']
  assert history.get('train', 'no_such_metric') == []
  assert history.get('no_such_mode', 'metrics/loss') == []
  assert history.metrics_for_mode('no_such_mode') == []


def test_to_dict_has_trax1_layout_and_survives_json():
  history = history_lib.History()
  history.append('train', 'metrics/loss', 10, 1.5)
  history.append('train', 'metrics/loss', 20, 0.75)
  d = history.to_dict()
  assert d == {'_values': {'train': {'metrics/loss': [(10, 1.5), (20, 0.75)]}}}
  restored = history_lib.History.from_dict(json.loads(json.dumps(d)))
  assert restored == history
  assert restored.get('train', 'metrics/loss') == [(10, 1.5), (20, 0.75)]


def test_to_dict_is_a_copy():
  history = history_lib.History()
  history.append('eval', 'm', 1, 1.0)
  history.to_dict()['_values']['eval']['m'].append((2, 2.0))
  assert history.get('eval', 'm') == [(1, 1.0)]


def test_from_dict_rejects_other_data():
  try:
    history_lib.History.from_dict({'values': {}})
  except ValueError as e:
    assert '_values' in str(e)
  else:
    raise AssertionError('expected a ValueError')
