"""`import trax.data` must not pay for TensorFlow."""

import subprocess
import sys


def test_import_trax_data_does_not_import_tensorflow():
  code = (
    'import sys, trax, trax.data, trax.data.tf_inputs\n'
    'from trax import data\n'
    'data.Serial(data.Tokenize(vocab_file="en_tiny.subwords"), data.Shuffle(seed=0),'
    ' data.Batch(2))\n'
    'heavy = [m for m in sys.modules if m.split(".")[0] in '
    '("tensorflow", "tensorflow_datasets", "keras")]\n'
    'assert not heavy, heavy[:5]\n'
  )
  subprocess.run([sys.executable, '-c', code], check=True)
