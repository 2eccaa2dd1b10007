"""`tl.id_input_vocab_sizes`: which model inputs are token ids, read off the layer tree."""

from trax import models
import trax.layers as tl


def test_language_models_and_encoder_decoders():
  lm = models.TransformerLM(vocab_size=11, d_model=8, d_ff=16, n_heads=2, n_layers=1, max_len=16)
  assert tl.id_input_vocab_sizes(lm) == {0: 11}
  translator = models.Transformer(
    input_vocab_size=10,
    output_vocab_size=12,
    d_model=8,
    d_ff=16,
    n_heads=2,
    n_encoder_layers=1,
    n_decoder_layers=1,
  )
  assert tl.id_input_vocab_sizes(translator) == {0: 10, 1: 12}


def test_stack_moves_are_followed_and_other_layers_stop_the_trail():
  assert tl.id_input_vocab_sizes(tl.Parallel(tl.Embedding(5, 2), tl.Embedding(7, 2))) == {
    0: 5,
    1: 7,
  }
  swapped = tl.Serial(tl.Swap(), tl.Parallel(tl.Embedding(5, 2), tl.Embedding(7, 2)))
  assert tl.id_input_vocab_sizes(swapped) == {1: 5, 0: 7}
  selected = tl.Serial(tl.Select([1, 0, 0]), tl.Embedding(6, 2))
  assert tl.id_input_vocab_sizes(selected) == {1: 6}
  assert tl.id_input_vocab_sizes(tl.Branch(tl.Embedding(5, 2), tl.Embedding(9, 2))) == {0: 5}
  # Ids that pass another layer first are not claimed: nothing says what they become.
  assert (
    tl.id_input_vocab_sizes(tl.Serial(tl.Fn('Add1', lambda x: x + 1), tl.Embedding(5, 2))) == {}
  )
  assert tl.id_input_vocab_sizes(tl.Serial(tl.Dense(4), tl.Relu())) == {}
  dropped = tl.Serial(tl.Drop(), tl.Embedding(5, 2))  # Input 1 reaches it.
  assert tl.id_input_vocab_sizes(dropped) == {1: 5}
