"""Code examples of Trax 1.4's docstrings (`trax/layers/combinators.py`,
`trax/data/inputs.py`), run as written, with the values they state checked.

Swapped: the IMDB reviews and `en_8k.subword` (tiny stand-ins), `my_file.txt` (the
shipped corpus). The language-model pipeline's `lambda g: map(lambda x: (x, x))` is a slip
in Trax's docstring (`map` without its iterable fails in Python itself); the test checks
that, then runs it with the `g` it misses.
"""

import collections
import itertools

import numpy as np
import pytest

from trax import data
from trax import layers as tl
from tests.trax14_programs import programs


def test_serial_mlp():
  mlp = tl.Serial(
    tl.Dense(128),
    tl.Relu(),
    tl.Dense(10),
  )
  x = np.ones((2, 7), np.float32)
  assert mlp(x).shape == (2, 10) and (mlp.n_in, mlp.n_out) == (1, 1)


def test_parallel_and_branch_stack_examples():
  f = tl.Fn('F', lambda a: a + 1)
  g = tl.Fn('G', lambda b, c, d: b * c * d)
  h = tl.Fn('H', lambda e, x: (e - x, e + x), n_out=2)
  a, b, c, d, e, x = (np.array([float(i)]) for i in range(1, 7))
  parallel = tl.Parallel(f, g, h)
  assert (parallel.n_in, parallel.n_out) == (6, 4)
  np.testing.assert_array_equal(parallel((a, b, c, d, e, x)), [a + 1, b * c * d, e - x, e + x])
  assert tl.Parallel(None, f)((a, b))[0] == a  # None passes its input unchanged.

  branch = tl.Branch(f, g, h)  # F(a), G(a, b, c), h1, h2 where h1, h2 = H(a, b)
  assert (branch.n_in, branch.n_out) == (3, 4)
  np.testing.assert_array_equal(branch((a, b, c)), [a + 1, a * b * c, a - b, a + b])


def test_concatenate_select_residual_and_scan():
  x = np.array([1, 2])
  y = np.array([3, 4])
  z = np.array([5, 6])
  concat3 = tl.Concatenate(n_items=3)
  z = concat3((x, y, z))  # z = [1, 2, 3, 4, 5, 6]
  np.testing.assert_array_equal(z, [1, 2, 3, 4, 5, 6])

  one = tl.Select([0], n_in=2)((x, y))  # n_out = 1: one tensor, not in a tuple.
  np.testing.assert_array_equal(one, x)
  assert tl.Select([1, 0])((x, y))[0] is y

  residual = tl.Residual(tl.Fn('Double', lambda v: v * 2), shortcut=tl.Fn('Neg', lambda v: -v))
  np.testing.assert_array_equal(residual(x), x * 2 - x)

  def f(input, carry):
    res = input + carry
    return res, res  # output and carry are the same

  add = tl.Fn('add', f, n_out=2)
  ys, carry = tl.Scan(add)((np.array([1, 2, 3]), np.array(0)))  # [1, 3, 6], 6
  np.testing.assert_array_equal(ys, [1, 3, 6])
  assert carry == 6


def test_data_module_pipelines(tfds_data, workdir):
  tfds_data('imdb_reviews')
  inputs = data.Serial(
    data.TFDS('imdb_reviews', keys=('text', 'label'), train=True),
    data.Tokenize(vocab_file='en_tiny.subwords', keys=[0]),
    data.Shuffle(),
    data.FilterByLength(max_length=2048, length_keys=[0]),
    data.BucketByLength(
      boundaries=[32, 128, 512, 2048], batch_sizes=[8, 8, 4, 2, 1], length_keys=[0]
    ),
    data.AddLossWeights(),
  )
  tokens, labels, weights = next(inputs())
  assert tokens.shape[0] == labels.shape[0] == weights.shape[0] == 8

  workdir.joinpath('my_file.txt').write_text(programs.CORPUS.read_text())
  with pytest.raises(TypeError, match='map'):
    next((lambda g: map(lambda x: (x, x)))(iter([])))
  inputs = data.Serial(
    lambda _: open('my_file.txt'),
    lambda g: map(lambda line: line.strip(), g),
    data.Tokenize(vocab_file='en_tiny.subwords'),
    lambda g: filter(lambda x: x.shape[0] < 513, g),  # At most 512 tokens.
    data.Shuffle(),
    lambda g: map(lambda x: (x, x), g),  # Language models have inputs = targets.
    data.BucketByLength(boundaries=[32, 64, 128, 256, 512], batch_sizes=[32, 16, 8, 4, 2, 1]),
    data.AddLossWeights(id_to_mask=0),
  )
  x, y, mask = next(inputs())
  np.testing.assert_array_equal(x, y)
  np.testing.assert_array_equal(mask, (y != 0).astype(np.float32))


def test_data_parallel_mixes_by_counters():
  def dataset(name):
    return lambda: itertools.repeat(name)

  dataset1, dataset2, dataset3 = dataset('a'), dataset('b'), dataset('c')
  gen = data.Parallel([dataset1, dataset2, dataset3], counters=(2, 1, 3))
  counts = collections.Counter(itertools.islice(gen(), 600))
  assert counts == {'a': 200, 'b': 100, 'c': 300}  # 33%, 16% and 50%.

  gen = data.Parallel([dataset1, dataset2, dataset3], counters=(20, 50, 30))
  counts = collections.Counter(itertools.islice(gen(), 1000))
  assert counts == {'a': 200, 'b': 500, 'c': 300}
