"""What an export is asked to do, as one value: `SavedModelOptions` and `TFLiteOptions`.

`to_saved_model` and `to_tflite` take them as `options=`, or build them from the same names
given as keywords (`to_tflite(model, path, quantize='float16')`), so both spellings work.
No TensorFlow here: the command line builds options before deciding to load it.
"""

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from converters import verify as verify_lib

__all__ = ['SavedModelOptions', 'TFLiteOptions']


@dataclasses.dataclass(frozen=True)
class _ModelOptions:
  """What both exporters ask about the model and the check of the result.

  Attributes:
    signature_name: name of the main signature (for `to_tflite`: the one converted).
    input_names: signature input names; default `tokens` (one integer input), `inputs`
      (one other input) or `input_<i>`.
    output_names: signature output names; default `logits` (one output) or `output_<i>`.
    verify: check the export against the model.
    tolerance: float32: allowed max abs error, relative to `max(1, max |output|)`.
    model_config: the model's `config()`, for a checkpoint that does not record it.
    allow_random_weights: export a trax layer that was never initialized, with random
      weights (demos only); by default it is refused.
  """

  signature_name: str = 'serving_default'
  input_names: 'Sequence[str] | None' = None
  output_names: 'Sequence[str] | None' = None
  verify: bool = True
  tolerance: float = verify_lib.DEFAULT_TOLERANCE
  model_config: 'dict | None' = None
  allow_random_weights: bool = False

  @classmethod
  def build(cls, options: 'Any | None', keywords: dict, function: str) -> Any:
    """`options` (or the defaults) with `keywords` replacing fields; an unknown keyword
    or an `options` of another class is a `TypeError` naming `function`, as Python's own
    for a wrong keyword argument."""
    if options is not None and not isinstance(options, cls):
      raise TypeError(
        f'{function}: options must be a {cls.__name__}, got {type(options).__name__}.'
      )
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(keywords) - fields)
    if unknown:
      raise TypeError(
        f'{function}: unknown keyword argument(s) {unknown}; expected '
        f'fields of {cls.__name__}: {sorted(fields)}.'
      )
    return dataclasses.replace(options or cls(), **keywords)


@dataclasses.dataclass(frozen=True)
class SavedModelOptions(_ModelOptions):
  """How `to_saved_model` exports (the fields of `_ModelOptions`, and these).

  Attributes:
    version: version number; by default one more than the highest existing one (or 1).
    path: 'native' (plain TF ops from the layer code on the tensorflow-numpy backend),
      'xla' (jax2tf: StableHLO in one XlaCallModule op, needs XLA where served) or 'auto'
      (native if every layer traces on TensorFlow, else xla; logged).
    extra_signatures: `{name: layer}` or `{name: (layer, output_names)}`: more
      signatures computing a trax layer on the model's outputs, e.g.
      `{'predict_proba': tl.Softmax()}`.
    preprocess: TF function applied to the serving inputs inside the graph; a
      `tf.function` with an `input_signature` defines the serving inputs (else they are
      the model's).
    postprocess: TF function applied to the model's outputs inside the graph.
    platforms: for path 'xla', the platforms to compile for; default ('cpu', 'cuda').
  """

  version: 'int | None' = None
  path: str = 'native'
  extra_signatures: 'dict | None' = None
  preprocess: 'Callable | None' = None
  postprocess: 'Callable | None' = None
  platforms: 'Sequence[str] | None' = None


@dataclasses.dataclass(frozen=True)
class TFLiteOptions(_ModelOptions):
  """How `to_tflite` converts (the fields of `_ModelOptions`, and these).

  Attributes:
    quantize: None (float32), 'dynamic_range' (int8 weights), 'float16' (float16
      weights) or 'int8' (full integer, experimental; needs representative data).
    representative_data: for 'int8': an iterable (or a function returning one) of input
      lists (or `{input name: array}` dicts), typical inputs of the model. Random inputs
      are used, with a warning, when not given.
    dynamic_shapes: keep the batch (and `None` dims) dynamic; with False every dimension
      must be known (a `None` batch becomes 1).
    min_top1_agreement: quantized only: lowest acceptable top-1 agreement.
  """

  quantize: 'str | None' = None
  representative_data: 'Iterable | Callable | None' = None
  dynamic_shapes: bool = True
  min_top1_agreement: float = 0.9
