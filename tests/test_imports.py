"""`import trax` must not pay for TensorFlow or Keras."""

import subprocess
import sys


def test_import_trax_does_not_import_tensorflow_or_keras():
  code = ('import sys, trax, trax.layers, trax.fastmath\n'
          'heavy = [m for m in ("tensorflow", "keras") if m in sys.modules]\n'
          'assert not heavy, heavy\n')
  subprocess.run([sys.executable, '-c', code], check=True)
