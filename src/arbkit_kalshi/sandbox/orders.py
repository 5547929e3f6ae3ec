"""Validation of ``CreateOrderRequest`` bodies the way Kalshi checks them (reference: kalshi.md 3.8).

Exactly one price field (yes or no, integer cents or ``*_dollars``; a cents/dollars twin
must agree), ``count`` and/or ``count_fp`` (equal if both), one of the three time-in-force
words or none (a resting good-till-canceled order), ``buy_max_cost`` in cents (which
implies fill-or-kill), ``expiration_ts`` in Unix seconds (not with IOC), ``client_order_id``
up to 64 characters. ``type`` is accepted and ignored; an old client's ``type: market``
is treated as immediate-or-cancel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from arbkit_kalshi.sandbox.engine import KalshiError, SbMarket, SbOrder

__all__ = ["TIME_IN_FORCE", "build_order", "decimal_param"]

ZERO = Decimal(0)
ONE = Decimal(1)
TIME_IN_FORCE = {None, "fill_or_kill", "immediate_or_cancel", "good_till_canceled"}


def decimal_param(value: Any, field: str) -> Decimal:
    """A request number as ``Decimal``, or a 400 ``invalid_parameters``."""
    if isinstance(value, bool) or value is None:
        raise KalshiError(400, "invalid_parameters", f"{field} must be a number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise KalshiError(400, "invalid_parameters", f"{field} must be a number") from None
    if not result.is_finite():
        raise KalshiError(400, "invalid_parameters", f"{field} must be finite")
    return result


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def build_order(
    body: Mapping[str, Any], account: str, market: SbMarket
) -> tuple[SbOrder, bool, Decimal | None]:
    """``(order, post_only, max_cost_dollars)`` from a create-order body, or a ``KalshiError``."""
    side, action = body.get("side"), body.get("action")
    if side not in ("yes", "no") or action not in ("buy", "sell"):
        raise KalshiError(400, "invalid_parameters", "side must be yes/no and action buy/sell")
    price = _price(body, str(side), market)
    count = _count(body, market)
    tif = body.get("time_in_force")
    if body.get("type") == "market" and tif is None:
        tif = "immediate_or_cancel"
    if tif not in TIME_IN_FORCE:
        raise KalshiError(400, "invalid_parameters", f"unsupported time_in_force {tif!r}")
    expiration = body.get("expiration_ts")
    if expiration is not None and (not _int(expiration) or tif == "immediate_or_cancel"):
        raise KalshiError(400, "invalid_parameters", "expiration_ts must be unix seconds, not with IOC")
    max_cost = body.get("buy_max_cost")
    if max_cost is not None:
        if not _int(max_cost) or max_cost <= 0 or action != "buy":
            raise KalshiError(400, "invalid_parameters", "buy_max_cost must be positive cents on a buy")
        tif = "fill_or_kill"  # "the order will automatically have Fill-or-Kill (FoK) behavior"
    client_id = body.get("client_order_id") or ""
    if not isinstance(client_id, str) or len(client_id) > 64:
        raise KalshiError(400, "invalid_parameters", "client_order_id must be at most 64 characters")
    order = SbOrder(
        order_id=str(uuid.uuid4()),
        account=account,
        ticker=market.ticker,
        side=str(side),
        action=str(action),
        yes_price=price if side == "yes" else ONE - price,
        count=count,
        client_order_id=client_id,
        time_in_force=tif,
        expiration_ts=expiration,
    )
    return order, bool(body.get("post_only")), None if max_cost is None else Decimal(max_cost) / 100


def _price(body: Mapping[str, Any], side: str, market: SbMarket) -> Decimal:
    found: dict[str, Decimal] = {}
    for outcome in ("yes", "no"):
        if body.get(f"{outcome}_price_dollars") is not None:
            found[outcome] = decimal_param(body[f"{outcome}_price_dollars"], f"{outcome}_price_dollars")
        if body.get(f"{outcome}_price") is not None:
            cents = body[f"{outcome}_price"]
            if not _int(cents):
                raise KalshiError(400, "invalid_parameters", f"{outcome}_price must be integer cents")
            value = Decimal(cents) / 100
            if outcome in found and found[outcome] != value:
                raise KalshiError(400, "invalid_parameters", f"{outcome}_price and its twin disagree")
            found[outcome] = value
    if len(found) != 1:
        raise KalshiError(400, "invalid_order", "give exactly one of yes_price or no_price")
    outcome, price = next(iter(found.items()))
    if outcome != side:
        price = ONE - price
    if not ZERO < price < ONE or price % market.tick != 0:
        raise KalshiError(400, "invalid_order", f"price {price} is not a valid tick in (0, 1)")
    return price


def _count(body: Mapping[str, Any], market: SbMarket) -> Decimal:
    values = []
    if body.get("count_fp") is not None:
        values.append(decimal_param(body["count_fp"], "count_fp"))
    if body.get("count") is not None:
        if not _int(body["count"]):
            raise KalshiError(400, "invalid_parameters", "count must be an integer")
        values.append(Decimal(body["count"]))
    if not values:
        raise KalshiError(400, "missing_parameters", "count is required")
    if len(values) == 2 and values[0] != values[1]:
        raise KalshiError(400, "invalid_parameters", "count and count_fp disagree")
    count = values[0]
    if count <= 0 or count != count.quantize(Decimal("0.01")):
        raise KalshiError(400, "invalid_parameters", "count must be positive with at most 2 decimals")
    if not market.fractional and count != count.to_integral_value():
        raise KalshiError(400, "invalid_parameters", "this market does not allow fractional contracts")
    return count
