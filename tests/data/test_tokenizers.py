"""Character and SentencePiece tokenization, round trips and vocabulary building.

Subword and BERT vocabularies: tests/data/test_text_encoder.py and test_bert_encoder.py.
"""

import os

import numpy as np
import pytest

from trax import data
from trax.data import sentencepiece_vocab
from trax.data import tokenizers

CORPUS = os.path.join(tokenizers.TESTDATA_DIR, 'corpus.txt')
TEXTS = ['The quick brown fox.', '  two  spaces\tand a tab\n', 'Zürich – naïve café']


@pytest.fixture(scope='module')
def spm_model(tmp_path_factory):
  prefix = tmp_path_factory.mktemp('spm') / 'corpus_300'
  return data.build_sentencepiece_vocab(CORPUS, str(prefix), 300)


def test_char_ids_are_utf8_bytes_shifted_by_reserved_ids():
  ids = next(data.tokenize(iter(['Aé']), vocab_type='char', n_reserved_ids=2))
  np.testing.assert_array_equal(ids, [65 + 2, 0xC3 + 2, 0xA9 + 2])
  assert ids.dtype == np.int64  # Trax 1.4's dtype.
  assert data.vocab_size('char') == 256
  assert data.vocab_size('char', n_reserved_ids=2) == 258


@pytest.mark.parametrize('text', TEXTS)
def test_char_round_trip(text):
  ids = next(data.Tokenize(vocab_type='char', n_reserved_ids=3)(iter([text])))
  assert data.detokenize(ids, 'char', n_reserved_ids=3) == text


def test_detokenize_drops_reserved_ids_such_as_padding():
  ids = np.array([0, 72 + 1, 105 + 1, 0, 0])  # "Hi" with padding (id 0) around it.
  assert data.detokenize(ids, 'char', n_reserved_ids=1) == 'Hi'
  with pytest.raises(ValueError, match='outside 0..255'):
    data.detokenize([300], 'char')


def test_tokenize_tuples_dicts_and_bytes_at_keys():
  label = np.int64(1)
  out = next(data.Tokenize(keys=[0], vocab_type='char')(iter([(b'ab', label)])))
  np.testing.assert_array_equal(out[0], [97, 98])
  assert out[1] is label
  out = next(
    data.tokenize(iter([{'text': np.array('hi'), 'id': 7}]), keys=['text'], vocab_type='char')
  )
  np.testing.assert_array_equal(out['text'], [104, 105])
  assert out['id'] == 7
  with pytest.raises(TypeError, match='keys='):
    next(data.tokenize(iter([(b'ab', label)]), vocab_type='char'))


def test_sentencepiece_model_trained_in_tmp_path(spm_model):
  assert os.path.isfile(spm_model)
  assert data.vocab_size('sentencepiece', spm_model) == 300
  ids = next(data.tokenize(iter([TEXTS[0]]), vocab_type='sentencepiece', vocab_file=spm_model))
  assert 0 < len(ids) < len(TEXTS[0])  # Pieces are longer than characters.
  assert ids.min() > sentencepiece_vocab.UNK_ID  # All known: no pad, EOS or unknown ids.
  assert data.detokenize(ids, 'sentencepiece', spm_model) == TEXTS[0]


def test_sentencepiece_round_trips_every_corpus_line(spm_model):
  with open(CORPUS, encoding='utf-8') as f:
    lines = [line.rstrip('\n') for line in f]
  tokenized = data.Tokenize(vocab_type='sentencepiece', vocab_file=spm_model, n_reserved_ids=2)(
    iter(lines)
  )
  for line, ids in zip(lines, tokenized):
    assert ids.min() >= 2
    assert data.detokenize(ids, 'sentencepiece', spm_model, n_reserved_ids=2) == line


def test_sentencepiece_reserves_padding_and_eos(spm_model):
  ids = next(data.tokenize(iter(['the boat']), vocab_type='sentencepiece', vocab_file=spm_model))
  padded = np.concatenate([ids, [sentencepiece_vocab.EOS_ID, sentencepiece_vocab.PAD_ID]])
  assert data.detokenize(padded, 'sentencepiece', spm_model) == 'the boat'


def test_vocab_dir_and_the_shipped_model(spm_model):
  directory, name = os.path.split(spm_model)
  assert data.vocab_size('sentencepiece', name, vocab_dir=directory) == 300
  # The shipped model falls back to bytes, so even text it never saw round-trips.
  for text in TEXTS + ['日本語']:
    ids = next(data.tokenize(iter([text]), vocab_type='sentencepiece', vocab_file='en_tiny.model'))
    assert data.detokenize(ids, 'sentencepiece', 'en_tiny.model') == text
  assert data.vocab_size('sentencepiece', 'en_tiny.model') == 512


def test_build_sentencepiece_vocab_from_an_iterator(tmp_path):
  sentences = (
    f'{word} number {i} goes here' for i in range(200) for word in ('red', 'green', 'blue')
  )
  model = data.build_sentencepiece_vocab(sentences, str(tmp_path / 'sub' / 'it'), 40)
  assert model == str(tmp_path / 'sub' / 'it.model')
  ids = next(data.tokenize(iter(['green number 7']), vocab_type='sentencepiece', vocab_file=model))
  assert data.detokenize(ids, 'sentencepiece', model) == 'green number 7'


def test_vocabulary_errors_are_explicit(tmp_path):
  with pytest.raises(FileNotFoundError, match='never downloaded'):
    data.vocab_size('sentencepiece', 'missing.model', vocab_dir=str(tmp_path))
  with pytest.raises(ValueError, match="pass vocab_type='sentencepiece'"):
    data.Tokenize(vocab_file='en_tiny.model')  # Trax's default type is 'subword'.
  with pytest.raises(ValueError, match="did you mean vocab_type='subword'"):
    data.Tokenize(vocab_type='char', vocab_file='en_tiny.subwords')
  with pytest.raises(FileNotFoundError, match='never downloaded'):
    data.Tokenize(vocab_file='en_8k.subword')  # Trax fetched it from gs://trax-ml.
  not_a_model = tmp_path / 'vocab.model'
  not_a_model.write_text('hello\nworld\n')
  with pytest.raises(ValueError, match='not a SentencePiece model'):
    data.vocab_size('sentencepiece', str(not_a_model))
