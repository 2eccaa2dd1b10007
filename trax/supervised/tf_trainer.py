"""The training step on the tensorflow-numpy backend: `tf.function` and `tf.GradientTape`.

`Loop(..., backend='tensorflow-numpy')` (or a Loop built while that backend is selected,
as Trax notebooks do with `fastmath.set_backend('tensorflow-numpy')`) trains with this
step instead of the jitted jax one (`trainer.TaskTrainer`). It is the same computation,
written once in the layers and optimizers against `fastmath`: the forward pass of model
and loss, `fastmath.value_and_grad` (a `tf.GradientTape` here), the learning-rate
schedule and the optimizer update, traced once into one `tf.function` (plain TF ops, no
XLA unless `jit_compile=True` is asked for).

Weights, state and slots live in `tf.Variable`s that the step updates in place, so a call
passes only the batch (a `tf.function` call canonicalizing a ResNet's thousand weight
tensors cost ~20 ms a step). The step returns the model's new weights and state as TF
tensors; given back unchanged they are not copied in again, while any others (set from
outside the `Loop`, or another task's) are assigned first. The `Loop` converts them for
its jax-side work (evals, checkpoints, the model's own weights). One device (TF's
default); random numbers come from TF's stateless generator, so dropout masks differ from
the jax step's (the numbers agree for models without randomness).
"""

from typing import Any

import numpy as np
import tensorflow as tf

from trax import fastmath
from trax import shapes
from trax.layers import base
from trax.layers import combinators as cb
from trax.supervised import batch_checks
from trax.supervised import trainer as trainer_lib

_TF = 'tensorflow-numpy'


def to_tensors(tree: Any) -> Any:
  """The arrays of `tree` as TF tensors with jax's dtypes (64-bit types narrowed), so the
  step computes what the jax step does (a float64 batch trains in float32 on both)."""

  def to_tensor(x):
    narrow = isinstance(x, (np.ndarray, np.generic)) and x.dtype == np.float64
    return fastmath.numpy.asarray(x.astype(np.float32) if narrow else x)

  with fastmath.use_backend(_TF):
    return fastmath.nested_map(to_tensor, tree)


class TfTaskTrainer:
  """Trains a model on one `TrainTask` with a `tf.function` step; as `trainer.TaskTrainer`.

  Args:
    model: the model, initialized.
    task: the `TrainTask`.
    name: how errors refer to the task.
    jit_compile: compile the step with XLA through TF (`tf.function(jit_compile=True)`).

  Raises:
    ValueError: the task's batches do not fit model and loss, or the loss is no scalar.
  """

  def __init__(self, model: base.Layer, task: Any, name: str, jit_compile: bool = False):
    signature = shapes.signature(task.sample_batch)
    self._model_with_loss = trainer_lib.model_with_ends(model, [task.loss_layer], signature, name)
    loss = self._model_with_loss.output_signature(cb.inputs_from_stack(signature, len(signature)))
    if not isinstance(loss, shapes.ShapeDtype) or loss.shape:
      raise ValueError(
        f'{name}: the loss layer {task.loss_layer.name} must output one scalar, but outputs {loss}.'
      )
    self._name = name
    self._check_batch = batch_checks.BatchCheck(model, [task.loss_layer], signature, name)
    self._optimizer = task.optimizer
    self._lr_schedule = task.lr_schedule
    slots, opt_params = self._optimizer.tree_init(self._model_with_loss.weights)
    self._values = {
      'slots': slots,
      'loss_weights': task.loss_layer.weights,
      'loss_state': task.loss_layer.state,
    }
    self.opt_params = opt_params
    # ((model weights, loss weights), (model state, loss state), slots), from the first step.
    self._variables: Any = None
    self._returned_ids = None  # Of the model weights and state the last step returned.
    self.n_traces = 0
    self._compiled_step = tf.function(
      self._step, autograph=False, jit_compile=jit_compile, reduce_retracing=True
    )

  slots = property(lambda self: self._get('slots'), lambda self, value: self._set('slots', value))
  loss_weights = property(
    lambda self: self._get('loss_weights'), lambda self, value: self._set('loss_weights', value)
  )
  loss_state = property(
    lambda self: self._get('loss_state'), lambda self, value: self._set('loss_state', value)
  )

  def _parts(self) -> dict:
    """The variables of the slots and the loss layer's weights and state, by name."""
    (_, loss_weights), (_, loss_state), slots = self._variables
    return {'slots': slots, 'loss_weights': loss_weights, 'loss_state': loss_state}

  def _get(self, name: str) -> Any:
    if self._variables is None:
      return self._values[name]
    return fastmath.nested_map(lambda v: v.read_value(), self._parts()[name])

  def _set(self, name: str, value: Any) -> None:
    self._values[name] = value
    if self._variables is not None:
      _assign(self._parts()[name], value)

  def take_batch(self, task: Any, step: int) -> Any:
    """The task's next batch, checked (see `place_batch`)."""
    return self.place_batch(batch_checks.next_batch(task, self._name, step), step)

  def place_batch(self, batch: tuple, step: int) -> Any:
    """`batch` as TF tensors, after checking its arrays (`batch_checks`)."""
    self._check_batch(batch, step)
    return to_tensors(tuple(batch))

  def one_step(
    self, model_weights: Any, model_state: Any, batch: Any, step: int, rng: Any
  ) -> tuple[Any, Any, Any, dict]:
    """One training step; returns `(new_model_weights, new_model_state, loss, metrics)`
    as TF tensors (the inputs may be TF tensors, jax or numpy arrays)."""
    if self._variables is None:
      values = (
        (model_weights, self._values['loss_weights']),
        (model_state, self._values['loss_state']),
        self._values['slots'],
      )
      self._variables = fastmath.nested_map(tf.Variable, to_tensors(values))
    elif _ids((model_weights, model_state)) != self._returned_ids:
      (weights, _), (state, _), _ = self._variables
      _assign((weights, state), (model_weights, model_state))
    model_weights, model_state, loss, metrics = self._compiled_step(
      to_tensors(self.opt_params), tf.constant(step, tf.int32), batch, to_tensors(np.asarray(rng))
    )
    self._returned_ids = _ids((model_weights, model_state))
    return model_weights, model_state, loss, metrics

  def _step(self, opt_params, step, batch, rng):
    """One update, as `trainer.TaskTrainer._step` on the tensorflow-numpy backend."""
    self.n_traces += 1
    weights, state, slots = fastmath.nested_map(lambda v: v.read_value(), self._variables)
    with fastmath.use_backend(_TF):
      rng = fastmath.random.fold_in(rng, step)

      def loss_fn(weights):
        return self._model_with_loss.pure_fn(batch, weights, state, rng)

      (loss, new_state), grads = fastmath.value_and_grad(loss_fn, has_aux=True)(weights)
      # Float step numbers: TF's operators do not promote (b1 ** t with an integer t fails).
      step = tf.cast(step, tf.float32)
      if self._lr_schedule is not None:
        learning_rate = opt_params['learning_rate']
        opt_params = dict(
          opt_params, learning_rate=tf.cast(self._lr_schedule(step), learning_rate.dtype)
        )
      new_weights, new_slots, metrics = self._optimizer.tree_update(
        step - 1.0, grads, weights, slots, opt_params
      )
      metrics = dict(metrics, learning_rate=opt_params['learning_rate'])
    _assign(self._variables, (new_weights, new_state, new_slots))
    return new_weights[0], new_state[0], loss, metrics


def _assign(variables: Any, values: Any) -> None:
  """Assigns the leaves of `values` to the variables of the same tree."""
  leaves = fastmath.tree_leaves(variables)
  new = fastmath.tree_leaves(to_tensors(values))
  if len(leaves) != len(new):
    raise ValueError(f'Expected {len(leaves)} arrays to assign, got {len(new)}.')
  for variable, value in zip(leaves, new):
    variable.assign(value)


def _ids(tree: Any) -> list:
  return [id(x) for x in fastmath.tree_leaves(tree)]
