"""BERT WordPiece vocabularies ('bert', 'bert-lowercase'): exact ids derived by hand."""

import numpy as np
import pytest

from trax import data

VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'the',
  'cat',
  '##s',
  'un',
  '##aff',
  '##able',
  ',',
  '.',
  'cafe',
  'The',
  '日',
  '本',
]


@pytest.fixture
def vocab_txt(tmp_path):
  path = tmp_path / 'vocab.txt'
  path.write_text('\n'.join(VOCAB) + '\n', encoding='utf-8')
  return str(path)


def test_lowercase_strips_accents_and_cuts_greedily(vocab_txt):
  ids = next(
    data.tokenize(
      iter(['The cats, unaffable café.']), vocab_type='bert-lowercase', vocab_file=vocab_txt
    )
  )
  assert ids.dtype == np.int64
  # the | cat ##s | , | un ##aff ##able | cafe | .
  np.testing.assert_array_equal(ids, [4, 5, 6, 10, 7, 8, 9, 12, 11])
  assert data.detokenize(ids, 'bert-lowercase', vocab_txt) == 'the cats , unaffable cafe .'


def test_cased_keeps_case_and_accents(vocab_txt):
  ids = next(
    data.tokenize(iter(['The cats, unaffable café.']), vocab_type='bert', vocab_file=vocab_txt)
  )
  # 'café' cannot be cut (no 'caf...' piece): the whole word is [UNK].
  np.testing.assert_array_equal(ids, [13, 5, 6, 10, 7, 8, 9, 1, 11])


def test_cjk_characters_are_words_and_controls_vanish(vocab_txt):
  ids = next(data.tokenize(iter(['日本x\x00\u200b']), vocab_type='bert', vocab_file=vocab_txt))
  np.testing.assert_array_equal(ids, [14, 15, 1])
  assert data.vocab_size('bert', vocab_txt) == 16
  assert data.vocab_size('bert-lowercase', vocab_txt, n_reserved_ids=2) == 18


def test_unknown_ids_and_missing_unk_are_explicit(tmp_path, vocab_txt):
  with pytest.raises(ValueError, match='outside the 16 tokens'):
    data.detokenize([99], 'bert', vocab_txt)
  no_unk = tmp_path / 'no_unk.txt'
  no_unk.write_text('the\n', encoding='utf-8')
  with pytest.raises(ValueError, match=r'no \[UNK\] token'):
    next(data.tokenize(iter(['dog']), vocab_type='bert', vocab_file=str(no_unk)))
