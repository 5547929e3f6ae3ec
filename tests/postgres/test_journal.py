"""PostgresJournal: the file journal's records, plus owners, leases, takeover and fencing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import psycopg
import pytest

from arbkit.errors import PersistenceError
from arbkit.trading.execution.journal import FINAL, INTENT
from arbkit.trading.postgres import PostgresStore


def expire(url: str, instance: str) -> None:
    """The instance stops renewing (it died, or paused longer than its lease)."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE arbkit_instances SET lease_until = now() - interval '1 second' WHERE id = %s", (instance,)
        )


def test_records_round_trip_and_a_final_record_finishes_the_entry(
    pg_url: str, pg_store: Callable[..., PostgresStore]
) -> None:
    journal = pg_store("live").journal()
    journal.append("T1", INTENT, legs=[{"price": Decimal("0.41"), "size": Decimal(7)}])
    journal.append("T1", "result", leg=0, filled="7")
    [entry] = journal.unfinished()
    assert entry.trade_id == "T1"
    assert [r.step for r in entry.records] == [INTENT, "result"]
    assert entry.records[0].data["legs"] == [{"price": "0.41", "size": "7"}]
    journal.append("T1", FINAL, status="open")
    assert journal.unfinished() == []
    assert journal.unfinished_ids() == set()
    journal.append("T1", "flatten", legs=[])  # a later record reopens the trade
    assert journal.unfinished_ids() == {"T1"}
    journal.close()
    with pytest.raises(PersistenceError, match="closed"):
        journal.append("T1", FINAL, status="open")


def test_a_live_instances_trades_are_not_taken_over_an_expired_ones_are_and_it_is_fenced(
    pg_url: str, pg_store: Callable[..., PostgresStore]
) -> None:
    first, second = pg_store("live"), pg_store("live")
    a, b = first.journal(), second.journal()
    a.append("T1", INTENT, legs=[])
    assert b.unfinished() == []  # a's lease runs
    assert b.unfinished_ids() == {"T1"}  # but nobody may settle it meanwhile
    expire(pg_url, first.instance)
    assert [e.trade_id for e in b.unfinished()] == ["T1"]
    # The old owner wakes up: it may not write another record, so it sends nothing more.
    with pytest.raises(PersistenceError, match="owned by another instance"):
        a.append("T1", "order", leg=1)
    b.append("T1", FINAL, status="unwound")
    assert b.unfinished_ids() == set()
    for journal in (a, b):
        journal.close()


def test_closing_gives_up_the_lease_so_a_standby_takes_over_at_once(
    pg_url: str, pg_store: Callable[..., PostgresStore]
) -> None:
    a = pg_store("live").journal(lease_seconds=600)
    b = pg_store("live").journal()
    a.append("T9", INTENT, legs=[])
    a.close()
    assert [e.trade_id for e in b.unfinished()] == ["T9"]
    b.close()


def test_paper_and_live_journals_on_one_database_stay_apart(
    pg_url: str, pg_store: Callable[..., PostgresStore]
) -> None:
    live = pg_store("live").journal()
    paper = pg_store("paper").journal()
    live.append("T1", INTENT, legs=[])
    assert paper.entries() == []
    assert [e.trade_id for e in live.entries()] == ["T1"]
    live.close()
    paper.close()
