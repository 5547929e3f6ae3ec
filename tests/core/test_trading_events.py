"""Events a live trade can give rise to: exposure left open, unwound legs, failed legs."""

from __future__ import annotations

from decimal import Decimal

import attrs

from arbkit.trading.events import trade_events
from arbkit.trading.notify import EventKind, Severity
from arbkit.trading.records import LegStatus, TradeStatus
from tests.core.test_store import T0, make_trade

D = Decimal


def test_one_legged_trade_is_announced_as_exposure_left_open() -> None:
    trade = make_trade()
    failed = attrs.evolve(
        trade.legs[1],
        filled_size=D(0),
        average_price=None,
        status=LegStatus.REJECTED,
        error="insufficient funds",
    )
    exposure = attrs.evolve(trade, legs=(trade.legs[0], failed), status=TradeStatus.EXPOSURE)

    events = trade_events("live", exposure, T0)

    assert [e.kind for e in events] == [EventKind.LEG_FAILED, EventKind.EXPOSURE_OPEN]
    assert (
        events[0].text
        == "🔴 LIVE Leg failed: Lakers at Celtics: polymarket 0X1234 rejected: insufficient funds"
    )
    assert events[1].severity is Severity.ERROR
    assert events[1].text == (
        "🔴 LIVE EXPOSURE LEFT OPEN: Lakers at Celtics: unhedged position kalshi Yes x12; act on it"
    )


def test_unwound_trade_reports_the_unwind_and_its_loss() -> None:
    trade = make_trade()
    unwound_leg = attrs.evolve(
        trade.legs[0], status=LegStatus.UNWOUND, unwound_size=D(12), unwind_proceeds=D("4.50")
    )
    failed = attrs.evolve(
        trade.legs[1], filled_size=D(0), average_price=None, fees=D(0), status=LegStatus.REJECTED
    )
    unwound = attrs.evolve(
        trade, legs=(unwound_leg, failed), status=TradeStatus.UNWOUND, realised_pnl=D("-0.63")
    )

    kinds = [(e.kind, e.title, e.message) for e in trade_events("live", unwound, T0)]

    assert kinds == [
        (EventKind.LEG_UNWOUND, "Leg unwound", "Lakers at Celtics: kalshi Yes sold back 12 for $4.50"),
        (EventKind.LEG_FAILED, "Leg failed", "Lakers at Celtics: polymarket 0X1234 rejected"),
        (EventKind.LEG_FAILED, "Trade unwound", "Lakers at Celtics: realised -$0.63"),
    ]
