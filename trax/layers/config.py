"""How a layer was built, as JSON, and rebuilding it: `layer.config()` / `from_config`.

Every layer remembers the call that built it: the outermost layer class `__init__` or
registered factory function, with its arguments (recorded by `base.Layer` and `register`).
`config()` turns that record into JSON-able data, recursively: arguments that are layers or
registered functions become nested nodes::

    {'factory': 'Serial', 'args': [{'factory': 'Dense', 'kwargs': {'n_units': 4, ...}},
                                   {'factory': 'Relu'}]}

A layer instance used twice (shared weights) is written once with an `'id'` and referred
to later as `{'ref': id}`, so rebuilding restores the sharing. Tuples, dicts, dtypes,
`ShapeDtype`s and small arrays are tagged so they come back as they went in.

Only registered names are rebuilt; nothing is imported or evaluated from the config itself,
so a config from an untrusted `.keras` file or checkpoint cannot run arbitrary code.

Safe mode (the default of `from_config`) also keeps such a config from reading local files
or from building absurdly large layers: factories registered with `reads_files=True`
(`InitializerFromFile`) and integer arguments above `SAFE_MODE_MAX_SIZE` are refused, with
the reason. Code rebuilding a layer it built itself passes `safe_mode=False`, as may anyone
who trusts the config.
"""

import functools
import inspect
from typing import Any
from collections.abc import Callable

import numpy as np

from trax import shapes

_REGISTRY: dict[str, Callable] = {}
_NAMES: dict[int, str] = {}  # id(registered callable) -> registry name
_READS_FILES: set[str] = set()  # Registry names of factories that read local files.
_ALIASES: list = []
SAFE_MODE_MAX_SIZE = 2**24  # Largest integer argument (a size) a config has in safe mode.


class ConfigError(ValueError):
  """A layer that cannot be described as a config, or a config that cannot be rebuilt."""


def registry_name(obj: Callable) -> str:
  """Default registry name: bare for trax's own objects, module-qualified otherwise."""
  module = getattr(obj, '__module__', '') or ''
  if module == 'trax' or module.startswith('trax.'):
    return obj.__name__
  return f'{module}.{obj.__qualname__}'


def recording_init(init):
  """Wraps a layer class's `__init__` to record how the instance was built (the class and
  arguments of the outermost `__init__`, which `to_config` describes)."""

  @functools.wraps(init)
  def recording_init(self, *args, **kwargs):
    outermost = '_build_record' not in self.__dict__
    if outermost:
      self._build_record = None
    init(self, *args, **kwargs)
    if outermost:
      self._build_record = (type(self), args, kwargs)

  return recording_init


def register_name(obj: Callable, name: 'str | None' = None) -> None:
  """Makes `obj` (a layer class or any function) rebuildable under `name`."""
  name = name or registry_name(obj)
  _REGISTRY[name] = obj
  _NAMES[id(obj)] = name


def registered_name(obj: Callable) -> 'str | None':
  """The name `obj` is registered (or aliased) under, or None."""
  return _NAMES.get(id(obj))


def register_alias(alias: Callable, name: str) -> None:
  """Describes `alias` (e.g. gin's wrapper of a layer class) as the registered `name`.

  Rebuilding uses what `name` is registered as, so a config never refers to the alias.
  """
  if name not in _REGISTRY:
    raise ConfigError(f'Cannot alias {alias!r} to {name!r}: nothing is registered as {name!r}.')
  _NAMES[id(alias)] = name
  _ALIASES.append(alias)  # Keeps `alias` alive, so its id stays its own.


def register(
  fn: 'Callable | None' = None, *, name: 'str | None' = None, reads_files: bool = False
) -> Callable:
  """Decorator: registers a layer factory, initializer factory or function by name.

  A registered factory (a function returning a layer or an initializer) records its call on
  what it returns, so `config()` describes the result as that call. Plain functions (such as
  one passed to `tl.Fn`) are registered so a config can refer to them by name. A factory
  whose result reads local files says so with `reads_files=True`: safe mode refuses it.

  >>> @register
  ... def MyBlock(d_model: int, mode: str = 'train'):
  ...   return Serial(Dense(d_model), Relu())
  """
  if fn is None:
    return functools.partial(register, name=name, reads_files=reads_files)

  @functools.wraps(fn)
  def recording_fn(*args, **kwargs):
    result = fn(*args, **kwargs)
    # A factory may hand back one of its arguments (`Branch(layer)`); that object keeps
    # its own record, else its config would name itself as its own argument.
    passed_in = any(result is x for x in (*args, *kwargs.values()))
    if callable(result) and not isinstance(result, type) and not passed_in:
      try:
        result._build_record = (recording_fn, args, kwargs)
      except AttributeError:  # builtins take no attributes
        pass
    return result

  register_name(recording_fn, name or registry_name(fn))
  if reads_files:
    _READS_FILES.add(name or registry_name(fn))
  return recording_fn


def lookup(name: str) -> Callable:
  if name not in _REGISTRY:
    raise ConfigError(
      f'Cannot rebuild {name!r}: no layer, factory or function is registered under that '
      'name. Import the module that defines it first (user-defined factories and functions '
      'need the @tl.register decorator).'
    )
  return _REGISTRY[name]


def to_config(obj: Any) -> Any:
  """Returns the JSON-able description of a built object (layer, initializer, ...)."""
  counts: dict[int, int] = {}
  _count_built(obj, counts)
  return _encode(obj, counts, ids={})


def from_config(config: Any, mode: 'str | None' = None, *, safe_mode: bool = True) -> Any:
  """Rebuilds what `to_config` described; `mode` replaces every factory's `mode` argument.

  Args:
    config: what `to_config` (`layer.config()`) returned, e.g. read from a file.
    mode: if given, the `mode` of every factory that takes one.
    safe_mode: refuse factories that read files and sizes above `SAFE_MODE_MAX_SIZE` (see
      the module docstring). Pass False only for a config you trust.

  Raises:
    ConfigError: the config names something not registered, is malformed, or (in safe
      mode) asks for what safe mode refuses.
  """
  try:
    return _decode(config, mode, built={}, safe_mode=safe_mode)
  except (KeyError, IndexError, RecursionError) as e:
    raise ConfigError(f'Malformed config: {type(e).__name__}: {str(e)[:200]}') from None


def build_record(obj: Any) -> 'tuple[Callable, tuple, dict] | None':
  """`(factory, args, kwargs)` that built `obj` (a layer, or a value a registered factory
  returned), as `config()` describes it; `None` if no registered factory built it."""
  return getattr(obj, '_build_record', None) if not isinstance(obj, type) else None


def _count_built(obj: Any, counts: dict[int, int]) -> None:
  if build_record(obj) is not None:
    counts[id(obj)] = counts.get(id(obj), 0) + 1
    if counts[id(obj)] > 1:
      return
    _, args, kwargs = obj._build_record
    obj = (args, kwargs)
  if isinstance(obj, (list, tuple)):
    for x in obj:
      _count_built(x, counts)
  elif isinstance(obj, dict):
    for x in obj.values():
      _count_built(x, counts)


def _encode(obj: Any, counts: dict[int, int], ids: dict[int, int]) -> Any:
  record = build_record(obj)
  if record is not None:
    if id(obj) in ids:
      return {'ref': ids[id(obj)]}
    factory, args, kwargs = record
    node: dict[str, Any] = {'factory': _name_of(factory, obj)}
    if counts.get(id(obj), 0) > 1:
      node['id'] = ids[id(obj)] = len(ids)
    if args:
      node['args'] = [_encode(a, counts, ids) for a in args]
    if kwargs:
      node['kwargs'] = {k: _encode(v, counts, ids) for k, v in kwargs.items()}
    return node
  if obj is None or isinstance(obj, (bool, int, float, str)):
    return obj
  if isinstance(obj, (np.integer, np.floating, np.bool_)):
    return obj.item()
  if isinstance(obj, list):
    return [_encode(x, counts, ids) for x in obj]
  if isinstance(obj, tuple):
    return {'tuple': [_encode(x, counts, ids) for x in obj]}
  if isinstance(obj, dict):
    if not all(isinstance(k, str) for k in obj):
      raise ConfigError(f'Cannot describe a dict with non-string keys: {list(obj)!r}.')
    return {'dict': {k: _encode(v, counts, ids) for k, v in obj.items()}}
  if _is_dtype(obj):
    return {'dtype': np.dtype(getattr(obj, 'as_numpy_dtype', obj)).name}
  if id(obj) in _NAMES:
    return {'fn': _NAMES[id(obj)]}
  if isinstance(obj, shapes.ShapeDtype):
    return {'shape_dtype': shapes.signature_to_json(obj)}
  if hasattr(obj, 'shape') and hasattr(obj, 'dtype') and np.size(obj) <= 4096:
    array = np.asarray(obj)
    return {'array': array.tolist(), 'dtype': array.dtype.name}
  if callable(obj):
    where = ''
    code = getattr(obj, '__code__', None)
    if code is not None:
      where = f' (defined at {code.co_filename}:{code.co_firstlineno})'
    raise ConfigError(
      f'Cannot describe function {getattr(obj, "__qualname__", obj)!r}{where} in a config: '
      'only registered functions can be. Define it at module level and decorate it with '
      '@tl.register (lambdas cannot be registered).'
    )
  raise ConfigError(
    f'Cannot describe a value of type {type(obj).__name__} in a config: {obj!r:.80}'
  )


def _is_dtype(obj: Any) -> bool:
  if isinstance(obj, np.dtype) or hasattr(obj, 'as_numpy_dtype'):
    return True
  try:
    return isinstance(obj, type) and np.dtype(obj).type is obj
  except TypeError:
    return False


def _name_of(factory: Callable, obj: Any) -> str:
  if id(factory) not in _NAMES:
    raise ConfigError(
      f'{type(obj).__name__} was built by {factory!r}, which is not '
      'registered; decorate the factory with @tl.register.'
    )
  return _NAMES[id(factory)]


def _decode(node: Any, mode: 'str | None', built: dict[int, Any], safe_mode: bool) -> Any:
  decode = lambda x: _decode(x, mode, built, safe_mode)
  if isinstance(node, list):
    return [decode(x) for x in node]
  if not isinstance(node, dict):
    return node
  if 'ref' in node:
    return built[node['ref']]
  if 'factory' in node:
    factory = lookup(node['factory'])
    args = [decode(a) for a in node.get('args', [])]
    kwargs = {k: decode(v) for k, v in node.get('kwargs', {}).items()}
    if safe_mode:
      _check_safe(node['factory'], args, kwargs)
    if mode is not None:
      args, kwargs = _with_mode(factory, args, kwargs, mode)
    result = factory(*args, **kwargs)
    if 'id' in node:
      built[node['id']] = result
    return result
  if 'tuple' in node:
    return tuple(decode(x) for x in node['tuple'])
  if 'dict' in node:
    return {k: decode(v) for k, v in node['dict'].items()}
  if 'shape_dtype' in node:
    try:
      return shapes.signature_from_json(node['shape_dtype'])
    except ValueError as e:
      raise ConfigError(f'Malformed ShapeDtype in a config: {e}') from None
  if 'array' in node:
    dtype = np.dtype(node['dtype'])
    if safe_mode and dtype.kind not in 'biufc':
      raise ConfigError(f'Safe mode: refusing an array of dtype {dtype} in a config.')
    return np.asarray(node['array'], dtype=dtype)
  if 'dtype' in node:
    return np.dtype(node['dtype'])
  if 'fn' in node:
    return lookup(node['fn'])
  raise ConfigError(f'Unrecognized config node: {node!r:.200}')


def _check_safe(name: str, args: list, kwargs: dict) -> None:
  """Raises ConfigError if a factory call is one safe mode refuses (module docstring)."""
  hint = (
    'If you trust this config, rebuild it with tl.from_config(config, '
    'safe_mode=False) (for a .keras file: keras.saving.load_model(path, '
    'safe_mode=False)).'
  )
  if name in _READS_FILES:
    raise ConfigError(
      f'Safe mode: refusing {name}, which reads local files: a config from '
      f'a file must not make its loader read other files. {hint}'
    )
  named = [(f'argument {i}', a) for i, a in enumerate(args)] + list(kwargs.items())
  while named:
    where, value = named.pop()
    if isinstance(value, (list, tuple)):
      named += [(where, x) for x in value]
    elif isinstance(value, dict):
      named += [(where, x) for x in value.values()]
    elif (
      isinstance(value, (int, np.integer))
      and not isinstance(value, bool)
      and (value > SAFE_MODE_MAX_SIZE)
    ):
      raise ConfigError(
        f'Safe mode: refusing {name}({where}={value}): sizes above '
        f'{SAFE_MODE_MAX_SIZE:,} would build absurdly large layers. {hint}'
      )


def _with_mode(factory: Callable, args: list, kwargs: dict, mode: str) -> tuple[list, dict]:
  try:
    signature = inspect.signature(factory)
  except (TypeError, ValueError):
    return args, kwargs
  if 'mode' not in signature.parameters:
    return args, kwargs
  bound = signature.bind_partial(*args, **kwargs)
  bound.arguments['mode'] = mode
  return list(bound.args), dict(bound.kwargs)
