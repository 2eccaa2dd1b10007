"""Tensor2Tensor's text encoders, as Trax 1.4 uses them: subword vocabularies and bytes.

`SubwordTextEncoder` reads and writes Tensor2Tensor's `*.subwords` vocabulary files (one
subtoken per line, optionally in single or double quotes; the line number is the id) and
encodes text to exactly the ids Tensor2Tensor and Trax 1.4 give:

1. Cut the text with `trax.data.tokenizer.encode` (letters/digits vs the rest).
2. Escape each token: `\\` -> `\\\\`, `_` -> `\\u`, characters outside the vocabulary's
   alphabet (and newlines) -> `\\<code point>;`, then append `_`, the end-of-token mark.
3. Cut each escaped token greedily from the left into the longest subtokens of the
   vocabulary, and concatenate the ids.

Decoding joins the subtokens, splits at `_`, unescapes and detokenizes, so any text
round-trips. Vocabularies built here (see `SubwordTextEncoder.build_from_generator`) start
with the reserved tokens `<pad>` (id 0) and `<EOS>` (id 1), as Tensor2Tensor's do.
"""

import collections
import logging
import re
from typing import Any
from collections.abc import Iterable, Sequence

import numpy as np

from trax import atomic_files
from trax import file_io
from trax.data import tokenizer

PAD = '<pad>'
EOS = '<EOS>'
RESERVED_TOKENS = [PAD, EOS]
NUM_RESERVED_TOKENS = len(RESERVED_TOKENS)
PAD_ID = 0
EOS_ID = 1

_UNESCAPE = re.compile(r'\\u|\\\\|\\([0-9]+);')
_ESCAPE_CHARS = set('\\_u;0123456789')

_log = logging.getLogger(__name__)


def to_text(s: Any) -> str:
  """`s` as a str: bytes are decoded as UTF-8, dropping invalid bytes (as Tensor2Tensor)."""
  if isinstance(s, np.ndarray) and s.ndim == 0:
    s = s.item()
  if isinstance(s, str):
    return s
  if isinstance(s, (bytes, bytearray, np.bytes_)):
    return bytes(s).decode('utf-8', errors='ignore')
  raise TypeError(
    f'Expected text (str or bytes); got {type(s).__name__} {s!r:.80}. '
    'Use keys= to pick the text fields of an example.'
  )


def escape_token(token: str, alphabet: 'set[str]') -> str:
  """Escapes `_`, `\\` and characters outside `alphabet`, and appends the `_` mark."""
  token = token.replace('\\', '\\\\').replace('_', '\\u')
  escaped = [c if c in alphabet and c != '\n' else f'\\{ord(c)};' for c in token]
  return ''.join(escaped) + '_'


def unescape_token(escaped_token: str) -> str:
  """The inverse of `escape_token`; an invalid code point gives U+3013 (〓)."""

  def unescape(match: 're.Match') -> str:
    if match.group(1) is None:
      return '_' if match.group(0) == '\\u' else '\\'
    try:
      return chr(int(match.group(1)))
    except (ValueError, OverflowError):
      return '\u3013'

  trimmed = escaped_token[:-1] if escaped_token.endswith('_') else escaped_token
  return _UNESCAPE.sub(unescape, trimmed)


class ByteTextEncoder:
  """UTF-8 bytes as ids, shifted up by `num_reserved_ids` (Trax's `'char'` vocabulary)."""

  def __init__(self, num_reserved_ids: int = NUM_RESERVED_TOKENS):
    self._num_reserved_ids = num_reserved_ids

  @property
  def vocab_size(self) -> int:
    return 256 + self._num_reserved_ids

  def encode(self, s: Any) -> list:
    return [b + self._num_reserved_ids for b in to_text(s).encode('utf-8')]

  def decode(self, ids: Sequence[int]) -> str:
    """The text of `ids`; reserved ids decode to `<pad>`/`<EOS>`, bad UTF-8 to U+FFFD."""
    pieces = []
    for i in ids:
      i = int(i)
      if 0 <= i < self._num_reserved_ids:
        pieces.append(RESERVED_TOKENS[i].encode('ascii'))
      elif self._num_reserved_ids <= i < self.vocab_size:
        pieces.append(bytes([i - self._num_reserved_ids]))
      else:
        raise ValueError(
          f'Byte id {i} is outside 0..{self.vocab_size - 1}. Is n_reserved_ids right?'
        )
    return b''.join(pieces).decode('utf-8', 'replace')


class SubwordTextEncoder:
  """Tensor2Tensor's invertible subword encoder (Trax's default `'subword'` vocabulary).

  Args:
    filename: a `*.subwords` vocabulary file (local or any `tf.io.gfile` path) to read;
      None makes an empty encoder for the `build_*` methods.

  >>> encoder = SubwordTextEncoder.build_from_generator(['the cat', 'the hat'], 40)
  >>> encoder.decode(encoder.encode('the bat'))
  'the bat'
  """

  def __init__(self, filename: 'str | None' = None):
    self.filename = filename
    self._alphabet = set()
    self._all_subtoken_strings = []
    self._subtoken_string_to_id = {}
    self._max_subtoken_len = 0
    if filename is not None:
      self._load_from_file(filename)

  @property
  def vocab_size(self) -> int:
    """Number of subtokens (ids), reserved tokens included."""
    return len(self._all_subtoken_strings)

  @property
  def all_subtoken_strings(self) -> tuple:
    return tuple(self._all_subtoken_strings)

  def encode(self, s: Any) -> list:
    """The subtoken ids of text `s` (str or UTF-8 bytes)."""
    ids = []
    for token in tokenizer.encode(to_text(s)):
      ids.extend(self._token_to_subtoken_ids(token))
    return ids

  def encode_without_tokenizing(self, token_text: Any) -> list:
    """The subtoken ids of `token_text` taken as one token (no tokenizer pass)."""
    return self._token_to_subtoken_ids(to_text(token_text))

  def decode(self, ids: Sequence[int], strip_extraneous: bool = False) -> str:
    """The text of subtoken `ids`; ids outside the vocabulary are ignored.

    Args:
      ids: subtoken ids.
      strip_extraneous: drop trailing padding and EOS ids first.
    """
    ids = [int(i) for i in ids]
    if strip_extraneous:
      while ids and ids[-1] < NUM_RESERVED_TOKENS:
        ids.pop()
    return tokenizer.decode(self._subtoken_ids_to_tokens(ids))

  def decode_list(self, ids: Sequence[int]) -> list:
    """The subtoken string of each id."""
    return [self._subtoken_string(int(i)) for i in ids]

  def store_to_file(self, filename: str, add_single_quotes: bool = True) -> None:
    """Writes the vocabulary, one subtoken per line (quoted, as Tensor2Tensor)."""
    quote = "'" if add_single_quotes else ''
    with atomic_files.atomic_write(filename) as f:
      f.write(
        ''.join(f'{quote}{subtoken}{quote}\n' for subtoken in self._all_subtoken_strings).encode(
          'utf-8'
        )
      )

  # Encoding.

  def _token_to_subtoken_ids(self, token: str) -> list:
    return [
      self._subtoken_string_to_id[s]
      for s in self._escaped_to_subtokens(escape_token(token, self._alphabet))
    ]

  def _escaped_to_subtokens(self, escaped_token: str) -> list:
    """Greedy longest-match cut of an escaped token into subtoken strings."""
    subtokens = []
    start = 0
    while start < len(escaped_token):
      for end in range(min(len(escaped_token), start + self._max_subtoken_len), start, -1):
        candidate = escaped_token[start:end]
        if candidate in self._subtoken_string_to_id:
          subtokens.append(candidate)
          start = end
          break
      else:
        raise ValueError(
          f'The subword vocabulary {self.filename or "(built)"} cannot encode '
          f'{escaped_token[start:]!r}: its alphabet lacks the single-character '
          'subtokens of escape sequences (\\, digits, ;). Is this a Tensor2Tensor '
          'subword file?'
        )
    return subtokens

  def _subtoken_ids_to_tokens(self, ids: Sequence[int]) -> list:
    joined = ''.join(self._subtoken_string(i) for i in ids)
    tokens = []
    for piece in joined.split('_'):
      if piece:
        token = unescape_token(piece + '_')
        if token:
          tokens.append(token)
    return tokens

  def _subtoken_string(self, subtoken_id: int) -> str:
    if 0 <= subtoken_id < self.vocab_size:
      return self._all_subtoken_strings[subtoken_id]
    return ''

  # Vocabulary.

  def _init_subtokens_from_list(
    self, subtoken_strings: list, reserved_tokens: 'list | None' = None
  ) -> None:
    reserved_tokens = reserved_tokens or []
    self._all_subtoken_strings = list(reserved_tokens) + list(subtoken_strings)
    self._max_subtoken_len = max((len(s) for s in subtoken_strings), default=0)
    self._subtoken_string_to_id = {
      s: i + len(reserved_tokens) for i, s in enumerate(subtoken_strings) if s
    }

  def _init_alphabet_from_tokens(self, tokens: Iterable[str]) -> None:
    self._alphabet = {c for token in tokens for c in token} | _ESCAPE_CHARS

  def _load_from_file(self, filename: str) -> None:
    if not file_io.exists(filename):
      raise FileNotFoundError(f'Subword vocabulary file {filename} not found.')
    subtokens = []
    with file_io.open_file(filename, 'rb') as f:
      for line in f:
        s = to_text(line).rstrip()
        if len(s) >= 2 and s[0] == s[-1] and s[0] in '\'"':
          s = s[1:-1]
        subtokens.append(s)
    self._init_subtokens_from_list(subtokens)
    self._init_alphabet_from_tokens(subtokens)

  # Building (Tensor2Tensor's algorithm, so a corpus gives the same vocabulary).

  @classmethod
  def build_from_generator(
    cls,
    generator: Iterable[Any],
    target_size: int,
    max_subtoken_length: 'int | None' = None,
    reserved_tokens: 'list | None' = None,
  ) -> 'SubwordTextEncoder':
    """Builds a vocabulary of about `target_size` subtokens from the texts of `generator`.

    Args:
      generator: yields texts (str or bytes).
      target_size: the wanted vocabulary size; the result is within 1% when a minimum
        subtoken count between 1 and 1000 gives that.
      max_subtoken_length: longest subtoken; None for no bound (slower on long tokens).
      reserved_tokens: tokens taking the first ids; `['<pad>', '<EOS>']` must start it.
    """
    counts = tokenizer.corpus_token_counts(to_text(text) for text in generator)
    return cls.build_to_target_size(
      target_size,
      counts,
      1,
      1000,
      max_subtoken_length=max_subtoken_length,
      reserved_tokens=reserved_tokens,
    )

  @classmethod
  def build_to_target_size(
    cls,
    target_size: int,
    token_counts: dict,
    min_val: int,
    max_val: int,
    max_subtoken_length: 'int | None' = None,
    reserved_tokens: 'list | None' = None,
    num_iterations: int = 4,
  ) -> 'SubwordTextEncoder':
    """Bisects the minimum subtoken count in `[min_val, max_val]` to near `target_size`."""
    if min_val > max_val:
      raise ValueError(f'min_val {min_val} is greater than max_val {max_val}.')
    if target_size < 1:
      raise ValueError(f'target_size must be positive; got {target_size}.')

    def bisect(low: int, high: int) -> 'SubwordTextEncoder':
      min_count = (low + high) // 2
      encoder = cls()
      encoder.build_from_token_counts(
        token_counts, min_count, num_iterations, reserved_tokens, max_subtoken_length
      )
      distance = abs(encoder.vocab_size - target_size)
      if distance * 100 < target_size or low >= high or min_count < 2:
        return encoder
      if encoder.vocab_size > target_size:
        other = bisect(min_count + 1, high)
      else:
        other = bisect(low, min_count - 1)
      return other if abs(other.vocab_size - target_size) < distance else encoder

    return bisect(min_val, max_val)

  def build_from_token_counts(
    self,
    token_counts: dict,
    min_count: int,
    num_iterations: int = 4,
    reserved_tokens: 'list | None' = None,
    max_subtoken_length: 'int | None' = None,
  ) -> None:
    """Makes this encoder's vocabulary from token counts (Tensor2Tensor's iterations).

    Each iteration cuts every token with the current vocabulary, counts every substring
    starting at a cut, keeps those counted `min_count` times (longest first, discounting
    their prefixes), and adds the alphabet.
    """
    reserved_tokens = list(RESERVED_TOKENS if reserved_tokens is None else reserved_tokens)
    if reserved_tokens[:NUM_RESERVED_TOKENS] != RESERVED_TOKENS[: len(reserved_tokens)]:
      raise ValueError(f'reserved_tokens must start with {RESERVED_TOKENS}; got {reserved_tokens}.')
    self._init_alphabet_from_tokens(list(token_counts) + reserved_tokens)
    self._init_subtokens_from_list(sorted(self._alphabet), reserved_tokens)
    min_count = max(min_count, 1)
    for _ in range(num_iterations):
      counts = collections.defaultdict(int)
      for token, count in token_counts.items():
        escaped = escape_token(token, self._alphabet)
        start = 0
        for subtoken in self._escaped_to_subtokens(escaped):
          last = len(escaped) + 1
          if max_subtoken_length is not None:
            last = min(last, start + max_subtoken_length)
          for end in range(start + 1, last):
            counts[escaped[start:end]] += count
          start += len(subtoken)
      by_length = collections.defaultdict(list)
      for subtoken, count in counts.items():
        if count >= min_count:
          by_length[len(subtoken)].append(subtoken)
      kept = []
      for length in sorted(by_length, reverse=True):
        for subtoken in by_length[length]:
          count = counts[subtoken]
          if count >= min_count:
            if subtoken not in self._alphabet:
              kept.append((count, subtoken))
            for prefix_length in range(1, length):
              counts[subtoken[:prefix_length]] -= count
      kept.extend((counts.get(c, 0), c) for c in self._alphabet)
      kept.sort(reverse=True)
      escaped_reserved = [escape_token(t, self._alphabet) for t in reserved_tokens]
      self._init_subtokens_from_list(escaped_reserved + [s for _, s in kept])
      _log.debug('Subword vocabulary: %d subtokens.', self.vocab_size)


def build_subword_vocab(
  text_files_or_iterator: 'str | Sequence[str] | Iterable[str]',
  output_file: str,
  target_size: int,
  max_subtoken_length: 'int | None' = None,
  reserved_tokens: 'list | None' = None,
) -> str:
  """Builds a Tensor2Tensor subword vocabulary from a corpus and writes it to `output_file`.

  Args:
    text_files_or_iterator: a text file, a list of them (each line, stripped, is one
      text, as Tensor2Tensor's corpus reader), or an iterable of texts.
    output_file: where to write the `*.subwords` file (local or `tf.io.gfile` path).
    target_size: about how many subtokens (see `SubwordTextEncoder.build_from_generator`).
    max_subtoken_length: longest subtoken; None for no bound.
    reserved_tokens: tokens taking the first ids; default `['<pad>', '<EOS>']`.

  Returns:
    `output_file`, for `Tokenize(vocab_type='subword', vocab_file=...)`.
  """
  if isinstance(text_files_or_iterator, str):
    text_files_or_iterator = [text_files_or_iterator]
  if isinstance(text_files_or_iterator, (list, tuple)):
    texts = _lines_of(text_files_or_iterator)
  else:
    texts = text_files_or_iterator
  encoder = SubwordTextEncoder.build_from_generator(
    texts, target_size, max_subtoken_length, reserved_tokens
  )
  encoder.store_to_file(output_file)
  return output_file


def _lines_of(paths: Sequence[str]) -> Iterable[str]:
  for path in paths:
    with file_io.open_file(path, 'rb') as f:
      for line in f:
        yield to_text(line).strip()
