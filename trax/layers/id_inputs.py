"""Which inputs of a model are token ids, and how many ids each vocabulary has.

Inside compiled code an id past the end of an `Embedding`'s table cannot raise (jax clips
the gather), so the places that see concrete data check ids instead: a training `Loop` on
the host before a batch goes to the devices, and exported serving signatures with
TensorFlow assertions. `id_input_vocab_sizes` tells them what to check, by following each
model input through the layers that only move data on the stack (`Serial`, `Parallel`,
`Select`, `Dup`, `Swap`, `Drop`, and `ShiftRight`, which shifts ids and pads with id 0) to
the `Embedding` it reaches unchanged. An input that first meets any other layer is not
claimed: nothing is checked that the model does not say.

>>> model = Serial(ShiftRight(), Embedding(vocab_size=100, d_feature=8), Dense(100))
>>> id_input_vocab_sizes(model)
{0: 100}
"""

from trax.layers import base
from trax.layers import combinators as cb
from trax.layers import config as config_lib
from trax.layers import core

_MOVERS = {
  'Dup': lambda top, config: [top[0], top[0]],
  'Swap': lambda top, config: [top[1], top[0]],
  'Drop': lambda top, config: [],
  'ShiftRight': lambda top, config: [top[0]],
  'Select': lambda top, config: [top[i] for i in _select_indices(config)],
}


def id_input_vocab_sizes(model: base.Layer) -> dict[int, int]:
  """`{input index: vocab size}` for the model inputs that feed an `Embedding` unchanged.

  An input reaching several embeddings gets the smallest vocabulary.
  """
  found: dict[int, int] = {}
  _follow(model, list(range(model.n_in)), found)
  return found


def _follow(layer: base.Layer, stack: list, found: dict) -> list:
  """The stack after `layer`, each item the model input it still is (or None)."""
  n_in, n_out = layer.n_in, layer.n_out
  top, rest = stack[:n_in], stack[n_in:]
  top += [None] * (n_in - len(top))
  if type(layer) is cb.Serial:  # Not subclasses.
    for sublayer in layer.sublayers:
      top = _follow(sublayer, top, found)
    return top + rest
  if type(layer) is cb.Parallel:
    outputs, start = [], 0
    for sublayer in layer.sublayers:
      outputs += _follow(sublayer, top[start : start + sublayer.n_in], found)
      start += sublayer.n_in
    return outputs + rest
  if isinstance(layer, core.Embedding):
    if top[0] is not None:
      found[top[0]] = min(found.get(top[0], layer.vocab_size), layer.vocab_size)
    return [None] + rest
  outputs = _moved(layer, top)
  return (outputs if outputs is not None else [None] * n_out) + rest


def _moved(layer: base.Layer, top: list) -> 'list | None':
  """Where a stack-moving layer puts its inputs, or None for any other layer."""
  if layer.sublayers or layer.has_weights:
    return None
  try:
    config = layer.config()
  except (config_lib.ConfigError, TypeError, ValueError):
    return None
  mover = _MOVERS.get(config.get('factory', ''))
  try:
    return None if mover is None else mover(top, config)
  except (IndexError, KeyError, TypeError):
    return None


def _select_indices(config: dict) -> list:
  args, kwargs = config.get('args', []), config.get('kwargs', {})
  return list(args[0] if args else kwargs['indices'])
