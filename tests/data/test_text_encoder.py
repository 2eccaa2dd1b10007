"""Tensor2Tensor subword vocabularies ('subword', Trax's default): exact ids, files, building."""

import os

import numpy as np
import pytest

from trax import data
from trax.data import text_encoder
from trax.data import tokenizer
from trax.data import tokenizers

CORPUS = os.path.join(tokenizers.TESTDATA_DIR, 'corpus.txt')
DIGIT = {str(d): 16 + d for d in range(10)}  # Ids of '0'..'9' in the vocabulary below.


@pytest.fixture
def tiny_vocab(tmp_path):
  """A hand-written T2T vocabulary; ids are line numbers (quotes optional, as T2T)."""
  lines = [
    "'<pad>_'",
    "'<EOS>_'",
    "'the_'",
    '"cat_"',
    'ca',
    't',
    'h',
    'e',
    'c',
    'a',
    '_',
    "' '",
    '!',
    '\\',
    'u',
    ';',
  ] + [str(d) for d in range(10)]
  path = tmp_path / 'tiny.subwords'
  path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
  return str(path)


def test_tokenizer_cuts_where_letters_meet_other_characters():
  assert tokenizer.encode("Dude - that's so cool.") == [
    'Dude',
    ' - ',
    'that',
    "'",
    's',
    'so',
    'cool',
    '.',
  ]
  assert tokenizer.encode(' lead space') == [' ', 'lead', 'space']
  for text in ("Dude - that's so cool.", ' lead  two  spaces ', 'Zürich 42\n', ''):
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_escaping_marks_token_ends_and_codes_unknown_characters():
  alphabet = set('ab') | set('\\_u;0123456789')  # Encoders always hold the escapes.
  assert text_encoder.escape_token('a_b\\x', alphabet) == 'a\\ub\\\\\\120;_'
  assert text_encoder.unescape_token('a\\ub\\\\\\120;_') == 'a_b\\x'
  assert text_encoder.unescape_token('\\99999999999;_') == '\u3013'


def test_exact_ids_derived_by_hand(tiny_vocab):
  encoder = text_encoder.SubwordTextEncoder(tiny_vocab)
  assert encoder.vocab_size == 26
  # Tokens 'the', 'cat', '!' (the single space is implied); each escaped token ends in _.
  assert encoder.encode('the cat!') == [2, 3, 12, 10]
  # 'chat_' is not a subtoken: greedy longest match c, h, a, t, _.
  assert encoder.encode('the chat') == [2, 8, 6, 9, 5, 10]
  # 'x' is outside the alphabet: escaped as \120; then _.
  assert encoder.encode('x') == [13, DIGIT['1'], DIGIT['2'], DIGIT['0'], 15, 10]
  # 'a', '_', 'b': the underscore becomes \u, the unknown b becomes \98;.
  ids = encoder.encode('a_b')
  assert ids == [9, 10, 13, 14, 10, 13, DIGIT['9'], DIGIT['8'], 15, 10]
  assert encoder.decode(ids) == 'a_b'
  assert encoder.decode([0, 2, 99]) == '<pad>the'  # Reserved ids decode; unknown ids vanish.
  assert encoder.decode([2, 3, 1, 0], strip_extraneous=True) == 'the cat'


def test_the_trax_api_with_a_subword_file(tiny_vocab):
  directory, name = os.path.split(tiny_vocab)
  assert data.vocab_size(vocab_file=name, vocab_dir=directory) == 26
  assert data.vocab_size(vocab_file=tiny_vocab, n_reserved_ids=3) == 29
  ids = next(data.tokenize(iter(['the cat!']), vocab_file=tiny_vocab))  # 'subword' default.
  assert ids.dtype == np.int64
  np.testing.assert_array_equal(ids, [2, 3, 12, 10])
  assert data.detokenize(ids, vocab_file=tiny_vocab) == 'the cat!'
  shifted = next(data.Tokenize(vocab_file=tiny_vocab, n_reserved_ids=1)(iter([b'the'])))
  np.testing.assert_array_equal(shifted, [3])


@pytest.mark.parametrize(
  'text',
  [
    'The quick brown fox jumps over the lazy dog.',
    '  two  spaces\tand a tab\n',
    'Zürich – naïve café',
    'snake_case \\ back\\slash 12;34',
    '日本語',
    '',
  ],
)
def test_shipped_vocabulary_round_trips_any_text(text):
  ids = next(data.tokenize(iter([text]), vocab_file='en_tiny.subwords'))
  assert ids.min(initial=2) >= 2  # Never the reserved <pad> or <EOS>.
  assert data.detokenize(ids, vocab_file='en_tiny.subwords') == text


def test_building_matches_the_shipped_vocabulary(tmp_path):
  built = text_encoder.build_subword_vocab(CORPUS, str(tmp_path / 'v.subwords'), 300)
  with (
    open(built, encoding='utf-8') as f,
    open(os.path.join(tokenizers.TESTDATA_DIR, 'en_tiny.subwords'), encoding='utf-8') as g,
  ):
    assert f.read() == g.read()
  encoder = text_encoder.SubwordTextEncoder(built)
  assert encoder.vocab_size == 292  # Within T2T's search of the size nearest 300.
  assert encoder.all_subtoken_strings[:3] == ('<pad>_', '<EOS>_', 'the_')
  assert encoder.encode('the') == [2]


def test_build_from_generator_and_reserved_tokens():
  lines = ['red green blue'] * 20 + ['green tea'] * 5
  encoder = text_encoder.SubwordTextEncoder.build_from_generator(
    lines, 30, reserved_tokens=['<pad>', '<EOS>', '<mask>']
  )
  assert encoder.all_subtoken_strings[:3] == ('<pad>_', '<EOS>_', '<mask>_')
  assert encoder.decode(encoder.encode('green tea blue')) == 'green tea blue'
  with pytest.raises(ValueError, match='must start with'):
    text_encoder.SubwordTextEncoder.build_from_generator(lines, 30, reserved_tokens=['<s>'])


def test_same_vocabulary_and_ids_as_tensor2tensor(tmp_path):
  t2t = pytest.importorskip('tensor2tensor.data_generators.text_encoder')
  with open(CORPUS, encoding='utf-8') as f:
    lines = f.read().splitlines()
  for size in (100, 1000):
    ours = text_encoder.SubwordTextEncoder.build_from_generator(lines, size)
    theirs = t2t.SubwordTextEncoder.build_from_generator(lines, size)
    assert ours.all_subtoken_strings == tuple(theirs.all_subtoken_strings)
  theirs.store_to_file(str(tmp_path / 't2t.subwords'))
  ours = text_encoder.SubwordTextEncoder(str(tmp_path / 't2t.subwords'))
  theirs = t2t.SubwordTextEncoder(str(tmp_path / 't2t.subwords'))
  for text in ['The quick_brown fox \\ 123!', 'Здравствуй, мир\n\t', ' a  b ', '']:
    assert ours.encode(text) == theirs.encode(text)
    assert ours.decode(ours.encode(text)) == theirs.decode(theirs.encode(text)) == text
