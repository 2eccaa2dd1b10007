"""Trax 1.4's `Knowledge_Tracing_Transformer.ipynb`: a SAINT+-style model trained from gin.

Swapped: the Riiid answers (BigQuery feature engineering, TFRecords on GCS) become a
synthetic stream of the same seven per-question sequences the notebook's `get_ds_tfrec`
yields (content id, part, tags, task container id, answer 0 pad / 1 wrong / 2 right,
elapsed-time and lag categories); a student answers right when the content id is even.
The GCS output directory becomes a local one. Shrunk: the widths, layers, lengths, batch
sizes and steps in the gin config. Everything else (the model, less its unused
`encoder_mode`; the ROC AUC metric; the gin config; `trainer_lib.train(output_dir,
metrics=metrics)`) is the notebook's code.
"""

import numpy as np
import pytest

import trax
from trax import layers as tl
from trax.fastmath import numpy as tnp

gin = pytest.importorskip('gin')


@gin.configurable
def get_ds_tfrec(folds=None, max_len=None, min_len=None):
  """The stand-in: examples as `fastmath.dataset_as_numpy` gave them from the TFRecords."""

  def gen(generator=None):
    del generator
    rng = np.random.default_rng(folds[0])
    while True:
      n = int(rng.integers(min_len, max_len + 1))
      content = rng.integers(1, 50, n).astype(np.int32)
      yield (
        content,
        rng.integers(1, 8, n).astype(np.int32),
        rng.integers(0, 20, (n, 6)).astype(np.int32),
        np.arange(1, n + 1, dtype=np.int32),
        np.where(content % 2 == 0, 2, 1).astype(np.int32),
        rng.integers(0, 300, n).astype(np.int32),
        rng.integers(0, 150, n).astype(np.int32),
      )

  return gen


def RocAucScore(num_thresholds=100, pos_label=2):
  def f(y_score, y_true, weight):
    weight = tnp.expand_dims(tnp.ravel(weight), -1)
    softmax = tl.Softmax(axis=-1)
    y_score = tnp.ravel(softmax(y_score)[:, :, -1])
    y_score = tnp.expand_dims(y_score, -1)
    y_true = tnp.expand_dims(tnp.ravel(y_true) == pos_label, -1).astype(tnp.float32)
    thresholds = tnp.expand_dims(tnp.linspace(1, 0, num_thresholds), 0)
    threshold_counts = y_score > thresholds
    tps = tnp.logical_and(threshold_counts, y_true)
    fps = tnp.logical_and(threshold_counts, tnp.logical_not(y_true))
    tps = tnp.sum(tps * weight, axis=0)
    fps = tnp.sum(fps * weight, axis=0)
    tpr = tps / tps[-1]
    fpr = fps / fps[-1]
    return tnp.trapz(tpr, fpr)

  return tl.Fn('RocAucScore', f)


@gin.configurable
@tl.assert_shape('bl->b1ll')
def PaddingFutureMask(pad=0, block_self=False, tid=True, pad_end=False):
  def f(x):
    mask_pad = tnp.logical_not(tnp.equal(x, 0))[:, tnp.newaxis, tnp.newaxis, :]

    x_new = x
    if pad_end:
      x_new = tnp.where(tnp.equal(x, 0), tnp.max(x), x)

    if tid:
      mask_future = x_new[:, :, tnp.newaxis] >= x_new[:, tnp.newaxis, :] + block_self
      mask_future = mask_future[:, tnp.newaxis, :, :]
    else:
      mask_future = (
        tnp.arange(x.shape[-1])[tnp.newaxis, tnp.newaxis, :, tnp.newaxis]
        >= tnp.arange(x.shape[-1])[tnp.newaxis, :]
      )

    return tnp.logical_and(mask_future, mask_pad)

  return tl.Fn(f'PaddingFutureMask({pad})', f)


@tl.assert_shape('bld,b1ll->bld,b1ll')
@gin.configurable
def KTAttention(d_feature, n_heads=1, dropout=0.0, mode='train'):
  return tl.Serial(
    tl.Select([0, 0, 0]),
    tl.AttentionQKV(d_feature, n_heads=n_heads, dropout=dropout, mode=mode),
  )


def my_add_loss_weights(generator, id_to_mask=None):
  for example in generator:
    weights = (example[0] != id_to_mask).astype(tnp.float32)
    yield (*example, weights)


@gin.configurable
def KTAddLossWeights(id_to_mask=0):
  return lambda g: my_add_loss_weights(g, id_to_mask=id_to_mask)


def trim_tags(generator):
  for example in generator:
    # content_id, part, tags, tid, ac, pqet, ts_delta
    yield (
      example[0],
      example[1],
      example[2][:, :, :6],
      example[3],
      example[4],
      example[5],
      example[6],
    )


@gin.configurable
def TrimTags():
  return lambda g: trim_tags(g)


@gin.configurable
def KTPositionalEncoder(max_position=10000.0, d_model=512, tid=False):
  def f(inputs):
    if tid:
      position = tnp.expand_dims(inputs.astype(tnp.float32), -1)
    else:
      position = tnp.arange(inputs.shape[1])
      position = position.astype(tnp.float32)[tnp.newaxis, :, tnp.newaxis]
    i = tnp.expand_dims(tnp.arange(d_model, dtype=tnp.float32), 0)
    angles = 1 / tnp.power(max_position, (2 * (i // 2)) / tnp.array(d_model, dtype=tnp.float32))
    angle_rads = position * angles
    sines = tnp.sin(angle_rads[:, :, 0::2])
    cosines = tnp.cos(angle_rads[:, :, 1::2])
    return tnp.concatenate([sines, cosines], axis=-1)  # pos_encoding

  return tl.Fn('KTPositionalEncoder', f)


@gin.configurable
def KTTransformer(
  d_model,
  d_input,
  d_part,
  d_tags,
  d_out,
  d_pqet,
  d_ts_delta,
  d_tid,
  embed_concat=False,
  d_ff=2048,
  n_encoder_layers=6,
  n_decoder_layers=6,
  n_heads=8,
  max_len=2048,
  dropout=0.1,
  dropout_shared_axes=None,
  mode='train',
  ff_activation=tl.Relu,
):

  def Embedder(vocab_size, d_embed):  # tokens --> vectors
    return [
      tl.Embedding(vocab_size, d_embed),
      tl.Dropout(rate=dropout, shared_axes=dropout_shared_axes, mode=mode),
    ]

  in_embedder = Embedder(*d_input)
  part_embedder = Embedder(*d_part)
  if d_tags is not None:
    tags_embedder = tl.Serial(Embedder(*d_tags), tl.Sum(axis=-2))
  else:
    tags_embedder = tl.Drop()
  in_pos_encoder = KTPositionalEncoder(*d_tid)

  out_embedder = Embedder(*d_out)
  pqet_embedder = Embedder(*d_pqet)
  ts_delta_embedder = Embedder(*d_ts_delta)
  out_pos_encoder = KTPositionalEncoder(*d_tid)

  in_encoder = [tl.Parallel(in_embedder, part_embedder, tags_embedder, in_pos_encoder)]
  out_encoder = [tl.Parallel(out_embedder, pqet_embedder, ts_delta_embedder, out_pos_encoder)]

  if embed_concat:
    if d_tags is not None:
      in_encoder += [tl.Concatenate(n_items=3), tl.Add()]
    else:
      in_encoder += [tl.Concatenate(n_items=2), tl.Add()]
    out_encoder += [tl.Concatenate(n_items=3), tl.Add()]
  else:
    if d_tags is not None:
      in_encoder += [tl.Add(), tl.Add(), tl.Add()]
    else:
      in_encoder += [tl.Add(), tl.Add()]
    out_encoder += [tl.Add(), tl.Add(), tl.Add()]

  encoder_blocks = [
    _KTEncoderBlock(d_model, d_ff, n_heads, dropout, dropout_shared_axes, mode, ff_activation)
    for i in range(n_encoder_layers)
  ]

  encoder = tl.Serial(in_encoder, encoder_blocks, tl.LayerNorm())

  encoder_decoder_blocks = [
    _KTEncoderDecoderBlock(
      d_model, d_ff, n_heads, dropout, dropout_shared_axes, mode, ff_activation
    )
    for i in range(n_decoder_layers)
  ]

  return tl.Serial(
    tl.Select([0, 1, 2, 3, 3, 3, 4, 5, 6, 4]),
    tl.Parallel(tl.Select([0, 1, 2, 3]), PaddingFutureMask(tid=True)),
    encoder,
    tl.Select([3, 4, 5, 2, 2, 0]),
    tl.Parallel(
      tl.ShiftRight(mode=mode),
      tl.ShiftRight(mode=mode),
      tl.ShiftRight(mode=mode),
      tl.ShiftRight(mode=mode),
      tl.Serial(tl.ShiftRight(), PaddingFutureMask(tid=False)),
    ),
    out_encoder,
    encoder_decoder_blocks,
    tl.LayerNorm(),
    tl.Select([0], n_in=3),
    tl.Dense(d_out[0]),
  )


def _KTEncoderBlock(d_model, d_ff, n_heads, dropout, dropout_shared_axes, mode, ff_activation):
  attention = KTAttention(d_model, n_heads=n_heads, dropout=dropout, mode=mode)
  feed_forward = _KTFeedForwardBlock(
    d_model, d_ff, dropout, dropout_shared_axes, mode, ff_activation
  )
  dropout_ = tl.Dropout(rate=dropout, shared_axes=dropout_shared_axes, mode=mode)
  return [
    tl.Residual(
      tl.LayerNorm(),
      attention,
      dropout_,
    ),
    tl.Residual(feed_forward),
  ]


def _KTEncoderDecoderBlock(
  d_model, d_ff, n_heads, dropout, dropout_shared_axes, mode, ff_activation
):
  def _Dropout():
    return tl.Dropout(rate=dropout, shared_axes=dropout_shared_axes, mode=mode)

  attention = KTAttention(d_model, n_heads=n_heads, dropout=dropout, mode=mode)
  attention_qkv = tl.AttentionQKV(d_model, n_heads=n_heads, dropout=dropout, mode=mode)
  feed_forward = _KTFeedForwardBlock(
    d_model, d_ff, dropout, dropout_shared_axes, mode, ff_activation
  )
  return [
    tl.Residual(
      tl.LayerNorm(),
      attention,
      _Dropout(),
    ),
    tl.Residual(
      tl.LayerNorm(),
      tl.Select([0, 2, 2, 1, 2]),
      attention_qkv,
      _Dropout(),
    ),
    tl.Residual(feed_forward),
  ]


def _KTFeedForwardBlock(d_model, d_ff, dropout, dropout_shared_axes, mode, activation):
  dropout_middle = tl.Dropout(rate=dropout, shared_axes=dropout_shared_axes, mode=mode)
  dropout_final = tl.Dropout(rate=dropout, shared_axes=dropout_shared_axes, mode=mode)
  return [
    tl.LayerNorm(),
    tl.Dense(d_ff),
    activation(),
    dropout_middle,
    tl.Dense(d_model),
    dropout_final,
  ]


# The notebook's config with smaller numbers (its values in the comments).
CONFIG = """
import trax.layers
import trax.models
import trax.optimizers
import trax.data.inputs
import trax.supervised.trainer_lib

min_len = 4   # 12
max_len = 12  # 256
d_model = 32  # 512
d_ff = 64     # 1024
n_encoder_layers = 1  # 6
n_decoder_layers = 1  # 6
n_heads = 2   # 8
dropout = 0.1
embed_concat = True
d_input = (50, 16)  # (13500, 384)
d_part = (8, 8)
d_tags = (20, 8)    # (189, 120)
d_out = (3, 16)     # (3, 384)
d_pqet = (300, 8)   # (300, 64)
d_ts_delta = (150, 8)  # (150, 64)
d_tid = (10000, %d_model)
total_steps = 6  # 10000

warmup_and_rsqrt_decay.n_warmup_steps = 3  # 3000
warmup_and_rsqrt_decay.max_value = 0.01    # 0.001
Adam.b1 = 0.9
Adam.b2 = 0.999
Adam.eps = 1e-8

get_ds_tfrec.min_len = %min_len
get_ds_tfrec.max_len = %max_len
train/get_ds_tfrec.folds = [0, 1, 2]
eval/get_ds_tfrec.folds = [19]
BucketByLength.boundaries = [16]        # [32, 64, 128]; one padded length: one compile
BucketByLength.batch_sizes = [4, 4]     # [512, 256, 128, 64]
BucketByLength.strict_pad_on_len = True
KTAddLossWeights.id_to_mask = 0
train/make_additional_stream.stream = [
  @train/get_ds_tfrec(), @BucketByLength(), @TrimTags(), @KTAddLossWeights()]
eval/make_additional_stream.stream = [
  @eval/get_ds_tfrec(), @BucketByLength(), @TrimTags(), @KTAddLossWeights()]
make_inputs.train_stream = @train/make_additional_stream()
make_inputs.eval_stream = @eval/make_additional_stream()

KTPositionalEncoder.d_model = %d_model
KTPositionalEncoder.tid = False
PaddingFutureMask.pad_end = False
PaddingFutureMask.tid = False

KTTransformer.d_model = %d_model
KTTransformer.d_input = %d_input
KTTransformer.d_part = %d_part
KTTransformer.d_tags = %d_tags
KTTransformer.d_out = %d_out
KTTransformer.d_pqet = %d_pqet
KTTransformer.d_ts_delta = %d_ts_delta
KTTransformer.d_tid = %d_tid
KTTransformer.embed_concat = %embed_concat
KTTransformer.d_ff = %d_ff
KTTransformer.n_encoder_layers = %n_encoder_layers
KTTransformer.n_decoder_layers = %n_decoder_layers
KTTransformer.n_heads = %n_heads
KTTransformer.dropout = %dropout

train.inputs = @make_inputs
train.eval_frequency = 3     # 200
train.eval_steps = 2         # 20
train.checkpoints_at = [0, 6]  # range(0, total_steps + 1, 2000)
train.optimizer = @trax.optimizers.Adam
train.steps = %total_steps
train.model = @KTTransformer
train.lr_schedule_fn = @trax.supervised.lr_schedules.warmup_and_rsqrt_decay
"""


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.mark.slow  # About 10 s: compiles an encoder-decoder train step and its eval.
def test_kt_transformer_trains_from_the_notebooks_gin_config(workdir, clean_gin):
  metrics = {
    'loss': tl.WeightedCategoryCrossEntropy(),
    'accuracy': tl.WeightedCategoryAccuracy(),
    'sequence_accuracy': tl.MaskedSequenceAccuracy(),
    'auc_all': RocAucScore(),
    'weights_per_batch_per_core': tl.Serial(tl.Drop(), tl.Drop(), tl.Sum()),
  }
  gin.parse_config(CONFIG)
  # The notebook's two `if False:` cells, run here: direct calls take the gin bindings.
  inputs = trax.data.inputs.make_inputs()
  train_stream = inputs.train_stream(trax.fastmath.device_count())
  train_eval_stream = inputs.train_eval_stream(trax.fastmath.device_count())
  b = next(train_stream)
  model = KTTransformer()
  model.init(trax.shapes.signature(b))
  outs = model(b)
  assert len(b) == 8 and next(train_eval_stream)[0].shape[0] == 4
  assert outs[0].shape == b[4].shape + (3,)  # Logits over the 3 answers of each position.
  output_dir = str(workdir / 'model_runs' / '00')

  loop = trax.supervised.trainer_lib.train(output_dir, metrics=metrics)

  assert loop.step == 6
  history = loop.history
  names = history.metrics_for_mode('eval')
  assert {f'metrics/{name}' for name in metrics} <= set(names), names
  auc = [v for _, v in history.get('eval', 'metrics/auc_all')]
  assert len(auc) == 3 and all(0.0 <= a <= 1.0 for a in auc), auc  # Steps 1, 3 and 6.
  # Tokens per batch: 4 sequences of 4 to 12 answers.
  weights = [v for _, v in history.get('eval', 'metrics/weights_per_batch_per_core')]
  assert all(16 <= w <= 48 for w in weights), weights
  losses = [v for _, v in history.get('eval', 'metrics/loss')]
  assert all(0.0 < x < 3.0 for x in losses), losses  # 3-way cross-entropy, 6 steps.
  # The notebook's ROC AUC on scores that rank the right answers first (1), last (0).
  scores = np.log(np.array([[[0.1, 0.1, 0.8], [0.1, 0.8, 0.1], [0.1, 0.3, 0.6], [0.1, 0.6, 0.3]]]))
  truth, weight = np.array([[2, 1, 2, 1]]), np.ones((1, 4))
  assert float(RocAucScore()((scores, truth, weight))) == pytest.approx(1.0, abs=0.01)
  assert float(RocAucScore()((scores, 3 - truth, weight))) == pytest.approx(0.0, abs=0.01)
  assert (workdir / 'model_runs' / '00' / 'model.npz').exists()  # trax's default format.
