"""Reporter: accumulating losses, the non-finite checks, best-metric tests, log lines."""

import ml_dtypes
import numpy as np
import pytest

from trax.supervised import reporting


class _Task:
  loss_name = 'L2Loss'
  metric_names = ['accuracy']
  export_prefix = None


def test_losses_are_averaged_per_report_and_recorded(capsys):
  reporter = reporting.Reporter([_Task()], [], None)
  for step, loss in enumerate([1.0, 2.0, 6.0], start=1):
    reporter.add(
      0,
      step,
      np.float32(loss),
      {'gradients_l2': np.float32(step), 'learning_rate': np.float32(0.1 * step)},
    )
  reporter.look_at_losses()
  reporter.log_training(3, n_weights=10)
  history = reporter.history
  assert history.get('train', 'metrics/L2Loss') == [(3, 3.0)]
  assert history.get('train', 'training/gradients_l2') == [(3, 2.0)]
  assert history.get('train', 'training/learning_rate') == [(3, pytest.approx(0.3))]
  assert 'Step      3: train L2Loss |  3.00000000' in capsys.readouterr().out


def test_non_finite_loss_names_its_step_and_the_kept_checkpoint():
  reporter = reporting.Reporter([_Task()], [], None)
  reporter.last_checkpoint = (4, 'run/model.npz')
  for step, loss in ((5, 1.0), (6, np.inf), (7, np.nan)):
    reporter.add(0, step, np.float32(loss), {})
  with pytest.raises(
    reporting.NonFiniteLossError,
    match=r'became inf at step 6; stopping \(the last checkpoint, of step 4, '
    r'is intact at run/model.npz\)',
  ):
    reporter.look_at_losses()


def test_non_finite_weights_are_found_in_bfloat16_too():
  reporter = reporting.Reporter([_Task()], [], None)
  reporter.check_finite([np.ones(2, np.float32), np.arange(3)], step=1)
  with pytest.raises(reporting.NonFiniteLossError, match=r'Weights \[1\].*by step 9'):
    reporter.check_finite(
      [np.ones(2, np.float32), np.array([1.0, np.nan], ml_dtypes.bfloat16)], step=9
    )


def test_at_extreme_compares_with_all_earlier_evals():
  reporter = reporting.Reporter([_Task()], [_Task()], None)
  assert not reporter.at_extreme('accuracy', 'lowest')  # No evals yet.
  for step, value in ((1, 0.5), (2, 0.7), (3, 0.6)):
    reporter.log_summary(step, {'accuracy': value}, None, 'metrics/', 'eval', stdout=False)
    assert reporter.at_extreme('accuracy', 'highest') == (step in (1, 2))
    assert reporter.at_extreme('accuracy', 'lowest') == (step == 1)


def test_format_duration():
  assert [reporting.format_duration(s) for s in (5.4, 185, 3725)] == ['5s', '3m05s', '1h02m']
