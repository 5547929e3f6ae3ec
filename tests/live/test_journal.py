"""The write-ahead journal: durable records, torn lines, unfinished entries, the test-only crash hook."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arbkit.errors import PersistenceError
from arbkit.trading.execution.journal import FINAL, INTENT, Journal


def test_records_survive_reopening_and_sequence_numbers_continue(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append("A", INTENT, legs=[{"price": Decimal("0.40")}])
    journal.append("B", INTENT, legs=[])
    journal.append("A", FINAL, status="open")
    journal.close()
    reopened = Journal(tmp_path / "j.jsonl")
    record = reopened.append("B", "result", filled=Decimal("2.5"))
    assert record.seq == 4
    assert [e.trade_id for e in reopened.unfinished()] == ["B"]
    first = reopened.entry("A")
    assert first is not None
    assert first.finished
    assert first.records[0].data["legs"][0]["price"] == "0.40"  # a Decimal string, never a float
    assert json.loads((tmp_path / "j.jsonl").read_text().splitlines()[-1])["data"]["filled"] == "2.5"
    reopened.close()


def test_a_line_torn_by_a_crash_mid_write_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.append("A", INTENT, legs=[])
    journal.close()
    with path.open("ab") as handle:
        handle.write(b'{"seq":2,"trade_id":"A","step":"res')
    assert [r.step for r in Journal(path).records()] == [INTENT]


def test_an_unwritable_journal_refuses_to_open(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(PersistenceError, match="cannot open the trade journal"):
        Journal(tmp_path / "dir")
