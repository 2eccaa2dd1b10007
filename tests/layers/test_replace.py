"""`tl.replace_layers`: swapped layers run in place of the old ones, shared ones once."""

import numpy as np
import pytest

from trax import shapes
import trax.layers as tl
from tests.layers import harness

S = shapes.ShapeDtype
RNG = harness.RNG


def test_replace_layers_rewrites_nested_and_shared_layers_once_and_runs_the_new_tree():
  relu = tl.Relu()
  model = tl.Serial(tl.Dense(3), relu, tl.Residual(tl.Serial(relu, tl.Dense(3))), relu)
  gelus = []

  def relu_to_gelu(layer):
    if layer.name == 'Relu':
      gelus.append(tl.Gelu())
      return gelus[-1]
    return None

  assert tl.replace_layers(model, relu_to_gelu) is model
  assert len(gelus) == 1  # Shared: replaced once, the replacement shared.
  names = [layer.name for _, layer in model.walk()]
  assert 'Relu' not in names and names.count('Gelu') == 1
  assert 'Relu' not in repr(model) and 'Gelu' in repr(model)  # Residual's printed body too.
  x = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
  weights, state = model.init(S(x.shape), rng=RNG)
  y, _ = model.pure_fn(x, weights, state, RNG)
  (w1, b1), (w2, b2) = [layer.weights for _, layer in model.walk() if layer.name == 'Dense_3']
  gelu = tl.Gelu()
  h = gelu(x @ w1 + b1)
  expected = gelu(h + gelu(h) @ w2 + b2)
  harness.assert_trees_close(y, expected, 1e-5, 1e-5)
  new_root = tl.Dense(1)
  assert tl.replace_layers(model, lambda layer: new_root if layer is model else None) is new_root


def test_replace_layers_refuses_a_replacement_with_other_inputs_or_outputs():
  model = tl.Serial(tl.Dense(3), tl.Relu())
  with pytest.raises(ValueError, match=r'Cannot replace Dense_3 \(n_in=1, n_out=1\) by Select'):
    tl.replace_layers(model, lambda layer: tl.Select([0, 0]) if layer.name == 'Dense_3' else None)
