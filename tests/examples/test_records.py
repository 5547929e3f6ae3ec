"""What lands in the state folder is data, never a Python repr: another program must be able to read it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from .conftest import Venues
from .test_live_mode import AUTH, live_credentials

#: What a repr() leaves behind: Decimal('1'), datetime.datetime(...), <Enum.X: 'x'>, Cls(field=...).
REPR = re.compile(r"Decimal\(|datetime\.|<[A-Z]\w*\.\w+|\b[A-Z]\w+\(\w+=")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def stored_strings(folder: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".json":
            documents = [json.loads(path.read_text(encoding="utf-8"))]
        elif path.suffix == ".jsonl":
            documents = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        else:
            continue
        found += [(path.name, text) for doc in documents for text in strings(doc)]
    return found


def test_paper_and_live_state_files_hold_no_python_repr(
    make_app: Callable[..., Flask], venues: Venues, tmp_path: Path
) -> None:
    paper = make_app()
    paper.test_client().post("/api/scan")
    venues.resolve(venues.games[0])
    paper.test_client().post("/api/settle")
    live = make_app(live_credentials(venues))
    live.test_client().post("/api/scan", headers=AUTH)
    texts = stored_strings(tmp_path)
    assert {name for name, _ in texts} >= {"paper_trading_data.json", "real_trading_data.json"}
    bad = [(name, text[:200]) for name, text in texts if REPR.search(text)]
    assert bad == []
