"""Trax 1.4's `tf.data` preprocessing functions `f(dataset, training, ...) -> dataset`.

Gin configs pass them to `data_streams` (`preprocess_fn`, `bare_preprocess_fn`) or to
`TFDS(tfds_preprocess_fn=...)`. They work on datasets of `(features dict, targets)` pairs
(the `*_preprocess` functions) or of feature dicts (the `*_on_len`, `pad_*` and `add_eos_*`
ones), as in Trax 1.4. TensorFlow is imported only when one runs.
"""

from typing import Any
from collections.abc import Mapping


def _tf() -> Any:
  import tensorflow as tf

  return tf


def no_preprocess(dataset: Any, training: bool) -> Any:
  del training
  return dataset


def squeeze_targets_preprocess(dataset: Any, training: bool) -> Any:
  """Drops a last targets axis of size 1."""
  del training
  tf = _tf()

  def squeeze(features, targets):
    if targets.shape.rank and targets.shape[-1] == 1:
      targets = tf.squeeze(targets, axis=-1)
    return features, targets

  return dataset.map(squeeze)


def lm1b_preprocess(
  dataset: Any, training: bool, max_target_length: int = -1, max_eval_target_length: int = -1
) -> Any:
  """Keeps examples whose targets have at most the given length (if positive)."""
  tf = _tf()
  limit = max_target_length if training else max_eval_target_length
  if limit > 0:
    dataset = dataset.filter(lambda _, targets: tf.shape(targets)[0] <= limit)
  return dataset


def wmt_preprocess(
  dataset: Any, training: bool, max_length: int = -1, max_eval_length: int = -1
) -> Any:
  """Keeps examples whose inputs and targets have at most the given length (if positive)."""
  tf = _tf()
  limit = max_length if training else max_eval_length
  if limit > 0:
    dataset = dataset.filter(
      lambda features, targets: (
        tf.maximum(tf.shape(features['inputs'])[0], tf.shape(targets)[0]) <= limit
      )
    )
  return dataset


def wmt_concat_preprocess(
  dataset: Any, training: bool, max_length: int = -1, max_eval_length: int = -1
) -> Any:
  """`wmt_preprocess`, then `inputs 0 targets` as both, with a mask on the targets."""
  tf = _tf()
  dataset = wmt_preprocess(dataset, training, max_length, max_eval_length)

  def concat_and_add_mask(features, targets):
    inputs = features['inputs']
    pad = tf.expand_dims(tf.zeros_like(inputs[0]), axis=0)
    concat = tf.concat([inputs, pad, targets], axis=0)
    features['inputs'] = concat
    features['mask'] = tf.concat([tf.zeros_like(inputs), pad, tf.ones_like(targets)], 0)
    return features, concat

  return dataset.map(concat_and_add_mask)


def concat_preprocess(dataset: Any, training: bool, pad_symbol: int = 0) -> Any:
  """`pad inputs pad targets` as both inputs and targets, for language models."""
  del training
  tf = _tf()

  def concat(features, targets):
    inputs = features['inputs']
    pad = tf.expand_dims(tf.zeros_like(inputs[0]) + pad_symbol, axis=0)
    joined = tf.concat([pad, inputs, pad, targets], axis=0)
    features['inputs'] = joined
    return features, joined

  return dataset.map(concat)


def lm_token_preprocessing(dataset: Any, training: bool) -> Any:
  """Feature dicts: `inputs 0 targets` as inputs and targets, mask on the targets."""
  del training
  tf = _tf()

  def concat_and_add_mask(x):
    inputs, targets = x['inputs'], x['targets']
    pad = tf.expand_dims(tf.zeros_like(inputs[0]), axis=0)
    x['inputs'] = x['targets'] = tf.concat([inputs, pad, targets], axis=0)
    x['mask'] = tf.concat([tf.zeros_like(inputs), pad, tf.ones_like(targets)], axis=0)
    return x

  return dataset.map(concat_and_add_mask)


def filter_dataset_on_len(
  dataset: Any,
  training: bool,
  len_map: 'Mapping[str, tuple] | None' = None,
  filter_on_eval: bool = False,
) -> Any:
  """Keeps examples whose features have lengths within `len_map[key] = (min, max)`."""
  if len_map is None or (not training and not filter_on_eval):
    return dataset
  tf = _tf()
  for key, (low, high) in len_map.items():
    dataset = dataset.filter(
      lambda x, key=key, low=low, high=high: tf.logical_and(
        low <= tf.shape(x[key])[0], tf.shape(x[key])[0] <= high
      )
    )
  return dataset


def truncate_dataset_on_len(
  dataset: Any,
  training: bool,
  len_map: 'Mapping[str, int] | None' = None,
  truncate_on_eval: bool = False,
) -> Any:
  """Cuts features to at most `len_map[key]` along their first axis."""
  if len_map is None or (not training and not truncate_on_eval):
    return dataset

  def truncate(x):
    for key, max_len in len_map.items():
      x[key] = x[key][:max_len, ...]
    return x

  return dataset.map(truncate)


def pad_dataset_to_length(
  dataset: Any, training: bool, len_map: 'Mapping[str, int] | None' = None
) -> Any:
  """Zero-pads 1-D features to `len_map[key]`."""
  del training
  if len_map is None:
    return dataset
  tf = _tf()

  def pad(x):
    for key, length in len_map.items():
      x[key] = tf.pad(x[key], [[0, tf.maximum(length - tf.shape(x[key])[0], 0)]])
    return x

  return dataset.map(pad)


def add_eos_to_output_features(
  dataset: Any, training: bool, output_features: Any = 'targets', eos: int = 1
) -> Any:
  """Appends `eos` to each of the `output_features`."""
  del training
  tf = _tf()
  names = output_features if isinstance(output_features, (list, tuple)) else [output_features]

  def add_eos(x):
    for name in names:
      x[name] = tf.concat([x[name], tf.cast([eos], x[name].dtype)], axis=0)
    return x

  return dataset.map(add_eos)


def cifar10_no_augmentation_preprocess(dataset: Any, training: bool) -> Any:
  """Images to float32 in [0, 1]."""
  del training
  return dataset.map(_cast_image)


def cifar10_augmentation_preprocess(dataset: Any, training: bool) -> Any:
  """Training images padded to 40x40, randomly cropped to 32x32 and flipped; then floats."""
  if training:
    dataset = dataset.map(_augment)
  return dataset.map(_cast_image)


def cifar10_augmentation_flatten_preprocess(
  dataset: Any, training: bool, predict_image_train_weight: float = 0.01
) -> Any:
  """Augmented images flattened to int64 pixels followed by the label (an image LM task).

  The mask weights the label 1 and the pixels `predict_image_train_weight` in training
  (0 in evaluation).
  """
  tf = _tf()

  def flatten(features, targets):
    flat = tf.cast(tf.reshape(features['image'], [-1]), tf.int64)
    label = tf.cast(tf.expand_dims(targets, axis=0), tf.int64)
    joined = tf.concat([flat, label], axis=0)
    weight = predict_image_train_weight if training else 0.0
    mask = tf.concat(
      [tf.ones_like(flat, tf.float32) * weight, tf.ones_like(label, tf.float32)], axis=0
    )
    return {'image': joined, 'mask': mask}, joined

  if training:
    dataset = dataset.map(_augment)
  return dataset.map(flatten)


def downsampled_imagenet_flatten_bare_preprocess(dataset: Any, training: bool) -> Any:
  """Feature dicts: images flattened to int64 pixels."""
  del training
  tf = _tf()
  return dataset.map(
    lambda features: {'image': tf.cast(tf.reshape(features['image'], [-1]), tf.int64)}
  )


def _cast_image(features, targets):
  features['image'] = _tf().cast(features['image'], 'float32') / 255.0
  return features, targets


def _augment(features, targets):
  tf = _tf()
  image = tf.image.resize_with_crop_or_pad(features['image'], 40, 40)
  image = tf.image.random_crop(image, [32, 32, 3])
  features['image'] = tf.image.random_flip_left_right(image)
  return features, targets
