"""Every outcome of the issue's "Outcomes and rollback" list, against both sandboxes over loopback."""

from __future__ import annotations

from decimal import Decimal

from arbkit.notify import Event, EventKind
from arbkit.trade import LegStatus, TradeStatus
from tests.live import scenarios as sc
from tests.live.checks import assert_journal_consistent, assert_matches_venues
from tests.live.conftest import SystemFactory, Venues

D = Decimal


def test_all_legs_filled_records_an_open_position_with_every_order_id(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    events: list[Event] = []
    system.add_notifier(events.append)
    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    trade = result.trade
    assert trade is not None
    assert result.error is None
    assert trade.status is TradeStatus.OPEN
    assert [leg.status for leg in trade.legs] == [LegStatus.FILLED, LegStatus.FILLED]
    assert [leg.filled_size for leg in trade.legs] == [D(10), D(10)]
    assert [leg.average_price for leg in trade.legs] == [D("0.40"), D("0.55")]
    for index, leg in enumerate(trade.legs):
        assert leg.client_order_id == f"{trade.id}-{index}"
        assert leg.order_id
        assert leg.order_ids == (leg.order_id,)
        assert leg.client_order_ids == (leg.client_order_id,)
    assert_matches_venues(system, trade, venues)
    assert_journal_consistent(system, trade)
    assert [e.kind for e in events] == [EventKind.TRADE_EXECUTED]
    assert system.state().balance == D(2000) - trade.total_cost
