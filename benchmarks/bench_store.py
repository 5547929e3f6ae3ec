"""Trade-store benchmark: the cost of recording one trade with 1,000 vs 100,000 trades of history.

Both stores are measured side by side with the naive baseline PolyMix used: append the
trade to the in-memory dict and rewrite the whole JSON file with ``json.dump`` (no
temp file, no fsync, so a crash can tear it). ``JsonFileStore`` also rewrites the file
(that is its format) but atomically and durably; ``SqliteStore`` writes one row.

Run with ``python -m benchmarks.bench_store``; :func:`run` returns the rows for a
combined ``make bench`` table. Target (issue 7): SqliteStore's cost at 100,000 trades
within 1.5x of its cost at 1,000.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.records import (
    LegStatus,
    OpportunitySummary,
    Trade,
    TradeLeg,
    TradeStatus,
    client_order_id,
    trade_to_dict,
)
from arbkit.trading.store import JsonFileStore, SqliteStore, TradeStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SIZES = (1_000, 100_000)


def _trade_id(i: int) -> str:
    return f"{(T0 + timedelta(seconds=i)):%Y%m%dT%H%M%S%f}Z-{i:08x}"


def _template() -> Trade:
    legs = tuple(
        TradeLeg(
            exchange=venue,
            market_id=market,
            market_title="New York Knicks at Houston Rockets",
            outcome_id=outcome,
            outcome_name=name,
            side="buy",
            limit_price=price,
            requested_size="100",
            filled_size="100",
            average_price=price,
            fees="0.93",
            order_id="0x" + "ab" * 32,
            client_order_id=client_order_id(_trade_id(0), n),
            status=LegStatus.FILLED,
        )
        for n, (venue, market, outcome, name, price) in enumerate(
            (
                ("kalshi", "KXNBAGAME-26MAR31NYKHOU-NYK", "yes", "Yes", "0.44"),
                ("polymarket", "0x" + "cd" * 32, "7" * 77, "Rockets", "0.53"),
            )
        )
    )
    summary = OpportunitySummary(
        title="New York Knicks at Houston Rockets",
        match_description="sports: nba 2026-03-31 NYK@HOU",
        kind="binary",
        key="f00dfeedf00dfeed",
        expected_size="100",
        expected_cost="97",
        expected_fees="1.86",
        expected_payout="100",
        expected_profit="1.14",
        roi_percent="1.153",
        detected_at=T0,
    )
    return Trade(
        id=_trade_id(0),
        mode="paper",
        opportunity=summary,
        legs=legs,
        status=TradeStatus.OPEN,
        created_at=T0,
        updated_at=T0,
    )


def _trades(template: Trade, start: int, count: int) -> list[Trade]:
    return [attrs.evolve(template, id=_trade_id(i)) for i in range(start, start + count)]


def _ledger(trades: int) -> Ledger:
    return Ledger("paper", Decimal(10_000_000), Decimal(10_000_000), DailyCounters(date(2026, 3, 1), trades))


def _seed_json(path: Path, history: list[Trade]) -> None:
    """Write a history-sized file in JsonFileStore's format in one go (setup, not measured)."""
    ledger = _ledger(len(history))
    data = {
        "format": 1,
        "mode": ledger.mode,
        "initial_balance": str(ledger.initial_balance),
        "balance": str(ledger.balance),
        "realised_pnl": "0",
        "daily": {"date": ledger.daily.day.isoformat(), "trades": ledger.daily.trades, "loss": "0"},
        "trades": [trade_to_dict(t) for t in history],
        "error_history": [],
    }
    path.write_text(json.dumps(data))


def _seed_sqlite(path: Path, history: list[Trade]) -> None:
    store = SqliteStore(path)
    store.save_ledger(_ledger(len(history)))
    store.close()
    import sqlite3

    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO trades (id, status, created_at, data) VALUES (?, ?, ?, ?)",
            ((t.id, t.status.value, t.created_at.isoformat(), json.dumps(trade_to_dict(t))) for t in history),
        )
    conn.close()


def _time_appends(store: TradeStore, new: list[Trade], history: int) -> float:
    times = []
    for n, trade in enumerate(new):
        start = time.perf_counter()
        store.append_trade(trade, _ledger(history + n + 1))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time_naive(path: Path, history: list[Trade], new: list[Trade]) -> float:
    """PolyMix's way: keep a dict, append, ``json.dump`` the whole thing over the file."""
    data: dict[str, Any] = {"balance": 10_000_000, "trades": [trade_to_dict(t) for t in history]}
    times = []
    for trade in new:
        start = time.perf_counter()
        data["trades"].append(trade_to_dict(trade))
        with open(path, "w") as handle:
            json.dump(data, handle, indent=2, default=str)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _row(name: str, arbkit_s: float, baseline_s: float, target: str) -> dict[str, Any]:
    return {
        "name": name,
        "arbkit_median_s": arbkit_s,
        "baseline_median_s": baseline_s,
        "ratio": arbkit_s / baseline_s if baseline_s else float("nan"),
        "target": target,
    }


def run(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    """Measure both stores and the naive rewrite at each history size; one row per measurement."""
    template = _template()
    rows: list[dict[str, Any]] = []
    sqlite_cost: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in sizes:
            history = _trades(template, 1, size)
            repeats = 50
            new = _trades(template, size + 1, repeats)

            naive_s = _time_naive(root / f"naive-{size}.json", history, new[:3] if size > 10_000 else new)

            json_path = root / f"paper-{size}.json"
            _seed_json(json_path, history)
            json_store = JsonFileStore(json_path)
            json_store.load()
            json_s = _time_appends(json_store, new[:3] if size > 10_000 else new, size)

            sqlite_path = root / f"paper-{size}.sqlite3"
            _seed_sqlite(sqlite_path, history)
            sqlite_store = SqliteStore(sqlite_path)
            sqlite_store.load()
            sqlite_s = _time_appends(sqlite_store, new, size)
            sqlite_store.close()
            sqlite_cost[size] = sqlite_s

            label = f"{size:,} trades of history"
            rows.append(
                _row(
                    f"record one trade, JsonFileStore (atomic, fsync), {label} (baseline: naive "
                    "json.dump rewrite)",
                    json_s,
                    naive_s,
                    "(PolyMix's format)",
                )
            )
            rows.append(
                _row(
                    f"record one trade, SqliteStore (WAL, fsync), {label} (baseline: naive json.dump "
                    "rewrite)",
                    sqlite_s,
                    naive_s,
                    "O(1) per trade",
                )
            )
            del history, json_store
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        rows.append(
            _row(
                f"SqliteStore at {large:,} vs {small:,} trades of history "
                f"(arbkit: {large:,}; baseline: {small:,})",
                sqlite_cost[large],
                sqlite_cost[small],
                "ratio <= 1.5",
            )
        )
    return rows


def _format(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(run_fn: Callable[[], list[dict[str, Any]]] = run) -> None:
    """Print the rows as a table."""
    for row in run_fn():
        print(
            f"{row['name']}\n    arbkit {_format(row['arbkit_median_s'])}   baseline "
            f"{_format(row['baseline_median_s'])}   ratio {row['ratio']:.3f}   target {row['target']}"
        )


if __name__ == "__main__":
    main()
