"""The sandbox's JSON: the shapes of the reference captures (polymarket.md sections 2, 3 and 5.7-5.10).

String numbers, CLOB book arrays with the best bid and best ask LAST (and their SHA-1 content
hash), ``LTE=`` as the final CLOB cursor, Gamma's JSON-inside-JSON
``outcomes``/``clobTokenIds``/``outcomePrices``. One function per payload, as in
:mod:`arbkit_kalshi.sandbox.wire`; the routes (:mod:`~arbkit_polymarket.sandbox.app`,
:mod:`~arbkit_polymarket.sandbox.market_data`) and the stream send what these return.
"""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from typing import Any

from arbkit.sandbox import BookSide
from arbkit_polymarket.sandbox.engine import Engine, OrderRecord, SandboxMarket

__all__ = [
    "best_prices",
    "book_json",
    "clob_market_json",
    "cursor",
    "gamma_event_json",
    "gamma_market_json",
    "last_trade",
    "offset",
    "order_json",
    "page_json",
    "simplified_market_json",
]

ONE = Decimal(1)
#: The final CLOB cursor (reference section 5.8).
END_CURSOR = "LTE="


def cursor(position: int) -> str:
    """The opaque CLOB cursor of a row offset (base64 of the number)."""
    return base64.b64encode(str(position).encode()).decode()


def offset(value: str | None) -> int:
    """The row offset a cursor stands for; ``ValueError`` for one the sandbox never gave."""
    if not value:
        return 0
    try:
        return max(0, int(base64.b64decode(value).decode()))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("invalid cursor") from None


def page_json(rows: list[Any], start: int, limit: int = 100) -> dict[str, Any]:
    """A CLOB page ``{limit, count, next_cursor, data}`` from row ``start``; ``LTE=`` marks the last."""
    chunk = rows[start : start + limit]
    end = start + len(chunk)
    return {
        "limit": limit,
        "count": len(chunk),
        "next_cursor": cursor(end) if end < len(rows) else END_CURSOR,
        "data": chunk,
    }


def order_json(engine: Engine, order: OrderRecord) -> dict[str, Any]:
    """An ``OpenOrder``."""
    market = engine.markets[order.market]
    return {
        "id": order.id,
        "status": order.status,
        "owner": order.owner,
        "maker_address": order.maker,
        "market": order.market,
        "asset_id": order.token,
        "side": order.side.value.upper(),
        "original_size": str(order.original_size),
        "size_matched": str(order.size_matched),
        "price": str(order.price),
        "outcome": market.outcome_of(order.token),
        "expiration": str(order.expiration) if order.expiration else None,
        "order_type": order.order_type,
        "associate_trades": list(order.trades),
        "created_at": order.created_at,
    }


def _token_levels(
    market: SandboxMarket, token: str
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    book = market.book
    bids, asks = book.levels(BookSide.BID), book.levels(BookSide.ASK)
    if not market.is_yes(token):  # the complement token's book mirrors the YES book
        bids, asks = [(ONE - p, s) for p, s in asks], [(ONE - p, s) for p, s in bids]
    return bids, asks


def best_prices(market: SandboxMarket, token: str) -> tuple[Decimal | None, Decimal | None]:
    """(best bid, best ask) of one token."""
    bids, asks = _token_levels(market, token)
    return (max(p for p, _ in bids) if bids else None, min(p for p, _ in asks) if asks else None)


def token_mid(market: SandboxMarket, token: str) -> Decimal:
    """The midpoint of a token's book, ``0.5`` while one side is empty."""
    bid, ask = best_prices(market, token)
    return (bid + ask) / 2 if bid is not None and ask is not None else Decimal("0.5")


def last_trade(engine: Engine, market: SandboxMarket, token: str) -> tuple[str, str]:
    """(price, taker side) of the last trade in a token's terms; ``("0.5", "")`` before any."""
    for trade in reversed(engine.trades):
        if trade["market"] != market.condition_id:
            continue
        price, side = Decimal(trade["price"]), str(trade["side"])
        if trade["asset_id"] != token:  # the complement: 1 - p, the opposite interest
            price, side = ONE - price, "SELL" if side == "BUY" else "BUY"
        return str(price), side
    return "0.5", ""


def book_json(engine: Engine, market: SandboxMarket, token: str, timestamp_ms: int) -> dict[str, Any]:
    """An ``OrderBookSummary`` with best bid and best ask LAST, and its content hash."""
    bids, asks = _token_levels(market, token)
    payload: dict[str, Any] = {
        "market": market.condition_id,
        "asset_id": token,
        "timestamp": str(timestamp_ms),
        "hash": "",
        "bids": [{"price": str(p), "size": str(s)} for p, s in sorted(bids)],
        "asks": [{"price": str(p), "size": str(s)} for p, s in sorted(asks, reverse=True)],
        "min_order_size": str(market.min_order_size),
        "tick_size": str(market.tick_size),
        "neg_risk": market.neg_risk,
        "last_trade_price": last_trade(engine, market, token)[0],
    }
    # Reference 2.8: SHA-1 of the compact summary with "hash" empty.
    payload["hash"] = hashlib.sha1(  # noqa: S324 - the venue's content hash, not security
        json.dumps(payload, separators=(",", ":")).encode()
    ).hexdigest()
    return payload


def gamma_market_json(engine: Engine, market: SandboxMarket) -> dict[str, Any]:
    """A Gamma market object (JSON-inside-JSON arrays, as captured)."""
    resolved = market.result is not None
    data: dict[str, Any] = {
        "id": str(int(hashlib.sha256(market.condition_id.encode()).hexdigest()[:12], 16) % 10**7),
        "question": market.question,
        "conditionId": market.condition_id,
        "slug": market.slug,
        "outcomes": json.dumps(list(market.outcomes)),
        "outcomePrices": json.dumps(engine.outcome_prices(market)),
        "clobTokenIds": json.dumps(list(market.tokens)),
        "active": True,
        "closed": market.closed,
        "acceptingOrders": market.accepting_orders,
        "enableOrderBook": True,
        "negRisk": market.neg_risk,
        "orderMinSize": market.min_order_size,
        "orderPriceMinTickSize": market.tick_size,
        "feesEnabled": market.fee_details is not None,
        "umaResolutionStatus": "resolved" if resolved else None,
        "events": [{"id": market.event.get("id"), "slug": market.event.get("slug")}],
    }
    if market.fee_details is not None:
        fd = market.fee_details
        data["feeSchedule"] = {
            "exponent": fd["e"],
            "rate": fd["r"],
            "takerOnly": True,
            "rebateRate": 0.25,
        }
    data.update(market.extra)
    return data


def gamma_event_json(engine: Engine, event: dict[str, Any]) -> dict[str, Any]:
    """A Gamma event with its markets embedded."""
    markets = [engine.markets[cid] for cid in event["market_ids"] if cid in engine.markets]
    body = {k: v for k, v in event.items() if k != "market_ids"}
    body["closed"] = bool(markets) and all(m.closed for m in markets)
    body["markets"] = [gamma_market_json(engine, m) for m in markets]
    return body


def clob_market_json(engine: Engine, market: SandboxMarket) -> dict[str, Any]:
    """A full CLOB market (``GET /markets/{condition_id}``, the rows of ``GET /markets``)."""
    tokens = [
        {
            "outcome": o,
            "price": engine.payout(market, t) if market.result else token_mid(market, t),
            "token_id": t,
            "winner": market.winner == t,
        }
        for t, o in zip(market.tokens, market.outcomes, strict=True)
    ]
    game_start = market.extra.get("gameStartTime")
    return {
        "enable_order_book": True,
        "active": True,
        "closed": market.closed,
        "archived": False,
        "accepting_orders": market.accepting_orders,
        "accepting_order_timestamp": None,
        "minimum_order_size": market.min_order_size,
        "minimum_tick_size": market.tick_size,
        "condition_id": market.condition_id,
        "question_id": "0x" + hashlib.sha256(market.condition_id.encode()).hexdigest(),
        "question": market.question,
        "description": str(market.extra.get("description", "")),
        "market_slug": market.slug,
        "end_date_iso": market.extra.get("endDate"),
        "game_start_time": game_start,
        "seconds_delay": market.seconds_delay,
        "fpmm": "",
        "maker_base_fee": 0,
        "taker_base_fee": 1000 if market.fee_details is not None else 0,
        "notifications_enabled": True,
        "neg_risk": market.neg_risk,
        "neg_risk_market_id": "",
        "neg_risk_request_id": "",
        "icon": "",
        "image": "",
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
        "is_50_50_outcome": market.result == "50-50",
        "tokens": tokens,
        "tags": [t.get("label") for t in market.event.get("tags", []) if isinstance(t, dict)],
    }


def simplified_market_json(engine: Engine, market: SandboxMarket) -> dict[str, Any]:
    """A row of ``GET /simplified-markets``."""
    row = clob_market_json(engine, market)
    keys = ("condition_id", "rewards", "tokens", "active", "closed", "archived", "accepting_orders")
    return {k: row[k] for k in keys}
