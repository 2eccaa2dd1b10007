"""The packages' import graph: no cycles, and no module imports a layer above its own.

Layers, bottom to top (a module may import its own layer and those below):

0. `trax.shapes`, `trax.file_io`, `trax.atomic_files`, `trax.checkpoint_reading`,
   `trax.history`, `trax.host_memory`: shapes, files, the training history files hold,
   and the host's malloc setting.
1. `trax.fastmath`, `trax.sharding`, `trax.checkpoint_files`: math on the backends, device
   meshes, checkpoint formats (ours and Trax 1.x's).
2. `trax.layers`: the combinator library.
3. `trax.optimizers`, `trax.data`.
4. `trax.models`.
5. `trax.supervised`: training, checkpoints, decoding.
6. `trax.gin_config`, `trax.launch`, `trax.trainer`, the `trax` package itself.
7. `trax_keras`; 8. `converters`.

Every import counts, inside functions too (the lazy ones that keep TensorFlow out of
`import trax` included). Edges name the imported module itself (import-linter's rule):
`from trax import fastmath` is an edge to `trax.fastmath`, not to the `trax` package.
"""

import ast
import collections
import pathlib

REPO = pathlib.Path(__file__).parent.parent
PACKAGES = ('trax', 'trax_keras', 'converters')
LAYERS = (
  (
    0,
    (
      'trax.shapes',
      'trax.file_io',
      'trax.atomic_files',
      'trax.checkpoint_reading',
      'trax.history',
      'trax.host_memory',
    ),
  ),
  (1, ('trax.fastmath', 'trax.sharding', 'trax.checkpoint_files')),
  (2, ('trax.layers',)),
  (3, ('trax.optimizers', 'trax.data')),
  (4, ('trax.models',)),
  (5, ('trax.supervised',)),
  (6, ('trax', 'trax.gin_config', 'trax.launch', 'trax.trainer')),
  (7, ('trax_keras',)),
  (8, ('converters',)),
)


def _modules() -> dict[str, pathlib.Path]:
  modules = {}
  for package in PACKAGES:
    for path in (REPO / package).rglob('*.py'):
      parts = list(path.relative_to(REPO).with_suffix('').parts)
      modules['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
  return modules


def _edges(modules: dict[str, pathlib.Path]) -> dict[str, set[str]]:
  """`{module: modules it imports}` within the three packages."""

  def resolve(name: str) -> 'str | None':
    while name and name not in modules:
      name = name.rpartition('.')[0]
    return name or None

  edges = collections.defaultdict(set)
  for module, path in modules.items():
    package = module if path.name == '__init__.py' else module.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
      if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ''
        if node.level:
          parent = package.split('.')[: len(package.split('.')) - node.level + 1]
          base = '.'.join([*parent, base] if base else parent)
        names = [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base for a in node.names]
      else:
        continue
      for name in names:
        target = resolve(name)
        if target and target != module:
          edges[module].add(target)
  return edges


def _layer(module: str) -> int:
  matches = [
    (len(prefix), level)
    for level, prefixes in LAYERS
    for prefix in prefixes
    if module == prefix or module.startswith(prefix + '.')
  ]
  assert matches, f'{module} is in no layer of this test: add it to LAYERS'
  return max(matches)[1]


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
  """Strongly connected components of more than one module (Tarjan, iteratively)."""
  index, low, on_stack, stack, found = {}, {}, set(), [], []
  for root in sorted(edges):
    if root in index:
      continue
    work = [(root, iter(sorted(edges.get(root, ()))))]
    index[root] = low[root] = len(index)
    stack.append(root)
    on_stack.add(root)
    while work:
      node, children = work[-1]
      child = next(children, None)
      if child is None:
        work.pop()
        if work:
          low[work[-1][0]] = min(low[work[-1][0]], low[node])
        if low[node] == index[node]:
          component = set()
          while True:
            member = stack.pop()
            on_stack.discard(member)
            component.add(member)
            if member == node:
              break
          if len(component) > 1:
            found.append(component)
      elif child not in index:
        index[child] = low[child] = len(index)
        stack.append(child)
        on_stack.add(child)
        work.append((child, iter(sorted(edges.get(child, ())))))
      elif child in on_stack:
        low[node] = min(low[node], index[child])
  return found


def test_no_module_imports_a_higher_layer():
  edges = _edges(_modules())
  upward = {(a, b) for a, targets in edges.items() for b in targets if _layer(b) > _layer(a)}
  assert not upward, f'imports of a higher layer: {sorted(upward)}'


def test_no_import_cycles():
  cycles = _cycles(_edges(_modules()))
  assert not cycles, f'import cycles: {[sorted(c) for c in cycles]}'


def test_the_graph_reader_sees_lazy_and_relative_imports():
  edges = _edges(_modules())
  assert 'trax.checkpoint_files.trax1_checkpoints' in edges['trax.data.counters']  # In a function.
  assert 'trax.fastmath' in edges['trax.layers.core']
  assert _cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [{'a', 'b', 'c'}]


# Layers reach jax through `trax.fastmath` (math) and `trax.sharding` (devices), so they run
# on every backend. Known exceptions, each with its reason; the list may only shrink.
LAYERS_IMPORTING_JAX = {
  'trax.layers.device_helpers': "Trax 1.x's pmap-era helpers, jax-only by nature",
  'trax.layers.pure_call': 'init_eagerly enters jax.ensure_compile_time_eval',
}


def test_layers_reach_jax_through_fastmath_and_sharding():
  importing_jax = set()
  for module, path in _modules().items():
    if not module.startswith('trax.layers'):
      continue
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
      names = (
        [a.name for a in node.names]
        if isinstance(node, ast.Import)
        else [node.module or '']
        if isinstance(node, ast.ImportFrom) and not node.level
        else []
      )
      if any(name == 'jax' or name.startswith('jax.') for name in names):
        importing_jax.add(module)
  assert importing_jax == set(LAYERS_IMPORTING_JAX)
