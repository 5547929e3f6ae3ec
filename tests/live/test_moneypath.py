"""Issue 14, the live money path: each reproduced loss, stated as what a user sees.

Every case runs against both sandboxes through the real clients and ``RealTradingSystem``.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbkit.errors import PersistenceError
from arbkit.models import Order, OrderRequest, OrderStatus, Side, TimeInForce
from arbkit.trading.execution.journal import Journal
from arbkit.trading.notify import Event
from arbkit.trading.records import LegStatus, TradeStatus
from arbkit_polymarket.sandbox.engine import Engine as PolyEngine
from tests.live import scenarios as sc
from tests.live.checks import assert_journal_consistent, assert_matches_venues
from tests.live.conftest import FAST, SystemFactory, Venues
from tests.live.crash_worker import build
from tests.live.test_recovery import run_worker

D = Decimal
VENUES = ["kalshi", "polymarket"]


def wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
    """Poll a condition the sandbox reaches on its own (a request still in flight landing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- item 2: a 5xx or 429 after the venue took the order ------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("venue", VENUES)
def test_an_order_the_venue_took_but_answered_with_an_error_is_held_not_unwound(
    live_system: SystemFactory, venues: Venues, venue: str, status: int
) -> None:
    # The venue accepts the order, then answers `status` to it and to the identical re-send.
    venues.fault(venue, "status_after", status=status, times=2)
    system = live_system()

    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))

    trade = result.trade
    assert trade is not None
    assert trade.status is TradeStatus.OPEN, trade.note
    assert [leg.held_size for leg in trade.legs] == [D(10), D(10)]
    assert all(leg.unwound_size == 0 for leg in trade.legs)
    assert_matches_venues(system, trade, venues)
    assert_journal_consistent(system, trade)
    assert system.recover() == []


@pytest.mark.parametrize("venue", VENUES)
def test_a_rate_limit_before_the_handler_is_reconciled_then_sent_once(
    live_system: SystemFactory, venues: Venues, venue: str
) -> None:
    venues.fault(venue, "status", status=429)
    system = live_system()

    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade

    assert trade is not None
    assert trade.status is TradeStatus.OPEN
    assert_matches_venues(system, trade, venues)
    assert venues.order_posts(venue) == 2  # the first never reached the handler; one re-send


# -- item 3: an unknown leg is never settled, and the reconciliation job resolves it ------------
def test_an_unknown_leg_is_never_settled_and_pays_exactly_once(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    # Every Polymarket placement is dropped before the handler: the leg's fate cannot be known.
    venues.fault("polymarket", "drop", times=None)
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert trade.status is TradeStatus.EXPOSURE
    assert trade.legs[1].status is LegStatus.UNKNOWN
    assert trade.legs[0].held_size == D(10)  # not sold back: the other leg may exist
    assert system.journal.unfinished(), "the entry stays open for reconciliation"

    venues.kalshi_app.resolve(sc.KALSHI_TICKER, "yes")
    venues.poly_app.resolve(sc.POLY_MARKET, winner=sc.KNICKS)
    assert system.check_settlements() == []  # the unknown leg blocks settlement
    assert system.trade(trade.id).status is TradeStatus.EXPOSURE

    # The venue is reachable again. Reconciliation fences the unknown order with the identical
    # re-send (refused: the market has closed, the venue's answer for that very order), so the
    # leg is known absent, and only then the trade settles: the Kalshi leg, paid once.
    venues.poly_app.faults.clear()
    report = system.reconcile()
    assert report.unresolved == (), (system.trade(trade.id), system.journal.entry(trade.id))
    final = system.trade(trade.id)
    assert final.status is TradeStatus.SETTLED
    assert final.legs[1].held_size == 0
    assert system.recover() == []
    assert system.check_settlements() == []
    assert system.reconcile().mismatches == ()
    moved = venues.kalshi_cash() - sc.KALSHI_BALANCE + venues.poly_cash() - sc.POLY_BALANCE
    assert system.state().balance - D(2000) == moved
    assert final.realised_pnl == moved


# -- item 4: killed with an order in flight, restarted at once -------------------------------------
def test_restart_while_an_order_is_in_flight_fences_it_and_records_every_contract(
    tmp_path: Path, venues: Venues
) -> None:
    # The Polymarket order sits in the venue for 1.5 s; the process is killed once the Kalshi
    # leg's result is journalled (record 2) and restarted at once.
    venues.fault("polymarket", "latency", delay_ms=1500)
    assert run_worker(venues, tmp_path, crash_at=2) == -signal.SIGKILL
    assert len(Journal(tmp_path / "journal.jsonl").records()) == 2

    system = build(
        tmp_path,
        venues.kalshi_url,
        venues.poly_url,
        venues.key_id,
        venues.private_pem,
        venues.poly_key,
        recover_on_start=True,
    )
    try:
        # The original request lands after recovery fenced it with the very same order.
        wait_for(lambda: venues.poly_app.handled["POST /order"] >= 2, "the in-flight order to land")
        (trade,) = system.state().trade_history
        assert trade.status is TradeStatus.OPEN, trade.note
        assert_matches_venues(system, trade, venues)
        assert len(venues.poly_orders()) == 1  # one order for the one hash, filled once
        report = system.reconcile()
        assert report.mismatches == (), report
        assert system.state().balance == D(2000) - trade.total_cost
    finally:
        system.close()


def test_an_order_slower_than_the_reconcile_window_is_fenced_not_assumed_absent(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.fault("kalshi", "latency", delay_ms=1500)  # clients time out after 0.5 s
    system = live_system()

    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade

    wait_for(lambda: venues.order_posts("kalshi") >= 2, "the re-send")
    wait_for(
        lambda: sum(n for k, n in venues.kalshi_app.handled.items() if k.startswith("POST")) >= 2,
        "the slow original to land",
    )
    assert trade is not None
    assert trade.status is TradeStatus.OPEN, trade.note
    assert_matches_venues(system, trade, venues)  # one venue order per client order id
    assert system.reconcile().mismatches == ()


# -- item 11: the journal fails mid-trade ------------------------------------------------------------
class FailingJournal(Journal):
    """A journal whose disk fills up after ``ok`` records."""

    def __init__(self, path: Path, ok: int) -> None:
        super().__init__(path)
        self.ok = ok

    def append(self, trade_id: str, step: str, **data: Any) -> Any:
        if self.ok <= 0:
            raise PersistenceError(f"cannot write the trade journal {self.path}: No space left on device")
        self.ok -= 1
        return super().append(trade_id, step, **data)


@pytest.mark.parametrize("ok", [1, 2, 3])
def test_a_journal_failure_mid_trade_hedges_records_halts_and_alerts(
    live_system: SystemFactory, venues: Venues, tmp_path: Path, ok: int
) -> None:
    events: list[Event] = []
    venues.fault("polymarket", "reject")  # so the Kalshi leg must be sold back after the failure
    system = live_system(journal=FailingJournal(tmp_path / "j.jsonl", ok))
    system.add_notifier(events.append)

    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))

    trade = result.trade
    assert trade is not None, result.error  # recorded, not raised
    assert trade.status is TradeStatus.UNWOUND
    assert_matches_venues(system, trade, venues)
    assert system.halted is not None
    assert "journal" in system.halted
    assert any(e.title == "Trading halted" for e in events)
    refused = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    assert refused.trade is None
    assert any("trading halted" in r for r in refused.reasons)


def test_a_journal_that_cannot_take_the_intent_sends_nothing(
    live_system: SystemFactory, venues: Venues, tmp_path: Path
) -> None:
    system = live_system(journal=FailingJournal(tmp_path / "j.jsonl", 0))

    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))

    assert result.trade is not None
    assert result.trade.status is TradeStatus.NO_FILL
    assert venues.order_posts("kalshi") == venues.order_posts("polymarket") == 0
    assert system.halted is not None


# -- item 12: Polymarket `delayed` (sports taker delay) -----------------------------------------------
class DelayedVenue:
    """The real Polymarket client, answering as a sports market with a taker delay does:
    ``delayed`` on placement and on the first lookups, the matched order afterwards."""

    def __init__(self, client: Any, lookups_pending: int = 3) -> None:
        self._client = client
        self.pending = lookups_pending
        self.cancels = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def place_order(self, request: Any) -> Order:
        order = self._client.place_order(request)
        return attrs.evolve(
            order, status=OrderStatus.PENDING, filled_size=D(0), average_price=None, raw_status="delayed"
        )

    def get_order(self, order_id: str, *, market: Any = None) -> Order:
        order = self._client.get_order(order_id, market=market)
        if self.pending > 0:
            self.pending -= 1
            return attrs.evolve(order, status=OrderStatus.PENDING, filled_size=D(0), average_price=None)
        return order

    def cancel_order(self, order_id: str, *, market: Any = None) -> Order:
        self.cancels += 1
        return self._client.cancel_order(order_id, market=market)


def test_a_delayed_polymarket_order_is_followed_until_it_fills_never_cancelled(
    live_system: SystemFactory, venues: Venues
) -> None:
    poly = DelayedVenue(venues.poly())
    system = live_system(exchanges={"kalshi": venues.kalshi(), "polymarket": poly})

    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade

    assert trade is not None
    assert trade.status is TradeStatus.OPEN, trade.note
    assert poly.cancels == 0
    assert_matches_venues(system, trade, venues)


def test_a_delayed_order_still_undecided_is_left_to_reconciliation_not_unwound(
    live_system: SystemFactory, venues: Venues
) -> None:
    poly = DelayedVenue(venues.poly(), lookups_pending=10_000)
    system = live_system(
        exchanges={"kalshi": venues.kalshi(), "polymarket": poly},
        execution=attrs.evolve(live_system_config(), in_flight_seconds=0.2),
    )

    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade

    assert trade is not None
    assert trade.status is TradeStatus.EXPOSURE
    assert trade.legs[1].status is LegStatus.UNKNOWN
    assert trade.legs[0].unwound_size == 0
    assert poly.cancels == 0
    poly.pending = 0  # the taker delay is over: the venue reports the match
    system.reconcile()
    trade = system.trade(trade.id)
    assert trade.status is TradeStatus.OPEN
    assert_matches_venues(system, trade, venues)
    assert system.journal.unfinished() == []


def live_system_config() -> Any:
    return FAST


# -- item 7: unequal legs ------------------------------------------------------------------------
def test_a_polymarket_buy_a_fraction_short_of_the_kalshi_count_ends_open_not_exposure(
    live_system: SystemFactory, venues: Venues
) -> None:
    # A 0.001 tick: 51 shares at 0.637 spend 32.48 (whole cents) for 50.989 shares.
    scenario = sc.poly_scenario()
    market = scenario["events"][0]["markets"][0]
    market["tick_size"] = "0.001"
    market["book"] = {"bids": [["0.363", "200"]], "asks": [["0.365", "200"]]}
    with venues.poly_app.lock:
        venues.poly_app.engine = PolyEngine()
    venues.poly_app.load_scenario(scenario)
    venues.poly_app.add_account(venues.poly_address, sc.POLY_BALANCE)
    k_scenario = sc.kalshi_scenario()
    k_scenario["events"][0]["markets"][0]["no_bids"] = [["0.65", "100"]]  # YES asks 0.35
    venues.kalshi_app.load_scenario(k_scenario)
    venues.kalshi_app.add_account(venues.key_id, venues.public_pem, sc.KALSHI_BALANCE)
    system = live_system()

    opportunity = sc.opportunity(
        venues.kalshi(), venues.poly(), size=D(51), kalshi_price=D("0.35"), poly_price=D("0.637")
    )
    trade = system.execute(opportunity).trade

    assert trade is not None
    held = {leg.exchange: leg.held_size for leg in trade.legs}
    assert D(50) < held["polymarket"] < D(51)
    # The Kalshi market trades hundredths: its excess is sold down to the Polymarket count;
    # what is left (under 0.01 contract) no venue can trade, and is recorded, not exposure.
    assert held["kalshi"] == D("50.99")
    assert trade.status is TradeStatus.OPEN, trade.note
    assert "residual" in trade.note
    assert trade.hedged_size == held["polymarket"]
    assert venues.kalshi_position() == held["kalshi"]
    assert venues.poly_tokens() == held["polymarket"]


# -- reconciliation finds what the store does not record -----------------------------------------
def test_reconciliation_reports_a_position_no_trade_records(
    live_system: SystemFactory, venues: Venues
) -> None:
    events: list[Event] = []
    system = live_system()
    system.add_notifier(events.append)
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert trade.status is TradeStatus.OPEN
    assert system.reconcile().mismatches == ()
    # Someone (another process, a lost record) buys 3 more Kalshi contracts on this account.
    venues.kalshi().place_order(_request(venues, size=D(3)))

    report = system.reconcile()

    kinds = Counter(m.kind for m in report.mismatches)
    assert kinds["position"] == 1, report.mismatches
    assert kinds["cash"] == 1, report.mismatches
    assert any(e.title == "Reconciliation mismatch" for e in events)
    assert any("reconcile position" in e.operation for e in system.state().recent_errors)


def _request(venues: Venues, *, size: Decimal) -> OrderRequest:
    market = venues.kalshi().market(sc.KALSHI_TICKER)
    return OrderRequest(market, "yes", Side.BUY, D("0.40"), size, TimeInForce.IOC, client_order_id="stray-1")


@pytest.fixture
def sports_delay(venues: Venues) -> Any:
    """The Polymarket market becomes a sports market with a taker delay (0.3 s in the sandbox)."""
    scenario = sc.poly_scenario()
    scenario["events"][0]["markets"][0]["secondsDelay"] = 3
    with venues.poly_app.lock:
        venues.poly_app.engine = PolyEngine()
        venues.poly_app.delayed.clear()
    venues.poly_app.load_scenario(scenario)
    venues.poly_app.add_account(venues.poly_address, sc.POLY_BALANCE)
    venues.poly_app.taker_delay = 0.3
    yield venues
    venues.poly_app.taker_delay = None


def test_the_polymarket_sandbox_delayed_order_fills_after_the_taker_delay_and_is_never_cancelled(
    live_system: SystemFactory, sports_delay: Venues
) -> None:
    venues = sports_delay
    system = live_system()

    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade

    assert trade is not None
    assert trade.status is TradeStatus.OPEN, trade.note
    assert [leg.held_size for leg in trade.legs] == [D(10), D(10)]
    assert venues.poly_app.requests["DELETE /order"] == 0  # never cancelled as if resting
    assert_matches_venues(system, trade, venues)
    assert_journal_consistent(system, trade)


def test_a_start_reports_a_venue_position_the_store_does_not_hold(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.kalshi().place_order(_request(venues, size=D(3)))  # bought outside this store

    system = live_system(recover_on_start=True)

    errors = system.state().recent_errors
    assert any(e.operation == "reconcile position" and "holds 3" in e.message for e in errors), errors
    assert system.reconciler.last is not None
    assert not system.reconciler.last.ok


def test_a_restart_after_a_journal_failure_keeps_the_orders_the_journal_missed(
    live_system: SystemFactory, venues: Venues, tmp_path: Path
) -> None:
    venues.fault("polymarket", "reject")
    path = tmp_path / "j.jsonl"
    system = live_system(journal=FailingJournal(path, 2))  # the disk fills after the first result
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert trade.status is TradeStatus.UNWOUND  # sold back, though the journal missed the sells
    system.close()

    # The disk is fixed; the next process recovers from a journal without the unwind orders.
    restarted = live_system(journal=path, recover_on_start=True)

    again = restarted.trade(trade.id)
    assert again.status is TradeStatus.UNWOUND, again.note
    assert again.legs[0].unwound_size == trade.legs[0].unwound_size
    assert_matches_venues(restarted, again, venues)
    assert restarted.reconciler.last is not None
    assert restarted.reconciler.last.mismatches == ()
    assert restarted.halted is None


def test_reconciliation_allows_only_the_precision_kalshi_reports_its_balance_in(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    assert system.reconcile().ok  # the baseline
    for size in (D(3), D(7)):  # fees of 6 decimals; Kalshi's balance is truncated to $0.0001
        trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly(), size=size)).trade
        assert trade is not None
        assert trade.status is TradeStatus.OPEN
    assert system.reconcile().mismatches == ()
    venues.kalshi_app.engine.accounts[venues.key_id].balance -= D("0.01")  # a cent goes missing
    (mismatch,) = system.reconcile().mismatches
    assert mismatch.kind == "cash"
