"""Kalshi portfolio payloads -> core models: orders, fills, positions, balance, settlements.

Reference: kalshi.md sections 3.3-3.8, current (2026-12) fields only: ``*_dollars`` and
``*_fp`` strings, ``book_side``/``outcome_side``. The deprecated ``side``/``action`` and the
integer fields removed in 2026 are never read. An order or fill is a bid or ask on the YES
book; without the caller's :class:`Intent` it reads as a buy of the outcome it adds, which is
what it is economically (selling YES at p is buying NO at 1-p: positions net per market).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.errors import ArbkitError, InvalidResponse
from arbkit.models import Balance, Fill, Order, OrderStatus, Position, Side, utcnow
from arbkit_kalshi.grid import outcome_terms
from arbkit_kalshi.parse import EXCHANGE, obj, parse_time
from arbkit_kalshi.units import cents_to_dollars, number, read_count, read_dollars


@attrs.frozen
class Intent:
    """What the caller asked for, to report a YES-book order in the caller's terms.

    Kalshi's V2 orders only say ``bid``/``ask`` at a YES price: "sell YES at 0.40" and
    "buy NO at 0.60" are the same order there. The client remembers the intent of the
    orders it sent; orders it did not send read as a buy of the outcome they add.
    """

    outcome: str
    side: Side


__all__ = [
    "Intent",
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


def _book_side(data: Mapping[str, Any], what: str) -> str:
    """``bid`` or ``ask`` from ``book_side`` (else ``outcome_side``: yes = bid, no = ask).

    The deprecated ``side``/``action`` are never read: on V2-placed orders ``side`` says
    ``"yes"`` whatever the order is (kalshi.md 3.7).
    """
    book_side = data.get("book_side")
    if book_side in ("bid", "ask"):
        return str(book_side)
    outcome = data.get("outcome_side")
    if outcome in ("yes", "no"):
        return "bid" if outcome == "yes" else "ask"
    raise _fail(f"{what} has no book_side")


def _terms(book_side: str, yes_price: Decimal, intent: Intent | None) -> tuple[str, Side, Decimal]:
    """``(outcome, side, price)`` in the caller's terms if known, else as a buy of the outcome held."""
    outcome = intent.outcome if intent is not None else ("yes" if book_side == "bid" else "no")
    side, price = outcome_terms(book_side, yes_price, outcome)
    return outcome, side, price


def _yes_price(data: Mapping[str, Any], what: str) -> Decimal:
    price = read_dollars(data, "yes_price_dollars")
    if price is None:
        other = read_dollars(data, "no_price_dollars")
        if other is None:
            raise _fail(f"{what} has no yes_price_dollars")
        price = ONE - other
    return price


def _id(data: Mapping[str, Any], *keys: str, what: str) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    raise _fail(f"{what} has no {keys[0]}")


def parse_order(body: Any, intent: Intent | None = None) -> Order:
    """An ``Order`` (or ``{"order": ...}``) -> :class:`arbkit.models.Order`, V2 fields only.

    The order's outcome, side and price are in ``intent``'s terms when given (see
    :class:`Intent`). Fill costs are read in the terms of the outcome the order adds
    (``outcome_side``: YES for a bid, NO for an ask; UNCERTAIN in the reference, which
    shows only a bid), so ``average_price`` is converted like the limit price.
    """
    data = obj(body, "order")
    if "order" in data and isinstance(data.get("order"), Mapping):
        data = data["order"]
    order_id = _id(data, "order_id", what="order")
    book_side = _book_side(data, "order")
    try:
        yes_price = _yes_price(data, "order")
        outcome, side, price = _terms(book_side, yes_price, intent)
        filled = read_count(data, "fill_count_fp") or ZERO
        size = read_count(data, "initial_count_fp")
        if size is None:
            remaining = read_count(data, "remaining_count_fp") or ZERO
            size = filled + remaining
        cost = sum((read_dollars(data, f"{k}_fill_cost_dollars") or ZERO for k in ("taker", "maker")), ZERO)
        fees = sum((read_dollars(data, f"{k}_fees_dollars") or ZERO for k in ("taker", "maker")), ZERO)
        average = cost / filled if filled > 0 and cost > 0 else None
        if average is not None and not ZERO < average < ONE:
            average = None
        fill_cost = None
        if average is not None:
            held = "yes" if book_side == "bid" else "no"
            average = average if held == outcome else ONE - average
            fill_cost = cost if held == outcome else filled - cost  # exact, in the same terms
        raw_status = data.get("status")
        client_id = data.get("client_order_id")
        return Order(
            exchange=EXCHANGE,
            id=order_id,
            market_id=_id(data, "ticker", what="order"),
            outcome_id=outcome,
            side=side,
            price=price,
            size=size,
            status=order_status(raw_status),
            filled_size=filled,
            average_price=average,
            fill_cost=fill_cost,
            fees=fees,
            client_order_id=client_id if isinstance(client_id, str) and client_id else None,
            raw_status=raw_status if isinstance(raw_status, str) else "",
            created_at=parse_time(data.get("created_time"), "created_time"),
        )
    except InvalidResponse:
        raise
    except (ArbkitError, TypeError, ValueError) as exc:
        raise _fail(f"order {order_id!r} is malformed: {exc}") from None


def parse_fill(body: Any, intent: Intent | None = None) -> Fill:
    """A ``Fill`` payload -> :class:`arbkit.models.Fill` (``book_side`` and ``yes_price_dollars``)."""
    data = obj(body, "fill")
    book_side = _book_side(data, "fill")
    size = read_count(data, "count_fp")
    if size is None:
        raise _fail("fill has no count_fp")
    when = parse_time(data.get("created_time"), "created_time")
    if when is None and isinstance(data.get("ts"), int) and not isinstance(data.get("ts"), bool):
        try:
            when = datetime.fromtimestamp(data["ts"], UTC)
        except (ValueError, OverflowError, OSError):
            raise _fail("fill ts is out of range") from None
    fee = read_dollars(data, "fee_cost") or ZERO
    try:
        outcome, side, price = _terms(book_side, _yes_price(data, "fill"), intent)
        return Fill(
            exchange=EXCHANGE,
            order_id=_id(data, "order_id", what="fill"),
            market_id=_id(data, "ticker", "market_ticker", what="fill"),
            outcome_id=outcome,
            side=side,
            price=price,
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
    signed = read_count(data, "position_fp") or ZERO
    if signed == 0:
        return None
    exposure = read_dollars(data, "market_exposure_dollars")
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
    """``GET /portfolio/balance`` -> :class:`Balance` from ``balance_dollars`` (``balance`` truncates)."""
    data = obj(body, "balance response")
    available = read_dollars(data, "balance_dollars")
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
        yes_count=read_count(data, "yes_count_fp") or ZERO,
        no_count=read_count(data, "no_count_fp") or ZERO,
        yes_cost=read_dollars(data, "yes_total_cost_dollars") or ZERO,
        no_cost=read_dollars(data, "no_total_cost_dollars") or ZERO,
        revenue=cents_to_dollars(number(revenue, "revenue")) if revenue is not None else ZERO,
        fee=read_dollars(data, "fee_cost") or ZERO,
        settled_at=parse_time(data.get("settled_time"), "settled_time"),
        value=cents_to_dollars(number(value, "value")) if value is not None else None,
    )
