"""Normalization layers: BatchNorm, LayerNorm, FilterResponseNorm.

Weight and state layouts are those of Trax 1.x, so its checkpoints load: BatchNorm weights
`(beta, gamma)` and state `(running_mean, running_var, n_batches)`; LayerNorm `(scale,
bias)`; FilterResponseNorm `(gamma, beta, learnt_epsilon)`.
"""

from typing import Any
from collections.abc import Sequence


from trax import fastmath
from trax.fastmath import numpy as jnp
from trax.layers import base

__all__ = [
  'BatchNorm',
  'LayerNorm',
  'FilterResponseNorm',
]


class BatchNorm(base.Layer):
  r"""Batch normalization: standardizes over the batch axes, then scales and shifts.

  .. math::
      y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

  In train mode :math:`\mu, \sigma^2` are the mean and (biased) variance of `x` over `axis`,
  and the running averages :math:`r \leftarrow m\, r + (1 - m)\, \text{batch value}` (with
  `m = momentum`) are updated. In eval and predict mode the running averages are used,
  debiased for their starting values (mean 0, variance 1) by the batch count `n`:
  :math:`\hat\mu = r_\mu / (1 - m^n)`, :math:`\hat\sigma^2 = (r_{\sigma^2} - m^n) /
  (1 - m^n)`. Trax 1.x used the raw averages, which with the default momentum 0.999 stay
  close to (0, 1) for thousands of steps, so eval outputs of a briefly trained model were
  far off; the fix changes nothing for long-trained models (:math:`m^n \to 0`).
  Ioffe & Szegedy (2015), https://arxiv.org/abs/1502.03167.

  Weights: `(beta, gamma)`, each of the input shape without the `axis` dimensions (`()` in
  place of one disabled by `center` / `scale`). State: `(running_mean, running_var,
  n_batches)`, the first two of the input shape with size 1 on `axis`, `n_batches` an int32
  scalar.

  >>> layer = BatchNorm(axis=0)
  >>> y = layer(np.array([[1.], [3.]], np.float32))  # Batch mean 2, variance 1.
  >>> np.round(np.asarray(y), 3).ravel().tolist(), int(layer.state[2])
  ([-1.0, 1.0], 1)

  Args:
    axis: axes to normalize over (batch and spatial axes; default for NHWC images).
    epsilon: added to the variance for stability.
    center: add `beta`.
    scale: multiply by `gamma`.
    momentum: weight of the old running averages at each update.
    mode: `'train'` uses and accumulates batch statistics; `'eval'` and `'predict'` use the
      running averages.
  """

  weight_names = ('beta', 'gamma')
  state_names = ('running_mean', 'running_var', 'n_batches')

  def __init__(
    self,
    axis: 'int | Sequence[int]' = (0, 1, 2),
    epsilon: float = 1e-5,
    center: bool = True,
    scale: bool = True,
    momentum: float = 0.999,
    mode: str = 'train',
  ):
    super().__init__(name='BatchNorm')
    self._axis = (axis,) if isinstance(axis, int) else tuple(axis)
    self._epsilon = epsilon
    self._center = center
    self._scale = scale
    self._momentum = momentum
    self._mode = mode

  def init_weights_and_state(self, input_signature: Any) -> None:
    shape = input_signature.shape
    axis = self._axes_for_rank(len(shape))
    params_shape = tuple(d for i, d in enumerate(shape) if i not in axis)
    stats_shape = tuple(1 if i in axis else d for i, d in enumerate(shape))
    beta = jnp.zeros(params_shape, jnp.float32) if self._center else ()
    gamma = jnp.ones(params_shape, jnp.float32) if self._scale else ()
    self.weights = (beta, gamma)
    self.state = (
      jnp.zeros(stats_shape, jnp.float32),
      jnp.ones(stats_shape, jnp.float32),
      jnp.zeros((), jnp.int32),
    )

  def forward(self, x: Any) -> Any:
    running_mean, running_var, n_batches = self.state
    if self._mode == 'train':
      axis = self._axes_for_rank(len(x.shape))
      mean = jnp.mean(x, axis=axis, keepdims=True)
      # The mean's gradient through the variance is exactly 0 (the deviations sum to 0):
      # stopping it saves passes over x in the backward pass.
      var = jnp.mean(jnp.square(x - fastmath.stop_gradient(mean)), axis=axis, keepdims=True)
      self.state = (
        self._smoothed(running_mean, mean),
        self._smoothed(running_var, var),
        n_batches + 1,
      )
    else:
      mean, var = self.debiased_statistics(running_mean, running_var, n_batches)
    # y = x * scale + offset with per-channel scale and offset: two passes over x instead
    # of four (without XLA's fusion, on the tensorflow-numpy backend, passes cost most).
    stats_shape, dtype = tuple(running_mean.shape), running_mean.dtype
    # In the statistics' dtype (float32 for float16 inputs): TF does not promote mixed types.
    mean, var = jnp.astype(mean, dtype), jnp.astype(var, dtype)
    scale = 1.0 / jnp.sqrt(var + self._epsilon)
    beta, gamma = self.weights
    if self._scale:
      scale = scale * jnp.astype(jnp.reshape(gamma, stats_shape), dtype)
    offset = -mean * scale
    if self._center:
      offset = offset + jnp.astype(jnp.reshape(beta, stats_shape), dtype)
    return x * jnp.astype(scale, x.dtype) + jnp.astype(offset, x.dtype)

  def _axes_for_rank(self, rank: int) -> tuple[int, ...]:
    if any(not -rank <= a < rank for a in self._axis):
      raise ValueError(f'BatchNorm axis {self._axis} does not fit inputs of rank {rank}.')
    return tuple(sorted(a % rank for a in self._axis))

  def _smoothed(self, running: Any, batch_value: Any) -> Any:
    m = self._momentum
    return jnp.astype(m * running + (1.0 - m) * batch_value, running.dtype)

  def debiased_statistics(
    self, running_mean: Any, running_var: Any, n_batches: Any
  ) -> tuple[Any, Any]:
    """The mean and variance eval mode normalizes with, from the layer's state.

    The running averages without the weight `m**n` of their starting values (0 and 1)
    after `n_batches` updates; exports that serve the statistics precomputed use this.
    """
    trained = n_batches > 0
    momentum = jnp.asarray(self._momentum, running_mean.dtype)  # float64 if state widened.
    start_weight = jnp.where(trained, jnp.power(momentum, n_batches), 0.0)
    correction = 1.0 - start_weight
    mean = running_mean / correction
    # Clamped: the subtraction can round below zero when correction is tiny.
    var = jnp.maximum((running_var - start_weight) / correction, 0.0)
    return mean, var


class LayerNorm(base.Layer):
  r"""Layer normalization over the last axis, then a learned scale and shift.

  .. math::
      y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \cdot \text{scale} + \text{bias}

  with :math:`\mu, \sigma^2` the mean and variance of `x` along its last axis. With
  `center=False`, no mean is subtracted and no bias added, so
  :math:`y = x / \sqrt{\text{mean}(x^2) + \epsilon} \cdot \text{scale}` (RMS
  normalization); `bias` stays in the weights, unused, to keep Trax 1.x's layout.
  Ba et al. (2016), https://arxiv.org/abs/1607.06450.

  Weights: `(scale, bias)`, each of shape `(d,)` for inputs `(..., d)`, in the input dtype.

  >>> y = LayerNorm()(np.array([[1., 2., 3.]], np.float32))
  >>> np.round(np.asarray(y, np.float64), 3).tolist()
  [[-1.225, 0.0, 1.225]]

  Args:
    center: subtract the mean and add `bias`.
    epsilon: added to the variance for stability.
  """

  weight_names = ('scale', 'bias')

  def __init__(self, center: bool = True, epsilon: float = 1e-6):
    super().__init__(name='LayerNorm')
    self._center = center
    self._epsilon = epsilon

  def init_weights_and_state(self, input_signature: Any) -> None:
    d = input_signature.shape[-1]
    self.weights = (jnp.ones((d,), input_signature.dtype), jnp.zeros((d,), input_signature.dtype))

  def forward(self, x: Any) -> Any:
    scale, bias = self.weights
    if isinstance(x.shape[-1], int) and x.shape[-1] != scale.shape[-1]:
      raise ValueError(
        f'input shape {tuple(x.shape)} has last dimension {x.shape[-1]}, but '
        f'the scale and bias were initialized for {scale.shape[-1]}.'
      )
    centered = x - jnp.mean(x, axis=-1, keepdims=True) if self._center else x
    variance = jnp.mean(centered * centered, axis=-1, keepdims=True)
    y = centered / jnp.sqrt(variance + self._epsilon) * scale
    return y + bias if self._center else y


class FilterResponseNorm(base.Layer):
  r"""Filter response normalization (without the thresholded linear unit).

  For inputs `(batch, *spatial, channels)`, each channel of each example is divided by its
  root mean square over the spatial axes:

  .. math::
      y = \gamma \frac{x}{\sqrt{\nu^2 + \epsilon}} + \beta, \quad
      \nu^2 = \text{mean}_{\text{spatial}}(x^2)

  Singh & Krishnan (2019), https://arxiv.org/abs/1911.09737; follow it with
  `ThresholdedLinearUnit`. The computation is the same in every mode.

  Weights: `(gamma, beta, learnt_epsilon)`: `gamma` and `beta` of shape `(channels,)`, and
  `learnt_epsilon` either `()` or, with `learn_epsilon`, a 1-tuple holding a scalar `l`
  that makes :math:`\epsilon = \text{init\_epsilon} + |l|`.

  Args:
    mode: accepted for Trax 1.x compatibility (no mode-dependent behaviour).
    learn_epsilon: learn an addition to epsilon.
    init_epsilon: the fixed part of epsilon; must be positive.
    init_learnt_epsilon: starting value of the learned part; must be positive.
  """

  def __init__(
    self,
    mode: str = 'train',
    learn_epsilon: bool = False,
    init_epsilon: float = 1e-6,
    init_learnt_epsilon: float = 1e-4,
  ):
    super().__init__(name='FilterResponseNorm')
    del mode  # Computes the same in every mode.
    if init_epsilon <= 0 or init_learnt_epsilon <= 0:
      raise ValueError(
        'FilterResponseNorm needs positive init_epsilon and '
        f'init_learnt_epsilon, got {init_epsilon} and {init_learnt_epsilon}.'
      )
    self._learn_epsilon = learn_epsilon
    self._init_epsilon = init_epsilon
    self._init_learnt_epsilon = init_learnt_epsilon

  def init_weights_and_state(self, input_signature: Any) -> None:
    channels = input_signature.shape[-1]
    learnt_epsilon = (
      (jnp.asarray(self._init_learnt_epsilon, jnp.float32),) if self._learn_epsilon else ()
    )
    self.weights = (
      jnp.ones((channels,), jnp.float32),
      jnp.zeros((channels,), jnp.float32),
      learnt_epsilon,
    )

  def forward(self, x: Any) -> Any:
    gamma, beta, learnt_epsilon = self.weights
    rank = len(x.shape)
    if rank < 3:
      raise ValueError(
        f'FilterResponseNorm needs inputs (batch, *spatial, channels) with at '
        f'least one spatial axis; got shape {tuple(x.shape)}.'
      )
    epsilon = self._init_epsilon
    if learnt_epsilon:
      epsilon = epsilon + jnp.abs(learnt_epsilon[0])
    nu2 = jnp.mean(x * x, axis=tuple(range(1, rank - 1)), keepdims=True)  # (B, 1.., C)
    return gamma * x / jnp.sqrt(nu2 + epsilon) + beta
