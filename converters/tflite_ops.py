"""Which trax layer produced which TensorFlow op: naming the culprits of a failed TF Lite
conversion.

The TF Lite converter reports ops it cannot express with its builtin set by TF op type
(`Cumprod`, `Erfinv`, `XlaCallModule`), which says little about a model of dozens of
layers. `ops_by_layer` traces the model on the tensorflow-numpy backend, as the export
does, and records for every op the innermost layer whose `pure_fn` created it.

To see each layer's call, the tracing briefly gives every layer instance its own
`pure_fn` attribute (a wrapper around the class method) and deletes it afterwards; this is
the only place the converters reach into layers like that, and nothing else sees it.
"""

import contextlib
import re
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from trax import fastmath
import trax.layers as tl
from converters import signatures
from converters import sources

_REPORTED = re.compile(r'(?:TF Select ops|Custom ops|Flex ops):\s*([A-Za-z0-9_, ]+)')
_DETAILS = re.compile(r'\btf\.([A-Z][A-Za-z0-9_]*)\(')


def unsupported_ops(converter_message: str) -> list[str]:
  """TF op types the converter's error message says it could not convert."""
  ops = []
  for match in _REPORTED.finditer(converter_message):
    ops += [name.strip() for name in match.group(1).split(',') if name.strip()]
  if not ops:
    ops = _DETAILS.findall(converter_message)
  return sorted(set(ops))


def layer_paths(layer: tl.Layer) -> dict[int, str]:
  """`{id(layer): 'transformer_lm/4/serial/0/dense'}` for every layer in the tree."""
  from trax_keras import paths

  by_index: dict[tuple[int, ...], str] = {}
  found = {}
  for index, current in layer.walk():  # A parent comes before its sublayers.
    name = paths.layer_name(current)
    by_index[index] = f'{by_index[index[:-1]]}/{index[-1]}/{name}' if index else name
    found[id(current)] = by_index[index]
  return found


def ops_by_layer(model: sources.Model, signature: list) -> dict[str, list[str]]:
  """`{TF op type: [layer paths]}` of the model traced on TensorFlow over `signature`."""
  owners: dict[tuple, tuple[str, str]] = {}
  with _recording_ops(model.trax_layer, owners):

    def forward(*inputs):
      x = signatures.structure(list(inputs), model.trax_layer.n_in)
      # Tensors, as the export's variables are: numpy arrays take no tensor slice bounds
      # (a positional table sliced to a dynamic length).
      flat_weights, flat_state = (
        [tf.constant(np.asarray(a)) for a in arrays]
        for arrays in tl.flatten_weights_and_state(model.weights, model.state)
      )
      trees = (model.weights, model.state)
      weights, state = tl.unflatten_weights_and_state(flat_weights, flat_state, trees)
      with fastmath.use_backend('tensorflow-numpy'):
        y, _ = model.trax_layer.pure_fn(x, weights, state, sources.EVAL_RNG)
      return y

    specs = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype)) for s in signature]
    tf.function(forward, input_signature=specs, autograph=False).get_concrete_function()
  by_type: dict[str, list[str]] = {}
  for op_type, path in owners.values():
    if path not in by_type.setdefault(op_type, []):
      by_type[op_type].append(path)
  return by_type


def _recording_ops(root: tl.Layer, owners: dict) -> contextlib.AbstractContextManager:
  """Inside: ops created by a layer's `pure_fn` are recorded in `owners` (see above)."""
  paths = layer_paths(root)

  @contextlib.contextmanager
  def recording(layer: tl.Layer) -> Iterator[None]:
    graph = tf.compat.v1.get_default_graph()
    start = len(graph.get_operations())
    try:
      yield
    finally:
      # Sublayers return first, so each op goes to the innermost layer that made it.
      if id(layer) in paths:
        for op in graph.get_operations()[start:]:
          owners.setdefault((id(graph), op.name), (op.type, paths[id(layer)]))

  return tl.observing_calls(recording)
