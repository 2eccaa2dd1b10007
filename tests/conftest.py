"""Settings for the whole test run."""

import os

# The tests' arrays are tiny, so XLA's compile time dominates their run time. Without the
# backend's (LLVM's) optimization passes a compile takes about half as long; the HLO, and so
# what is computed, is the same. Child processes the tests start inherit the setting.
os.environ['XLA_FLAGS'] = ' '.join(
  [os.environ.get('XLA_FLAGS', ''), '--xla_backend_optimization_level=0']
).strip()
