"""docs/engine.md's example runs and prints what the page says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"


def test_engine_doc_example_prints_what_the_page_shows() -> None:
    text = DOC.read_text("utf-8")
    found = re.search(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", text, flags=re.DOTALL)
    assert found, "docs/engine.md has no example with its printed output"
    code, printed = found.groups()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == printed
