"""The JSON shapes the API serves (and the dashboard reads). Amounts are exact decimal strings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from arbkit import Trade, TradingState
from arbkit.codec import unstructure
from arbkit.config import Settings
from arbkit.engine.opportunity import Opportunity
from arbkit.trading.notify import mode_label
from arbkit.trading.reconcile import ReconcileReport, VenueView
from arbkit.trading.records import TradeStatus

__all__ = [
    "limits_view",
    "match_view",
    "opportunity_view",
    "pnl_history",
    "reconcile_view",
    "state_view",
    "trade_view",
]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


#: The fields of a trade leg the API shows (as the one codec writes them, arbkit.codec).
_LEG_FIELDS = (
    "exchange",
    "market_id",
    "market_title",
    "outcome_id",
    "outcome_name",
    "side",
    "limit_price",
    "average_price",
    "requested_size",
    "filled_size",
    "fees",
    "order_id",
    "client_order_id",
    "status",
    "error",
    "payout",
    "unwound_size",
    "unwind_proceeds",
)
_ERROR_FIELDS = ("time", "venue", "operation", "code", "message")


def _pick(data: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: data[name] for name in fields}


def trade_view(trade: Trade) -> dict[str, Any]:
    """One trade with both (or all three) legs, their venue and client order ids."""
    expected = trade.opportunity
    return {
        "id": trade.id,
        "mode": trade.mode,
        "status": trade.status.value,
        "title": expected.title,
        "kind": expected.kind,
        "created_at": trade.created_at.isoformat(),
        "settled_at": None if trade.settled_at is None else trade.settled_at.isoformat(),
        "cost": str(trade.total_cost),
        "fees": str(trade.fees),
        "expected_profit": str(expected.expected_profit),
        "expected_roi_percent": str(expected.roi_percent.quantize(Decimal("0.01"))),
        "realised_pnl": _s(trade.realised_pnl),
        "unwind_proceeds": str(trade.unwind_proceeds),
        "flags": list(trade.flags),
        "note": trade.note,
        "legs": [
            {**_pick(unstructure(leg), _LEG_FIELDS), "account": str(leg.account_id)} for leg in trade.legs
        ],
    }


def pnl_history(trades: Iterable[Trade]) -> list[dict[str, Any]]:
    """Cumulative realised P&L after each trade whose P&L became final (settled or unwound), in time order."""
    final = [
        t
        for t in trades
        if t.realised_pnl is not None and t.status in (TradeStatus.SETTLED, TradeStatus.UNWOUND)
    ]
    final.sort(key=lambda t: (t.settled_at or t.updated_at, t.id))
    running = Decimal(0)
    points = []
    for trade in final:
        assert trade.realised_pnl is not None
        running += trade.realised_pnl
        points.append(
            {
                "time": (trade.settled_at or trade.updated_at).isoformat(),
                "pnl": str(running),
                "trade_id": trade.id,
                "title": trade.opportunity.title,
            }
        )
    return points


def limits_view(settings: Settings) -> dict[str, Any]:
    """The current mode's money limits (``None``: no limit)."""
    limits = settings.limits
    return {
        "initial_balance": str(limits.initial_balance),
        "bet_amount": str(limits.bet_amount),
        "min_roi_percent": str(limits.min_roi_percent),
        "max_position_size": _s(limits.max_position_size),
        "max_daily_trades": limits.max_daily_trades,
        "daily_loss_limit": _s(limits.daily_loss_limit),
        "max_market_exposure": _s(settings.max_market_exposure),
    }


def state_view(state: TradingState, settings: Settings, *, history_limit: int) -> dict[str, Any]:
    """Balance, P&L, positions, newest trades first, today's counters, limits and recent errors.

    Built only from the trading state and the non-secret settings: no credential can reach it.
    """
    newest = list(reversed(state.trade_history))[:history_limit]
    return {
        "mode": state.mode,
        "label": mode_label(state.mode),
        "initial_balance": str(state.initial_balance),
        "balance": str(state.balance),
        "realised_pnl": str(state.realised_pnl),
        "unrealised_pnl": str(state.unrealised_pnl),
        "total_pnl": str(state.realised_pnl + state.unrealised_pnl),
        "today": {"day": state.day.isoformat(), "trades": state.daily_trades, "loss": str(state.daily_loss)},
        "limits": limits_view(settings),
        "total_trades": state.total_trades,
        "accounts": [unstructure(account) for account in state.accounts],
        "open_positions": [trade_view(t) for t in reversed(state.open_positions)],
        "trades": [trade_view(t) for t in newest],
        "pnl_history": pnl_history(state.trade_history),
        "errors": [_pick(unstructure(e), _ERROR_FIELDS) for e in reversed(state.recent_errors)],
    }


def opportunity_view(opportunity: Opportunity) -> dict[str, Any]:
    """An opportunity with its legs, sizes, cost, fees, profit and ROI."""
    return {
        "key": opportunity.key,
        "title": opportunity.title,
        "kind": opportunity.kind,
        "size": str(opportunity.size),
        "cost": str(opportunity.cost),
        "fees": str(opportunity.fees),
        "payout": str(opportunity.payout),
        "profit": str(opportunity.profit),
        "roi_percent": str(opportunity.roi_percent.quantize(Decimal("0.0001"))),
        "detected_at": opportunity.detected_at.isoformat(),
        "legs": [
            {
                "exchange": leg.exchange,
                "market_id": leg.market.id,
                "market_title": leg.market.title,
                "outcome_id": leg.outcome_id,
                "outcome_name": leg.outcome_name,
                "side": leg.side.value,
                "price": str(leg.limit_price),
                "average_price": str(leg.average_price),
                "size": str(leg.size),
                "cost": str(leg.cost),
                "fee": str(leg.fee),
            }
            for leg in opportunity.legs
        ],
    }


def match_view(match: Any) -> dict[str, Any]:
    """A matched game or market across venues (an :class:`arbkit.engine.matching.MarketMatch`)."""
    markets: Sequence[Any] = getattr(match, "markets", ())
    return {
        "key": str(getattr(match, "key", "")),
        "title": str(getattr(match, "title", "")),
        "method": str(getattr(match, "method", "")),
        "confidence": str(getattr(match, "confidence", "")),
        "tradable": bool(getattr(match, "tradable", True)),
        "refusals": list(getattr(match, "refusals", ())),
        "differences": list(getattr(match, "differences", ())),
        "outcomes": [group.name for group in getattr(match, "groups", ())],
        "markets": [
            {"exchange": m.exchange, "id": m.id, "title": m.title, "status": m.status.value} for m in markets
        ],
    }


def reconcile_view(report: ReconcileReport) -> dict[str, Any]:
    """One reconciliation run: when, whether all agreed, and every difference found."""
    return {
        "time": report.time.isoformat(),
        "ok": report.ok,
        "recovered": [t.id for t in report.recovered],
        "unresolved": list(report.unresolved),
        "mismatches": [
            {
                "venue": m.venue,
                "account": m.account,
                "label": m.label,
                "kind": m.kind,
                "message": m.message,
                "market_id": m.market_id,
                "outcome_id": m.outcome_id,
                "stored": _s(m.stored),
                "found": _s(m.found),
            }
            for m in report.mismatches
        ],
        "errors": list(report.errors),
        "venues": [venue_view(v) for v in report.venues],
        "totals": [venue_view(v) for v in report.totals],
    }


def venue_view(view: VenueView) -> dict[str, Any]:
    """One account's (or, in ``totals``, one venue's) own cash, positions and open orders next to
    what the store holds."""
    return {
        "venue": view.venue,
        "account": view.account,
        "label": view.label,
        "reachable": view.reachable,
        "agrees": view.agrees,
        "cash_available": _s(view.cash_available),
        "cash_total": _s(view.cash_total),
        "cash_change": _s(view.cash_change),
        "stored_cash_change": _s(view.stored_cash_change),
        "positions": [
            {
                "market_id": p.market_id,
                "outcome_id": p.outcome_id,
                "stored": str(p.stored),
                "venue": _s(p.venue),
            }
            for p in view.positions
        ],
        "open_orders": [
            {
                "order_id": o.order_id,
                "market_id": o.market_id,
                "outcome_id": o.outcome_id,
                "side": o.side,
                "price": str(o.price),
                "remaining": str(o.remaining),
                "recorded": o.recorded,
            }
            for o in view.open_orders
        ],
    }
