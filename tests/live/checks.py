"""Assertions that compare a live trade with the journal and with what the sandboxes hold."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from arbkit.trading.execution.journal import FINAL
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.records import Trade, TradeStatus
from tests.live import scenarios as sc
from tests.live.conftest import Venues


def legs_by_venue(trade: Trade) -> dict[str, Decimal]:
    return {leg.exchange: leg.held_size for leg in trade.legs}


def assert_matches_venues(system: RealTradingSystem, trade: Trade, venues: Venues) -> None:
    """The trade's held contracts, cash and orders are exactly what each venue reports."""
    held = legs_by_venue(trade)
    assert venues.kalshi_position() == held["kalshi"], (trade, venues.kalshi_orders())
    assert venues.poly_tokens() == held["polymarket"]
    # Cash moved on each venue exactly as the record says (cost + fees - proceeds).
    moved = {leg.exchange: leg.cost + leg.fees - leg.unwind_proceeds for leg in trade.legs}
    assert sc.KALSHI_BALANCE - venues.kalshi_cash() == moved["kalshi"]
    assert sc.POLY_BALANCE - venues.poly_cash() == moved["polymarket"]
    # Flat or explicitly recorded exposure.
    if trade.status is TradeStatus.OPEN:
        assert len(set(held.values())) == 1
        assert trade.hedged_size > 0
    elif trade.status in (TradeStatus.UNWOUND, TradeStatus.NO_FILL):
        assert set(held.values()) == {Decimal(0)}
    else:
        assert trade.status is TradeStatus.EXPOSURE
        assert trade in system.state().open_positions
    # No duplicate orders: one venue order per client order id, and every order is on the record.
    kalshi_ids = Counter(o.client_order_id for o in venues.kalshi_orders())
    assert all(n == 1 for n in kalshi_ids.values()), kalshi_ids
    recorded = {cid for leg in trade.legs for cid in leg.client_order_ids}
    assert set(kalshi_ids) <= recorded
    poly_recorded = {oid for leg in trade.legs if leg.exchange == "polymarket" for oid in leg.order_ids}
    assert {o.id for o in venues.poly_orders()} <= poly_recorded
    # Nothing left resting on either venue.
    assert not [o for o in venues.kalshi_orders() if o.status == "resting"]
    assert not [o for o in venues.poly_orders() if o.status == "LIVE"]


def assert_journal_consistent(system: RealTradingSystem, trade: Trade) -> None:
    """The journal holds the intent first, every order sent, and a final record matching the trade."""
    entry = system.journal.entry(trade.id)
    assert entry is not None
    assert entry.records[0].step == "intent"
    assert entry.records[-1].step == FINAL
    assert entry.records[-1].data["status"] == trade.status.value
    journalled = {o["client_order_id"] for o in entry.records[0].data["orders"]}
    journalled |= {r.data["client_order_id"] for r in entry.steps("order")}
    for leg in trade.legs:
        assert set(leg.client_order_ids) <= journalled
    assert system.journal.unfinished() == []
