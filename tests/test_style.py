"""House-style guards for the whole `trax` package (see ../shared/STYLE.md)."""

import pathlib

import trax

MAX_LINES = 400
PACKAGE_DIR = pathlib.Path(trax.__file__).parent


def test_no_python_file_in_trax_exceeds_the_line_limit():
  # One concept per file: a file past 400 lines is due for a split.
  too_long = {}
  for path in sorted(PACKAGE_DIR.rglob('*.py')):
    n_lines = len(path.read_text(encoding='utf-8').splitlines())
    if n_lines > MAX_LINES:
      too_long[str(path.relative_to(PACKAGE_DIR.parent))] = n_lines
  assert not too_long, f'files over {MAX_LINES} lines (split them): {too_long}'
