"""Serving forms of layers: equal outputs, TensorFlow graphs that serve faster.

`tl.Relu` computes `where(x <= 0, 0, x)` (so that its gradient at 0 is 0, as in Trax
1.x). On TensorFlow that is three ops (a comparison, zeros shaped like `x`, a select),
which neither Grappler nor the TF Lite converter recognizes as a ReLU: they cannot fuse it
into the preceding convolution or dense layer, and with a dynamic batch TF Lite
materializes the zeros (BROADCAST_TO) at every call. Exports only run forward, where
`max(x, 0)` is the same function, so `for_serving` swaps `Relu` for `ServingRelu`, which
is `tf.nn.relu` on TensorFlow and `max(x, 0)` on jax.

`tl.BatchNorm` in eval mode debiases its running averages by the batch count at every
call (a dozen small ops on the statistics, each costing TF's per-op overhead) and then
makes four passes over `x`. `ServingBatchNorm` takes statistics debiased once, at export
(`serving_state`), and computes `(x - mean) * (gamma / sqrt(var + eps)) + beta`: the same
function up to float rounding, no per-call bookkeeping. On TensorFlow, for float32 image
batches normalized per channel (the usual conv net), that is one FusedBatchNormV3 op;
elsewhere three passes over `x`. After a convolution (`tl.Conv`: `conv(x) + b`) it
normalizes `conv(x)` with mean `mean - b` instead, so that Grappler's remapper fuses the
Conv2D, the norm and a following ReLU into one convolution kernel (`_FusedConv2D` with
`FusedBatchNorm, Relu`; it does not fuse through the bias add). Alone, oneDNN's
FusedBatchNorm kernel took longer than the convolution's bias add, scale and shift passes
together: the benchmark conv net's SavedModel went from 1.12 of Keras' latency
(`model.export`: Conv2D+BiasAdd fused, BatchNormalization as Mul and AddV2, a Relu) to 0.97.

The swaps replace layers in a model rebuilt for the export, found by how they were built
(`tl.Relu()`, `tl.BatchNorm(...)`), also inside factories: `trax.models.Resnet50`'s
SavedModel serves in 0.76-0.81 of the time it took with Trax's layers. The export record keeps
the original config. Measured by `bench/export.py`.
"""

from typing import Any

from trax import fastmath
from trax.fastmath import numpy as jnp
import trax.layers as tl
from trax.layers import base
from trax.layers import config as config_lib


def _relu(x: Any) -> Any:
  if fastmath.backend_name() == 'tensorflow-numpy':
    import tensorflow as tf

    return tf.nn.relu(x)
  return jnp.maximum(x, jnp.zeros_like(x))


@tl.register
def ServingRelu() -> tl.Layer:
  """`max(x, 0)`: `tl.Relu`'s outputs, as the fused ReLU op of the backend."""
  return tl.Fn('Relu', _relu)


class ServingBatchNorm(tl.BatchNorm):
  """`tl.BatchNorm` whose eval mode reads statistics debiased at export (`serving_state`).

  Same arguments, weights and state layout as `tl.BatchNorm`; 'train' mode is unchanged.
  """

  def forward(self, x: Any) -> Any:
    if self._mode == 'train':
      return super().forward(x)
    mean, var, _ = self.state
    beta, gamma = self.weights
    if _fuses_on_tensorflow(x, var):
      import tensorflow as tf

      per_channel = lambda v: _flat(tf.convert_to_tensor(v))
      scale = per_channel(gamma) if self._scale else tf.ones_like(per_channel(var))
      offset = per_channel(beta) if self._center else tf.zeros_like(per_channel(var))
      mean = per_channel(mean)
      conv_bias = _conv_and_bias(x)
      if conv_bias is not None:  # Normalize conv(x) + b as conv(x) with mean - b.
        x, bias = conv_bias
        mean = mean - _flat(bias)
      y, _, _ = tf.compat.v1.nn.fused_batch_norm(
        x,
        scale,
        offset,
        mean,
        per_channel(var),
        epsilon=self._epsilon,
        is_training=False,
      )
      return y
    scale = 1.0 / jnp.sqrt(var + self._epsilon)  # On the statistics' shape: cheap.
    if self._scale:
      scale = scale * jnp.reshape(gamma, var.shape)
    y = (x - jnp.astype(mean, x.dtype)) * jnp.astype(scale, x.dtype)
    if self._center:
      y = y + jnp.astype(jnp.reshape(beta, var.shape), x.dtype)
    return y


def _fuses_on_tensorflow(x: Any, statistics: Any) -> bool:
  """Whether `x` normalized per last-axis channel is one FusedBatchNormV3 op on TF."""
  channels = x.shape[-1]
  return (
    fastmath.backend_name() == 'tensorflow-numpy'
    and len(x.shape) == 4
    and tuple(statistics.shape) in ((channels,), (1, 1, 1, channels))
    and x.dtype == statistics.dtype == 'float32'
  )


def _flat(v: Any) -> Any:
  """`v` as a vector; one Reshape op only if it is not one already (Grappler keeps them)."""
  import tensorflow as tf

  return v if v.shape.rank == 1 else tf.reshape(v, [-1])


def _conv_and_bias(x: Any) -> 'tuple | None':
  """`(conv, bias)` if the graph tensor `x` is `conv + bias`: an NHWC Conv2D's output plus
  a per-channel bias (`tl.Conv`'s forward); else None.

  Grappler fuses a Conv2D whose output goes straight into FusedBatchNormV3 (and a ReLU
  after it) into one convolution kernel, but not through the bias add between them.
  """
  op = getattr(x, 'op', None) if hasattr(x, 'graph') else None  # Eager tensors: no graph.
  if op is None or op.type not in ('AddV2', 'Add', 'BiasAdd') or len(op.inputs) != 2:
    return None
  for conv, bias in (tuple(op.inputs), tuple(reversed(op.inputs))):
    per_channel = bias.shape.is_fully_defined() and bias.shape.num_elements() == x.shape[-1]
    if (
      conv.op.type == 'Conv2D'
      and conv.op.get_attr('data_format') == b'NHWC'
      and per_channel
      and all(d == 1 for d in bias.shape[:-1])
      and bias.dtype == conv.dtype
    ):
      return conv, bias
  return None


def serving_state(layer: tl.Layer, state: Any) -> Any:
  """`state` with every `ServingBatchNorm`'s statistics debiased as `tl.BatchNorm` would."""
  if base.is_cache_marker(state):
    return state
  if isinstance(layer, ServingBatchNorm):
    running_mean, running_var, n_batches = state
    mean, var = layer.debiased_statistics(running_mean, running_var, n_batches)
    return (mean, var, n_batches)
  if layer.sublayers and isinstance(state, tuple) and len(state) == len(layer.sublayers):
    return tuple(serving_state(l, s) for l, s in zip(layer.sublayers, state))
  return state


def for_serving(layer: tl.Layer) -> tl.Layer:
  """`layer` with every layer in it that has a serving form replaced by that form, built
  with the same arguments (`config.build_record`), so layers a factory made (the norms in
  `trax.models.Resnet50`) are reached too. Rewrites `layer` in place (`tl.replace_layers`):
  pass a layer built for the export, before its weights are set."""

  def serving_form(sublayer: tl.Layer) -> 'tl.Layer | None':
    record = config_lib.build_record(sublayer)
    if record is None:
      return None
    factory, args, kwargs = record
    form = _SERVING_FORMS.get(factory)
    return form(*args, **kwargs) if form else None

  return tl.replace_layers(layer, serving_form)


_SERVING_FORMS = {tl.Relu: ServingRelu, tl.BatchNorm: ServingBatchNorm}
