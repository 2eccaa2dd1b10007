"""A layer's weights in checkpoint files: `Layer.save_to_file` and `Layer.init_from_file`.

Files are trax checkpoints (`trax.checkpoint_files.checkpoints`); loading also reads both
Trax 1.x formats. The layer's `config()` is stored when the layer can describe itself.
`layer` arguments are `tl.Layer`s, typed `Any` because `base` imports this module.
"""

import json
from typing import Any

import numpy as np

from trax import fastmath
from trax.checkpoint_files import checkpoints
from trax.layers import config as config_lib
from trax.layers import flatten


def save_layer(
  layer: Any, file_name: str, weights_only: bool = False, input_signature: Any = None
) -> None:
  """Saves `layer`'s weights (and state unless `weights_only`) to `file_name`.

  The model's `config()` is stored too when the layer can describe itself.
  """
  flat_weights, flat_state = flatten.flatten_weights_and_state(layer.weights, layer.state)
  checkpoints.write(
    file_name,
    checkpoints.Checkpoint(
      flat_weights=[np.asarray(w) for w in flat_weights],
      flat_state=None if weights_only else [np.asarray(s) for s in flat_state],
      input_signature=input_signature,
      model_config=describe_layer(layer),
    ),
  )


def load_layer(
  layer: Any, file_name: str, weights_only: bool = False, input_signature: Any = None
) -> tuple[Any, Any]:
  """Sets `layer`'s weights (and state unless `weights_only`) from a checkpoint file.

  Reads our format and both Trax 1.x formats. The file's flat arrays are matched to the
  layer in Trax 1.x's flattening order. The tree they fill comes from `input_signature`
  (or, if not given, the one stored in the file), or else from the layer's own weights if
  it is already initialized. With `weights_only` and a signature, the layer is initialized
  first (as in Trax 1.x), so its state is fresh for that signature. A signature with more
  entries than the layer has inputs is cut to the first `layer.n_in`: Trax 1.x layers
  passed extra inputs through, so Trax 1.x code and checkpoints often give the whole
  batch's signature (e.g. `(inputs, targets)` for a language model taking one input), and
  Trax 1.x `Loop`s recorded one input as a 1-tuple.

  Returns:
    The layer's new `(weights, state)`.

  Raises:
    ValueError: the file's arrays do not fit the layer (count or shapes), naming the file.
  """
  checkpoint = checkpoints.read_any(file_name)
  if input_signature is None:
    input_signature = checkpoint.input_signature
  input_signature = _inputs_of(layer, input_signature)
  if weights_only and input_signature is not None:
    weights_tree, state_tree = layer.init(input_signature)
  elif input_signature is not None:
    weights_tree, state_tree = layer.weights_and_state_signature(input_signature)
  elif fastmath.tree_flatten(layer.weights) or fastmath.tree_flatten(layer.state):
    weights_tree, state_tree = layer.weights, layer.state
  else:
    raise ValueError(
      f'Cannot load {file_name} into {layer.name}: the file holds no input '
      'signature and the layer is not initialized. Pass input_signature=.'
    )
  flat_weights = checkpoints.match_arrays(
    checkpoint.flat_weights, fastmath.tree_flatten(weights_tree), 'weights', file_name
  )
  if weights_only or checkpoint.flat_state is None:
    if not weights_only:
      raise ValueError(
        f'{file_name} holds weights only (no state); load it with weights_only=True.'
      )
    weights, _ = flatten.unflatten_weights_and_state(
      flat_weights, [], (weights_tree, None), weights_only=True
    )
  else:
    flat_state = checkpoints.match_arrays(
      checkpoint.flat_state, fastmath.tree_flatten(state_tree), 'state', file_name
    )
    weights, state = flatten.unflatten_weights_and_state(
      flat_weights, flat_state, (weights_tree, state_tree)
    )
    layer.state = state
  layer.weights = weights
  return layer.weights, layer.state


def describe_layer(layer: Any) -> 'dict | None':
  """`layer.config()`, or `None` if the layer cannot describe itself as JSON."""
  try:
    config = layer.config()
    json.dumps(config)
    return config
  except (config_lib.ConfigError, TypeError, ValueError):
    return None


def _inputs_of(layer: Any, signature: Any) -> Any:
  # Loop checkpoints (ours and Trax 1.x's) hold a tuple even for one input.
  if isinstance(signature, (tuple, list)) and signature:
    if layer.n_in <= 1:
      return signature[0]
    if len(signature) > layer.n_in:
      return tuple(signature[: layer.n_in])
  return signature
