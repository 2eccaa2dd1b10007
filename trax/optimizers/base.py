"""The optimizer contract: a pure update per weight array, assembled over a weight tree.

An optimizer subclass says what happens to ONE weight array:

- `init(weights) -> slots`: the optimizer's own arrays for it (Adam's `(m, v)`).
- `update(step, grads, weights, slots, opt_params) -> (new_weights, new_slots)`: one step.

`update` is pure (it runs under `jit`) and reads its hyper-parameters from `opt_params`, a
dict of scalar arrays, so a learning-rate schedule can change them between steps without
recompiling. `step` counts updates from 0.

This class walks the whole weight tree once, in `fastmath.tree_flatten` order, so `slots`
is a list with one entry per flat weight: the layout of Trax 1.x, whose checkpoints' slots
load unchanged. It also owns what is the same for every optimizer:

- gradient clipping by the global norm of all gradients (`clip_grad_norm`);
- the `gradients_l2` and `weights_l2` metrics;
- dtypes: low-precision weights (bfloat16, float16) are updated in float32 and cast back,
  and their slots are created in float32. (In bfloat16, with its 8-bit significand,
  Adam's `0.999 * v` rounds back to `v`: the second moment would never decay.)
"""

import abc
from typing import Any

from trax import fastmath
from trax.fastmath import numpy as jnp


class Optimizer(abc.ABC):
  """Base class of optimizers that update the weights of Trax layers.

  Subclasses implement `init` and `update` for a single weight array; see the module
  docstring.

  Args:
    learning_rate: the initial learning rate; a schedule may change it during training.
    clip_grad_norm: if set, gradients are scaled down together so that their global L2
      norm (all gradient entries seen as one vector) is at most this value.
    **init_opt_params: initial values of the subclass's other hyper-parameters.
  """

  def __init__(
    self, learning_rate: float = 0.01, clip_grad_norm: 'float | None' = None, **init_opt_params: Any
  ):
    init_opt_params['learning_rate'] = learning_rate
    self._init_opt_params = {name: jnp.array(value) for name, value in init_opt_params.items()}
    self._clip_grad_norm = clip_grad_norm
    self._slots = None

  @abc.abstractmethod
  def init(self, weights: Any) -> Any:
    """Returns the slots for one weight array (shaped after it, usually)."""

  @abc.abstractmethod
  def update(
    self, step: Any, grads: Any, weights: Any, slots: Any, opt_params: dict
  ) -> tuple[Any, Any]:
    """Returns `(new_weights, new_slots)` of one weight array after one step.

    Args:
      step: number of updates made before this one (0 at the first), a Python int or an
        integer array.
      grads: gradient of the loss with respect to `weights`, in float32 or wider.
      weights: current values, in float32 or wider.
      slots: this array's slots, as returned by `init` or by the previous `update`.
      opt_params: hyper-parameters, the same for every weight array.
    """

  @property
  def slots(self) -> Any:
    """Slots from the last `tree_init` (or `tree_update(..., store_slots=True)`)."""
    return self._slots

  @slots.setter
  def slots(self, slots: Any) -> None:
    self._slots = slots

  @property
  def opt_params(self) -> dict:
    """The hyper-parameters, as a dict of scalar arrays including `learning_rate`."""
    return self._init_opt_params

  @opt_params.setter
  def opt_params(self, opt_params: dict) -> None:
    self._init_opt_params = opt_params

  def tree_init(self, weight_tree: Any) -> tuple[list, dict]:
    """Creates slots for every weight array of a model.

    Args:
      weight_tree: the model's weights (nested tuples, lists and dicts of arrays).

    Returns:
      `(slots, opt_params)`: a list of slots, one entry per array in
      `fastmath.tree_flatten(weight_tree)` order, and the hyper-parameters.
    """
    self._slots = [
      self.init(jnp.astype(w, _compute_dtype(w))) for w in fastmath.tree_flatten(weight_tree)
    ]
    return self._slots, self._init_opt_params

  def tree_update(
    self,
    step: Any,
    grad_tree: Any,
    weight_tree: Any,
    slots: list,
    opt_params: dict,
    store_slots: bool = False,
  ) -> tuple[Any, list, dict]:
    """Updates every weight array of a model by one step.

    Args:
      step: number of updates made before this one (0 at the first).
      grad_tree: gradients, in a tree of the same structure as `weight_tree`.
      weight_tree: the model's current weights.
      slots: one entry per flat weight array, as returned by `tree_init`.
      opt_params: hyper-parameters, as returned by `tree_init` and changed by schedules.
      store_slots: whether to also keep the new slots in `self.slots`. Never under `jit`:
        that would store tracers. (Trax 1.4 stored them unless told not to.)

    Returns:
      `(new_weight_tree, new_slots, metrics)`, where `metrics` holds the global L2 norms
      `gradients_l2` (before clipping) and `weights_l2` (before the update).

    Raises:
      ValueError: if the gradients, weights and slots do not have one entry per array.
    """
    grads = fastmath.tree_flatten(grad_tree)
    weights = fastmath.tree_flatten(weight_tree)
    if not len(grads) == len(weights) == len(slots):
      raise ValueError(
        f'{type(self).__name__}.tree_update got {len(grads)} gradient arrays, '
        f'{len(weights)} weight arrays and {len(slots)} slot entries; they must match '
        'one to one (make the slots with tree_init on weights of the same model).'
      )
    grads = [jnp.astype(g, _compute_dtype(g)) for g in grads]
    metrics = {'gradients_l2': l2_norm(grads), 'weights_l2': l2_norm(weights)}
    if self._clip_grad_norm is not None:
      grads = clip_grads(grads, self._clip_grad_norm)
    updated = [
      self._update_one(step, g, w, s, opt_params) for g, w, s in zip(grads, weights, slots)
    ]
    new_weight_tree, _ = fastmath.tree_unflatten([w for w, _ in updated], weight_tree)
    new_slots = [s for _, s in updated]
    if store_slots:
      self._slots = new_slots
    return new_weight_tree, new_slots, metrics

  def _update_one(self, step, grads, weights, slots, opt_params):
    """`update` in float32 (or wider), with the new weights cast back to their dtype."""
    new_weights, new_slots = self.update(
      step, grads, jnp.astype(weights, _compute_dtype(weights)), slots, opt_params
    )
    return jnp.astype(new_weights, weights.dtype), new_slots


def l2_norm(tree: Any) -> Any:
  """Returns the L2 norm of all entries of all arrays in `tree`, as one vector.

  The sum of squares is taken in float32 (or wider) whatever the arrays' dtype.
  """
  return fastmath.global_norm(
    [jnp.astype(x, _compute_dtype(x)) for x in fastmath.tree_flatten(tree)]
  )


def clip_grads(grad_tree: Any, max_norm: float) -> Any:
  """Scales all gradients by one factor so that their global L2 norm is at most `max_norm`.

  Args:
    grad_tree: gradient arrays in any tree.
    max_norm: the largest global norm let through unchanged.

  Returns:
    A tree like `grad_tree`: unchanged if its norm is at most `max_norm`, else scaled by
    `max_norm / norm`.
  """
  # A zero norm gives max_norm / 0 = inf, and min(1, inf) = 1: zero gradients stay zero.
  scale = jnp.minimum(1.0, max_norm / l2_norm(grad_tree))
  return fastmath.nested_map(lambda g: g * jnp.astype(scale, g.dtype), grad_tree)


def _compute_dtype(x: Any) -> Any:
  """The dtype an optimizer computes in for `x`: float32, or `x`'s if wider."""
  return jnp.result_type(x.dtype, jnp.float32)
