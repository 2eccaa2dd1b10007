"""Layers and functions of Trax 1.4's API added for parity, with numbers from oracles.

Summary layers, Gaussian log-densities (scipy), GeneralGRUCell and the SRU cells (numpy
recurrences), AssertFunction, to_list, the array-file helpers and the pmap-era helpers.
"""

import os

import jax
import numpy as np
import pytest
from scipy import stats

from trax import fastmath
from trax import shapes
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
RNG = harness.RNG


@tl.register
def Dense3() -> tl.Layer:
  """A registered factory, so that `GeneralGRUCell(Dense3).config()` describes it."""
  return tl.Dense(3)


PARITY_CASES = [
  harness.Case('SummaryScalar', lambda: tl.SummaryScalar('mean'), S((2, 3))),
  harness.Case(
    'SummaryImage', lambda: tl.SummaryImage('im', 2, num_summaries=2), (S((3, 2, 2)), S((3, 2, 2)))
  ),
  harness.Case('AssertFunction', lambda: tl.AssertFunction('...a->...b', tl.Dense(4)), S((2, 3))),
  harness.Case(
    'GeneralGRUCell',
    lambda: tl.GeneralGRUCell(Dense3, dropout_rate_c=0.5),
    S((2, 3)),
    {'deterministic': False},
  ),
  harness.Case('InnerSRUCell', tl.InnerSRUCell, (S((2, 3)), S((2, 3)), S((2, 3)))),
  harness.Case(
    'ScanSRUCell', lambda: tl.ScanSRUCell('eval'), (S((2, 4, 3)), S((2, 4, 3)), S((2, 3)))
  ),
]


def test_summary_scalar_keeps_its_value_and_passes_the_input():
  layer = tl.SummaryScalar('mean_activation')
  x = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
  np.testing.assert_array_equal(layer(x), x)
  assert layer.state == {'summary_mean_activation': pytest.approx(3.0)}
  maximum = tl.SummaryScalar('max', aggregation_fun=fastmath.numpy.max)
  maximum(x)
  assert float(maximum.state['summary_max']) == 6.0


def test_summary_image_keeps_concatenated_items():
  layer = tl.SummaryImage('pair', 2, num_summaries=5)
  a, b = np.arange(12.0).reshape(3, 2, 2), -np.arange(12.0).reshape(3, 2, 2)
  outputs = layer((a, b))
  np.testing.assert_array_equal(outputs[0], a)
  assert sorted(layer.state) == ['summary_pair0', 'summary_pair1', 'summary_pair2']
  np.testing.assert_array_equal(layer.state['summary_pair1'], np.concatenate([a[1], b[1]]))


def test_gaussian_log_densities_equal_scipy():
  rng = np.random.default_rng(0)
  x, mu = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
  a = rng.normal(size=(3, 3))
  sigma = a @ a.T + np.eye(3)
  variances = rng.uniform(0.2, 2.0, size=3)
  expected_full = [stats.multivariate_normal.logpdf(x[i], mu[i], sigma) for i in range(4)]
  expected_diag = [
    stats.multivariate_normal.logpdf(x[i], mu[i], np.diag(variances)) for i in range(4)
  ]
  for backend in ('jax', 'tensorflow-numpy'):
    with fastmath.use_backend(backend):
      full = tl.log_gaussian_pdf(
        x.astype(np.float32),
        mu.astype(np.float32),
        np.broadcast_to(sigma, (4, 3, 3)).astype(np.float32),
      )
      diag = tl.log_gaussian_diag_pdf(x, mu, variances)
    np.testing.assert_allclose(np.asarray(full), expected_full, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(diag), expected_diag, rtol=1e-4)


def test_multigaussian_loss_is_the_mixture_log_likelihood():
  rng = np.random.default_rng(1)
  n_gauss, d = 2, 3
  preds = rng.normal(size=(5, n_gauss * (2 * d + 1))).astype(np.float32)
  targets = rng.normal(size=(5, d)).astype(np.float32)
  got = tl.multigaussian_loss(preds, targets, ngauss=n_gauss)
  logits = preds[:, :n_gauss].astype(np.float64)
  mixture = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  mus = preds[:, n_gauss : n_gauss * (d + 1)].reshape(5, n_gauss, d)
  variances = (preds[:, n_gauss * (d + 1) :] ** 2 + 1e-6).reshape(5, n_gauss, d)
  expected = [
    np.log(
      sum(
        mixture[b, k]
        * stats.multivariate_normal.pdf(targets[b], mus[b, k], np.diag(variances[b, k]))
        for k in range(n_gauss)
      )
    )
    for b in range(5)
  ]
  np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_general_gru_cell_computes_the_gru_update():
  cell = tl.GeneralGRUCell(lambda: tl.Dense(3), dropout_rate_c=0.0)
  s = np.random.default_rng(2).normal(size=(2, 3)).astype(np.float32)
  weights, _ = cell.init(S((2, 3)), rng=RNG)
  flat, _ = tl.flatten_weights_and_state(weights, ())
  (w_u, b_u), (w_r, b_r), (w_c, b_c) = flat[0:2], flat[2:4], flat[4:6]
  sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))
  u = sigmoid(s @ w_u + b_u + 0.5)
  r = sigmoid(s @ w_r + b_r + 0.5)
  c = np.tanh((r * s) @ w_c + b_c)
  np.testing.assert_allclose(cell(s), u * s + (1 - u) * c, rtol=1e-5, atol=1e-6)


def test_sru_cells_run_the_recurrence():
  rng = np.random.default_rng(3)
  x_times_one_minus_f = rng.normal(size=(2, 4, 3)).astype(np.float32)
  f = rng.uniform(size=(2, 4, 3)).astype(np.float32)
  c0 = rng.normal(size=(2, 3)).astype(np.float32)
  cs, c_final = tl.ScanSRUCell('train')((x_times_one_minus_f, f, c0))
  c = c0
  for t in range(4):
    c = f[:, t] * c + x_times_one_minus_f[:, t]
    np.testing.assert_allclose(cs[:, t], c, rtol=1e-6)
  np.testing.assert_allclose(c_final, c, rtol=1e-6)
  step, same = tl.InnerSRUCell()((x_times_one_minus_f[:, 0], f[:, 0], c0))
  np.testing.assert_allclose(step, f[:, 0] * c0 + x_times_one_minus_f[:, 0], rtol=1e-6)
  np.testing.assert_array_equal(step, same)
  with pytest.raises(ValueError, match='Terraformer'):
    tl.ScanSRUCell('predict', monkey_patched_mask=object())


def test_assert_function_checks_inputs_and_outputs_and_leaves_the_layer_unchanged():
  dense = tl.Dense(4)
  checked = tl.AssertFunction('...a->...b', dense)
  assert checked(np.ones((2, 3), np.float32)).shape == (2, 4)
  with pytest.raises(tl.LayerError, match="dimension 'b'"):
    tl.AssertFunction('ab->ab', tl.Dense(4))(np.ones((2, 3), np.float32))
  assert dense(np.ones((2, 3, 3), np.float32)).shape == (2, 3, 4)  # Unchecked itself.


def test_to_list_and_array_files(tmp_path):
  assert tl.to_list((np.array([1, 2]), np.array([[3.0]]))) == [[1, 2], [[3.0]]]
  assert tl.to_list(np.array([1])) == [1]
  path = os.path.join(tmp_path, 'arrays.npy.gz')
  arrays = [np.arange(3), np.ones((2, 2), np.float32)]
  tl.np_to_file(arrays, path, compresslevel=2)
  for got, want in zip(tl.np_from_file(path, compresslevel=2), arrays):
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
  with pytest.raises(FileNotFoundError):
    tl.np_from_file(path + 'x', 2)


def test_pmap_era_helpers():
  x = np.arange(24.0).reshape(6, 4)
  np.testing.assert_array_equal(tl.reshape_by_device(x, 3), x.reshape(3, 2, 4))
  with pytest.raises(ValueError, match='does not evenly divide'):
    tl.reshape_by_device(x, 4)
  assert tl.for_n_devices(x, 1) is x
  np.testing.assert_array_equal(tl.for_n_devices(np.ones(2), 1), np.ones(2))
  np.testing.assert_allclose(tl.mean_or_pmean(1, x, axis=0), x.mean(0))
  forward = tl.jit_forward(lambda x, w, s, r: (x * w, s), 1)
  np.testing.assert_allclose(forward(x, 2.0, (), RNG)[0], 2.0 * x)
  weights = np.arange(8.0).reshape(4, 2)  # rank 2: shards along axis 0
  sharded = tl.shard(weights, 1)
  assert sharded.shape == (jax.local_device_count(), 4, 2)
  np.testing.assert_array_equal(tl.unshard(sharded[:1], 1), weights)
  np.testing.assert_array_equal(tl.unshard(np.stack(np.split(weights, 2)), 2), weights)
  assert tl.N_WEIGHTS_SHARDS == 1
  with pytest.raises(ValueError, match='NamedSharding'):
    tl.unshard_in_pmap(weights, 2)
  np.testing.assert_array_equal(tl.on_cpu(x), x)
  np.testing.assert_array_equal(tl.on_accelerator(x), x)  # No accelerator here.


def test_chunk_weights_and_outputs_follow_trax_keys():
  # Trax 1.4 gave each sublayer split(key, n_sublayers)[i], for one sublayer too: Chunk's
  # Serial(ToChunks, Scan(layer), FromChunks) gives Scan split(key, 3)[1], and Scan gives
  # its layer split(that, 1)[0].
  key = jax.random.PRNGKey(5)
  chunked = tl.Chunk(tl.Dense(4), chunk_size=2)
  weights, _ = chunked.init(S((6, 3)), rng=key)
  scan_key = jax.random.split(key, 3)[1]
  dense = tl.Dense(4)
  expected, _ = dense.init(S((2, 3)), rng=jax.random.split(scan_key, 1)[0])
  harness.assert_trees_close(weights[1][0], expected, 0.0, 0.0)
  x = np.random.default_rng(4).normal(size=(6, 3)).astype(np.float32)
  np.testing.assert_allclose(chunked(x), dense(x), rtol=1e-6)
  # Not divisible: one chunk (pass_unchunkable), or an error.
  np.testing.assert_allclose(chunked(x[:5]), dense(x[:5]), rtol=1e-6)
  with pytest.raises(tl.LayerError, match='does not divide'):
    tl.Chunk(tl.Dense(4), chunk_size=2, pass_unchunkable=False)(x[:5])


def test_serial_of_one_layer_splits_its_key_as_trax():
  key = jax.random.PRNGKey(2)
  weights, _ = tl.Serial(tl.Dense(3)).init(S((1, 2)), rng=key)
  expected, _ = tl.Dense(3).init(S((1, 2)), rng=jax.random.split(key, 1)[0])
  harness.assert_trees_close(weights[0], expected, 0.0, 0.0)
