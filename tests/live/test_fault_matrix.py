"""The fault matrix: leg position x fault x venue ordering, on both sandboxes over loopback.

For every case the end state is flat or explicitly recorded exposure *as the venues report
it*, the journal is consistent, no order was placed twice, and ``execute`` raised nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arbkit.trading.records import TradeStatus
from tests.live import scenarios as sc
from tests.live.checks import assert_journal_consistent, assert_matches_venues
from tests.live.conftest import SystemFactory, Venues

D = Decimal
OPEN, UNWOUND = TradeStatus.OPEN, TradeStatus.UNWOUND

#: fault name -> (fault kind and options, expected trade status).
FAULTS: dict[str, tuple[str, dict[str, Any], TradeStatus]] = {
    # Refusals and empty books: the other leg is sold back.
    "rejection": ("reject", {}, UNWOUND),
    "no_fill": ("no_fill", {}, UNWOUND),
    "insufficient_balance": ("insufficient", {}, UNWOUND),
    # Half fills: the short leg is topped up at its limit price.
    "partial_fill": ("partial_fill", {"fill_ratio": D("0.5")}, OPEN),
    # Before the handler, though the client cannot tell: unknown, looked up, then fenced by the
    # identical order (same client order id / signed order), which the venue takes once.
    "429": ("status", {"status": 429}, OPEN),
    "503_before_acceptance": ("status", {"status": 503}, OPEN),
    "500_before_acceptance": ("status", {"status": 500}, OPEN),
    "dropped_before_acceptance": ("drop", {}, OPEN),
    # Taken, but the answer was lost: found by reconciliation, never sent twice.
    "500_after_acceptance": ("status_after", {"status": 500}, OPEN),
    "dropped_after_acceptance": ("drop_after", {}, OPEN),
    "timeout": ("latency", {"delay_ms": 650}, OPEN),  # the clients time out after 500 ms
}
ORDERINGS = {"kalshi_first": True, "polymarket_first": False}


@pytest.mark.parametrize("ordering", list(ORDERINGS))
@pytest.mark.parametrize("position", [0, 1])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_on_one_leg_ends_flat_or_hedged_as_the_venues_see_it(
    live_system: SystemFactory, venues: Venues, fault: str, position: int, ordering: str
) -> None:
    kalshi_first = ORDERINGS[ordering]
    faulted = ("kalshi", "polymarket")[position if kalshi_first else 1 - position]
    kind, options, expected = FAULTS[fault]
    system = live_system()
    opportunity = sc.opportunity(venues.kalshi(), venues.poly(), kalshi_first=kalshi_first)
    venues.fault(faulted, kind, **options)

    result = system.execute(opportunity)

    trade = result.trade
    assert trade is not None, result.error
    assert result.error is None
    assert trade.status is expected, trade.note
    assert_matches_venues(system, trade, venues)
    assert_journal_consistent(system, trade)
    faulted_leg = trade.legs[position]
    assert faulted_leg.exchange == faulted
    if expected is OPEN:
        assert [leg.held_size for leg in trade.legs] == [D(10), D(10)]
    else:
        other = trade.legs[1 - position]
        assert faulted_leg.filled_size == 0
        assert other.filled_size == other.unwound_size == D(10)
        assert trade.realised_pnl is not None
        assert trade.realised_pnl < 0
        if kind != "no_fill":
            assert system.state().recent_errors, "the refusal is in the error history"
    if kind in ("status_after", "drop_after", "latency"):
        # Reconciled, not re-sent: exactly one POST of the faulted leg's order.
        assert venues.order_posts(faulted) == 1
