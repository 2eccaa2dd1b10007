"""Checking a SavedModel's ops before running it: only what trax exports contain.

Loading a SavedModel and calling its signatures runs the program it holds, and TensorFlow
ops can read and write files (`ReadFile`, `WriteFile`, `SaveV2`, `PrintV2` to a path),
call Python (`PyFunc`) or reach the network. `check_ops` reads `saved_model.pb` (parsing
a protocol buffer runs nothing) and follows every function `tf.saved_model.load` may call
(the object graph's concrete functions and the functions they call, through any
function-valued attribute) to their op types, which must all be in `SERVING_OPS`: the pure
computations, variable reads, control flow and assertions of our native exports, and the
`XlaCallModule` of xla ones. The saver functions that `tf.saved_model.load` never calls
(TF Serving restores variables with them) may also hold `CHECKPOINT_OPS`. `SERVING_OPS` is
kept honest by a test exporting every kind of trax model.
"""

import os

from converters.errors import ExportError

SERVING_OPS = frozenset(
  {
    # Graph plumbing and variables.
    'Const',
    'Identity',
    'IdentityN',
    'NoOp',
    'Placeholder',
    'PlaceholderWithDefault',
    'StopGradient',
    'PreventGradient',
    'VarHandleOp',
    'ReadVariableOp',
    'ResourceGather',
    'StatefulPartitionedCall',
    'PartitionedCall',
    'Assert',
    'XlaCallModule',
    'EnsureShape',
    'CheckNumerics',
    # Control flow.
    'If',
    'StatelessIf',
    'While',
    'StatelessWhile',
    'Case',
    'StatelessCase',
    'TensorListReserve',
    'TensorListSetItem',
    'TensorListGetItem',
    'TensorListStack',
    'TensorListFromTensor',
    'TensorListLength',
    'TensorListElementShape',
    'TensorListPushBack',
    'TensorListPopBack',
    # Arithmetic and math.
    'Abs',
    'Acos',
    'Acosh',
    'Add',
    'AddN',
    'AddV2',
    'Asin',
    'Asinh',
    'Atan',
    'Atan2',
    'Atanh',
    'Ceil',
    'ClipByValue',
    'Cos',
    'Cosh',
    'Cumprod',
    'Cumsum',
    'Digamma',
    'Div',
    'DivNoNan',
    'Erf',
    'Erfc',
    'Erfinv',
    'Exp',
    'Expm1',
    'Floor',
    'FloorDiv',
    'FloorMod',
    'Lgamma',
    'Log',
    'Log1p',
    'Maximum',
    'Minimum',
    'Mod',
    'Mul',
    'MulNoNan',
    'Neg',
    'Pow',
    'RealDiv',
    'Reciprocal',
    'Rint',
    'Round',
    'Rsqrt',
    'Sigmoid',
    'Sign',
    'Sin',
    'Sinh',
    'Softplus',
    'Softsign',
    'Sqrt',
    'Square',
    'SquaredDifference',
    'Sub',
    'Tan',
    'Tanh',
    'TruncateDiv',
    'TruncateMod',
    'Xdivy',
    'Xlogy',
    'Xlog1py',
    'BitwiseAnd',
    'BitwiseOr',
    'BitwiseXor',
    'Invert',
    'LeftShift',
    'RightShift',
    'Complex',
    'Real',
    'Imag',
    'ComplexAbs',
    'Conj',
    # Comparisons and logic.
    'Equal',
    'NotEqual',
    'Greater',
    'GreaterEqual',
    'Less',
    'LessEqual',
    'LogicalAnd',
    'LogicalNot',
    'LogicalOr',
    'IsFinite',
    'IsInf',
    'IsNan',
    'Select',
    'SelectV2',
    'Where',
    # Reductions, scans and sorting.
    'All',
    'Any',
    'ArgMax',
    'ArgMin',
    'Max',
    'Mean',
    'Min',
    'Prod',
    'Sum',
    'TopKV2',
    'EuclideanNorm',
    'Bincount',
    'UnsortedSegmentSum',
    'UnsortedSegmentMax',
    'UnsortedSegmentMin',
    # Shapes and data movement.
    'BroadcastArgs',
    'BroadcastTo',
    'Bitcast',
    'Cast',
    'ConcatV2',
    'DynamicStitch',
    'Einsum',
    'ExpandDims',
    'Fill',
    'Gather',
    'GatherNd',
    'GatherV2',
    'InvertPermutation',
    'LinSpace',
    'MatrixBandPart',
    'MatrixDiag',
    'MatrixDiagPartV3',
    'MatrixDiagV3',
    'MatrixSetDiagV3',
    'MirrorPad',
    'OneHot',
    'OnesLike',
    'Pack',
    'Pad',
    'PadV2',
    'Range',
    'Rank',
    'Reshape',
    'ReverseV2',
    'Roll',
    'ScatterNd',
    'Shape',
    'ShapeN',
    'Size',
    'Slice',
    'Split',
    'SplitV',
    'Squeeze',
    'StridedSlice',
    'TensorScatterAdd',
    'TensorScatterMax',
    'TensorScatterMin',
    'TensorScatterSub',
    'TensorScatterUpdate',
    'Tile',
    'Transpose',
    'Unpack',
    'ZerosLike',
    'BroadcastGradientArgs',
    'Snapshot',
    # Linear algebra and neural network ops.
    'BatchMatMul',
    'BatchMatMulV2',
    'BatchMatMulV3',
    'MatMul',
    'Cholesky',
    'Qr',
    'MatrixInverse',
    'MatrixTriangularSolve',
    'MatrixDeterminant',
    'LogMatrixDeterminant',
    'AvgPool',
    'AvgPool3D',
    'BiasAdd',
    'Conv2D',
    'Conv3D',
    'DepthwiseConv2dNative',
    'Elu',
    'FusedBatchNormV3',
    'LeakyRelu',
    'LogSoftmax',
    'MaxPool',
    'MaxPool3D',
    'MaxPoolV2',
    'Relu',
    'Relu6',
    'Selu',
    'Softmax',
    'Conv2DBackpropInput',
    # Stateless random numbers (keys are inputs: no hidden state, no files).
    'StatelessRandomGetKeyCounter',
    'StatelessRandomGetKeyCounterAlg',
    'StatelessRandomNormalV2',
    'StatelessRandomUniformV2',
    'StatelessRandomUniformIntV2',
    'StatelessRandomUniformFullIntV2',
    'StatelessTruncatedNormalV2',
    'StatelessRandomNormal',
    'StatelessRandomUniform',
    'StatelessRandomUniformInt',
    'StatelessMultinomial',
  }
)
CHECKPOINT_OPS = frozenset(
  {
    'SaveV2',
    'RestoreV2',
    'MergeV2Checkpoints',
    'ShardedFilename',
    'StringJoin',
    'StaticRegexFullMatch',
    'AssignVariableOp',
    'DisableCopyOnRead',
  }
)


class UntrustedExportError(ExportError):
  """A SavedModel holds ops trax exports never contain; it is not run."""


def check_ops(saved_model_dir: str) -> None:
  """Raises UntrustedExportError unless the SavedModel holds only `SERVING_OPS`.

  Raises:
    UntrustedExportError: naming the unexpected ops and the functions holding them.
    ExportError: `saved_model.pb` is missing or cannot be parsed.
  """
  meta_graphs = _read(saved_model_dir)
  unexpected = {}
  for meta_graph in meta_graphs:
    library = {f.signature.name: f for f in meta_graph.graph_def.library.function}
    reachable = _closure(list(meta_graph.object_graph_def.concrete_functions), library)
    nodes = [('the main graph', n) for n in meta_graph.graph_def.node]
    nodes += [(name, n) for name, f in library.items() for n in f.node_def]
    for where, node in nodes:
      allowed = (
        SERVING_OPS
        if where in reachable or where == 'the main graph'
        else (SERVING_OPS | CHECKPOINT_OPS)
      )
      if node.op not in allowed:
        unexpected.setdefault(node.op, set()).add(where)
  if unexpected:
    listing = '; '.join(
      f'{op} (in {", ".join(sorted(where)[:3])})' for op, where in sorted(unexpected.items())
    )
    raise UntrustedExportError(
      f'{saved_model_dir} holds ops that trax exports never contain: {listing}. Running a '
      'SavedModel runs its program, so it was not loaded. If you trust the file (e.g. you '
      'wrote it yourself), pass --trust (trust=True).'
    )


def _read(saved_model_dir: str) -> list:
  from tensorflow.core.protobuf import saved_model_pb2

  path = os.path.join(saved_model_dir, 'saved_model.pb')
  proto = saved_model_pb2.SavedModel()
  try:
    with open(path, 'rb') as f:
      proto.ParseFromString(f.read())
  except OSError as e:
    raise ExportError(f'Cannot read {path}: {e}') from None
  except Exception as e:  # protobuf's DecodeError
    raise ExportError(f'{path} is not a SavedModel: {e}') from None
  return list(proto.meta_graphs)


def _closure(roots: list, library: dict) -> set:
  """Names of the functions `roots` are and call, through any function-valued attribute."""
  seen, todo = set(), list(roots)
  while todo:
    name = todo.pop()
    if name in seen or name not in library:
      continue
    seen.add(name)
    for node in library[name].node_def:
      for value in node.attr.values():
        if value.HasField('func'):
          todo.append(value.func.name)
        todo.extend(f.name for f in value.list.func)
  return seen
