"""TensorFlow data: TFDS datasets already on disk, and any `tf.data.Dataset`, as numpy streams.

This is the door for data a TensorFlow pipeline already produces: `from_tf_dataset` turns
a `tf.data.Dataset` into a generator of numpy examples that the stream functions of
`trax.data` (and the training `Loop`) consume, and `TFDS` does the same for a TensorFlow
Datasets dataset prepared earlier (it never downloads: prepare data with
`tfds build <name> --data_dir=<dir>` or `tfds.builder(name).download_and_prepare()`).

TensorFlow and tensorflow_datasets are imported only when these functions run, so
`import trax.data` stays free of them. For Trax 1.4 compatibility this module also
re-exports the tokenization functions, text stream stages (`trax.data.text_streams`) and
`tf.data` preprocessing functions (`trax.data.tf_preprocessing`), which lived here in
Trax 1.4.
"""

import os
from typing import Any
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from trax.data import per_process
from trax.data.text_streams import ConvertToUnicode
from trax.data.text_streams import CreateBertInputs
from trax.data.text_streams import mask_random_tokens
from trax.data.text_streams import sentencepiece_tokenize
from trax.data.text_streams import SentencePieceTokenize
from trax.data.tf_preprocessing import add_eos_to_output_features
from trax.data.tf_preprocessing import cifar10_augmentation_flatten_preprocess
from trax.data.tf_preprocessing import cifar10_augmentation_preprocess
from trax.data.tf_preprocessing import cifar10_no_augmentation_preprocess
from trax.data.tf_preprocessing import concat_preprocess
from trax.data.tf_preprocessing import downsampled_imagenet_flatten_bare_preprocess
from trax.data.tf_preprocessing import filter_dataset_on_len
from trax.data.tf_preprocessing import lm1b_preprocess
from trax.data.tf_preprocessing import lm_token_preprocessing
from trax.data.tf_preprocessing import no_preprocess
from trax.data.tf_preprocessing import pad_dataset_to_length
from trax.data.tf_preprocessing import squeeze_targets_preprocess
from trax.data.tf_preprocessing import truncate_dataset_on_len
from trax.data.tf_preprocessing import wmt_concat_preprocess
from trax.data.tf_preprocessing import wmt_preprocess
from trax.data.tokenizers import detokenize
from trax.data.tokenizers import Tokenize
from trax.data.tokenizers import tokenize
from trax.data.tokenizers import vocab_size

_INSTALL_HINT = (
  'Install it with `pip install tensorflow-datasets`, then prepare the '
  'dataset once with `tfds build <name> --data_dir=<dir>`.'
)


def TFDS(
  dataset_name: str,
  data_dir: 'str | None' = None,
  tfds_preprocess_fn: 'Callable[[Any], Any] | None' = None,
  keys: 'Sequence[str] | None' = None,
  train: bool = True,
  shuffle_train: bool = True,
  host_id: 'int | None' = None,
  n_hosts: 'int | None' = None,
  eval_holdout_size: float = 0,
) -> Callable[..., Iterator[Any]]:
  """A data source reading the TFDS dataset `dataset_name` from `data_dir`, repeated forever.

  Splits: training reads `train`; evaluation reads `validation`, else `test`, else (with
  `eval_holdout_size > 0`) the last `eval_holdout_size` fraction of `train`, which
  training then skips. With several hosts (`jax.distributed` processes), each reads its
  own contiguous slice of the training examples and every `n_hosts`-th eval example.

  Args:
    dataset_name: the registered TFDS name, e.g. `'imdb_reviews'` or `'glue/mnli'`.
    data_dir: where the prepared data lives; default TFDS's own
      (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
    tfds_preprocess_fn: applied to the `tf.data.Dataset` of feature dicts before `keys`
      are selected.
    keys: feature names to yield, as a tuple per example; default the whole feature dict
      (Trax 1.4 failed without keys).
    train: read the training split, else the evaluation split.
    shuffle_train: let TFDS shuffle the order of training files (not examples); False
      gives a deterministic order.
    host_id: this host's index; default `jax.process_index()`.
    n_hosts: number of hosts; default `jax.process_count()`.
    eval_holdout_size: fraction of training examples held out for evaluation.

  Returns:
    A stream function `f(generator=None)` returning a generator of numpy examples, for use
    as the first stage of `trax.data.Serial`.

  Raises:
    ImportError: tensorflow_datasets is not installed.
    FileNotFoundError: the dataset is not prepared under `data_dir`.
  """
  tfds = _import_tfds()
  host_id, n_hosts = per_process.process_index_and_count(host_id, n_hosts)
  builder = _prepared_builder(tfds, dataset_name, data_dir)
  train_split, eval_split = _splits(
    builder.info.splits, dataset_name, host_id, n_hosts, eval_holdout_size
  )
  dataset = builder.as_dataset(
    split=train_split if train else eval_split, shuffle_files=train and shuffle_train
  )
  if not train:  # Training splits are sliced per host above.
    dataset = per_process.shard_tf_dataset(dataset, host_id, n_hosts)
  if tfds_preprocess_fn is not None:
    dataset = tfds_preprocess_fn(dataset)
  dataset = _select_keys(dataset, keys).repeat()

  def stream(generator: Any = None) -> Iterator[Any]:
    del generator
    return from_tf_dataset(dataset, shard_for_process=False)

  return stream


def data_streams(
  dataset_name: str,
  data_dir: 'str | None' = None,
  preprocess_fn: 'Callable[[Any, bool], Any] | None' = None,
  bare_preprocess_fn: 'Callable[[Any, bool], Any] | None' = None,
  shuffle_buffer_size: int = 1024,
  eval_holdout_size: float = 0,
  input_name: 'str | None' = None,
  target_name: 'str | None' = None,
) -> tuple[Callable, Callable]:
  """Trax 1.4's `(train, eval)` example sources from a TFDS dataset on disk (for `batcher`).

  Each source yields `(inputs, targets)` (or `(inputs, targets, mask)` when a
  preprocessing function adds a `mask` feature), forever. The pipeline is Trax's:
  `bare_preprocess_fn(dataset, training)` on the feature dicts, then pairs
  `(features, features[target_name])`, repeat, `preprocess_fn(dataset, training)`
  (see `trax.data.tf_preprocessing`), and a shuffle. Trax 1.4 also skipped a random
  number (up to 100000) of training examples first; here the stream starts at the start.
  Tensor2Tensor problems (`t2t_*` names) are not supported.

  Args:
    dataset_name: the TFDS name.
    data_dir: where the prepared data lives (never downloaded).
    preprocess_fn: applied to `(features, targets)` pairs.
    bare_preprocess_fn: applied to feature dicts.
    shuffle_buffer_size: the shuffle buffer.
    eval_holdout_size: fraction of training data held out for evaluation.
    input_name: the inputs feature; default the dataset's supervised input key.
    target_name: the targets feature; default the supervised target key.

  Returns:
    `(train_stream_fn, eval_stream_fn)`, each called without arguments.
  """
  if dataset_name.startswith('t2t_'):
    raise ValueError(
      f'{dataset_name!r} is a Tensor2Tensor problem; data_streams reads TFDS '
      'datasets only. Export the data to TFDS or use trax.data.TFDS.'
    )
  tfds = _import_tfds()
  builder = _prepared_builder(tfds, dataset_name, data_dir)
  train_split, eval_split = _splits(builder.info.splits, dataset_name, 0, 1, eval_holdout_size)
  keys = builder.info.supervised_keys
  input_name = input_name or (keys[0] if keys else None)
  target_name = target_name or (keys[1] if keys else None)
  if input_name is None or target_name is None:
    raise ValueError(f'{dataset_name!r} has no supervised keys; give input_name and target_name.')
  preprocess_fn = preprocess_fn or (lambda dataset, training: dataset)

  def stream(split: str, training: bool) -> Iterator[Any]:
    # Each process its own examples, taken before any shuffle (which differs by process).
    dataset = per_process.shard_tf_dataset(builder.as_dataset(split=split, shuffle_files=training))
    if bare_preprocess_fn is not None:
      dataset = bare_preprocess_fn(dataset, training)
    dataset = dataset.map(lambda example: (example, example[target_name])).repeat()
    dataset = preprocess_fn(dataset, training).shuffle(shuffle_buffer_size)
    return dataset_to_stream(dataset, input_name, shard_for_process=False)

  return lambda: stream(train_split, True), lambda: stream(eval_split, False)


def from_tf_dataset(
  dataset: Any, keys: 'Sequence[str] | None' = None, shard_for_process: bool = True
) -> Iterator[Any]:
  """Yields the elements of a `tf.data.Dataset` as numpy values.

  Tuples stay tuples, dicts stay dicts, string tensors become `bytes`. The dataset is
  read once: apply `.repeat()` first for an endless training stream.

  Args:
    dataset: a `tf.data.Dataset`.
    keys: if given, the elements must be dicts and each is replaced by the tuple of its
      values at `keys` (selected inside tf.data, so unused features are never copied).
    shard_for_process: with several `jax.distributed` processes, yield only this
      process's part: every `jax.process_count()`-th element (`trax.data.per_process`).

  Returns:
    An iterator of numpy arrays, or tuples or dicts of them.
  """
  if shard_for_process:
    dataset = per_process.shard_tf_dataset(dataset)
  return _select_keys(dataset, keys).as_numpy_iterator()


def dataset_to_stream(
  dataset: Any, input_name: str, shard_for_process: bool = True
) -> Iterator[tuple]:
  """Yields `(inputs, targets[, mask])` from a dataset of `(features, targets)` pairs.

  `inputs` is `features[input_name]` and `mask` is `features['mask']` when present. uint8
  arrays (e.g. images) become int32, which accelerators handle better; Trax 1.4 meant to
  do this but checked the type of the array object instead of its dtype.

  Args:
    dataset: a `tf.data.Dataset` of `(features dict, targets)` pairs.
    input_name: the feature holding the inputs.
    shard_for_process: yield only this process's part (as `from_tf_dataset`).

  Yields:
    Tuples of numpy arrays.
  """
  for features, targets in from_tf_dataset(dataset, shard_for_process=shard_for_process):
    if input_name not in features:
      raise KeyError(
        f'dataset_to_stream: input_name {input_name!r} is not among the '
        f'features {sorted(features)}.'
      )
    inputs = _uint8_to_int32(features[input_name])
    targets = _uint8_to_int32(targets)
    yield (inputs, targets) if 'mask' not in features else (inputs, targets, features['mask'])


def _splits(
  splits: Any, dataset_name: str, host_id: int, n_hosts: int, eval_holdout_size: float
) -> tuple[str, str]:
  """The TFDS split strings for training and evaluation."""
  if 'train' not in splits:
    raise ValueError(
      f'TFDS dataset {dataset_name!r} has splits {sorted(splits)}; training needs a "train" split.'
    )
  if not 0 <= eval_holdout_size < 1:
    raise ValueError(f'eval_holdout_size must be in [0, 1); got {eval_holdout_size}.')
  if not 0 <= host_id < n_hosts:
    raise ValueError(f'host_id must be in [0, n_hosts={n_hosts}); got {host_id}.')
  n_examples = splits['train'].num_examples
  n_holdout = int(n_examples * eval_holdout_size)
  train_split, eval_split = 'train', None
  if n_holdout > 0 or n_hosts > 1:
    n_train = n_examples - n_holdout
    start, end = n_train * host_id // n_hosts, n_train * (host_id + 1) // n_hosts
    if end <= start:
      raise ValueError(
        f'Host {host_id} of {n_hosts} gets no training examples from {n_train} in {dataset_name!r}.'
      )
    train_split = f'train[{start}:{end}]'
    if n_holdout > 0:
      eval_split = f'train[-{n_holdout}:]'
  if eval_split is None:
    eval_split = next((s for s in ('validation', 'test') if s in splits), None)
  if eval_split is None:
    raise ValueError(
      f'TFDS dataset {dataset_name!r} has splits {sorted(splits)}; '
      'evaluation needs "validation" or "test", or set eval_holdout_size.'
    )
  return train_split, eval_split


def _select_keys(dataset: Any, keys: 'Sequence[str] | None') -> Any:
  if keys is None:
    return dataset
  spec = dataset.element_spec
  if not isinstance(spec, dict):
    raise ValueError(
      f'keys={list(keys)} selects features of dict elements, but the dataset yields {spec}.'
    )
  missing = [k for k in keys if k not in spec]
  if missing:
    raise KeyError(f'keys {missing} are not among the dataset features {sorted(spec)}.')
  keys = tuple(keys)
  return dataset.map(lambda example: tuple(example[k] for k in keys))


def _prepared_builder(tfds: Any, dataset_name: str, data_dir: 'str | None') -> Any:
  import tensorflow as tf

  builder = tfds.builder(dataset_name, data_dir=data_dir)
  if not tf.io.gfile.exists(os.path.join(builder.data_dir, 'dataset_info.json')):
    raise FileNotFoundError(
      f'TFDS dataset {dataset_name!r} is not prepared in data_dir={data_dir!r} (looked '
      f'in {builder.data_dir}). trax.data never downloads; prepare it first with '
      f'`tfds build {dataset_name} --data_dir=<dir>` and pass that data_dir.'
    )
  return builder


def _uint8_to_int32(x: Any) -> Any:
  return x.astype(np.int32) if getattr(x, 'dtype', None) == np.uint8 else x


def _import_tfds() -> Any:
  try:
    import tensorflow_datasets as tfds
  except ImportError as e:
    raise ImportError(
      'trax.data.TFDS reads datasets with tensorflow_datasets, which is '
      f'not installed. {_INSTALL_HINT}'
    ) from e
  return tfds
