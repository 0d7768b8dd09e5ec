"""The README's Python examples run as written (like typer's documented examples, each a test)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support import require_isolation

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of the README section whose heading starts with ``section``."""
    text = README.read_text()
    start = text.index(f"\n## {section}")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], re.S)


def test_the_python_api_example_runs_as_written(tmp_path: Path) -> None:
    require_isolation()
    (block,) = python_blocks("Python API")
    proc = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # The comments in the example say what it prints; hold them to it.
    assert lines[0] == "completed {'solved': 9, 'max_solutions': 1}"
    assert lines[-1] == "--limit: Input should be greater than or equal to 1"
    assert (tmp_path / "api-demo.jsonl").read_text().count("\n") == len(lines) - 2 > 0
