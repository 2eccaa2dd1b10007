"""Trax 1.4's `Attention_Visualization_in_Trax.ipynb`: attention weights of a 'viz' model.

Swapped: the pretrained `ende_wmt32k` translator and its `ende_32k.subword` vocabulary
(the project's copy model in Trax 1.x's checkpoint format and a vocabulary of whole words;
see `programs.py`), so the model has 2 encoder and 2 decoder layers where the notebook's
had 6 and 6: its slices `[:6]`, `[6::2]`, `[7::2]` of the 18 found layers become `[:2]`,
`[2::2]`, `[3::2]` of 6. Its IPython/JavaScript display cells are left out (they only
show `attention_json`). Differs: the decoder's self-attention layer is found as
`CausalAttentionCore` (trax's heads-in-place subclass of `DotProductCausalAttention`,
with the same 'viz' state), where Trax printed `DotProductCausalAttention`.
"""

import json

import numpy as np
import pytest

import trax
from tests.trax14_programs import programs


def resize(att_mat, max_length=None):
  """Normalize attention matrices and reshape as necessary."""
  for i, att in enumerate(att_mat):
    # Add extra batch dim for viz code to work.
    if att.ndim == 3:
      att = np.expand_dims(att, axis=0)
    if max_length is not None:
      # Sum across different attention values for each token.
      att = att[:, :, :max_length, :max_length]
      row_sums = np.sum(att, axis=2)
      # Normalize
      att /= row_sums[:, :, np.newaxis]
    att_mat[i] = att
  return att_mat


def _get_attention(inp_text, out_text, enc_atts, dec_atts, encdec_atts):
  """The notebook's conversion for its d3 display (its `get_full_attention` left out)."""

  def per_head(atts, layer):
    att = np.transpose(atts[layer][0], (0, 2, 1))
    return [ha.T.tolist() for ha in att]

  def get_attentions(atts):
    return [per_head(atts, i) for i in range(len(enc_atts))]

  return {
    'inp_inp': {'att': get_attentions(enc_atts), 'top_text': inp_text, 'bot_text': inp_text},
    'inp_out': {'att': get_attentions(encdec_atts), 'top_text': inp_text, 'bot_text': out_text},
    'out_out': {'att': get_attentions(dec_atts), 'top_text': out_text, 'bot_text': out_text},
  }


@pytest.mark.slow  # About 8 s: a predict-mode decode, then a 'viz' model.
def test_attention_weights_of_a_viz_model(tmp_path, capsys):
  vocab_dir = str(tmp_path) + '/'
  programs.write_words_vocab(vocab_dir + 'ende_32k.subword', programs.COPY_WORDS)
  programs.copy_checkpoint(vocab_dir + 'ende_wmt32k.pkl.gz')

  # 1. Run a pre-trained Transformer.
  model = trax.models.Transformer(
    input_vocab_size=13,
    d_model=64,
    d_ff=128,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    max_len=256,
    mode='predict',
  )
  model.init_from_file(vocab_dir + 'ende_wmt32k.pkl.gz', weights_only=True)
  sentence = 'we want to learn new things please'
  tokenized = list(
    trax.data.tokenize(
      iter([sentence]),  # Operates on streams.
      vocab_dir=vocab_dir,
      vocab_file='ende_32k.subword',
    )
  )[0]
  tokenized = tokenized[None, :]  # Add batch dimension.
  tokenized_translation = trax.supervised.decoding.autoregressive_sample(
    model, tokenized, temperature=0.0
  )
  tokenized_translation = tokenized_translation[0][:-1]  # Remove batch and EOS.
  translation = trax.data.detokenize(
    tokenized_translation, vocab_dir=vocab_dir, vocab_file='ende_32k.subword'
  )
  assert translation == 'we want to learn new things'

  # 2. Prepare the tokens for visualization.
  def decode(single_token):
    return trax.data.detokenize(single_token, vocab_dir=vocab_dir, vocab_file='ende_32k.subword')

  def get_tokens_str(integers):
    token_strs = []
    for i in range(integers.shape[1]):
      token_strs.append(decode(integers[:, i]))
    return token_strs

  tokenized_translation_with_start = np.array([0] + list(tokenized_translation), dtype=np.int64)
  tokenized_translation_with_start = tokenized_translation_with_start[np.newaxis, ...]
  tokenized_translation = np.array(tokenized_translation, dtype=np.int64)
  tokenized_translation = tokenized_translation[np.newaxis, ...]
  tokenized_str = get_tokens_str(tokenized)
  tokenized_translation_str = get_tokens_str(tokenized_translation_with_start)
  assert tokenized_str == sentence.split()
  assert tokenized_translation_str == ['<pad>'] + sentence.split()[:-1]

  max_len = max(tokenized.shape[1], tokenized_translation.shape[1])
  tokenized_translation_pad = np.zeros((1, max_len), dtype=np.int64)
  tokenized_translation_pad[:, : tokenized_translation.shape[1]] = tokenized_translation
  tokenized_pad = np.zeros((1, max_len), dtype=np.int64)
  tokenized_pad[:, : tokenized.shape[1]] = tokenized
  assert (tokenized_translation_pad.shape, tokenized_pad.shape) == ((1, 7), (1, 7))

  # 3. Create the same pre-trained model in the "viz" mode.
  model_viz = trax.models.Transformer(
    input_vocab_size=13,
    d_model=64,
    d_ff=128,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    max_len=256,
    mode='viz',
  )
  model_viz.init_from_file(vocab_dir + 'ende_wmt32k.pkl.gz', weights_only=True)
  logits = model_viz((tokenized_pad, tokenized_translation_pad))[0]

  # 4. Find the attention weights (aka dots).
  attention_weights = []

  def attention_sublayers(layer):
    if 'Attention' in layer.name:
      print("Found layer {}".format(layer.name))  # noqa: UP032 (the notebook's code)
      attention_weights.append(layer.state)
    if layer.sublayers:
      for sublayer in layer.sublayers:
        attention_sublayers(sublayer)

  attention_sublayers(model_viz)
  assert capsys.readouterr().out.split('\n')[:-1] == (
    ['Found layer PureAttention'] * 2
    + ['Found layer CausalAttentionCore', 'Found layer PureAttention'] * 2
  )
  assert len(attention_weights) == 6

  enc_atts = attention_weights[:2]  # The notebook's 6 layers: [:6].
  dec_atts = attention_weights[2::2]  # [6::2]
  encdec_atts = attention_weights[3::2]  # [7::2]
  enc_atts_res = resize(enc_atts)
  dec_atts_res = resize(dec_atts)
  encdec_atts_res = resize(encdec_atts)
  attention_dict = _get_attention(
    tokenized_str, tokenized_translation_str, enc_atts_res, dec_atts_res, encdec_atts_res
  )
  attention_json = json.dumps(attention_dict)

  # The weights are Trax's: (batch, heads, query, key) for PureAttention, (batch * heads,
  # query, key) for the causal layer; rows are distributions, causal ones lower triangular.
  assert [np.shape(w) for w in attention_weights] == [(1, 2, 7, 7)] * 2 + [
    (2, 7, 7),
    (1, 2, 7, 7),
  ] * 2
  for w in attention_weights:
    np.testing.assert_allclose(np.sum(w, -1), 1.0, rtol=1e-5)
  assert np.all(np.triu(np.asarray(dec_atts[0][0]), 1) == 0)
  assert len(json.loads(attention_json)['inp_out']['att']) == 2
  # 'viz' computes as 'eval': the same logits; the copy model attends the copied token.
  model_eval = trax.models.Transformer(
    input_vocab_size=13,
    d_model=64,
    d_ff=128,
    n_heads=2,
    n_encoder_layers=2,
    n_decoder_layers=2,
    max_len=256,
    mode='eval',
  )
  model_eval.init_from_file(vocab_dir + 'ende_wmt32k.pkl.gz', weights_only=True)
  np.testing.assert_allclose(
    logits, model_eval((tokenized_pad, tokenized_translation_pad))[0], atol=1e-5
  )
  assert np.argmax(logits, -1)[0, :6].tolist() == tokenized[0, :6].tolist()
