"""Runs a SavedModel's signatures in a process where jax and trax cannot be imported.

`verify.py` starts this file's code in a fresh Python (`python -c`, run from an empty
directory) as: `<saved model dir> <cases.npz> <outputs.npz> <signature names, comma
separated> <parent pid>`, and dies with its parent (a killed export leaves no process).
`cases.npz` holds `case<i>/<input name>` arrays; the outputs are written as
`case<i>/<signature>/<output name>`. The last line of stdout is a JSON summary.

Only TensorFlow and numpy are imported here, deliberately: the point is to prove the
export serves without jax, trax or the exporting code.
"""

import ctypes
import importlib.abc
import json
import os
import signal
import sys
import threading
import time

_BLOCKED = ('jax', 'jaxlib', 'trax', 'trax_keras', 'converters', 'flax', 'optax')


class _Blocker(importlib.abc.MetaPathFinder):
  """Refuses the packages an export must not need, as if they were not installed."""

  def find_spec(self, fullname, path=None, target=None):
    del path, target
    if fullname.split('.')[0] in _BLOCKED:
      raise ImportError(f'{fullname} is blocked: the export must run without it.')
    return None


def _die_with_parent(parent: int) -> None:
  """Exits when `parent` does: at once on Linux (PR_SET_PDEATHSIG), else within a second."""
  if sys.platform.startswith('linux'):
    try:
      ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
      pass

  def watch():
    while os.getppid() == parent:
      time.sleep(1.0)
    os._exit(1)

  if os.getppid() != parent:  # The parent died before the signal was set up.
    os._exit(1)
  threading.Thread(target=watch, daemon=True).start()


def main(argv):
  *argv, parent = argv
  _die_with_parent(int(parent))
  sys.meta_path.insert(0, _Blocker())
  for name in [m for m in sys.modules if m.split('.')[0] in _BLOCKED]:
    del sys.modules[name]
  try:
    import jax  # noqa: F401 (importing is the check)

    jax_importable = True
  except ImportError:
    jax_importable = False

  import numpy as np
  import tensorflow as tf

  export_dir, cases_path, outputs_path, names = argv
  loaded = tf.saved_model.load(export_dir)
  with np.load(cases_path, allow_pickle=False) as data:
    cases = {}
    for key in data.files:
      case, input_name = key.split('/', 1)
      cases.setdefault(case, {})[input_name] = data[key]
  outputs, signatures = {}, {}
  for name in names.split(','):
    function = loaded.signatures[name]
    _, input_specs = function.structured_input_signature
    signatures[name] = {
      'inputs': {
        k: [list(s.shape.as_list()) if s.shape.rank is not None else None, s.dtype.name]
        for k, s in input_specs.items()
      },
      'outputs': {
        k: [t.shape.as_list() if t.shape.rank is not None else None, t.dtype.name]
        for k, t in function.structured_outputs.items()
      },
    }
    for case, inputs in sorted(cases.items()):
      results = function(**{k: tf.constant(v) for k, v in inputs.items()})
      for output_name, value in results.items():
        outputs[f'{case}/{name}/{output_name}'] = value.numpy()
  np.savez(outputs_path, **outputs)
  leaked = sorted({m.split('.')[0] for m in sys.modules} & set(_BLOCKED))
  print(
    json.dumps(
      {'jax_importable': jax_importable, 'leaked_modules': leaked, 'signatures': signatures}
    )
  )


if __name__ == '__main__':
  main(sys.argv[1:])
