"""The shared argument checks of layer constructors."""

import pytest

from trax.layers import checks


@pytest.mark.parametrize('value', [0.0, 0.5, 0.999])
def test_fraction_accepts_values_in_range(value):
  checks.check_fraction('Dropout', 'rate', value)
  checks.check_fraction('Dropout', 'rate', value, one_allowed=True)


def test_fraction_one_only_when_allowed():
  checks.check_fraction('PositionalEncoding', 'start_from_zero_prob', 1.0, one_allowed=True)
  with pytest.raises(ValueError, match=r'Dropout: rate must be in \[0, 1\), got 1.0'):
    checks.check_fraction('Dropout', 'rate', 1.0)


@pytest.mark.parametrize('value', [-0.1, 1.5])
def test_fraction_refuses_values_outside(value):
  with pytest.raises(ValueError, match=r'^label_smoothing must be in \[0, 1\], got'):
    checks.check_fraction('', 'label_smoothing', value, one_allowed=True)
