"""examples/keras_swap_block.py runs end to end (slow: it trains two models)."""

import pytest

from tests.trax_keras import helpers


@pytest.mark.slow
@helpers.tf_only
def test_keras_swap_block_example(tmp_path):
  code = f'''
import sys
sys.argv = ['keras_swap_block.py', '--output_dir', {str(tmp_path)!r}]
import runpy
runpy.run_path('examples/keras_swap_block.py', run_name='__main__')
'''
  output = helpers.run_python(code, 'tensorflow')
  assert 'reloaded predictions differ by at most 0.00e+00' in output, output
