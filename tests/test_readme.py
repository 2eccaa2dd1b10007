"""The README's tour runs as written, in a temporary working directory."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).parent.parent / 'README.md'


def test_readme_tour_runs(tmp_path):
  tour = re.findall(r'```python\n(.*?)```', README.read_text(), re.S)[0]
  result = subprocess.run(
    [sys.executable, '-c', tour], capture_output=True, text=True, timeout=600, cwd=tmp_path
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert (tmp_path / 'tour_model' / '1' / 'saved_model.pb').exists()
