"""Every public layer passes `check_layer`, on jax and on tensorflow-numpy.

Cases come from the `PARITY_CASES` list of each test module in this directory, so the
layer's own tests own its case; `test_every_public_layer_has_a_case` makes sure no public
layer is skipped.
"""

import inspect

import pytest

import trax.layers as tl
from trax.layers import config as config_lib
from trax.layers import initializers
from tests.layers import harness

# Public names that are not layers one can build and check on their own.
NOT_CHECKED = {
  'Layer',
  'PureLayer',
  'Fn',
  'LayerError',
  'ConfigError',
}


CASES = harness.parity_cases()


@pytest.mark.parametrize('case', CASES, ids=str)
def test_layer_contract(case: harness.Case):
  harness.check_layer(case.make(), case.input_signature, **case.options)


def _public_layer_names() -> set[str]:
  names = set()
  for name in dir(tl):
    obj = getattr(tl, name)
    if not name[0].isupper() or name in NOT_CHECKED:
      continue
    if inspect.isclass(obj) and issubclass(obj, tl.Layer):
      names.add(name)
    elif (
      inspect.isfunction(obj)
      and name in config_lib._REGISTRY
      and getattr(initializers, name, None) is not obj
    ):
      names.add(name)
  return names


def test_every_public_layer_has_a_case():
  covered = {case.name for case in CASES}
  missing = sorted(_public_layer_names() - covered)
  assert not missing, f'layers without a PARITY_CASES entry: {missing}'
