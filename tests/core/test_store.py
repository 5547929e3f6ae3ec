"""Trade stores: exact round trips, atomic writes, corrupt files detected and left intact."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from arbkit.errors import PersistenceError
from arbkit.plugins import store_factories
from arbkit.trading.records import (
    ErrorRecord,
    LegStatus,
    OpportunitySummary,
    Trade,
    TradeLeg,
    TradeStatus,
    client_order_id,
    new_trade_id,
)
from arbkit.trading.store import (
    MAX_ERRORS,
    DailyCounters,
    JsonFileStore,
    Ledger,
    SqliteStore,
    TradeStore,
    open_store,
)

D = Decimal
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STORES: list[tuple[str, Callable[[Path], TradeStore]]] = [
    ("json", lambda d: JsonFileStore(d / "paper_trading_data.json")),
    ("sqlite", lambda d: SqliteStore(d / "paper_trading.sqlite3")),
]


def make_trade(i: int = 0, *, at: datetime = T0) -> Trade:
    trade_id = new_trade_id(at + timedelta(seconds=i))
    legs = tuple(
        TradeLeg(
            exchange=venue,
            market_id=f"M{i}-{venue}",
            market_title="Lakers at Celtics",
            outcome_id=outcome,
            outcome_name=outcome.title(),
            side="buy",
            limit_price="0.42",
            requested_size="12",
            filled_size="12",
            # a repeating decimal: must come back digit for digit
            average_price=D("4.96") / D(12),
            fees="0.17",
            order_id=f"order-{i}-{n}",
            client_order_id=client_order_id(trade_id, n),
            status=LegStatus.FILLED,
            # odd trades were sent from a second, named account on each venue
            account="hedge" if i % 2 else "default",
        )
        for n, (venue, outcome) in enumerate((("kalshi", "yes"), ("polymarket", "0x1234")))
    )
    summary = OpportunitySummary(
        title="Lakers at Celtics",
        match_description="kalshi:KXNBAGAME-X-LAL / polymarket:nba-lal-bos",
        kind="binary",
        key="abc123",
        expected_size="12",
        expected_cost="10.92",
        expected_fees="0.34",
        expected_payout="12",
        expected_profit="0.74",
        roi_percent=D("0.74") / D("11.26") * 100,
        detected_at=at,
    )
    return Trade(
        id=trade_id,
        mode="paper",
        opportunity=summary,
        legs=legs,
        status=TradeStatus.OPEN,
        created_at=at,
        updated_at=at,
    )


def ledger(balance: str = "9988.74", trades: int = 1) -> Ledger:
    return Ledger("paper", D(10000), D(balance), DailyCounters(date(2026, 3, 1), trades, D("1.50")))


@pytest.mark.parametrize(("kind", "make"), STORES, ids=[k for k, _ in STORES])
def test_state_round_trips_exactly(tmp_path: Path, kind: str, make: Callable[[Path], TradeStore]) -> None:
    store = make(tmp_path)
    assert store.load() is None
    first, second = make_trade(0), make_trade(1)
    store.append_trade(first, ledger("9988.74", 1))
    store.append_trade(second, ledger("9977.48", 2))
    settled = attrs.evolve(
        first, status=TradeStatus.SETTLED, realised_pnl=D("0.74"), settled_at=T0, flags=("x",)
    )
    store.update_trade(settled, ledger("9989.48", 2))
    error = ErrorRecord(
        T0, "kalshi", "list markets", "HTTP 503", code="unavailable", error_type="NetworkError"
    )
    store.append_error(error)
    store.close()

    state = make(tmp_path).load()

    assert state is not None
    assert state.trades == (settled, second)
    assert state.trades[0].legs[0].average_price == D("4.96") / D(12)
    assert [str(leg.account_id) for leg in state.trades[1].legs] == ["kalshi:hedge", "polymarket:hedge"]
    assert state.ledger == ledger("9989.48", 2)
    assert state.errors == (error,)


@pytest.mark.parametrize(("kind", "make"), STORES, ids=[k for k, _ in STORES])
def test_error_history_keeps_the_last_hundred(
    tmp_path: Path, kind: str, make: Callable[[Path], TradeStore]
) -> None:
    store = make(tmp_path)
    store.save_ledger(ledger())
    for i in range(MAX_ERRORS + 20):
        store.append_error(ErrorRecord(T0, "kalshi", "scan", f"error {i}"))
    store.close()
    errors = make(tmp_path).load().errors  # type: ignore[union-attr]
    assert len(errors) == MAX_ERRORS
    assert errors[0].message == "error 20"
    assert errors[-1].message == f"error {MAX_ERRORS + 19}"


@pytest.mark.parametrize(("kind", "make"), STORES, ids=[k for k, _ in STORES])
def test_updating_an_unknown_trade_or_appending_twice_is_an_error(
    tmp_path: Path, kind: str, make: Callable[[Path], TradeStore]
) -> None:
    store = make(tmp_path)
    trade = make_trade()
    with pytest.raises(PersistenceError, match="not stored"):
        store.update_trade(trade, ledger())
    store.append_trade(trade, ledger())
    with pytest.raises(PersistenceError, match="already stored"):
        store.append_trade(trade, ledger())
    store.close()


def test_json_file_keeps_polymix_shape_with_amounts_as_strings(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path / "paper_trading_data.json")
    store.append_trade(make_trade(), ledger())
    data = json.loads((tmp_path / "paper_trading_data.json").read_text())
    assert {"balance", "initial_balance", "trades", "error_history", "daily"} <= set(data)
    assert data["balance"] == "9988.74"
    assert data["daily"] == {"date": "2026-03-01", "trades": 1, "loss": "1.50"}
    assert data["trades"][0]["legs"][0]["fees"] == "0.17"


def test_truncated_json_file_is_detected_and_left_intact(tmp_path: Path) -> None:
    path = tmp_path / "paper_trading_data.json"
    store = JsonFileStore(path)
    store.append_trade(make_trade(0), ledger())
    store.append_trade(make_trade(1), ledger())
    torn = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(torn)

    reopened = JsonFileStore(path)
    with pytest.raises(PersistenceError, match="not a valid trading file"):
        reopened.load()
    with pytest.raises(PersistenceError):
        reopened.append_trade(make_trade(2), ledger())
    with pytest.raises(PersistenceError):
        reopened.append_error(ErrorRecord(T0, "x", "y", "z"))
    assert path.read_bytes() == torn


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"balance": "1"}', b"\xff\xfe", b'{"mode": "paper", "daily": {}}'],
    ids=["syntax", "not-object", "missing-keys", "not-utf8", "bad-daily"],
)
def test_bad_json_file_gives_persistence_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "paper_trading_data.json"
    path.write_bytes(content)
    with pytest.raises(PersistenceError):
        JsonFileStore(path).load()
    assert path.read_bytes() == content


def test_crash_during_a_write_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "paper_trading_data.json"
    store = JsonFileStore(path)
    store.append_trade(make_trade(0), ledger())
    before = path.read_bytes()

    def crash(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(PersistenceError, match="No space left"):
        store.append_trade(make_trade(1), ledger())
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    assert len(JsonFileStore(path).load().trades) == 1  # type: ignore[union-attr]
    # the store is still usable and did not keep the failed trade
    store.append_trade(make_trade(2), ledger())
    assert len(JsonFileStore(path).load().trades) == 2  # type: ignore[union-attr]


def test_non_sqlite_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "paper_trading.sqlite3"
    path.write_bytes(b"definitely not a database" * 100)
    with pytest.raises(PersistenceError, match="not an SQLite database"):
        SqliteStore(path).load()
    assert path.read_bytes() == b"definitely not a database" * 100


def test_truncated_sqlite_file_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "paper_trading.sqlite3"
    store = SqliteStore(path)
    store.save_ledger(ledger())
    for i in range(300):
        store.append_trade(make_trade(i), ledger())
    store.close()
    torn = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(torn)
    with pytest.raises(PersistenceError):
        SqliteStore(path).load()
    assert path.read_bytes() == torn


def test_sqlite_store_uses_wal_and_one_row_per_trade(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteStore(tmp_path / "t.sqlite3")
    for i in range(3):
        store.append_trade(make_trade(i), ledger())
    store.close()
    conn = sqlite3.connect(tmp_path / "t.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT count(*) FROM trades").fetchone()[0] == 3
    conn.close()


def test_built_in_stores_are_registered_and_opened_by_name(tmp_path: Path) -> None:
    assert {"json", "sqlite"} <= set(store_factories())
    store = open_store("json", tmp_path, "live")
    assert isinstance(store, JsonFileStore)
    assert store.path == tmp_path / "real_trading_data.json"
    with pytest.raises(PersistenceError, match="unknown store"):
        open_store("nosuch", tmp_path, "paper")
