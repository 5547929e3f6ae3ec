"""Polymarket trading and account payloads -> arbkit models (reference polymarket.md 5.7-5.10).

Orders, fills, cancels, balance and positions; the CLOB's error bodies are mapped in
:mod:`arbkit_polymarket.errors` (a ``success: false`` order answer raises its
:func:`~arbkit_polymarket.errors.rejection`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from arbkit.errors import ArbkitError, ExchangeError
from arbkit.models import Balance, Fill, Order, OrderStatus, Position, Side, utcnow
from arbkit_polymarket.errors import rejection
from arbkit_polymarket.parse import EXCHANGE, invalid, obj, parse_time, seq, text
from arbkit_polymarket.units import from_base_units, number, opt_number

__all__ = [
    "parse_balance",
    "parse_cancel",
    "parse_open_order",
    "parse_order_page",
    "parse_positions",
    "parse_send_order",
    "parse_trades",
]

ZERO = Decimal(0)
_ORDER_STATUS = {
    "LIVE": OrderStatus.OPEN,
    "MATCHED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "CANCELLED": OrderStatus.CANCELED,
    "UNMATCHED": OrderStatus.CANCELED,
    "DELAYED": OrderStatus.PENDING,
    "INVALID": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
}


def _side(value: Any, what: str) -> Side:
    if isinstance(value, str) and value.upper() in ("BUY", "SELL"):
        return Side(value.lower())
    raise invalid(f"{what}: side {value!r} is not BUY or SELL")


def parse_send_order(
    payload: Any,
    *,
    order_id: str,
    market_id: str,
    outcome_id: str,
    side: Side,
    price: Decimal,
    size: Decimal,
    marketable: bool,
    client_order_id: str | None,
) -> Order:
    """The ``SendOrderResponse`` of ``POST /order`` for the order we signed.

    ``success: false`` (HTTP 200) raises :class:`OrderRejected`. ``makingAmount`` /
    ``takingAmount`` are decimal strings in pUSD and shares, ``""`` meaning 0
    [UNCERTAIN whether a resting GTC's immediate partial fill is reported here].
    """
    data = obj(payload, "order response")
    error = data.get("errorMsg")
    if data.get("success") is False or (isinstance(error, str) and error):
        raise rejection(str(error or "order not accepted"))
    raw = str(data.get("status") or "").lower()
    making = opt_number(data.get("makingAmount"), "makingAmount") or ZERO
    taking = opt_number(data.get("takingAmount"), "takingAmount") or ZERO
    shares, money = (taking, making) if side is Side.BUY else (making, taking)
    if raw == "live":
        status = OrderStatus.OPEN
    elif raw == "matched":
        if shares >= size:
            status = OrderStatus.FILLED
        else:  # a FOK/FAK's rest is killed; a GTC/GTD's rest keeps resting
            status = OrderStatus.CANCELED if marketable else OrderStatus.OPEN
    elif raw == "delayed":
        status = OrderStatus.PENDING  # sports taker delay: the result comes later
    elif raw == "unmatched":
        status = OrderStatus.CANCELED
    else:
        status = OrderStatus.UNKNOWN
    try:
        return Order(
            exchange=EXCHANGE,
            id=str(data.get("orderID") or order_id),
            market_id=market_id,
            outcome_id=outcome_id,
            side=side,
            price=price,
            size=size,
            status=status,
            filled_size=shares,
            average_price=(money / shares) if shares > 0 else None,
            fill_cost=money if shares > 0 and money > 0 else None,  # the matched pUSD, exactly
            client_order_id=client_order_id,
            raw_status=raw,
            created_at=utcnow(),
        )
    except ArbkitError as exc:
        raise invalid(f"order response: {exc}") from None


def parse_open_order(payload: Any, *, client_order_id: str | None = None) -> Order:
    """One ``OpenOrder`` (``GET /data/order/{id}`` or an element of ``/data/orders``)."""
    data = obj(payload, "open order")
    raw = str(data.get("status") or "")
    upper = raw.upper()
    status = _ORDER_STATUS.get(
        upper, OrderStatus.CANCELED if upper.startswith("CANCELED") else OrderStatus.UNKNOWN
    )
    size = number(data.get("original_size"), "original_size")
    matched = opt_number(data.get("size_matched"), "size_matched") or ZERO
    price = number(data.get("price"), "price")
    try:
        return Order(
            exchange=EXCHANGE,
            id=text(data, "id", "open order"),
            market_id=text(data, "market", "open order"),
            outcome_id=text(data, "asset_id", "open order"),
            side=_side(data.get("side"), "open order"),
            price=price,
            size=size,
            status=status,
            filled_size=matched,
            average_price=price if matched > 0 else None,
            client_order_id=client_order_id,
            raw_status=raw,
            created_at=parse_time(data.get("created_at")),
        )
    except ArbkitError as exc:
        raise invalid(f"open order: {exc}") from None


def parse_order_page(payload: Any) -> tuple[list[Any], str | None]:
    """A paginated CLOB envelope ``{limit, count, next_cursor, data}``; the cursor is ``None`` at ``LTE=``."""
    data = obj(payload, "page")
    cursor = data.get("next_cursor")
    items = list(seq(data.get("data", []), "page data"))
    if not isinstance(cursor, str) or not cursor or cursor == "LTE=":
        return items, None
    return items, cursor


def parse_trades(items: list[Any], *, owner: str, address: str) -> list[Fill]:
    """Our fills from ``Trade`` records: as taker the trade itself, as maker our ``maker_orders``.

    FAILED trades never settle and are skipped. Fees are not in the payload (the caller
    prices them from the market's schedule).
    """
    fills: list[Fill] = []
    address_l = address.lower()
    for raw in items:
        trade = obj(raw, "trade")
        if str(trade.get("status", "")).upper() == "FAILED":
            continue
        trade_id = text(trade, "id", "trade")
        when = parse_time(trade.get("match_time")) or utcnow()
        try:
            if str(trade.get("trader_side", "TAKER")).upper() == "TAKER":
                fills.append(
                    Fill(
                        exchange=EXCHANGE,
                        order_id=text(trade, "taker_order_id", "trade"),
                        market_id=text(trade, "market", "trade"),
                        outcome_id=text(trade, "asset_id", "trade"),
                        side=_side(trade.get("side"), "trade"),
                        price=number(trade.get("price"), "trade price"),
                        size=number(trade.get("size"), "trade size"),
                        timestamp=when,
                        fill_id=trade_id,
                        is_taker=True,
                    )
                )
                continue
            for maker_raw in seq(trade.get("maker_orders", []), "maker_orders"):
                maker = obj(maker_raw, "maker order")
                ours = maker.get("owner") == owner or str(maker.get("maker_address", "")).lower() == address_l
                if not ours:
                    continue
                fills.append(
                    Fill(
                        exchange=EXCHANGE,
                        order_id=text(maker, "order_id", "maker order"),
                        market_id=text(trade, "market", "trade"),
                        outcome_id=text(maker, "asset_id", "maker order"),
                        side=_side(maker.get("side"), "maker order"),
                        price=number(maker.get("price"), "maker price"),
                        size=number(maker.get("matched_amount"), "matched_amount"),
                        timestamp=when,
                        fill_id=f"{trade_id}:{maker.get('order_id')}",
                        is_taker=False,
                    )
                )
        except ArbkitError as exc:
            if isinstance(exc, ExchangeError):
                raise
            raise invalid(f"trade {trade_id}: {exc}") from None
    return fills


def parse_cancel(payload: Any, order_id: str) -> tuple[bool, str | None]:
    """``{"canceled": [...], "not_canceled": {id: reason}}`` -> (was it canceled, reason if not)."""
    data = obj(payload, "cancel response")
    canceled = seq(data.get("canceled") or [], "canceled")
    if order_id in canceled:
        return True, None
    not_canceled = data.get("not_canceled") or {}
    reason = not_canceled.get(order_id) if isinstance(not_canceled, Mapping) else None
    return False, str(reason) if reason else None


def parse_balance(payload: Any) -> Balance:
    """``/balance-allowance`` for COLLATERAL: ``balance`` in 10^6 base units of pUSD."""
    data = obj(payload, "balance-allowance")
    units = number(data.get("balance"), "balance")
    dollars = from_base_units(units)
    return Balance(exchange=EXCHANGE, available=dollars, total=dollars, currency="pUSD")


def parse_positions(payload: Any) -> list[Position]:
    """Data API ``/positions?user=`` rows ``{asset, conditionId, size, avgPrice, ...}`` [UNCERTAIN shape]."""
    positions = []
    for raw in seq(payload, "positions"):
        row = obj(raw, "position")
        size = number(row.get("size"), "position size")
        if size == 0:
            continue
        avg = opt_number(row.get("avgPrice"), "avgPrice")
        try:
            positions.append(
                Position(
                    exchange=EXCHANGE,
                    market_id=text(row, "conditionId", "position"),
                    outcome_id=text(row, "asset", "position"),
                    size=size,
                    average_price=avg,
                    cost=opt_number(row.get("initialValue"), "initialValue"),
                )
            )
        except ArbkitError as exc:
            raise invalid(f"position: {exc}") from None
    return positions
