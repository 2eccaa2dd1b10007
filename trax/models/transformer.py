"""Transformers: a language model, a decoder, an encoder classifier and an encoder-decoder.

The architecture is that of Vaswani et al. (2017), "Attention is all you need"
(https://arxiv.org/abs/1706.03762), with the layer norm at the start of each residual
branch ("pre-norm") and a final layer norm, as in Trax 1.4. The layer structure, and so
the flat order of weights and state, is Trax 1.4's, so its checkpoints load.

Comments beside the layers track the data stack, top first (`vec mask`), and the shape
where it changes: B batch, T sequence length, D `d_model`, V vocabulary size.
"""

from collections.abc import Callable, Sequence

import trax.layers as tl

_Activation = Callable[[], tl.Layer]


@tl.register
def TransformerLM(
  vocab_size: int,
  d_model: int = 512,
  d_ff: int = 2048,
  n_layers: int = 6,
  n_heads: int = 8,
  max_len: int = 2048,
  dropout: float = 0.1,
  dropout_shared_axes: 'Sequence[int] | None' = None,
  mode: str = 'train',
  ff_activation: _Activation = tl.Relu,
) -> tl.Layer:
  """A Transformer language model: token ids `(B, T)` -> next-token logits `(B, T, V)`.

  The output at position `t` scores the token at `t` given the tokens before it (the input
  is shifted right inside the model). In 'predict' mode the model decodes incrementally:
  feed a start token (0), then each emitted token, one position (or chunk) per call; the
  model keeps key/value caches of `max_len` positions and does not shift.

  >>> model = TransformerLM(vocab_size=16, d_model=8, d_ff=16, n_layers=1, n_heads=2)
  >>> model(np.zeros((2, 5), np.int32)).shape  # (batch, length, vocab_size)
  (2, 5, 16)

  Args:
    vocab_size: number of token ids; inputs are integers in `[0, vocab_size)`.
    d_model: width of the activations between blocks (and of the embedding).
    d_ff: width of the hidden layer of each feed-forward block.
    n_layers: number of decoder blocks.
    n_heads: number of attention heads; must divide `d_model`.
    max_len: longest sequence (positional encoding size and decoding cache length).
    dropout: dropout rate after the embedding, inside and after each sublayer, and on the
      attention weights ('train' mode only).
    dropout_shared_axes: axes along which one dropout mask is shared (e.g. `(0, 1)`).
    mode: 'train', 'eval' or 'predict' (incremental decoding).
    ff_activation: factory of the feed-forward nonlinearity.
  """
  return tl.Serial(  # tok (B, T)
    tl.ShiftRight(mode=mode),
    tl.Embedding(vocab_size, d_model),  # vec (B, T, D)
    _Dropout(dropout, dropout_shared_axes, mode),
    tl.PositionalEncoding(max_len=max_len, mode=mode),
    [
      _DecoderBlock(
        d_model, d_ff, n_heads, dropout, dropout_shared_axes, max_len, mode, ff_activation
      )
      for _ in range(n_layers)
    ],  # vec
    tl.LayerNorm(),
    tl.Dense(vocab_size),  # logits (B, T, V)
    name='TransformerLM',
  )


@tl.register
def TransformerDecoder(
  vocab_size: 'int | None' = None,
  d_model: int = 512,
  d_ff: int = 2048,
  n_layers: int = 6,
  n_heads: int = 8,
  max_len: int = 2048,
  dropout: float = 0.1,
  dropout_shared_axes: 'Sequence[int] | None' = None,
  mode: str = 'train',
  ff_activation: _Activation = tl.Relu,
) -> tl.Layer:
  """Causal Transformer blocks: `(B, T)` ids or `(B, T, d)` vectors -> `(B, T, D)` vectors.

  Unlike `TransformerLM` it does not shift its input: output `t` sees inputs `<= t`. With
  `vocab_size=None` the input is vectors, projected by a `Dense(d_model)`. Arguments as
  in `TransformerLM`. (Trax 1.4 left the positional encoding in 'train' mode here, so
  'predict' mode decoded every call at position 0; it follows `mode` now.)
  """
  embedding = tl.Embedding(vocab_size, d_model) if vocab_size is not None else tl.Dense(d_model)
  return tl.Serial(  # tok (B, T) or vec
    embedding,  # vec (B, T, D)
    _Dropout(dropout, dropout_shared_axes, mode),
    tl.PositionalEncoding(max_len=max_len, mode=mode),
    [
      _DecoderBlock(
        d_model, d_ff, n_heads, dropout, dropout_shared_axes, max_len, mode, ff_activation
      )
      for _ in range(n_layers)
    ],  # vec
    tl.LayerNorm(),
    name='TransformerDecoder',
  )


@tl.register
def TransformerEncoder(
  vocab_size: int,
  n_classes: int = 10,
  d_model: int = 512,
  d_ff: int = 2048,
  n_layers: int = 6,
  n_heads: int = 8,
  max_len: int = 2048,
  dropout: float = 0.1,
  dropout_shared_axes: 'Sequence[int] | None' = None,
  mode: str = 'train',
  ff_activation: _Activation = tl.Relu,
) -> tl.Layer:
  """A Transformer classifier: token ids `(B, T)` -> class logits `(B, n_classes)`.

  Id 0 is padding: attention ignores it. The class scores come from the mean of the
  final vectors over all `T` positions (padding included, as in Trax 1.4). 'predict'
  mode computes what 'eval' does. Other arguments as in `TransformerLM`.
  """
  mode = 'eval' if mode == 'predict' else mode  # Nothing to decode incrementally.
  return tl.Serial(  # tok (B, T)
    tl.Branch([], tl.PaddingMask()),  # tok mask (B, 1, 1, T)
    tl.Embedding(vocab_size, d_model),  # vec (B, T, D) mask
    _Dropout(dropout, dropout_shared_axes, mode),
    tl.PositionalEncoding(max_len=max_len, mode=mode),
    [
      _EncoderBlock(d_model, d_ff, n_heads, dropout, dropout_shared_axes, mode, ff_activation)
      for _ in range(n_layers)
    ],  # vec mask
    tl.Select([0], n_in=2),  # vec
    tl.LayerNorm(),
    tl.Mean(axis=1),  # vec (B, D)
    tl.Dense(n_classes),  # logits (B, n_classes)
    name='TransformerEncoder',
  )


@tl.register
def Transformer(
  input_vocab_size: int,
  output_vocab_size: 'int | None' = None,
  d_model: int = 512,
  d_ff: int = 2048,
  n_encoder_layers: int = 6,
  n_decoder_layers: int = 6,
  n_heads: int = 8,
  max_len: int = 2048,
  dropout: float = 0.1,
  dropout_shared_axes: 'Sequence[int] | None' = None,
  mode: str = 'train',
  ff_activation: _Activation = tl.Relu,
) -> tl.Layer:
  """An encoder-decoder Transformer: `(tok_e, tok_d) -> (logits, tok_d)`.

  `tok_e` `(B, T_e)` are the source ids (0 is padding), `tok_d` `(B, T_d)` the target ids;
  `logits` `(B, T_d, V_out)` score each target token given the source and the targets
  before it. The targets pass through as the second output, for the loss.

  With `output_vocab_size=None` source and target share one vocabulary and one embedding
  table. In 'predict' mode the encoder runs on the first call only (later calls reuse its
  output, so keep passing the same `tok_e`), the encoder-decoder attention projects the
  encoder's keys and values once, and the decoder takes one target position (or chunk)
  per call, already shifted: a start token (0), then each emitted token.

  Args:
    input_vocab_size: number of source token ids.
    output_vocab_size: number of target token ids; `None` for the source vocabulary.
    n_encoder_layers: number of encoder blocks.
    n_decoder_layers: number of decoder blocks.
    Others: as in `TransformerLM`.
  """
  encoder_mode = 'eval' if mode == 'predict' else mode  # The encoder sees whole inputs.
  in_embedding = tl.Embedding(input_vocab_size, d_model)
  if output_vocab_size is None:
    out_embedding, output_vocab_size = in_embedding, input_vocab_size
  else:
    out_embedding = tl.Embedding(output_vocab_size, d_model)

  encoder = tl.Serial(  # tok_e mask
    in_embedding,  # vec_e (B, T_e, D) mask
    _Dropout(dropout, dropout_shared_axes, encoder_mode),
    tl.PositionalEncoding(max_len=max_len, mode=encoder_mode),
    [
      _EncoderBlock(
        d_model, d_ff, n_heads, dropout, dropout_shared_axes, encoder_mode, ff_activation
      )
      for _ in range(n_encoder_layers)
    ],
    tl.LayerNorm(),
    name='Encoder',
  )
  if mode == 'predict':
    encoder = tl.Cache(encoder)

  return tl.Serial(  # tok_e tok_d
    tl.Select([0, 1, 1]),  # tok_e tok_d tok_d
    tl.Branch([], tl.PaddingMask()),  # tok_e mask tok_d tok_d
    encoder,  # vec_e mask tok_d tok_d
    tl.Select([2, 1, 0]),  # tok_d mask vec_e tok_d
    tl.ShiftRight(mode=mode),
    out_embedding,  # vec_d (B, T_d, D) ...
    _Dropout(dropout, dropout_shared_axes, mode),
    tl.PositionalEncoding(max_len=max_len, mode=mode),
    tl.Branch([], tl.EncoderDecoderMask()),  # vec_d mask (B, 1, T_d, T_e) vec_e tok_d
    [
      _EncoderDecoderBlock(
        d_model, d_ff, n_heads, dropout, dropout_shared_axes, max_len, mode, ff_activation
      )
      for _ in range(n_decoder_layers)
    ],
    tl.LayerNorm(),  # vec_d mask vec_e tok_d
    tl.Select([0], n_in=3),  # vec_d tok_d
    tl.Dense(output_vocab_size),  # logits (B, T_d, V) tok_d
    name='Transformer',
  )


def _EncoderBlock(d_model, d_ff, n_heads, dropout, dropout_shared_axes, mode, ff_activation):
  """`vec mask -> vec mask`: self-attention over non-padding positions, feed-forward."""
  return tl.Serial(  # vec mask
    tl.Residual(
      tl.LayerNorm(),
      tl.Attention(d_model, n_heads=n_heads, dropout=dropout, mode=mode),
      _Dropout(dropout, dropout_shared_axes, mode),
    ),
    _FeedForwardResidual(d_model, d_ff, dropout, dropout_shared_axes, mode, ff_activation),
    name='EncoderBlock',
  )


def _DecoderBlock(
  d_model, d_ff, n_heads, dropout, dropout_shared_axes, max_len, mode, ff_activation
):
  """`vec -> vec`: causal self-attention, feed-forward."""
  return tl.Serial(  # vec
    tl.Residual(
      tl.LayerNorm(),
      tl.CausalAttention(
        d_model, n_heads=n_heads, dropout=dropout, max_inference_length=max_len, mode=mode
      ),
      _Dropout(dropout, dropout_shared_axes, mode),
    ),
    _FeedForwardResidual(d_model, d_ff, dropout, dropout_shared_axes, mode, ff_activation),
    name='DecoderBlock',
  )


def _EncoderDecoderBlock(
  d_model, d_ff, n_heads, dropout, dropout_shared_axes, max_len, mode, ff_activation
):
  """`vec_d mask vec_e -> vec_d mask vec_e`: causal self-attention, attention to the
  encoder, feed-forward."""
  # As in Trax 1.4, the causal self-attention here has no attention-weight dropout.
  return tl.Serial(  # vec_d mask vec_e
    tl.Residual(
      tl.LayerNorm(),
      tl.CausalAttention(d_model, n_heads=n_heads, max_inference_length=max_len, mode=mode),
      _Dropout(dropout, dropout_shared_axes, mode),
    ),
    tl.Residual(
      tl.LayerNorm(),
      tl.Select([0, 2, 2, 1, 2]),  # vec_d vec_e vec_e mask vec_e
      tl.AttentionQKV(
        d_model, n_heads=n_heads, dropout=dropout, mode=mode, cache_KV_in_predict=True
      ),  # vec_d mask vec_e
      _Dropout(dropout, dropout_shared_axes, mode),
    ),
    _FeedForwardResidual(d_model, d_ff, dropout, dropout_shared_axes, mode, ff_activation),
    name='EncoderDecoderBlock',
  )


def _FeedForwardResidual(d_model, d_ff, dropout, dropout_shared_axes, mode, activation):
  """`vec -> vec`: `vec + dropout(feed_forward(layer_norm(vec)))`."""
  return tl.Residual(
    tl.LayerNorm(),
    _FeedForwardBlock(d_model, d_ff, dropout, dropout_shared_axes, mode, activation),
    _Dropout(dropout, dropout_shared_axes, mode),
  )


def _FeedForwardBlock(d_model, d_ff, dropout, dropout_shared_axes, mode, activation):
  """`vec -> vec`: two position-wise dense layers, `(..., D) -> (..., d_ff) -> (..., D)`."""
  return tl.Serial(
    tl.Dense(d_ff),
    activation(),
    _Dropout(dropout, dropout_shared_axes, mode),
    tl.Dense(d_model),
    name='FeedForward',
  )


def _Dropout(rate, shared_axes, mode):
  return tl.Dropout(rate=rate, shared_axes=shared_axes, mode=mode)
