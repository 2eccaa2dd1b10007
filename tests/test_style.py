"""House-style guards for the three packages (see ../shared/STYLE.md)."""

import pathlib

MAX_LINES = 400
REPO = pathlib.Path(__file__).parent.parent
PACKAGES = ('trax', 'trax_keras', 'converters')


def test_no_python_file_in_the_packages_exceeds_the_line_limit():
  # One concept per file: a file past 400 lines (as formatted) is due for a split.
  too_long = {}
  for package in PACKAGES:
    for path in sorted((REPO / package).rglob('*.py')):
      n_lines = len(path.read_text(encoding='utf-8').splitlines())
      if n_lines > MAX_LINES:
        too_long[str(path.relative_to(REPO))] = n_lines
  assert not too_long, f'files over {MAX_LINES} lines (split them): {too_long}'
