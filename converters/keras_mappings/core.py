"""Keras core layers: Dense, Embedding, Masking, dropout and noise, identities, Rescaling.

- Dense: Keras' kernel is already `(in, out)`, as trax's.
- Embedding: trax clips ids into `[0, vocab)`; Keras fails on ids outside. Equal on valid
  ids. With `mask_zero`, the Keras mask is `ids != 0`, an op node of the graph that maps
  like any other; layers that consume masks get it as an input.
- Dropout, SpatialDropout, GaussianDropout, GaussianNoise, AlphaDropout and the random
  augmentation layers are the identity in inference (`training=False`); in 'train' mode
  `Dropout` and `SpatialDropout` map, a `noise_shape` of 1 on some axes (EfficientNet's
  stochastic depth) being trax's `shared_axes` (trax's `Dropout` draws other random bits
  than Keras', so train-mode outputs agree in distribution, not value by value).
- Masking: zeroes the steps whose features all equal `mask_value`; its output mask is
  computed by op nodes of the graph.
"""

import numpy as np

import trax.layers as tl
from converters.keras_mappings.activations import activation
from converters.keras_mappings.base import Call
from converters.keras_mappings.base import Mapped
from converters.keras_mappings.base import numpy
from converters.keras_mappings.base import Unsupported

# Preprocessing and noise layers that are the identity when `training=False`.
INFERENCE_IDENTITIES = (
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'SpatialDropout3D',
  'GaussianDropout',
  'GaussianNoise',
  'AlphaDropout',
  'ActivityRegularization',
  'Identity',
  'RandomFlip',
  'RandomRotation',
  'RandomTranslation',
  'RandomZoom',
  'RandomContrast',
  'RandomBrightness',
  'RandomHue',
  'RandomSaturation',
  'RandomSharpness',
  'RandomShear',
  'RandomGrayscale',
  'RandomColorJitter',
  'RandomColorDegeneration',
  'RandomPosterization',
  'RandomInvert',
  'RandomErasing',
  'RandomGaussianBlur',
  'RandomPerspective',
  'RandomElasticTransform',
  'AugMix',
  'CutMix',
  'MixUp',
  'RandAugment',
  'Solarization',
)


def dense(layer, call: Call) -> Mapped:
  """Any activation but sparsemax; not with LoRA or quantized kernels."""
  config = layer.get_config()
  if getattr(layer, 'lora_rank', None) or getattr(layer, 'quantization_mode', None):
    raise Unsupported('LoRA or quantized weights')
  weights = [numpy(layer.kernel)] + ([numpy(layer.bias)] if config['use_bias'] else [])
  return Mapped(
    [tl.Dense(config['units'], use_bias=config['use_bias']), *activation(config['activation'])],
    weights,
  )


def embedding(layer, call: Call) -> Mapped:
  """With or without mask_zero (the mask is an op node); not quantized or with LoRA."""
  config = layer.get_config()
  if getattr(layer, 'lora_rank', None) or getattr(layer, 'quantization_mode', None):
    raise Unsupported('LoRA or quantized embeddings')
  return Mapped(
    [tl.Embedding(config['input_dim'], config['output_dim'])], [numpy(layer.embeddings)]
  )


def reversible_embedding(layer, call: Call) -> Mapped:
  """Forward (ids to vectors) without mask_zero, which attaches its mask at run time only;
  not reverse=True."""
  if call.argument(1, 'reverse'):
    raise Unsupported('reverse=True (logits from the table)')
  if layer.mask_zero:
    raise Unsupported('mask_zero=True (its mask is attached at run time, not in the graph)')
  return embedding(layer, call)


def inference_identity(layer, call: Call) -> Mapped:
  """The identity in inference; in 'train' mode Dropout (noise_shape of 1s and full
  sizes) and SpatialDropout map."""
  name = type(layer).__name__
  if call.mode != 'train' or name in ('Identity', 'ActivityRegularization'):
    return Mapped([])
  config = layer.get_config()
  rank = len(call.input_shapes[0])
  if name.startswith('SpatialDropout'):
    if config.get('data_format', 'channels_last') != 'channels_last':
      raise Unsupported(f'{name} with data_format={config["data_format"]!r}')
    shared = tuple(range(1, rank - 1))
  elif name == 'Dropout':
    shared = _shared_axes(config.get('noise_shape'), call.input_shapes[0])
  else:
    raise Unsupported(f'{name} in train mode')
  # Trax keeps a dropout's rate as its state.
  return Mapped(
    [tl.Dropout(config['rate'], shared_axes=shared or None, mode='train')],
    state=[np.asarray(config['rate'], np.float32)],
  )


def _shared_axes(noise_shape, input_shape: tuple) -> tuple:
  """The axes where Keras' `noise_shape` is 1 (one mask value along them)."""
  if noise_shape is None:
    return ()
  if len(noise_shape) != len(input_shape):
    raise Unsupported(f'noise_shape={noise_shape} for inputs of shape {input_shape}')
  shared = []
  for axis, (noise, size) in enumerate(zip(noise_shape, input_shape)):
    if noise == 1 and size != 1:
      shared.append(axis)
    elif noise is not None and noise != size:
      raise Unsupported(f'noise_shape={noise_shape} for inputs of shape {input_shape}')
  return tuple(shared)


def masking(layer, call: Call) -> Mapped:
  """Zeroes the steps whose features all equal mask_value."""
  value = float(layer.get_config()['mask_value'])
  return Mapped(
    [
      tl.Branch(
        [
          tl.NumpyFn('not_equal', constants=[(1, value)]),
          tl.NumpyFn('any', axis=-1, keepdims=True),
        ],
        None,
      ),  # keep x
      tl.NumpyFn('where', n_in=2, constants=[(2, 0.0)]),  # where(keep, x, 0)
    ],
    inputs=[call.data[0]],
  )


def rescaling(layer, call: Call) -> Mapped:
  """Scalar or per-channel scale and offset (channels_last)."""
  config = layer.get_config()
  scale, offset = _constant(config['scale']), _constant(config['offset'])
  return Mapped([tl.Rescale(scale, offset)])


def _constant(value):
  array = np.asarray(value, np.float32)
  return float(array) if array.ndim == 0 else array.tolist()


def table() -> dict:
  import keras

  layers = keras.layers
  mappings = {
    layers.Dense: dense,
    layers.Embedding: embedding,
    layers.Masking: masking,
    layers.Rescaling: rescaling,
  }
  if hasattr(layers, 'ReversibleEmbedding'):  # Keras 3.12 and later.
    mappings[layers.ReversibleEmbedding] = reversible_embedding
  for name in INFERENCE_IDENTITIES:
    if hasattr(layers, name):
      mappings[getattr(layers, name)] = inference_identity
  return mappings
