"""The core names no venue: every venue fact comes from an adapter through a hook.

Every module under ``src/arbkit/`` is imported (so none hides behind a lazy import) and its
code read with ``ast``: no string literal and no identifier may name a venue. Docstrings and
comments may (an example is clearer with a real name), and so may files listed in
``NOT_YET`` below, each with the piece of work that removes it.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import arbkit

VENUES = re.compile(r"kalshi|polymarket", re.IGNORECASE)
CORE = Path(arbkit.__file__).resolve().parent

#: Files (relative to src/arbkit) that still name a venue, and who removes the name. A file is
#: never added here; the lead empties it as branches land. League's venue fields, the team
#: table's per-venue codes and the bundled aliases were here until the adapters took their
#: naming (arbkit_register_leagues, merged from h-adapters): nothing is left.
NOT_YET: dict[str, str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _named(tree: ast.AST) -> list[str]:
    """Every string literal (docstrings aside) and identifier in ``tree`` that names a venue."""
    docstrings = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            texts.append(node.value)
        elif isinstance(node, ast.Name):
            texts.append(node.id)
        elif isinstance(node, ast.Attribute):
            texts.append(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            texts.append(node.name)
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            texts.append(node.arg)
        elif isinstance(node, ast.alias):
            texts.append(node.name)
            texts.append(node.asname or "")
        hits += [
            f"line {getattr(node, 'lineno', '?')}: {text[:60]!r}" for text in texts if VENUES.search(text)
        ]
    return hits


def _modules() -> list[str]:
    names = ["arbkit"]
    names += [m.name for m in pkgutil.walk_packages([str(CORE)], prefix="arbkit.")]
    for name in names:
        importlib.import_module(name)
    return names


def test_no_core_module_names_a_venue_in_its_code() -> None:
    offenders = {}
    for name in _modules():
        path = Path(importlib.import_module(name).__file__ or "")
        relative = path.relative_to(CORE).as_posix()
        if relative in NOT_YET:
            continue
        hits = _named(ast.parse(path.read_text(), filename=str(path)))
        if hits:
            offenders[relative] = hits
    assert not offenders, f"the core names a venue: {offenders}"


def _data(value: Any) -> list[str]:
    """The strings of a JSON document, keys included, without its ``"_..."`` notes (provenance)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() if not str(k).startswith("_") for s in [str(k), *_data(v)]]
    if isinstance(value, list):
        return [s for item in value for s in _data(item)]
    return [value] if isinstance(value, str) else []


def _data_names_a_venue(path: Path) -> bool:
    text = path.read_text(errors="replace")
    strings = _data(json.loads(text)) if path.suffix == ".json" else [text]
    return any(VENUES.search(s) for s in strings)


def test_no_core_data_file_names_a_venue() -> None:
    offenders = [
        path.relative_to(CORE).as_posix()
        for path in sorted(CORE.rglob("*"))
        if path.is_file()
        and path.suffix not in (".py", ".pyc", ".typed")
        and "__pycache__" not in path.parts
        and path.relative_to(CORE).as_posix() not in NOT_YET
        and _data_names_a_venue(path)
    ]
    assert not offenders, f"core data files name a venue: {offenders}"


def test_the_check_finds_a_venue_in_code_and_not_in_docstrings() -> None:
    source = '"""About Kalshi."""\n# polymarket\nx = "kalshi"\ndef f(polymarket_url):\n    """Kalshi."""\n'
    hits = _named(ast.parse(source))
    assert hits == ["line 3: 'kalshi'", "line 4: 'polymarket_url'"]


def test_the_data_check_skips_notes_only() -> None:
    assert _data({"_source": "from the Kalshi cache", "nba": {"NYK": ["Knicks"]}}) == ["nba", "NYK", "Knicks"]
    assert _data({"codes": {"kalshi": "NYK"}}) == ["codes", "kalshi", "NYK"]


def test_every_file_waiting_to_be_cleaned_still_names_a_venue() -> None:
    stale = [
        relative
        for relative in NOT_YET
        if not (CORE / relative).is_file()
        or (
            not _named(ast.parse((CORE / relative).read_text()))
            if relative.endswith(".py")
            else not _data_names_a_venue(CORE / relative)
        )
    ]
    assert not stale, f"remove from NOT_YET what no longer names a venue: {stale}"
