"""`Loop` on the tensorflow-numpy backend: the same training as the jax step.

Trax notebooks call `fastmath.set_backend('tensorflow-numpy')` and then train with `Loop`;
`Loop(..., backend='tensorflow-numpy')` asks for it explicitly. The references are the jax
step's weights after the same steps on the same data from the same seeds (models without
dropout: the two backends draw different random bits).
"""

import jax
import numpy as np
import pytest

import trax
from trax import fastmath
import trax.layers as tl
from trax.supervised import training
from tests.supervised import helpers


def _weights_after(backend, make_model, make_task, n_steps, **loop_kwargs):
  model = make_model()
  loop = training.Loop(model, make_task(), random_seed=0, backend=backend, **loop_kwargs)
  loop.run(n_steps)
  assert loop.backend == (backend or 'jax')
  return loop, [np.asarray(w) for w in fastmath.tree_flatten(model.weights)]


def _regression_task():
  return training.TrainTask(helpers.regression_stream(), tl.L2Loss(), trax.optimizers.Adam(0.01))


def test_regression_mlp_trains_as_under_jax():
  _, reference = _weights_after('jax', helpers.mlp, _regression_task, 20)
  loop, got = _weights_after('tensorflow-numpy', helpers.mlp, _regression_task, 20)
  assert len(got) == len(reference)
  for g, r in zip(got, reference):
    np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
  assert loop.history.get('train', 'metrics/L2Loss')[-1][1] < 20.0  # It learns.


def test_language_model_trains_as_under_jax():
  def lm():
    return trax.models.TransformerLM(
      12, d_model=16, d_ff=32, n_layers=1, n_heads=2, max_len=16, dropout=0.0
    )

  def stream():
    rng = np.random.default_rng(1)
    while True:
      tokens = rng.integers(1, 12, (4, 8)).astype(np.int32)
      yield tokens, tokens, np.ones((4, 8), np.float32)

  def task():
    return training.TrainTask(
      stream(),
      tl.WeightedCategoryCrossEntropy(),
      trax.optimizers.Adam(0.01),
      lr_schedule=trax.supervised.lr_schedules.warmup(2, 0.01),
    )

  jax_loop, reference = _weights_after('jax', lm, task, 5)
  tf_loop, got = _weights_after('tensorflow-numpy', lm, task, 5)
  # Adam divides by sqrt(v): weights whose gradients are ~0 (float noise) move by up to
  # the learning rate in either direction, so the tolerance is a fraction of the 0.01 step.
  for g, r in zip(got, reference):
    np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)
  losses = lambda loop: [
    v for _, v in loop.history.get('train', 'metrics/WeightedCategoryCrossEntropy')
  ]
  np.testing.assert_allclose(losses(tf_loop), losses(jax_loop), rtol=1e-5)


def test_selected_backend_trains_evaluates_and_checkpoints(tmp_path):
  # As a Trax notebook: select the backend, then build and run the loop.
  fastmath.set_backend('tensorflow-numpy')
  try:
    eval_task = training.EvalTask(helpers.regression_stream(seed=1), [tl.L2Loss()])
    loop = training.Loop(
      helpers.mlp(),
      _regression_task(),
      eval_tasks=[eval_task],
      output_dir=str(tmp_path),
      random_seed=0,
    )
    loop.run(3)
  finally:
    fastmath.set_backend('jax')
  assert loop.backend == 'tensorflow-numpy'
  assert loop.history.get('eval', 'metrics/L2Loss')
  resumed = training.Loop(
    helpers.mlp(), _regression_task(), output_dir=str(tmp_path), random_seed=0, backend='jax'
  )
  assert resumed.step == 1  # The step-1 checkpoint, written by the tensorflow-numpy loop.


def test_weights_and_slots_set_between_runs_are_the_ones_trained():
  """The step keeps weights and slots in TF variables: what is set from outside (model
  weights, checkpointed slots) must replace them, as in the jax step."""

  def run(backend):
    model = helpers.mlp()
    loop = training.Loop(model, _regression_task(), random_seed=0, backend=backend)
    loop.run(2)
    model.weights = fastmath.nested_map(lambda w: np.asarray(w) * 0.5, model.weights)
    trainer = loop._trainers[0]
    trainer.slots = jax.tree.map(lambda s: np.zeros_like(np.asarray(s)), trainer.slots)
    loop.run(2)
    return [np.asarray(w) for w in fastmath.tree_flatten(model.weights)]

  for got, expected in zip(run('tensorflow-numpy'), run('jax')):
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_jax_only_options_are_refused():
  with pytest.raises(ValueError, match='jax backend'):
    training.Loop(helpers.mlp(), _regression_task(), backend='tensorflow-numpy', loss_chunk_size=4)
  with pytest.raises(ValueError, match="'jax' or 'tensorflow-numpy'"):
    training.Loop(helpers.mlp(), _regression_task(), backend='numpy')


def test_trax14_training_helpers(tmp_path):
  path = str(tmp_path / 'obj.pkl.gz')
  obj = {'weights': [np.arange(3.0)], 'step': 7}
  training.pickle_to_file(obj, path, gzip=True)
  back = training.unpickle_from_file(path, gzip=True)
  assert back['step'] == 7
  np.testing.assert_array_equal(back['weights'][0], obj['weights'][0])
  training.pickle_to_file(Exploit(), path)
  with pytest.raises(Exception, match='Refusing'):
    training.unpickle_from_file(path)
  is_chief, host_count, n_devices, rng = training.init_host_and_devices(random_seed=3)
  assert is_chief and host_count == 1 and n_devices >= 1
  np.testing.assert_array_equal(rng, fastmath.random.get_prng(3))


class Exploit:
  """An object whose unpickling would call a function (refused)."""

  def __reduce__(self):
    return (print, ('unpickled',))
