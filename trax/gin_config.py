"""Trax 1.4's gin configurables, registered under Trax's names when gin-config is installed.

Trax 1.4 made its layers, models, optimizers, data functions, learning-rate schedules and
`trainer_lib.train` configurable with gin, so `.gin` files could say
`train.model = @trax.models.TransformerLM` and `TransformerLM.d_model = 512`. `import trax`
calls `register_if_installed()`, which does the same when the `gin` package is importable
and imports nothing otherwise. As in Trax 1.4, where these names were gin's wrappers, a
direct call of a configurable *function* takes a parsed config's bindings: registration
puts gin's wrapper in the function's place (`trax.models.TransformerLM()`,
`trax.data.make_inputs()`, `lr_schedules.multifactor()`, `trainer_lib.train(output_dir)`).
Classes stay plain classes (`tl.Dense`, `trax.optimizers.Adam`; Trax 1.4 swapped in gin
subclasses): a direct call takes its arguments only, while `@trax.layers.Dense` in a config
gets the bindings. Either way the layers built describe themselves with `config()`.

Names: `trax.layers.<Layer>`, `trax.models.<Model>`, `trax.optimizers.<Optimizer>`,
`trax.data.<function>` (all of `trax.data`, including what Trax kept in `tf_inputs`; write
`@trax.data.data_streams` where old configs wrote `@tf_inputs.data_streams`),
`trax.supervised.lr_schedules.<schedule>`, `trax.supervised.trainer_lib.train` (and
`num_devices`, `named_stream`) and `trax.supervised.training.TrainTask`/`EvalTask`.
"""

import functools
import importlib.util
import inspect
import sys
from typing import Any
from collections.abc import Iterable

_registered = False

# Arguments gin must not bind (Trax 1.4's denylists).
_DENYLISTS = {'train': ['output_dir']}
_DATASET_FUNCTION_DENYLIST = ['dataset', 'training']


def register_if_installed() -> None:
  """Registers Trax's configurables if gin-config is importable; else imports nothing."""
  if importlib.util.find_spec('gin') is not None:
    register()


def register() -> None:
  """Registers every Trax 1.4 configurable with gin (once)."""
  global _registered
  if _registered:
    return
  import gin
  from trax import data
  from trax import layers
  from trax import models
  from trax import optimizers
  from trax.data import tf_preprocessing
  from trax.layers import config as config_lib
  from trax.supervised import lr_schedules
  from trax.supervised import trainer_lib
  from trax.supervised import training

  dataset_functions = {name for name, _ in _public(tf_preprocessing, inspect.isfunction)}
  groups = [
    ('trax.layers', _public(layers, _is_layer_constructor)),
    ('trax.models', _public(models, _is_layer_constructor)),
    ('trax.optimizers', _public(optimizers, _is_optimizer_class)),
    ('trax.data', _public(data, lambda x: inspect.isfunction(x) or inspect.isclass(x))),
    ('trax.supervised.lr_schedules', _public(lr_schedules, inspect.isfunction)),
    (
      'trax.supervised.trainer_lib',
      [(n, getattr(trainer_lib, n)) for n in ('train', 'num_devices', 'named_stream')],
    ),
    (
      'trax.supervised.training',
      [('TrainTask', training.TrainTask), ('EvalTask', training.EvalTask)],
    ),
  ]
  for module, members in groups:
    for name, obj in members:
      denylist = (
        _DATASET_FUNCTION_DENYLIST
        if module == 'trax.data' and name in dataset_functions
        else _DENYLISTS.get(name)
      )
      wrapper = gin.external_configurable(
        _as_function(obj) if inspect.isclass(obj) else obj,
        name=name,
        module=module,
        denylist=denylist,
      )
      registered = config_lib.registered_name(obj)
      if registered:
        # A layer built with `rnn_cell=@trax.layers.GRUCell` describes it as GRUCell.
        config_lib.register_alias(wrapper, registered)
      if inspect.isfunction(obj):
        _put_in_place(obj, wrapper)
  _registered = True


def _put_in_place(function: Any, wrapper: Any) -> None:
  """Puts gin's `wrapper` wherever trax holds `function` (its namespace, its module and the
  modules that re-export it; Trax 1.4 decorated them in place), so direct calls take the
  bindings."""
  for name, module in list(sys.modules.items()):
    if (name == 'trax' or name.startswith('trax.')) and getattr(
      module, function.__name__, None
    ) is function:
      setattr(module, function.__name__, wrapper)


def _as_function(cls: type) -> Any:
  """A function calling `cls`, with its signature, for gin to wrap.

  Given a class, gin would make a subclass of it, which `tl.Layer` registers (under the
  class's own name) for `from_config`; a function leaves the layer registry alone.
  """

  @functools.wraps(cls, updated=())
  def construct(*args: Any, **kwargs: Any) -> Any:
    return cls(*args, **kwargs)

  return construct


def _public(namespace: Any, keep: Any) -> Iterable[tuple]:
  return [
    (name, obj)
    for name, obj in sorted(vars(namespace).items())
    if not name.startswith('_') and keep(obj)
  ]


def _is_layer_constructor(obj: Any) -> bool:
  from trax.layers import base

  if inspect.isclass(obj):
    return issubclass(obj, base.Layer)
  return inspect.isfunction(obj) and obj.__name__[:1].isupper()


def _is_optimizer_class(obj: Any) -> bool:
  from trax.optimizers import base

  return inspect.isclass(obj) and issubclass(obj, base.Optimizer)
