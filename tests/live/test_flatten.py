"""Flattening a live trade on both sandboxes: what the trader sees, and what the venues hold after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from arbkit.errors import RiskRejected, TradeNotFound, ValidationError
from arbkit.models import OrderRequest, Side
from arbkit.trading.records import TradeStatus, daily_loss
from tests.live import scenarios as sc
from tests.live.checks import assert_journal_consistent, assert_matches_venues
from tests.live.conftest import SystemFactory, Venues

D = Decimal


def _yes_terms(fill: Any, outcome_id: str) -> Decimal:
    """A fill's price in the leg's own terms (Kalshi may report a YES sell as a NO buy at 1 - p)."""
    return D(fill.price) if fill.outcome_id == outcome_id else 1 - D(fill.price)


def _open_trade(system: Any, venues: Venues) -> Any:
    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    assert result.trade is not None, result
    assert result.trade.status is TradeStatus.OPEN, result
    return result.trade


def test_flatten_sells_both_legs_at_the_bids_and_the_store_equals_the_venues(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    trade = _open_trade(system, venues)
    flat = system.flatten(trade.id, max_loss=D(2))
    assert flat.status is TradeStatus.UNWOUND
    assert all(leg.held_size == 0 for leg in flat.legs)
    # Sold at the best bids the books gave (Kalshi YES 0.38, Polymarket Rockets 0.53), as the
    # venues' own fills of the sell orders say.
    clients = {"kalshi": venues.kalshi(), "polymarket": venues.poly()}
    for leg, bid in zip(flat.legs, (D("0.38"), D("0.53")), strict=True):
        sell_ids = [oid for oid, cid in zip(leg.order_ids, leg.client_order_ids, strict=True) if "-u" in cid]
        assert sell_ids, leg
        fills = [f for oid in sell_ids for f in clients[leg.exchange].fills(order_id=oid)]
        assert sum(f.size for f in fills) == sc.SIZE
        assert {_yes_terms(f, leg.outcome_id) for f in fills} == {bid}, fills
    assert_matches_venues(system, flat, venues)
    assert_journal_consistent(system, flat)
    loss = flat.total_cost - flat.unwind_proceeds
    assert D(0) < loss <= D(2)
    state = system.state()
    assert flat.realised_pnl == -loss
    assert state.realised_pnl == -loss
    assert state.open_positions == ()
    assert state.daily_loss == daily_loss(state.trade_history, state.day, system.zone) == loss
    # The ledger moved exactly as the venues' cash did.
    moved = (sc.KALSHI_BALANCE - venues.kalshi_cash()) + (sc.POLY_BALANCE - venues.poly_cash())
    assert state.initial_balance - state.balance == moved
    report = system.reconcile()
    assert report.mismatches == ()
    assert report.unresolved == ()


def test_a_bound_the_bids_cannot_keep_is_refused_before_any_order(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    trade = _open_trade(system, venues)
    posts = {v: venues.order_posts(v) for v in ("kalshi", "polymarket")}
    with pytest.raises(RiskRejected, match=r"could lose up to \$"):
        system.flatten(trade.id, max_loss=D("0.10"))
    assert {v: venues.order_posts(v) for v in posts} == posts
    assert system.trade(trade.id) == trade
    assert venues.kalshi_position() == sc.SIZE
    assert venues.poly_tokens() == sc.SIZE


def test_flatten_refuses_what_holds_nothing_and_unknown_ids(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    trade = _open_trade(system, venues)
    system.flatten(trade.id, max_loss=D(5))
    with pytest.raises(ValidationError, match="holds no position"):
        system.flatten(trade.id, max_loss=D(5))
    with pytest.raises(TradeNotFound):
        system.flatten("no-such-trade")


def test_a_sell_answered_with_an_error_after_the_venue_took_it_is_found_not_sent_twice(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    trade = _open_trade(system, venues)
    venues.fault("polymarket", "status_after", status=503, times=1)
    flat = system.flatten(trade.id, max_loss=D(2))
    assert flat.status is TradeStatus.UNWOUND
    assert_matches_venues(system, flat, venues)
    assert_journal_consistent(system, flat)


def test_a_flatten_interrupted_after_its_journal_record_is_finished_by_recovery(
    live_system: SystemFactory, venues: Venues, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = live_system()
    trade = _open_trade(system, venues)

    class Crash(BaseException):
        pass

    real = system.executor._send_extra
    sent: list[str] = []

    def crash_after_first(trade_id: str, run: Any, order: Any) -> None:
        if sent:
            raise Crash  # the process dies before the second sell leaves
        sent.append(run.record.exchange)
        real(trade_id, run, order)

    monkeypatch.setattr(system.executor, "_send_extra", crash_after_first)
    monkeypatch.setattr(system.executor, "config", attrs.evolve(system.executor.config, concurrent=False))
    with pytest.raises(Crash):
        system.flatten(trade.id, max_loss=D(2))
    assert system.journal.unfinished() != []
    # A new process on the same store and journal finishes it from what the venues hold.
    restarted = live_system(store=system.store, recover_on_start=False)
    recovered = restarted.recover()
    assert [t.id for t in recovered] == [trade.id]
    flat = restarted.trade(trade.id)
    assert flat.status is TradeStatus.UNWOUND, flat
    assert_matches_venues(restarted, flat, venues)
    assert restarted.journal.unfinished() == []


def test_each_venue_reports_its_own_cash_positions_and_orders_next_to_the_store(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    first = system.reconcile()  # the baseline: nothing traded yet
    assert all(v.reachable and v.agrees and v.positions == () for v in first.venues)
    trade = _open_trade(system, venues)
    held = system.reconcile()
    views = {v.venue: v for v in held.venues}
    assert views["kalshi"].cash_available == venues.kalshi_cash()
    assert [(p.stored, p.venue) for p in views["kalshi"].positions] == [(sc.SIZE, sc.SIZE)]
    assert [(p.stored, p.venue) for p in views["polymarket"].positions] == [(sc.SIZE, sc.SIZE)]
    for leg in trade.legs:
        view = views[leg.exchange]
        assert view.cash_change == view.stored_cash_change == -(leg.cost + leg.fees)
        assert view.agrees
    system.flatten(trade.id, max_loss=D(2))
    after = {v.venue: v for v in system.reconcile().venues}
    for view in after.values():
        # Kalshi reports its balance truncated to $0.0001: the figures agree to that step.
        assert view.cash_change is not None
        assert view.stored_cash_change is not None
        assert abs(view.cash_change - view.stored_cash_change) < D("0.0001")
        assert [(p.stored, p.venue) for p in view.positions] == []
        assert view.agrees
    # A position nobody recorded: the venue's row says so.
    client = venues.kalshi()
    market = client.market(sc.KALSHI_TICKER)
    client.place_order(OrderRequest(market, "yes", Side.BUY, sc.KALSHI_ASK, D(2)))
    rogue = {v.venue: v for v in system.reconcile().venues}["kalshi"]
    assert [(p.stored, p.venue) for p in rogue.positions] == [(D(0), D(2))]
    assert not rogue.agrees
