"""Kalshi portfolio payloads -> core models: orders, fills, positions, balance, settlements.

Reference: kalshi.md sections 3.3-3.8. ``side`` (yes/no) and ``action`` (buy/sell) are
deprecated but still sent; when a payload has only ``outcome_side`` the order is read as a
buy of that outcome, which is what it is economically on Kalshi (selling YES at p is
buying NO at 1-p: positions net per market).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.errors import ArbkitError, InvalidResponse
from arbkit.models import Balance, Fill, Order, OrderStatus, Position, Side, utcnow
from arbkit_kalshi.parse import EXCHANGE, obj, parse_time
from arbkit_kalshi.units import cents_to_dollars, number, read_count, read_dollars

__all__ = [
    "Settlement",
    "order_status",
    "parse_balance",
    "parse_fill",
    "parse_order",
    "parse_position",
    "parse_settlement",
]

ZERO = Decimal(0)
ONE = Decimal(1)

_ORDER_STATUS = {
    "resting": OrderStatus.OPEN,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "executed": OrderStatus.FILLED,
    "pending": OrderStatus.PENDING,
}


def _fail(message: str) -> InvalidResponse:
    return InvalidResponse(f"kalshi: {message}", exchange=EXCHANGE)


def order_status(raw: Any) -> OrderStatus:
    """Kalshi order status word -> neutral status; unknown words -> ``UNKNOWN``."""
    return (
        _ORDER_STATUS.get(raw.lower(), OrderStatus.UNKNOWN) if isinstance(raw, str) else OrderStatus.UNKNOWN
    )


def _outcome_and_side(data: Mapping[str, Any], what: str) -> tuple[str, Side]:
    side = data.get("side")
    action = data.get("action")
    if side in ("yes", "no") and action in ("buy", "sell"):
        return str(side), Side(action)
    outcome = data.get("outcome_side") or data.get("purchased_side")
    if outcome in ("yes", "no"):
        return str(outcome), Side.BUY
    book_side = data.get("book_side")
    if book_side in ("bid", "ask"):
        return ("yes" if book_side == "bid" else "no"), Side.BUY
    raise _fail(f"{what} has no side")


def _price(data: Mapping[str, Any], outcome: str, what: str) -> Decimal:
    price = read_dollars(data, f"{outcome}_price_dollars", f"{outcome}_price")
    if price is None:
        other = read_dollars(
            data,
            f"{'no' if outcome == 'yes' else 'yes'}_price_dollars",
            f"{'no' if outcome == 'yes' else 'yes'}_price",
        )
        if other is None:
            raise _fail(f"{what} has no price")
        price = ONE - other
    return price


def _id(data: Mapping[str, Any], *keys: str, what: str) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    raise _fail(f"{what} has no {keys[0]}")


def parse_order(body: Any) -> Order:
    """An ``Order`` (or ``{"order": ...}``) -> :class:`arbkit.models.Order`.

    ``average_price`` is the fill cost over the filled count, when the payload has both
    (whether Kalshi's fill costs are in the order's own price terms for sells is UNCERTAIN).
    """
    data = obj(body, "order")
    if "order" in data and isinstance(data.get("order"), Mapping):
        data = data["order"]
    order_id = _id(data, "order_id", what="order")
    outcome, side = _outcome_and_side(data, "order")
    try:
        filled = read_count(data, "fill_count_fp", "fill_count") or ZERO
        size = read_count(data, "initial_count_fp", "initial_count")
        if size is None:
            remaining = read_count(data, "remaining_count_fp", "remaining_count") or ZERO
            size = filled + remaining
        cost = sum(
            (
                read_dollars(data, f"{k}_fill_cost_dollars", f"{k}_fill_cost") or ZERO
                for k in ("taker", "maker")
            ),
            ZERO,
        )
        fees = sum(
            (read_dollars(data, f"{k}_fees_dollars", f"{k}_fees") or ZERO for k in ("taker", "maker")), ZERO
        )
        average = cost / filled if filled > 0 and cost > 0 else None
        if average is not None and not ZERO < average < ONE:
            average = None
        raw_status = data.get("status")
        client_id = data.get("client_order_id")
        return Order(
            exchange=EXCHANGE,
            id=order_id,
            market_id=_id(data, "ticker", "market_ticker", what="order"),
            outcome_id=outcome,
            side=side,
            price=_price(data, outcome, "order"),
            size=size,
            status=order_status(raw_status),
            filled_size=filled,
            average_price=average,
            fill_cost=cost if average is not None else None,  # exact, as the venue reported it
            fees=fees,
            client_order_id=client_id if isinstance(client_id, str) and client_id else None,
            raw_status=raw_status if isinstance(raw_status, str) else "",
            created_at=parse_time(data.get("created_time"), "created_time"),
        )
    except InvalidResponse:
        raise
    except (ArbkitError, TypeError, ValueError) as exc:
        raise _fail(f"order {order_id!r} is malformed: {exc}") from None


def parse_fill(body: Any) -> Fill:
    """A ``Fill`` payload -> :class:`arbkit.models.Fill`."""
    data = obj(body, "fill")
    outcome, side = _outcome_and_side(data, "fill")
    size = read_count(data, "count_fp", "count")
    if size is None:
        raise _fail("fill has no count")
    when = parse_time(data.get("created_time"), "created_time")
    if when is None and isinstance(data.get("ts"), int) and not isinstance(data.get("ts"), bool):
        try:
            when = datetime.fromtimestamp(data["ts"], UTC)
        except (ValueError, OverflowError, OSError):
            raise _fail("fill ts is out of range") from None
    fee = read_dollars(data, "fee_cost") or ZERO
    try:
        return Fill(
            exchange=EXCHANGE,
            order_id=_id(data, "order_id", what="fill"),
            market_id=_id(data, "ticker", "market_ticker", what="fill"),
            outcome_id=outcome,
            side=side,
            price=_price(data, outcome, "fill"),
            size=size,
            fee=fee,
            timestamp=when or utcnow(),
            fill_id=data.get("fill_id") or data.get("trade_id") or None,
            is_taker=bool(data.get("is_taker", True)),
        )
    except InvalidResponse:
        raise
    except (ArbkitError, TypeError, ValueError) as exc:
        raise _fail(f"fill is malformed: {exc}") from None


def parse_position(body: Any) -> Position | None:
    """A ``MarketPosition`` -> :class:`Position`: YES if the signed count > 0, NO if < 0, ``None`` if flat."""
    data = obj(body, "market_position")
    ticker = _id(data, "ticker", "market_ticker", what="market_position")
    signed = read_count(data, "position_fp", "position") or ZERO
    if signed == 0:
        return None
    exposure = read_dollars(data, "market_exposure_dollars", "market_exposure")
    size = abs(signed)
    average = exposure / size if exposure is not None and exposure > 0 else None
    try:
        return Position(
            exchange=EXCHANGE,
            market_id=ticker,
            outcome_id="yes" if signed > 0 else "no",
            size=size,
            average_price=average,
            cost=exposure,
        )
    except ArbkitError as exc:
        raise _fail(f"position in {ticker!r} is malformed: {exc}") from None


def parse_balance(body: Any) -> Balance:
    """``GET /portfolio/balance`` -> :class:`Balance` (cents -> dollars; ``balance_dollars`` preferred)."""
    data = obj(body, "balance response")
    available = read_dollars(data, "balance_dollars", "balance")
    if available is None:
        raise _fail("balance response has no balance")
    return Balance(exchange=EXCHANGE, available=available, total=None)


@attrs.frozen
class Settlement:
    """One settled market of the account (``GET /portfolio/settlements``); money in dollars."""

    ticker: str
    event_ticker: str | None
    market_result: str
    yes_count: Decimal
    no_count: Decimal
    yes_cost: Decimal
    no_cost: Decimal
    revenue: Decimal
    fee: Decimal
    settled_at: datetime | None
    value: Decimal | None = None


def parse_settlement(body: Any) -> Settlement:
    """A ``Settlement`` payload -> :class:`Settlement` (``revenue`` and ``value`` are integer cents)."""
    data = obj(body, "settlement")
    revenue = data.get("revenue")
    value = data.get("value")
    return Settlement(
        ticker=_id(data, "ticker", "market_ticker", what="settlement"),
        event_ticker=data.get("event_ticker") if isinstance(data.get("event_ticker"), str) else None,
        market_result=str(data.get("market_result") or ""),
        yes_count=read_count(data, "yes_count_fp", "yes_count") or ZERO,
        no_count=read_count(data, "no_count_fp", "no_count") or ZERO,
        yes_cost=read_dollars(data, "yes_total_cost_dollars", "yes_total_cost") or ZERO,
        no_cost=read_dollars(data, "no_total_cost_dollars", "no_total_cost") or ZERO,
        revenue=cents_to_dollars(number(revenue, "revenue")) if revenue is not None else ZERO,
        fee=read_dollars(data, "fee_cost") or ZERO,
        settled_at=parse_time(data.get("settled_time"), "settled_time"),
        value=cents_to_dollars(number(value, "value")) if value is not None else None,
    )
