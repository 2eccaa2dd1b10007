"""The `converters` package: its public names, imported on first use."""

import pytest

import converters


def test_all_lists_every_public_name_and_each_resolves():
  lazy = set(converters._PUBLIC) | {'trax1'}
  assert set(converters.__all__) == lazy | {'conversion_report', 'from_keras', 'to_keras'}
  assert sorted(converters.__all__) == converters.__all__
  for name in converters.__all__:
    assert getattr(converters, name) is not None, name
  assert dir(converters) == converters.__all__


def test_an_unknown_name_is_an_attribute_error():
  with pytest.raises(AttributeError, match='to_onnx'):
    converters.to_onnx  # noqa: B018
