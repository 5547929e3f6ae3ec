"""The notification events a trade or a settlement gives rise to (shared by paper and live).

Kept apart from :mod:`arbkit.trading.system` so the wording of messages lives in one place.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from arbkit.trading.notify import Event, EventKind, Severity
from arbkit.trading.records import LegStatus, Trade, TradeStatus
from arbkit.trading.settlement import Settlement

__all__ = ["settlement_events", "trade_events"]

CENT = Decimal("0.01")
_BAD_LEG = {LegStatus.REJECTED, LegStatus.FAILED, LegStatus.UNKNOWN, LegStatus.UNFILLED}


def _usd(value: Decimal) -> str:
    sign = "-" if value < 0 else "+"
    return f"{sign}${abs(value).quantize(CENT)}"


def trade_events(mode: str, trade: Trade, now: datetime) -> list[Event]:
    """New trade, failed and unwound legs, and exposure left open."""
    title = trade.opportunity.title
    events: list[Event] = []

    def event(kind: EventKind, head: str, message: str, severity: Severity, **data: object) -> None:
        events.append(Event(kind, mode, head, message, severity, trade_id=trade.id, data=data, time=now))

    if trade.status is TradeStatus.OPEN:
        # Everything paid, less what unwinds of an excess brought back (Trade.expected_profit).
        expected = trade.expected_profit
        event(
            EventKind.TRADE_EXECUTED,
            "New arb",
            f"{title} ({trade.hedged_size} contracts, cost ${trade.total_cost.quantize(CENT)}"
            + (
                f", ${trade.unwind_proceeds.quantize(CENT)} back from unwinds"
                if trade.unwind_proceeds > 0
                else ""
            )
            + f", expected {_usd(expected)})",
            Severity.INFO,
            contracts=str(trade.hedged_size),
            total_cost=str(trade.total_cost),
            unwind_proceeds=str(trade.unwind_proceeds),
            expected_profit=str(expected),
        )
    for index, leg in enumerate(trade.legs):
        if leg.status is LegStatus.UNWOUND:
            event(
                EventKind.LEG_UNWOUND,
                "Leg unwound",
                f"{title}: {leg.exchange} {leg.outcome_name} sold back {leg.unwound_size} "
                f"for ${leg.unwind_proceeds.quantize(CENT)}",
                Severity.WARNING,
                leg=index,
                exchange=leg.exchange,
            )
        elif leg.status in _BAD_LEG and (leg.error or trade.status is not TradeStatus.NO_FILL):
            event(
                EventKind.LEG_FAILED,
                "Leg failed",
                f"{title}: {leg.exchange} {leg.outcome_name} {leg.status.value}"
                + (f": {detail}" if (detail := leg.error or trade.note) else ""),
                Severity.WARNING,
                leg=index,
                exchange=leg.exchange,
            )
    if trade.status is TradeStatus.NO_FILL and not any(leg.error for leg in trade.legs):
        event(EventKind.LEG_FAILED, "No fill", f"{title}: {trade.note}", Severity.WARNING)
    if trade.status is TradeStatus.EXPOSURE:
        held = ", ".join(
            f"{leg.exchange} {leg.outcome_name} x{leg.held_size}" for leg in trade.legs if leg.held_size > 0
        )
        event(
            EventKind.EXPOSURE_OPEN,
            "EXPOSURE LEFT OPEN",
            f"{title}: unhedged position {held}; act on it",
            Severity.ERROR,
        )
    if trade.status is TradeStatus.UNWOUND and trade.realised_pnl is not None:
        event(
            EventKind.LEG_FAILED,
            "Trade unwound",
            f"{title}: realised {_usd(trade.realised_pnl)}",
            Severity.WARNING,
            realised_pnl=str(trade.realised_pnl),
        )
    return events


def settlement_events(mode: str, settlement: Settlement, now: datetime) -> list[Event]:
    """The settlement itself, and a loud disagreement event when venues disagreed."""
    trade = settlement.trade
    title = trade.opportunity.title
    events = [
        Event(
            EventKind.TRADE_SETTLED,
            mode,
            "Settled",
            f"{title}: payout ${settlement.payout.quantize(CENT)}, P&L {_usd(settlement.realised_pnl)}"
            + (" (void)" if settlement.void else ""),
            Severity.ERROR if settlement.disagreement else Severity.INFO,
            trade_id=trade.id,
            data={"payout": str(settlement.payout), "realised_pnl": str(settlement.realised_pnl)},
            time=now,
        )
    ]
    if settlement.disagreement:
        events.append(
            Event(
                EventKind.DISAGREEMENT,
                mode,
                "VENUES DISAGREE",
                f"{title}: {settlement.note}",
                Severity.ERROR,
                trade_id=trade.id,
                data={"realised_pnl": str(settlement.realised_pnl)},
                time=now,
            )
        )
    return events
