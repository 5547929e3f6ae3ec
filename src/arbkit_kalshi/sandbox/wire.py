"""The sandbox's JSON: every object in both field families (reference: kalshi.md 3-4 and 10).

Older clients read integer cents and counts (``yes_bid: 45``, ``count: 10``); newer ones read
``*_dollars`` / ``*_fp`` strings. Emitting both lets either kind of client talk to the sandbox.
Legacy integers cannot carry sub-cent prices or fractional counts: they are rounded (prices
half-even, counts down), the string fields stay exact.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from arbkit.sandbox import BookSide
from arbkit_kalshi.sandbox.engine import Account, SbMarket, SbOrder, SbPosition
from arbkit_kalshi.units import dollars_to_cents, format_count, format_dollars

__all__ = [
    "balance_json",
    "error_json",
    "fill_json",
    "market_json",
    "order_json",
    "orderbook_json",
    "position_json",
    "settlement_json",
]

ZERO = Decimal(0)
ONE = Decimal(1)


def error_json(code: str, message: str, details: str = "") -> dict[str, Any]:
    """Kalshi's wrapped error body ``{"error": {"code", "message", "details"}}`` (kalshi.md 3.1)."""
    return {"error": {"code": code, "message": message, "details": details}}


def _cents(price: Decimal) -> int:
    return dollars_to_cents(price)


def _count(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def _both_price(out: dict[str, Any], name: str, price: Decimal) -> None:
    out[name] = _cents(price)
    out[f"{name}_dollars"] = format_dollars(price)


def _both_count(out: dict[str, Any], name: str, count: Decimal) -> None:
    out[name] = _count(count)
    out[f"{name}_fp"] = format_count(count)


def _both_money(out: dict[str, Any], name: str, amount: Decimal, places: int = 4) -> None:
    out[name] = _cents(amount)
    out[f"{name}_dollars"] = format_dollars(amount, places)


def market_json(market: SbMarket) -> dict[str, Any]:
    """A ``Market`` object as in kalshi.md section 10, top of book from the live book."""
    bids = market.book.levels(BookSide.BID)
    asks = market.book.levels(BookSide.ASK)
    yes_bid = bids[0][0] if bids else ZERO
    yes_ask = asks[0][0] if asks else ONE
    out: dict[str, Any] = {
        "ticker": market.ticker,
        "event_ticker": market.event_ticker,
        "market_type": "binary",
        "title": market.title,
        "subtitle": "",
        "yes_sub_title": market.yes_sub_title,
        "no_sub_title": market.no_sub_title or market.yes_sub_title,
        "created_time": "2026-01-01T00:00:00Z",
        "updated_time": "2026-01-01T00:00:00Z",
        "open_time": "2026-01-01T00:00:00Z",
        "close_time": market.close_time,
        "expiration_time": market.close_time,
        "latest_expiration_time": market.close_time,
        "expected_expiration_time": market.extra.get("expected_expiration_time", market.close_time),
        "settlement_timer_seconds": 300,
        "status": market.status,
        "result": market.result,
        "can_close_early": bool(market.extra.get("can_close_early", True)),
        "expiration_value": "",
        "yes_bid_size_fp": format_count(bids[0][1] if bids else ZERO),
        "yes_ask_size_fp": format_count(asks[0][1] if asks else ZERO),
        "notional_value": 100,
        "notional_value_dollars": "1.0000",
        "tick_size": max(1, _cents(market.tick)),
        "price_level_structure": "linear_cent",  # the value's name is UNCERTAIN in the reference
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": format_dollars(market.tick)}],
        "settlement_bounds_type": "default",
        "rules_primary": market.rules_primary,
        "rules_secondary": market.rules_secondary,
        "fractional_trading_enabled": market.fractional,
        "response_price_units": "usd_cent",
    }
    _both_price(out, "yes_bid", yes_bid)
    _both_price(out, "yes_ask", yes_ask)
    _both_price(out, "no_bid", ONE - yes_ask)
    _both_price(out, "no_ask", ONE - yes_bid)
    _both_price(out, "last_price", market.last_price or ZERO)
    _both_count(out, "volume", market.volume)
    _both_count(out, "volume_24h", market.volume)
    _both_count(out, "open_interest", ZERO)
    if market.settlement_value is not None:
        out["settlement_value"] = _cents(market.settlement_value)
        out["settlement_value_dollars"] = format_dollars(market.settlement_value)
    if market.settled_time:
        out["settlement_ts"] = market.settled_time
    for key, value in market.extra.items():
        out.setdefault(key, value)
    return out


def orderbook_json(market: SbMarket, depth: int = 0) -> dict[str, Any]:
    """``GET /markets/{ticker}/orderbook``: YES and NO bids only, ascending (best last), both families.

    A NO bid at q is the YES-terms ask at 1-q. An empty side is ``null`` in the legacy
    object (as the real API sends it) and ``[]`` in ``orderbook_fp``.
    """
    yes = sorted(market.book.levels(BookSide.BID))
    no = sorted((ONE - price, size) for price, size in market.book.levels(BookSide.ASK))
    if depth > 0:
        yes, no = yes[-depth:], no[-depth:]
    legacy: dict[str, Any] = {}
    for name, levels in (("yes", yes), ("no", no)):
        legacy[name] = [[_cents(p), _count(s)] for p, s in levels] or None
        legacy[f"{name}_dollars"] = [[format_dollars(p), _count(s)] for p, s in levels] or None
    return {
        "orderbook": legacy,
        "orderbook_fp": {
            "yes_dollars": [[format_dollars(p), format_count(s)] for p, s in yes],
            "no_dollars": [[format_dollars(p), format_count(s)] for p, s in no],
        },
    }


def order_json(order: SbOrder) -> dict[str, Any]:
    """An ``Order`` object in both families (kalshi.md 3.7)."""
    remaining = order.count - order.filled if order.status == "resting" else ZERO
    out: dict[str, Any] = {
        "order_id": order.order_id,
        "user_id": order.account,
        "client_order_id": order.client_order_id,
        "ticker": order.ticker,
        "side": order.side,
        "action": order.action,
        "outcome_side": "yes" if order.book_side is BookSide.BID else "no",
        "book_side": order.book_side.value,
        "type": "limit",
        "status": order.status,
        "expiration_time": None,
        "created_time": order.created_time,
        "last_update_time": order.updated_time,
        "self_trade_prevention_type": None,
        "order_group_id": None,
        "cancel_order_on_pause": False,
        "exchange_index": 0,
        "subaccount_number": 0,
    }
    _both_price(out, "yes_price", order.yes_price)
    _both_price(out, "no_price", ONE - order.yes_price)
    _both_count(out, "initial_count", order.count)
    _both_count(out, "fill_count", order.filled)
    _both_count(out, "remaining_count", remaining)
    out["taker_fill_count"] = _count(sum((q for _, q in order.taker_fills), ZERO))
    out["maker_fill_count"] = _count(sum((q for _, q in order.maker_fills), ZERO))
    _both_money(out, "taker_fill_cost", order.taker_cost)
    _both_money(out, "maker_fill_cost", order.maker_cost)
    _both_money(out, "taker_fees", order.taker_fees)
    _both_money(out, "maker_fees", order.maker_fees)
    if order.expiration_ts is not None:
        out["expiration_ts"] = order.expiration_ts
    return out


def fill_json(fill: dict[str, Any]) -> dict[str, Any]:
    """A ``Fill`` object (kalshi.md 3.5)."""
    yes_price: Decimal = fill["yes_price"]
    buys_yes = (fill["side"] == "yes") == (fill["action"] == "buy")
    out: dict[str, Any] = {
        "fill_id": fill["fill_id"],
        "trade_id": fill["trade_id"],
        "order_id": fill["order_id"],
        "client_order_id": fill["client_order_id"],
        "ticker": fill["ticker"],
        "market_ticker": fill["ticker"],
        "side": fill["side"],
        "action": fill["action"],
        "outcome_side": "yes" if buys_yes else "no",
        "book_side": "bid" if buys_yes else "ask",
        "is_taker": fill["is_taker"],
        "created_time": fill["created_time"],
        "fee_cost": format_dollars(fill["fee_cost"]),
        "exchange_index": 0,
        "subaccount_number": 0,
    }
    _both_price(out, "yes_price", yes_price)
    _both_price(out, "no_price", ONE - yes_price)
    _both_count(out, "count", fill["count"])
    return out


def position_json(ticker: str, pos: SbPosition) -> dict[str, Any]:
    """A ``MarketPosition`` row (kalshi.md 3.4): signed position, > 0 YES, < 0 NO."""
    out: dict[str, Any] = {
        "ticker": ticker,
        "exchange_index": 0,
        "resting_orders_count": pos.resting_orders,
        "last_updated_ts": "2026-01-01T00:00:00Z",
    }
    _both_count(out, "position", pos.position)
    out["position"] = int(pos.position.to_integral_value(rounding=ROUND_DOWN))
    _both_money(out, "market_exposure", pos.exposure)
    _both_money(out, "realized_pnl", pos.realized)
    _both_money(out, "fees_paid", pos.fees)
    _both_money(out, "total_traded", pos.traded)
    return out


def balance_json(account: Account, portfolio_value: Decimal) -> dict[str, Any]:
    """``GET /portfolio/balance``: integer cents plus ``balance_dollars`` (kalshi.md 3.3)."""
    cents = int((account.balance * 100).to_integral_value(rounding=ROUND_DOWN))
    return {
        "balance": cents,
        "balance_dollars": format_dollars(account.balance),
        "portfolio_value": _cents(portfolio_value),
        "updated_ts": 0,
    }


def settlement_json(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Settlement`` row (kalshi.md 3.6): ``revenue`` and ``value`` in integer cents."""
    value = row["value"]
    out: dict[str, Any] = {
        "ticker": row["ticker"],
        "event_ticker": row["event_ticker"],
        "exchange_index": 0,
        "market_result": row["market_result"],
        "revenue": _cents(row["revenue"]),
        "settled_time": row["settled_time"],
        "fee_cost": "0.0000",
        "value": None if value is None else _cents(value),
    }
    _both_count(out, "yes_count", row["yes_count"])
    _both_count(out, "no_count", row["no_count"])
    _both_money(out, "yes_total_cost", row["yes_cost"])
    _both_money(out, "no_total_cost", row["no_cost"])
    return out
