"""Soak: the PolyMix service under the demo scenario with random faults in both sandboxes.

For each mode (paper, then live with real signed orders on the sandboxes) the service runs
as it does in production: ``create_app`` with its background jobs (monitor every half second,
settlement every second), served by a threaded WSGI server on loopback, while

* the demo driver moves both venues' books and resolves games (time-scaled so five games
  resolve within the run),
* a seeded injector adds a random fault to a random venue every few hundred milliseconds
  (latency, 5xx and 429 answers, dropped connections before and after the request took
  effect, rejected, partial, unfilled and under-funded orders), and
* a reader polls the JSON API the way the dashboard does.

Afterwards the faults stop, the jobs are stopped (after the one running), one clean scan and
settlement are requested over HTTP, and:

* the service never answered a 5xx and still serves ``/api/health``;
* live: what the store holds matches each sandbox exactly: every position, every dollar of
  cash moved (cost + fees - unwind proceeds - payouts), and every venue order is on the
  record, with none left resting; the journal has nothing unfinished;
* paper: the ledger is internally consistent (balance = initial - costs - fees + unwind
  proceeds + payouts; realised P&L = the sum over final trades) and a fresh system loaded
  from the same store reports the same state.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
from examples.demo.driver import Driver
from examples.demo.sandboxes import scaled
from examples.demo.scenario import demo_games, kalshi_scenario, polymarket_scenario
from examples.polymix import create_app, stop_app
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

import arbkit
from arbkit.sandbox import Fault, SandboxServer
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import Trade, TradeStatus
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from arbkit_kalshi.sandbox import accounts as kalshi_accounts
from arbkit_polymarket.crypto import checksum
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox import accounts as poly_accounts

pytestmark = pytest.mark.slow

#: Seconds of faults per mode; the two modes together stay around two minutes.
SOAK_SECONDS = 40.0
#: The demo's games resolve 100-300 s in; at this scale, 8-24 s in.
TIME_SCALE = 0.08
SEED = 20260410
KEY_ID = "50a1c0de-0000-4000-8000-000000005a4c"
API_TOKEN = "soak-token-91be"
VENUE_CASH = Decimal(10000)
ZERO = Decimal(0)


@attrs.define
class Venues:
    """Both sandboxes and their servers."""

    kalshi: KalshiSandbox
    polymarket: PolymarketSandbox
    kalshi_url: str
    polymarket_url: str


@pytest.fixture
def venues() -> Iterator[Venues]:
    games = scaled(demo_games(), TIME_SCALE)
    kalshi, polymarket = KalshiSandbox(), PolymarketSandbox()
    kalshi.load_scenario(kalshi_scenario(games))
    polymarket.load_scenario(polymarket_scenario(games))
    with SandboxServer(kalshi) as kalshi_server, SandboxServer(polymarket) as polymarket_server:
        driver = Driver(
            games,
            kalshi_url=kalshi_server.url,
            polymarket_url=polymarket_server.url,
            tick_seconds=0.5,
            seed=SEED,
        ).start()
        try:
            yield Venues(kalshi, polymarket, kalshi_server.url, polymarket_server.url)
        finally:
            driver.stop()


# -- faults ------------------------------------------------------------------------------------------
TRANSPORT = ("latency", "status", "status", "status_after", "drop", "drop_after")
ORDER = ("reject", "partial_fill", "no_fill", "insufficient")
ORDER_PATHS = {"kalshi": PREFIX + "/portfolio/events/orders", "polymarket": "/order"}
KALSHI_PATHS = (
    PREFIX + "/portfolio/events/orders",
    PREFIX + "/portfolio/*",
    PREFIX + "/markets/*",
    PREFIX + "/*",
)
POLY_PATHS = ("/order", "/books", "/data/*", "/balance-allowance*", "/gamma/*", "*")


def random_fault(rng: random.Random, venue: str) -> Fault:
    """One fault, firing once, on a random kind of request of ``venue``."""
    kind = rng.choice(TRANSPORT + ORDER)
    if kind in ORDER:
        return Fault(kind, fill_ratio=Decimal(rng.choice(["0.2", "0.5", "0.9"])))
    path = rng.choice(KALSHI_PATHS if venue == "kalshi" else POLY_PATHS)
    method = rng.choice(["POST", "GET", "DELETE", None])
    if kind in {"status_after", "drop_after"} and rng.random() < 0.6:
        # The hardest case, aimed at order placement: the order is taken, the answer is lost.
        method, path = "POST", ORDER_PATHS[venue]
    status = rng.choice([500, 502, 503, 429])
    return Fault(
        kind,
        method=method,
        path=path,
        status=status,
        retry_after=Decimal("0.1") if status == 429 else None,
        delay_ms=rng.randrange(50, 400),
    )


class Injector:
    """Adds a seeded random fault to a random venue every 0.1-0.4 s until stopped."""

    def __init__(self, venues: Venues, seed: int) -> None:
        self.venues = venues
        self.rng = random.Random(seed)
        self.added: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.1, 0.4)):
            venue = self.rng.choice(["kalshi", "polymarket"])
            fault = random_fault(self.rng, venue)
            app = self.venues.kalshi if venue == "kalshi" else self.venues.polymarket
            app.faults.add(fault)
            self.added[fault.kind] += 1

    def __enter__(self) -> Injector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.venues.kalshi.faults.clear()
        self.venues.polymarket.faults.clear()


class Reader:
    """Polls the JSON API like the dashboard; keeps every status code seen."""

    PATHS = ("/api/health", "/api/trading/state", "/api/opportunities", "/api/trades", "/api/markets/matched")

    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-reader", daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            index = 0
            while not self._stop.wait(0.05):
                path = self.PATHS[index % len(self.PATHS)]
                index += 1
                try:
                    response = session.get(self.base + path, timeout=10)
                except requests.RequestException as exc:
                    self.failures.append(f"{path}: {type(exc).__name__}")
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code >= 500:
                    self.failures.append(f"{path}: {response.status_code} {response.text[:200]}")

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


# -- the service ----------------------------------------------------------------------------------
def environment(venues: Venues, data_dir: Path) -> dict[str, str]:
    return {
        "KALSHI_BASE_URL": venues.kalshi_url + PREFIX,
        "POLYMARKET_CLOB_URL": venues.polymarket_url,
        "POLYMARKET_GAMMA_URL": venues.polymarket_url + "/gamma",
        "POLYMARKET_DATA_URL": venues.polymarket_url + "/data-api",
        "ARBKIT_DATA_DIR": str(data_dir),
        "ARBKIT_HTTP_TIMEOUT": "3",
        "TRADING_RESET_CONFIRM_KEY": "soak-reset",
    }


def live_accounts(venues: Venues, data_dir: Path) -> tuple[dict[str, str], str]:
    """Fund a fresh account on each sandbox; the live settings and the Polymarket address."""
    key = kalshi_accounts.open_account(
        venues.kalshi, balance=VENUE_CASH, account=kalshi_accounts.new_account(KEY_ID)
    )
    wallet = poly_accounts.open_account(venues.polymarket, balance=VENUE_CASH)
    pem_file = data_dir / "kalshi.pem"
    pem_file.write_text(key.private_key_pem.reveal(), encoding="utf-8")
    settings = {
        "LIVE_TRADING": "true",
        "LIVE_TRADING_INITIAL_BALANCE": "20000",
        "LIVE_TRADING_MAX_DAILY_TRADES": "1000",
        "LIVE_TRADING_DAILY_LOSS_LIMIT": "5000",
        "KALSHI_API_KEY": KEY_ID,
        "KALSHI_PRIVATE_KEY_PATH": str(pem_file),
        "POLYMARKET_PRIVATE_KEY": wallet.private_key.reveal(),
        "ARBKIT_API_TOKEN": API_TOKEN,  # live mode refuses mutating requests without one
    }
    return settings, wallet.address


@attrs.define
class Outcome:
    """What the soak saw: the API's statuses, the faults fired and the service's final answers."""

    statuses: Counter[int]
    failures: list[str]
    added: int
    fired: list[tuple[str, str, str]]
    health: dict[str, Any]


def soak(app: Flask, venues: Venues) -> Outcome:
    """Serve ``app`` with its jobs under random faults, then settle cleanly over HTTP."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="soak-server", daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        done = threading.Event()
        with Reader(base) as reader, Injector(venues, SEED) as injector:
            done.wait(SOAK_SECONDS)  # the jobs, the driver, the faults and the reader run meanwhile
        scheduler = app.extensions["polymix_scheduler"]
        scheduler.shutdown(wait=True)  # after the job that is running
        app.extensions["polymix_scheduler"] = None
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {API_TOKEN}"
            if app.extensions["polymix"].mode == "live":
                # The reconciliation job (every 60 s in the service) resolves the legs whose
                # fate the faults left unknown; run it now rather than wait for its tick.
                reconciled = session.post(base + "/api/reconcile", timeout=120)
                assert reconciled.status_code == 200, reconciled.text
            scanned = session.post(base + "/api/scan", timeout=60)
            assert scanned.status_code == 200, scanned.text
            for _ in range(3):  # every resolved game is settled once the venues answer again
                assert session.post(base + "/api/settle", timeout=60).status_code == 200
            health = session.get(base + "/api/health", timeout=10)
            assert health.status_code == 200
        fired = venues.kalshi.faults.fired + venues.polymarket.faults.fired
        return Outcome(reader.statuses, reader.failures, sum(injector.added.values()), fired, health.json())
    finally:
        server.shutdown()
        serving.join(timeout=10)


def assert_served_throughout(outcome: Outcome) -> None:
    """No 5xx and no failed request while faults fired; healthy once they stopped."""
    assert outcome.failures == []
    assert sum(outcome.statuses.values()) > 100
    assert set(outcome.statuses) == {200}
    assert outcome.added > 100
    assert len(outcome.fired) > 10
    assert outcome.health["status"] == "ok"
    assert outcome.health["jobs"]["monitor"]["runs"] > 10
    assert outcome.health["jobs"]["settlement"]["runs"] > 10


def final_trades(trades: tuple[Trade, ...]) -> list[Trade]:
    return [t for t in trades if t.status in (TradeStatus.SETTLED, TradeStatus.UNWOUND, TradeStatus.NO_FILL)]


# -- the tests --------------------------------------------------------------------------------------
def test_paper_service_survives_faults_and_its_ledger_adds_up(venues: Venues, tmp_path: Path) -> None:
    settings = arbkit.Settings.from_mapping(environment(venues, tmp_path))
    app = create_app(settings, monitor_seconds=0.5, settlement_seconds=1.0)
    try:
        outcome = soak(app, venues)
        state = app.extensions["polymix"].bot.state()
    finally:
        stop_app(app)
    assert_served_throughout(outcome)
    trades = state.trade_history
    assert trades, "the demo's arbitrage was never traded"
    assert any(t.status is TradeStatus.SETTLED for t in trades)
    legs = [leg for t in trades for leg in t.legs]
    paid = sum((leg.payout or ZERO for leg in legs), ZERO)
    spent = sum((t.total_cost - t.unwind_proceeds for t in trades), ZERO)
    assert state.balance == state.initial_balance - spent + paid
    assert state.realised_pnl == sum((t.realised_pnl or ZERO for t in final_trades(trades)), ZERO)
    assert {t.id for t in state.open_positions} == {t.id for t in trades if t.status.holds_position}
    # What the store kept is what the service reported.
    reloaded = PaperTradingSystem.from_settings(settings)
    assert reloaded.state().trade_history == trades
    assert reloaded.state().balance == state.balance
    # Paper trades never reach a venue.
    assert venues.kalshi.requests[f"POST {PREFIX}/portfolio/events/orders"] == 0
    assert venues.kalshi.requests[f"POST {PREFIX}/portfolio/orders"] == 0
    assert venues.polymarket.requests["POST /order"] == 0


def test_live_service_survives_faults_and_matches_the_venues_exactly(venues: Venues, tmp_path: Path) -> None:
    credentials, address = live_accounts(venues, tmp_path)
    settings = arbkit.Settings.from_mapping({**environment(venues, tmp_path), **credentials})
    app = create_app(settings, monitor_seconds=0.5, settlement_seconds=1.0)
    system = app.extensions["polymix"].bot.trading
    assert isinstance(system, RealTradingSystem)
    try:
        outcome = soak(app, venues)
        state = system.state()
        unfinished = system.journal.unfinished()
    finally:
        stop_app(app)
    assert_served_throughout(outcome)
    assert outcome.health["mode"] == "live"
    kinds = {kind for kind, _, _ in outcome.fired}
    assert kinds & set(ORDER), outcome.fired
    assert any(k in {"drop_after", "status_after"} and p in ORDER_PATHS.values() for k, _, p in outcome.fired)
    assert unfinished == []
    trades = state.trade_history
    # Faults unwind many attempts; the arbitrage is still bought (and, most runs, settled).
    assert any(t.status in (TradeStatus.OPEN, TradeStatus.SETTLED) for t in trades)
    legs = [(t, leg) for t in trades for leg in t.legs]

    # Positions: contracts still held by unsettled trades are exactly what each venue holds.
    expected_kalshi: defaultdict[str, Decimal] = defaultdict(Decimal)
    expected_poly: defaultdict[str, Decimal] = defaultdict(Decimal)
    for trade, leg in legs:
        if trade.status is TradeStatus.SETTLED or not leg.held_size:
            continue
        if leg.exchange == "kalshi":
            sign = 1 if leg.outcome_id == "yes" else -1
            expected_kalshi[leg.market_id] += sign * leg.held_size
        else:
            expected_poly[leg.outcome_id] += leg.held_size
    with venues.kalshi.lock:
        account = venues.kalshi.engine.accounts[KEY_ID]
        kalshi_held = {t: p.position for t, p in account.positions.items() if p.position}
        kalshi_orders = [o for o in venues.kalshi.engine.orders.values() if o.account == KEY_ID]
    with venues.polymarket.lock:
        poly_held = {t: s for t, s in venues.polymarket.engine.account(checksum(address)).tokens.items() if s}
        poly_orders = [
            o for o in venues.polymarket.engine.orders.values() if o.maker.lower() == address.lower()
        ]
    assert kalshi_held == {k: v for k, v in expected_kalshi.items() if v}
    assert poly_held == {k: v for k, v in expected_poly.items() if v}

    # Cash: every dollar each venue moved is on the record.
    for venue, cash in (
        ("kalshi", venues.kalshi.balance_of(KEY_ID)),
        ("polymarket", venues.polymarket.balance_of(address)),
    ):
        moved = sum(
            (
                leg.cost + leg.fees - leg.unwind_proceeds - (leg.payout or ZERO)
                for _, leg in legs
                if leg.exchange == venue
            ),
            ZERO,
        )
        assert VENUE_CASH - cash == moved, venue

    # Orders: each one the venues hold is on the record, once; none is left resting.
    recorded_cids = {cid for _, leg in legs for cid in leg.client_order_ids}
    recorded_ids = {oid for _, leg in legs for oid in leg.order_ids}
    kalshi_cids = Counter(o.client_order_id for o in kalshi_orders)
    assert all(n == 1 for n in kalshi_cids.values())
    assert set(kalshi_cids) <= recorded_cids
    assert {o.id for o in poly_orders} <= recorded_ids
    assert not [o for o in kalshi_orders if o.status == "resting"]
    assert not [o for o in poly_orders if o.status == "LIVE"]
