"""Recurrent models: an RNN language model, a GRU language model, and an LSTM
sequence-to-sequence model with attention.

Layer structures (and so the flat order of weights) are Trax 1.4's. In 'predict' mode the
recurrent state carries over from call to call, so a sequence can be fed one position
at a time; the models then do not shift their targets (feed a start token, 0, first).
"""

from collections.abc import Callable

import trax.layers as tl


@tl.register
def RNNLM(
  vocab_size: int,
  d_model: int = 512,
  n_layers: int = 2,
  rnn_cell: Callable[..., tl.Layer] = tl.LSTMCell,
  rnn_cell_d_state_multiplier: int = 2,
  dropout: float = 0.1,
  mode: str = 'train',
) -> tl.Layer:
  """A stacked-RNN language model: token ids `(B, T)` -> next-token logits `(B, T, V)`.

  `n_layers` cells run together inside one `Scan` over the sequence; their states are
  concatenated into one carry of depth `n_layers * rnn_cell_d_state_multiplier * d_model`.

  Args:
    vocab_size: number of token ids.
    d_model: width of the embedding and of each cell (`n_units`).
    n_layers: number of stacked cells. (Trax 1.4 accepted only 2.)
    rnn_cell: cell factory taking `n_units`, mapping `(x, state) -> (y, new_state)`.
    rnn_cell_d_state_multiplier: cell state depth over `d_model` (2 for `LSTMCell`'s
      `[c, h]`, 1 for `GRUCell`).
    dropout: dropout rate after the embedding ('train' mode only).
    mode: 'train', 'eval' or 'predict' (one position per call, state kept).
  """
  if n_layers < 1:
    raise ValueError(f'RNNLM needs n_layers >= 1, got {n_layers}.')

  def MultiRNNCell():  # x state -> y new_state; state holds every cell's state, in order.
    cells = [rnn_cell(n_units=d_model) for _ in range(n_layers)]
    if n_layers == 1:
      return cells[0]
    return tl.Serial(  # x state
      tl.Parallel([], tl.Split(n_items=n_layers)),  # x s_1 ... s_n
      tl.SerialWithSideOutputs(cells),  # y s_1' ... s_n'
      tl.Parallel([], tl.Concatenate(n_items=n_layers)),
    )  # y state'

  state_multiplier = n_layers * rnn_cell_d_state_multiplier
  return tl.Serial(  # tok (B, T)
    tl.ShiftRight(mode=mode),
    tl.Embedding(vocab_size, d_model),  # vec (B, T, D)
    tl.Dropout(rate=dropout, mode=mode),
    tl.Branch([], tl.MakeZeroState(depth_multiplier=state_multiplier)),  # vec state
    tl.Scan(MultiRNNCell(), axis=1, mode=mode),  # vec state
    tl.Select([0], n_in=2),  # vec
    tl.Dense(vocab_size),  # logits (B, T, V)
    name='RNNLM',
  )


@tl.register
def GRULM(
  vocab_size: int = 256, d_model: int = 512, n_layers: int = 1, mode: str = 'train'
) -> tl.Layer:
  """A GRU language model: token ids `(B, T)` -> next-token logits `(B, T, V)`.

  Args:
    vocab_size: number of token ids.
    d_model: width of the embedding and of each GRU.
    n_layers: number of GRU layers.
    mode: 'train', 'eval' or 'predict' (one position per call, state kept).
  """
  return tl.Serial(  # tok (B, T)
    tl.ShiftRight(mode=mode),
    tl.Embedding(vocab_size, d_model),  # vec (B, T, D)
    [tl.GRU(d_model, mode=mode) for _ in range(n_layers)],
    tl.Dense(vocab_size),  # logits (B, T, V)
    name='GRULM',
  )


@tl.register
def LSTMSeq2SeqAttn(
  input_vocab_size: int = 256,
  target_vocab_size: int = 256,
  d_model: int = 512,
  n_encoder_layers: int = 2,
  n_decoder_layers: int = 2,
  n_attention_heads: int = 1,
  attention_dropout: float = 0.0,
  mode: str = 'train',
) -> tl.Layer:
  """An LSTM encoder-decoder with attention: `(tok_e, tok_d) -> (log_probs, tok_d)`.

  The encoder LSTMs read the source ids `tok_e` `(B, T_e)` and give the attention's keys
  and values (source id 0 is padding, which the attention ignores); an LSTM over the
  shifted targets `tok_d` `(B, T_d)` gives its queries; more LSTMs and a dense layer map
  the attended vectors (plus the queries) to log-probabilities `(B, T_d, V)` over the
  target vocabulary. The targets pass through as the second output, for the loss.

  In 'predict' mode the encoder runs on the first call only (keep passing the same
  `tok_e`), its keys and values are projected once, and the decoder takes one target
  position per call.

  Args:
    input_vocab_size: number of source token ids.
    target_vocab_size: number of target token ids.
    d_model: width of the embeddings, LSTMs and attention.
    n_encoder_layers: number of LSTMs in the encoder.
    n_decoder_layers: number of LSTMs after the attention.
    n_attention_heads: number of attention heads; must divide `d_model`.
    attention_dropout: dropout rate of the attention weights ('train' mode only).
    mode: 'train', 'eval' or 'predict'.
  """
  encoder = tl.Serial(  # tok_e
    tl.Embedding(input_vocab_size, d_model),  # vec_e (B, T_e, D)
    [tl.LSTM(d_model) for _ in range(n_encoder_layers)],
    name='Encoder',
  )
  if mode == 'predict':
    encoder = tl.Cache(encoder)
  pre_attention_decoder = tl.Serial(  # tok_d
    tl.ShiftRight(mode=mode),
    tl.Embedding(target_vocab_size, d_model),  # vec_d (B, T_d, D)
    tl.LSTM(d_model, mode=mode),
    name='PreAttentionDecoder',
  )

  return tl.Serial(  # tok_e tok_d
    tl.Select([0, 1, 0, 1]),  # tok_e tok_d tok_e tok_d
    tl.Parallel(encoder, pre_attention_decoder),  # vec_e vec_d tok_e tok_d
    tl.Parallel([], [], tl.PaddingMask()),  # vec_e vec_d mask tok_d
    tl.Select([1, 0, 0, 2]),  # vec_d vec_e vec_e mask tok_d
    tl.Residual(
      tl.AttentionQKV(
        d_model,
        n_heads=n_attention_heads,
        dropout=attention_dropout,
        mode=mode,
        cache_KV_in_predict=True,
      )
    ),  # vec_d mask tok_d
    tl.Select([0, 2]),  # vec_d tok_d
    [tl.LSTM(d_model, mode=mode) for _ in range(n_decoder_layers)],
    tl.Dense(target_vocab_size),  # logits (B, T_d, V) tok_d
    tl.LogSoftmax(),  # log_probs tok_d
    name='LSTMSeq2SeqAttn',
  )
