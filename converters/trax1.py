"""Trax 1.x checkpoints: list what they hold, convert them to our format.

Both Trax 1.x layouts are read by `trax.checkpoint_files.trax1_checkpoints`, through a
restricted unpickler (numpy arrays, `ShapeDtype`, `History` and plain containers only): a
crafted file cannot run code. Nothing here builds a model unless asked to check the
arrays against one.
"""

from typing import Any

import numpy as np

import trax.layers as tl
from trax import fastmath
from trax import shapes
from trax.checkpoint_files import checkpoints
from trax.checkpoint_files import trax1_checkpoints
from converters import signatures as signatures_lib
from converters import sources
from converters.errors import ExportError


def describe(path: str) -> dict:
  """What a checkpoint (Trax 1.x or ours) holds, without building a model.

  Returns:
    `checkpoints.describe`'s dict (format, step, weight and state shapes, optimizer
    slots, history metrics, input signature, model config) plus `n_parameters` and
    `n_bytes` of the weights.
  """
  info = checkpoints.describe(path)
  sizes = [int(np.prod(shape)) for shape, _ in info['weights']]
  info['n_parameters'] = sum(sizes)
  info['n_bytes'] = sum(
    size * np.dtype(_dtype(dtype)).itemsize for size, (_, dtype) in zip(sizes, info['weights'])
  )
  return info


def convert(
  trax1_path: str,
  output_path: str,
  *,
  model_config: 'dict | None' = None,
  input_signature: Any = None,
) -> checkpoints.Checkpoint:
  """Writes a Trax 1.x checkpoint in our format (atomically); returns what was written.

  Args:
    trax1_path: the `.pkl.gz` file (a 2021 `Loop` checkpoint's `.npy.gz` side files are
      read from beside it).
    output_path: the `.npz` file to write.
    model_config: the model's `config()`. Trax 1.x files do not record one; with it, the
      arrays are checked against the model (count and shapes) and the config is stored,
      so exports can rebuild the model from the new file alone.
    input_signature: the model's input signature, if the file lacks it or it is wrong.

  Raises:
    ExportError: the arrays do not fit `model_config`.
    trax1_checkpoints.UnsafeCheckpointError: the file refers to code outside the
      admitted names (it is not loaded).
  """
  checkpoint = trax1_checkpoints.read(trax1_path)
  if input_signature is not None:
    checkpoint.input_signature = input_signature
  if model_config is not None:
    _check_fits(checkpoint, model_config, trax1_path)
    checkpoint.model_config = model_config
  checkpoints.write(output_path, checkpoint)
  return checkpoint


def summary(info: dict) -> list[str]:
  """Readable lines of a `describe` result."""
  lines = [
    f'format: {info["format"]}',
    f'step: {info["step"]}',
    f'weights: {len(info["weights"])} arrays, {info["n_parameters"]:,} parameters, '
    f'{info["n_bytes"]:,} bytes',
  ]
  lines += [f'  {i}: {tuple(shape)} {dtype}' for i, (shape, dtype) in enumerate(info['weights'])]
  state = info['state']
  lines.append('state: none' if state is None else f'state: {len(state)} arrays')
  lines += [f'  {i}: {tuple(shape)} {dtype}' for i, (shape, dtype) in enumerate(state or [])]
  lines.append(f'optimizer slots per task: {info["slots_per_task"]}')
  for mode, metrics in sorted(info['history'].items()):
    lines.append(f'history ({mode}): {", ".join(metrics)}')
  lines.append(f'input signature: {info["input_signature"]}')
  config = info['model_config']
  lines.append(
    'model config: ' + (config.get('factory', '?') if isinstance(config, dict) else 'not recorded')
  )
  return lines


def _check_fits(checkpoint: checkpoints.Checkpoint, model_config: dict, path: str) -> None:
  if checkpoint.input_signature is None:
    raise ExportError(
      f'{path} records no input signature; pass input_signature= to check '
      'it against the model config.'
    )
  try:
    layer = sources.rebuild(model_config)
  except (tl.ConfigError, TypeError) as e:
    raise ExportError(f'Cannot build the model from the given config: {e}') from None
  flat = signatures_lib.leaves(checkpoint.input_signature)[: layer.n_in]  # Not targets.
  probe = signatures_lib.structure(
    shapes.concrete(signatures_lib.with_dynamic_batch(flat), *signatures_lib.PROBE_SIZE), layer.n_in
  )
  weights, state = layer.weights_and_state_signature(probe)
  try:
    checkpoints.match_arrays(
      checkpoint.flat_weights, fastmath.tree_flatten(weights), 'weights', path
    )
    if checkpoint.flat_state is not None:
      checkpoints.match_arrays(checkpoint.flat_state, fastmath.tree_flatten(state), 'state', path)
  except ValueError as e:
    raise ExportError(str(e)) from None


def _dtype(name: str) -> Any:
  import ml_dtypes

  return getattr(ml_dtypes, name, None) or np.dtype(name)
