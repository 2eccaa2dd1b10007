"""Layers that record values for TensorBoard in their state (Trax 1.x's summary layers).

They return their inputs unchanged and keep a value in their state under a key starting
with `summary_`; `Loop.run_evals` reports the scalar ones after each eval, as Trax 1.4's
`Loop` did (`summary_<name>` in the history and the eval summaries).
"""

from typing import Any
from collections.abc import Callable

import numpy as np

from trax.fastmath import numpy as jnp
from trax.layers import base

__all__ = ['SummaryScalar', 'SummaryImage']


class SummaryScalar(base.Layer):
  """Returns its input and keeps `aggregation_fun(input)` (a scalar) in its state.

  State: `{'summary_<name>': value}` (0 after init).

  >>> layer = SummaryScalar('mean_activation')
  >>> y = layer(np.array([1., 2., 3.]))  # layer.state == {'summary_mean_activation': 2.}

  Args:
    name: the reported name (`summary_` is put in front).
    aggregation_fun: maps the input to the reported scalar; its mean by default.
  """

  def __init__(self, name: str, aggregation_fun: 'Callable[[Any], Any] | None' = None):
    super().__init__(name=f'Summary_{name}')
    self._key = 'summary_' + name
    self._aggregation_fun = aggregation_fun or _mean

  def init_weights_and_state(self, input_signature: Any) -> None:
    del input_signature
    self.state = {self._key: jnp.zeros((), jnp.float32)}

  def forward(self, x: Any) -> Any:
    self.state = {self._key: jnp.astype(self._aggregation_fun(x), jnp.float32)}
    return x


def _mean(x: Any) -> Any:
  return jnp.mean(x)  # `jnp.mean` looked up at each call: the backend then in use.


class SummaryImage(base.Layer):
  """Returns its `n_in` inputs and keeps the first `num_summaries` batch items as images.

  Image `s` (for `s < min(num_summaries, batch)`) is the concatenation along axis 0 of
  item `s` of every input (after `recover_fn`, if given), kept in the state under
  `summary_<name><s>`. The state holds these keys from `init` on (zeros then), so its
  structure is fixed (Trax 1.4 added the keys at the first call).

  Args:
    name: the reported name.
    n_in: the number of inputs (and outputs).
    num_summaries: how many batch items to keep.
    recover_fn: maps one item to a displayable image (e.g. undoing normalization).
  """

  def __init__(
    self,
    name: str,
    n_in: int,
    num_summaries: int = 5,
    recover_fn: 'Callable[[Any], Any] | None' = None,
  ):
    super().__init__(n_in=n_in, n_out=n_in, name=f'Summary_{name}')
    self._key = 'summary_' + name
    self._num_summaries = num_summaries
    self._recover_fn = recover_fn

  def _images(self, xs: tuple, n_images: 'int | None' = None) -> dict:
    if n_images is None:
      n_images = min(self._num_summaries, xs[0].shape[0])
    recover = self._recover_fn or (lambda item: item)
    return {
      f'{self._key}{s}': jnp.concatenate([recover(x[s]) for x in xs], axis=0)
      for s in range(n_images)
    }

  def init_weights_and_state(self, input_signature: Any) -> None:
    signatures = input_signature if self.n_in != 1 else (input_signature,)
    # numpy zeros as the backend holds them (float64 is float32 under jax, without a warning).
    self.state = self._images(tuple(jnp.asarray(np.zeros(s.shape, s.dtype)) for s in signatures))

  def forward(self, xs: Any) -> Any:
    # As many images as `init` made room for (a TF batch may be unknown until run time).
    self.state = self._images(tuple(xs) if self.n_in != 1 else (xs,), len(self.state))
    return xs
