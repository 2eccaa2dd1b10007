"""Fixtures for running Trax 1.4's programs: offline data, a clean backend, a work dir."""

import pytest

from trax import fastmath
from tests.trax14_programs import programs


@pytest.fixture(scope='session')
def _tfds_root(tmp_path_factory):
  return str(tmp_path_factory.mktemp('tensorflow_datasets'))


@pytest.fixture
def tfds_data(_tfds_root, monkeypatch):
  """`prepare(name)` makes the tiny dataset `name` the one `trax.data.TFDS(name)` finds
  without a `data_dir` (TFDS's default data directory points here for the test)."""
  tfds = pytest.importorskip('tensorflow_datasets')
  monkeypatch.setattr(tfds.core.constants, 'DATA_DIR', _tfds_root)
  return lambda name: programs.prepare_tfds(_tfds_root, name)


@pytest.fixture(autouse=True)
def jax_backend_after():
  """Programs call `fastmath.set_backend('tensorflow-numpy')`; later tests expect jax."""
  yield
  fastmath.set_backend('jax')


@pytest.fixture
def workdir(tmp_path, monkeypatch):
  """The program's current directory (for its relative `output_dir`s)."""
  monkeypatch.chdir(tmp_path)
  return tmp_path
