"""Test data kept outside the repository, in `../shared` beside its root.

Tests that use it skip when it is absent (see `requires`).
"""

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared'
# A real Trax 1.x checkpoint: a TransformerLM trained on the copy task.
TRAX1_LM = SHARED / 'testdata' / 'trax1' / 'transformerlm_copy.pkl.gz'


def requires(path: pathlib.Path):
  """Marks a test to skip when the shared file `path` is absent."""
  return pytest.mark.skipif(not path.exists(), reason=f'{path} is absent')
