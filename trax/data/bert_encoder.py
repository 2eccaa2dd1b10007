"""BERT's WordPiece tokenizer over a `vocab.txt`, as Trax 1.4's `'bert'` vocabularies.

Encoding runs BERT's basic tokenizer (drop control characters, whitespace to spaces,
spaces around CJK ideographs, split on whitespace and punctuation; with lowercasing also
lowercase and strip accents) and then WordPiece: each word is cut greedily from the left
into the longest pieces of the vocabulary, pieces after the first written `##piece`; a
word that cannot be cut (or is longer than 200 characters) becomes `[UNK]`. Ids are line
numbers in `vocab.txt`.

Decoding joins pieces (a `##` piece to the previous one, others after a space), so it
inverts encoding only up to BERT's normalization (case, accents, spacing of punctuation).
"""

import collections
import unicodedata
from typing import Any
from collections.abc import Sequence

from trax import file_io
from trax.data.text_encoder import to_text

_CJK_RANGES = (
  (0x4E00, 0x9FFF),
  (0x3400, 0x4DBF),
  (0x20000, 0x2A6DF),
  (0x2A700, 0x2B73F),
  (0x2B740, 0x2B81F),
  (0x2B820, 0x2CEAF),
  (0xF900, 0xFAFF),
  (0x2F800, 0x2FA1F),
)


class BertEncoder:
  """WordPiece encoding with a BERT `vocab.txt` (one token per line).

  Args:
    vocab_file: the vocabulary (local or any `tf.io.gfile` path).
    do_lower_case: lowercase and strip accents first (`'bert-lowercase'`).
    unk_token: the token of words the vocabulary cannot cut.
    max_input_chars_per_word: longer words become `unk_token`.
  """

  def __init__(
    self,
    vocab_file: str,
    do_lower_case: bool = True,
    unk_token: str = '[UNK]',
    max_input_chars_per_word: int = 200,
  ):
    self._vocab = collections.OrderedDict()
    with file_io.open_file(vocab_file, 'rb') as f:
      for index, line in enumerate(f):
        self._vocab[to_text(line).strip()] = index
    self._inverse = {i: token for token, i in self._vocab.items()}
    self._do_lower_case = do_lower_case
    self._unk_token = unk_token
    self._max_chars = max_input_chars_per_word
    self._vocab_file = vocab_file

  @property
  def vocab_size(self) -> int:
    return len(self._vocab)

  def encode(self, text: Any) -> list:
    """The ids of the WordPiece tokens of `text`."""
    tokens = self.tokenize(text)
    if self._unk_token in tokens and self._unk_token not in self._vocab:
      raise ValueError(
        f'{self._vocab_file} has no {self._unk_token} token for words it '
        f'cannot cut; the text has some: {text!r:.80}.'
      )
    return [self._vocab[t] for t in tokens]

  def decode(self, ids: Sequence[int]) -> str:
    """Text whose encoding gives `ids` (pieces joined, `##` pieces without a space)."""
    unknown = [int(i) for i in ids if int(i) not in self._inverse]
    if unknown:
      raise ValueError(
        f'Ids {unknown[:5]} are outside the {self.vocab_size} tokens of '
        f'{self._vocab_file}. Is n_reserved_ids right?'
      )
    pieces = []
    for i, token in enumerate(self._inverse[int(i)] for i in ids):
      if token.startswith('##'):
        pieces.append(token.lstrip('#'))
      else:
        pieces.extend([' ', token] if i else [token])
    return ''.join(pieces)

  def tokenize(self, text: Any) -> list:
    """The WordPiece tokens (strings) of `text`."""
    return [
      piece for word in self._basic_tokenize(to_text(text)) for piece in self._wordpiece(word)
    ]

  def _basic_tokenize(self, text: str) -> list:
    cleaned = []
    for char in text:
      if ord(char) in (0, 0xFFFD) or _is_control(char):
        continue
      if _is_whitespace(char):
        cleaned.append(' ')
      elif any(low <= ord(char) <= high for low, high in _CJK_RANGES):
        cleaned.append(f' {char} ')
      else:
        cleaned.append(char)
    words = []
    for word in ''.join(cleaned).split():
      if self._do_lower_case:
        word = ''.join(
          c for c in unicodedata.normalize('NFD', word.lower()) if unicodedata.category(c) != 'Mn'
        )
      words.extend(_split_on_punctuation(word))
    return ' '.join(words).split()

  def _wordpiece(self, word: str) -> list:
    if len(word) > self._max_chars:
      return [self._unk_token]
    pieces = []
    start = 0
    while start < len(word):
      for end in range(len(word), start, -1):
        piece = word[start:end] if start == 0 else '##' + word[start:end]
        if piece in self._vocab:
          pieces.append(piece)
          start = end
          break
      else:
        return [self._unk_token]
    return pieces


def _split_on_punctuation(word: str) -> list:
  """`word` cut before and after each punctuation character."""
  pieces, start_new = [], True
  for char in word:
    if _is_punctuation(char):
      pieces.append(char)
      start_new = True
    else:
      if start_new:
        pieces.append('')
      pieces[-1] += char
      start_new = False
  return pieces


def _is_whitespace(char: str) -> bool:
  return char in ' \t\n\r' or unicodedata.category(char) == 'Zs'


def _is_control(char: str) -> bool:
  return char not in '\t\n\r' and unicodedata.category(char) in ('Cc', 'Cf')


def _is_punctuation(char: str) -> bool:
  # BERT counts every ASCII character that is not a letter or digit as punctuation.
  cp = ord(char)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(char).startswith('P')
