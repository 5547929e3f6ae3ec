"""The sandbox's JSON: every field SDK-3.34's models require, and nothing Kalshi removed in 2026.

Reference: kalshi.md sections 3, 4 and 10 (the REQ tables and the SDK-validated payloads).
Prices are ``*_dollars`` strings (4 decimals for market prices, 6 for portfolio money),
counts ``*_fp`` strings with 2 decimals; the integer-cent and integer-count fields removed in
2026 (``yes_bid``, ``volume``, ``position``, ``count``, the legacy ``orderbook`` object,
``tick_size``...) are NOT emitted, so a client still reading them fails here as it would
on the real exchange. The only integers are the ones the API keeps (``balance``,
``portfolio_value``, ``revenue``, ``value`` in cents; ``*_ts`` seconds, ``ts_ms``).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from arbkit.sandbox import BookSide
from arbkit_kalshi.sandbox.engine import Account, SbMarket, SbOrder, SbPosition

__all__ = [
    "balance_json",
    "error_json",
    "fill_json",
    "market_json",
    "money",
    "order_json",
    "orderbook_json",
    "position_json",
    "settlement_json",
    "trade_json",
]

ZERO = Decimal(0)
ONE = Decimal(1)
CREATED = "2026-01-01T00:00:00Z"


def error_json(code: str, message: str, details: str = "") -> dict[str, Any]:
    """Kalshi's wrapped error body ``{"error": {"code", "message", "details"}}`` (kalshi.md 3.1)."""
    return {"error": {"code": code, "message": message, "details": details}}


def price(value: Decimal) -> str:
    """A market price, 4 decimals (``"0.4500"``)."""
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def money(value: Decimal) -> str:
    """Portfolio money, 6 decimals (``"1.960000"``)."""
    return str(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def count(value: Decimal) -> str:
    """A contract count, 2 decimals (``"10.00"``)."""
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_DOWN))


def cents(value: Decimal) -> int:
    """Integer cents, truncated (as ``balance`` is)."""
    return int((value * 100).to_integral_value(rounding=ROUND_DOWN))


def market_json(market: SbMarket) -> dict[str, Any]:
    """A ``Market`` object with every SDK-required field (kalshi.md 4.1), top of book from the book."""
    bids = market.book.levels(BookSide.BID)
    asks = market.book.levels(BookSide.ASK)
    yes_bid = bids[0][0] if bids else ZERO
    yes_ask = asks[0][0] if asks else ONE
    last = market.last_price or ZERO
    out: dict[str, Any] = {
        "ticker": market.ticker,
        "event_ticker": market.event_ticker,
        "market_type": "binary",
        "title": market.title,
        "yes_sub_title": market.yes_sub_title,
        "no_sub_title": market.no_sub_title or market.yes_sub_title,
        "created_time": CREATED,
        "updated_time": CREATED,
        "open_time": CREATED,
        "close_time": market.close_time,
        "expected_expiration_time": market.extra.get("expected_expiration_time", market.close_time),
        "latest_expiration_time": market.close_time,
        "settlement_timer_seconds": 300,
        "status": market.status,
        "yes_bid_dollars": price(yes_bid),
        "yes_bid_size_fp": count(bids[0][1] if bids else ZERO),
        "yes_ask_dollars": price(yes_ask),
        "yes_ask_size_fp": count(asks[0][1] if asks else ZERO),
        "no_bid_dollars": price(ONE - yes_ask),
        "no_ask_dollars": price(ONE - yes_bid),
        "last_price_dollars": price(last),
        "previous_yes_bid_dollars": price(yes_bid),
        "previous_yes_ask_dollars": price(yes_ask),
        "previous_price_dollars": price(last),
        "volume_fp": count(market.volume),
        "volume_24h_fp": count(market.volume),
        "open_interest_fp": count(ZERO),
        "notional_value_dollars": "1.0000",
        "result": market.result,
        "can_close_early": bool(market.extra.get("can_close_early", True)),
        "expiration_value": "",
        "settlement_bounds_type": "default",
        "rules_primary": market.rules_primary,
        "rules_secondary": market.rules_secondary,
        "price_level_structure": market.price_level_structure,
        "price_ranges": [{"start": price(a), "end": price(b), "step": price(c)} for a, b, c in market.bands],
        "exchange_index": 0,
    }
    if market.settlement_value is not None:
        out["settlement_value_dollars"] = price(market.settlement_value)
    if market.settled_time:
        out["settlement_ts"] = market.settled_time
    for key, value in market.extra.items():
        out.setdefault(key, value)
    return out


def orderbook_json(market: SbMarket, depth: int = 0) -> dict[str, Any]:
    """``GET /markets/{ticker}/orderbook``: YES and NO bids, ascending (best last); empty side ``[]``.

    A NO bid at q is the YES-terms ask at 1-q (kalshi.md 3.11).
    """
    yes = sorted(market.book.levels(BookSide.BID))
    no = sorted((ONE - p, size) for p, size in market.book.levels(BookSide.ASK))
    if depth > 0:
        yes, no = yes[-depth:], no[-depth:]
    return {
        "orderbook_fp": {
            "yes_dollars": [[price(p), count(s)] for p, s in yes],
            "no_dollars": [[price(p), count(s)] for p, s in no],
        }
    }


def order_json(order: SbOrder) -> dict[str, Any]:
    """An ``Order`` (kalshi.md 3.7): book and outcome sides, YES/NO prices, fp counts, 6-dp money."""
    return {
        "order_id": order.order_id,
        "user_id": order.account,
        "client_order_id": order.client_order_id,
        "ticker": order.ticker,
        "outcome_side": order.outcome_side,
        "book_side": order.book,
        "type": "limit",
        "status": order.status,
        "yes_price_dollars": price(order.yes_price),
        "no_price_dollars": price(ONE - order.yes_price),
        "fill_count_fp": count(order.filled),
        "remaining_count_fp": count(order.remaining),
        "initial_count_fp": count(order.count),
        "taker_fill_cost_dollars": money(order.taker_cost),
        "maker_fill_cost_dollars": money(order.maker_cost),
        "taker_fees_dollars": money(order.taker_fees),
        "maker_fees_dollars": money(order.maker_fees),
        "expiration_time": None,
        "created_time": order.created_time,
        "last_update_time": order.updated_time,
        "self_trade_prevention_type": order.self_trade_prevention,
        "order_group_id": None,
        "cancel_order_on_pause": order.cancel_order_on_pause,
        "subaccount_number": 0,
        "exchange_index": 0,
    }


def fill_json(fill: dict[str, Any]) -> dict[str, Any]:
    """A ``Fill`` (kalshi.md 3.5); no ``client_order_id`` (removed Mar 2026)."""
    yes_price: Decimal = fill["yes_price"]
    bid = fill["book_side"] == "bid"
    return {
        "fill_id": fill["fill_id"],
        "trade_id": fill["trade_id"],
        "order_id": fill["order_id"],
        "exchange_index": 0,
        "ticker": fill["ticker"],
        "market_ticker": fill["ticker"],
        "outcome_side": "yes" if bid else "no",
        "book_side": fill["book_side"],
        "count_fp": count(fill["count"]),
        "yes_price_dollars": price(yes_price),
        "no_price_dollars": price(ONE - yes_price),
        "is_taker": fill["is_taker"],
        "fee_cost": money(fill["fee_cost"]),
        "created_time": fill["created_time"],
        "subaccount_number": 0,
    }


def trade_json(ticker: str, trade: dict[str, Any]) -> dict[str, Any]:
    """A public ``Trade`` (``GET /markets/trades``)."""
    bid = trade["taker_book_side"] == "bid"
    return {
        "trade_id": trade["trade_id"],
        "ticker": ticker,
        "count_fp": count(trade["count"]),
        "yes_price_dollars": price(trade["yes_price"]),
        "no_price_dollars": price(ONE - trade["yes_price"]),
        "taker_outcome_side": "yes" if bid else "no",
        "taker_book_side": trade["taker_book_side"],
        "created_time": trade["created_time"],
        "is_block_trade": False,
    }


def position_json(ticker: str, pos: SbPosition) -> dict[str, Any]:
    """A ``MarketPosition`` (kalshi.md 3.4): signed ``position_fp``, > 0 YES, < 0 NO."""
    return {
        "ticker": ticker,
        "exchange_index": 0,
        "total_traded_dollars": money(pos.traded),
        "position_fp": count(pos.position) if pos.position >= 0 else "-" + count(-pos.position),
        "market_exposure_dollars": money(pos.exposure),
        "realized_pnl_dollars": money(pos.realized),
        "fees_paid_dollars": money(pos.fees),
        "last_updated_ts": pos.updated_time,
    }


def event_position_json(event_ticker: str, rows: list[SbPosition]) -> dict[str, Any]:
    """An ``EventPosition``: the sums over the event's markets."""
    return {
        "event_ticker": event_ticker,
        "total_cost_dollars": money(sum((p.traded for p in rows), ZERO)),
        "total_cost_shares_fp": count(sum((abs(p.position) for p in rows), ZERO)),
        "event_exposure_dollars": money(sum((p.exposure for p in rows), ZERO)),
        "realized_pnl_dollars": money(sum((p.realized for p in rows), ZERO)),
        "fees_paid_dollars": money(sum((p.fees for p in rows), ZERO)),
    }


def balance_json(account: Account, portfolio_value: Decimal, updated_ts: int) -> dict[str, Any]:
    """``GET /portfolio/balance`` (kalshi.md 3.3): cents (truncated) plus exact ``balance_dollars``."""
    exact = str(account.balance.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))
    return {
        "balance": cents(account.balance),
        "balance_dollars": exact,
        "portfolio_value": cents(portfolio_value),
        "updated_ts": updated_ts,
        "balance_breakdown": [{"exchange_index": 0, "balance": exact}],
    }


def settlement_json(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Settlement`` (kalshi.md 3.6): ``revenue`` and ``value`` are integer cents."""
    value = row["value"]
    return {
        "ticker": row["ticker"],
        "exchange_index": 0,
        "event_ticker": row["event_ticker"],
        "market_result": row["market_result"],
        "yes_count_fp": count(row["yes_count"]),
        "yes_total_cost_dollars": money(row["yes_cost"]),
        "no_count_fp": count(row["no_count"]),
        "no_total_cost_dollars": money(row["no_cost"]),
        "revenue": cents(row["revenue"]),
        "value": None if value is None else cents(value),
        "settled_time": row["settled_time"],
        "fee_cost": money(ZERO),
    }
