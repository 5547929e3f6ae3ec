"""PostgreSQL store benchmark: one trade recorded next to SQLite, and four instances racing.

A private PostgreSQL server (``arbkit.trading.postgres.local.LocalServer``, ``durable=True``: fsync and
synchronous commit on, as a production server) on loopback, next to an SQLite file
(WAL, ``synchronous=FULL``) on the same disk:

* **record one trade** with 1,000 trades of history: ``PostgresStore.append_trade`` (one
  transaction: the day's row, the trade, its exposure, the reservation, the ledger)
  against ``SqliteStore.append_trade``; medians of 50.
* **four instances racing**: four processes on one database each run the database side of
  a live trade in a loop (shared-limit check and reservation, journal intent, trade
  record, journal final) until the shared daily limit refuses them; trades per second
  over all four, and whether exactly the limit was recorded (``met``).

Venue round trips are not included (bench_execute times those). Needs PostgreSQL's
``initdb``/``pg_ctl`` (Debian: ``apt-get install postgresql``) and the ``postgres`` extra.

Run with ``python -m benchmarks.bench_pg``; :func:`run` returns rows for ``make bench``.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.models import Market, Outcome, Side
from arbkit.trading.execution.journal import FINAL, INTENT
from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.postgres import PostgresStore, SharedLimits
from arbkit.trading.postgres.local import LocalServer
from arbkit.trading.records import new_trade_id
from arbkit.trading.store import SqliteStore, TradeStore
from benchmarks.bench_store import _ledger, _template, _trades

HISTORY = 1_000
REPEATS = 50
INSTANCES = 4
RACE_LIMIT = 400  # the shared daily trade limit the racers run into
DAY = datetime(2026, 3, 1, tzinfo=UTC).date()
CASH = Decimal(10_000_000)


def _time_appends(store: TradeStore, history: int) -> float:
    template = _template()
    for trade in _trades(template, 1, history):  # setup, not measured
        store.append_trade(trade, _ledger(0))
    samples = []
    for n, trade in enumerate(_trades(template, history + 1, REPEATS)):
        start = time.perf_counter()
        store.append_trade(trade, _ledger(history + n + 1))
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _opportunity() -> Opportunity:
    def market(exchange: str, market_id: str) -> Market:
        return Market(
            exchange=exchange,
            id=market_id,
            title="Knicks vs. Rockets",
            outcomes=(Outcome("yes", "Yes"), Outcome("no", "No")),
            status="open",
        )

    legs = [
        Leg(
            market("kalshi", "K1"),
            "yes",
            Side.BUY,
            Decimal("0.44"),
            Decimal(10),
            Decimal("4.4"),
            Decimal("0.1"),
        ),
        Leg(
            market("polymarket", "P1"),
            "no",
            Side.BUY,
            Decimal("0.53"),
            Decimal(10),
            Decimal("5.3"),
            Decimal(0),
        ),
    ]
    return Opportunity(legs=legs, payout=Decimal(10), title="Knicks vs. Rockets")


def _racer(url: str, start_at: float, results: Any) -> None:
    """One instance: check-and-reserve, intent, record, final; until the shared limit refuses."""
    try:
        results.put(_race_one(url, start_at))
    except BaseException:
        results.put(traceback.format_exc())
        raise


def _race_one(url: str, start_at: float) -> tuple[int, float]:
    store = PostgresStore(url, mode="live")
    # As a trading system does: carry on from the stored ledger (another racer may have begun).
    state = store.load()
    ledger = state.ledger if state is not None else Ledger("live", CASH, CASH, DailyCounters(DAY))
    journal = store.journal()
    opportunity = _opportunity()
    limits = SharedLimits(max_daily_trades=RACE_LIMIT)
    template = attrs.evolve(_template(), mode="live")
    made = 0
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    while True:
        if not store.reserve(opportunity, day=DAY, limits=limits).allowed:
            break
        trade_id = new_trade_id()
        journal.append(trade_id, INTENT, legs=[])
        made += 1
        ledger = attrs.evolve(
            ledger,
            balance=ledger.balance - Decimal("9.8"),
            daily=attrs.evolve(ledger.daily, trades=ledger.daily.trades + 1),
        )
        store.append_trade(attrs.evolve(template, id=trade_id), ledger)
        journal.append(trade_id, FINAL, status="open")
    elapsed = time.perf_counter() - begin
    journal.close()
    store.close()
    return made, elapsed


def _race(server: LocalServer) -> tuple[int, float, int]:
    url = server.database()
    first = PostgresStore(url, mode="live")
    first.load()  # migrate once before the clock starts
    first.close()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3.0  # every process is up and connected by then
    procs = [context.Process(target=_racer, args=(url, start_at, results)) for _ in range(INSTANCES)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    failed = [o for o in outcomes if isinstance(o, str)]
    if failed:
        raise RuntimeError("a racing instance failed:\n" + failed[0])
    made = sum(m for m, _ in outcomes)
    wall = max(e for _, e in outcomes)
    reader = PostgresStore(url, mode="live")
    shared = reader.ledger(DAY)
    reader.close()
    return made, wall, shared.daily.trades if shared is not None else 0


def run() -> list[dict[str, Any]]:
    """The rows: one trade recorded in PostgreSQL and SQLite; four instances racing."""
    rows: list[dict[str, Any]] = []
    with LocalServer(durable=True) as server, tempfile.TemporaryDirectory() as tmp:
        pg = PostgresStore(server.database(), mode="paper")
        pg.load()
        pg_s = _time_appends(pg, HISTORY)
        pg.close()
        sqlite = SqliteStore(Path(tmp) / "paper.sqlite3")
        sqlite_s = _time_appends(sqlite, HISTORY)
        sqlite.close()
        rows.append(
            {
                "name": f"record one trade, PostgresStore (fsync, loopback), {HISTORY:,} trades of history "
                "(baseline: SqliteStore, WAL, fsync)",
                "arbkit_median_s": pg_s,
                "baseline_median_s": sqlite_s,
                "ratio": pg_s / sqlite_s if sqlite_s else float("nan"),
                "target": "< 20 ms",
            }
        )
        made, wall, stored = _race(server)
        rows.append(
            {
                "name": f"{INSTANCES} instances racing on one database: check + reserve + journal + record "
                f"per trade, shared limit {RACE_LIMIT} ({made} made, {stored} counted in the database, "
                f"{made / wall:.0f} trades/s)",
                "arbkit_median_s": wall / made if made else float("nan"),
                "baseline_median_s": None,
                "ratio": None,
                "target": f"exactly {RACE_LIMIT} trades",
                "met": made == stored == RACE_LIMIT,
            }
        )
    return rows


def main(run_fn: Callable[[], list[dict[str, Any]]] = run) -> None:
    """Print the rows."""
    for row in run_fn():
        base = row["baseline_median_s"]
        print(
            f"{row['name']}\n    arbkit {row['arbkit_median_s'] * 1e3:.2f} ms"
            + (f"   baseline {base * 1e3:.2f} ms   ratio {row['ratio']:.2f}" if base else "")
            + f"   target {row['target']}"
            + (f"   met {row['met']}" if "met" in row else "")
        )


if __name__ == "__main__":
    main()
