"""`replace_layers`: a layer tree with some of its layers swapped for others in place.

The exporters use it to put serving forms in a model rebuilt for export
(`converters.serving_layers`). Every combinator reads its sublayers from `sublayers`, so a
swapped tree runs as built.
"""

from collections.abc import Callable

from trax.layers import base


def replace_layers(
  root: base.Layer, replacement: Callable[[base.Layer], 'base.Layer | None']
) -> base.Layer:
  """Replaces, in the tree of `root`, every layer for which `replacement(layer)` gives one.

  Searched from the top: a replaced layer's own sublayers are not searched. A shared layer
  is replaced once, so its replacement is shared too. A replacement must take and give as
  many inputs and outputs as the layer it replaces. The tree is rewritten in place: use it
  on a layer built for that, before its weights are set.

  Returns:
    The replacement of `root`, or `root`.

  Raises:
    ValueError: a replacement takes or gives another number of inputs or outputs.
  """
  done: dict[int, base.Layer] = {}  # id(layer) -> what stands for it now

  def visit(layer: base.Layer) -> base.Layer:
    if id(layer) not in done:
      new = replacement(layer)
      if new is None:
        new = layer
        layer._sublayers = tuple(visit(sub) for sub in layer.sublayers)
      elif (new.n_in, new.n_out) != (layer.n_in, layer.n_out):
        raise ValueError(
          f'Cannot replace {layer.name} (n_in={layer.n_in}, n_out={layer.n_out}) by '
          f'{new.name} (n_in={new.n_in}, n_out={new.n_out}).'
        )
      done[id(layer)] = new
    return done[id(layer)]

  new_root = visit(root)
  for layer in done.values():
    if layer._sublayers_to_print:
      layer._sublayers_to_print = [done.get(id(x), x) for x in layer._sublayers_to_print]
  return new_root


__all__ = ['replace_layers']
