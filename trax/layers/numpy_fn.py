"""`NumpyFn`: one `fastmath.numpy` function as a layer, described by its name.

`tl.Fn` takes any Python function, but a config can only name registered ones; a model
built from many small array expressions (`x[:, 0] * 2`, `matmul(q, transpose(k))`, as
Keras functional graphs hold) would need one registered function each. `NumpyFn` names the
numpy function instead, and gives the constant arguments in the config, so any such
expression is a layer that `config()` describes and the tensorflow-numpy backend runs.
"""

from typing import Any
from collections.abc import Sequence

from trax.fastmath import numpy as jnp
from trax.layers import base

__all__ = ['NumpyFn']


class NumpyFn(base.Layer):
  """`fastmath.numpy.<function>(*args, **kwargs)`, its array arguments from the inputs.

  The positional arguments are the layer's `n_in` inputs, in order, with `constants`
  inserted at their positions: `NumpyFn('subtract', constants=[(0, 1.)])` computes
  `1 - x`. Keyword arguments are constants too.

  >>> NumpyFn('matmul', n_in=2)((np.ones((2, 3)), np.ones((3, 4)))).shape
  (2, 4)
  >>> NumpyFn('subtract', constants=[(0, 1.)])(np.array([0.25])).tolist()
  [0.75]

  Args:
    function: the name of a function of `fastmath.numpy` (numpy's API).
    n_in: how many positional arguments are inputs.
    constants: `(position, value)` pairs of constant positional arguments.
    n_out: how many arrays the function returns (several as a tuple or list).
    **kwargs: constant keyword arguments.
  """

  def __init__(
    self,
    function: str,
    n_in: int = 1,
    constants: Sequence[Sequence[Any]] = (),
    n_out: int = 1,
    **kwargs: Any,
  ):
    if not function.isidentifier() or function.startswith('_'):
      raise ValueError(f'NumpyFn: {function!r} is not the name of a public numpy function.')
    super().__init__(n_in=n_in, n_out=n_out, name=f'NumpyFn_{function}')
    self._function = function
    self._constants = sorted((int(i), value) for i, value in constants)
    self._kwargs = kwargs

  def forward(self, inputs: Any) -> Any:
    args = list(inputs) if self.n_in != 1 else [inputs]
    for position, value in self._constants:
      args.insert(position, value)
    outputs = getattr(jnp, self._function)(*args, **self._kwargs)
    if self.n_out == 1:
      return outputs
    if not isinstance(outputs, (tuple, list)) or len(outputs) != self.n_out:
      raise ValueError(
        f'{self.name}: numpy.{self._function} returned '
        f'{type(outputs).__name__}, not the {self.n_out} outputs of n_out.'
      )
    return tuple(outputs)
