"""Tensor2Tensor's invertible tokenizer: text split where letters/digits meet other characters.

The `'subword'` vocabularies (`text_encoder.SubwordTextEncoder`) first cut text with this
tokenizer, exactly as Tensor2Tensor and Trax 1.4 do:

1. Split at every boundary between an alphanumeric character (Unicode category L* or N*)
   and any other character, so tokens alternate between alphanumeric runs and the rest.
2. Drop each token that is a single space, unless it is the first token: two adjacent
   alphanumeric tokens imply it.

`"Dude - that's so cool."` -> `["Dude", " - ", "that", "'", "s", "so", "cool", "."]`, and
`decode` puts the single spaces back, so `decode(encode(text)) == text` for any text.
"""

import collections
import functools
import unicodedata
from collections.abc import Iterable


@functools.lru_cache(maxsize=65536)
def is_alphanumeric(char: str) -> bool:
  """Whether `char` is a letter or a number (Unicode category L* or N*)."""
  return unicodedata.category(char)[0] in 'LN'


def encode(text: str) -> list:
  """The tokens of `text` (a str), as Tensor2Tensor's tokenizer cuts them."""
  if not text:
    return []
  tokens = []
  token_start = 0
  alnum = [is_alphanumeric(c) for c in text]
  for pos in range(1, len(text)):
    if alnum[pos] != alnum[pos - 1]:
      token = text[token_start:pos]
      if token != ' ' or token_start == 0:
        tokens.append(token)
      token_start = pos
  tokens.append(text[token_start:])
  return tokens


def decode(tokens: Iterable[str]) -> str:
  """The text of `tokens`: a space between each two adjacent alphanumeric tokens."""
  pieces = []
  previous_alnum = False
  for token in tokens:
    alnum = is_alphanumeric(token[0])
    if pieces and previous_alnum and alnum:
      pieces.append(' ')
    pieces.append(token)
    previous_alnum = alnum
  return ''.join(pieces)


def corpus_token_counts(texts: Iterable[str]) -> collections.Counter:
  """How often each token occurs in `texts`."""
  counts = collections.Counter()
  for text in texts:
    counts.update(encode(text))
  return counts
