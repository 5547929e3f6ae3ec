"""Validation of V2 order bodies the way Kalshi checks them (reference: kalshi.md 3.8, 4.5).

``CreateOrderV2Request``: ``ticker``, ``side`` (``bid``|``ask``), ``count`` (a fixed-point
count STRING, 0-2 decimals, >= 0.01), ``price`` (a dollar STRING, 2-4 decimals, on the
market's grid), ``time_in_force`` and ``self_trade_prevention_type`` are required, with the
SDK's strict types (a JSON number where a string is due is refused). ``reduce_only`` only with
immediate-or-cancel; ``expiration_time`` (Unix seconds) only with good-till-canceled. V1
fields (``action``, ``yes_price``, ``count_fp``, ``type``, ``buy_max_cost``, ``expiration_ts``...)
are refused rather than silently ignored, so a half-migrated client fails here as it would there
(UNCERTAIN: the real server may ignore unknown keys; refusing them is the safer test).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from arbkit_kalshi.sandbox.engine import KalshiError, SbMarket, SbOrder, on_grid

__all__ = [
    "STP",
    "TIME_IN_FORCE",
    "build_order",
    "count_param",
    "decimal_param",
    "price_param",
]

ZERO = Decimal(0)
TIME_IN_FORCE = frozenset({"fill_or_kill", "immediate_or_cancel", "good_till_canceled"})
STP = frozenset({"taker_at_cross", "maker"})
_CREATE_KEYS = frozenset(
    {
        "ticker",
        "client_order_id",
        "side",
        "count",
        "price",
        "expiration_time",
        "time_in_force",
        "post_only",
        "self_trade_prevention_type",
        "cancel_order_on_pause",
        "reduce_only",
        "subaccount",
        "order_group_id",
        "exchange_index",
    }
)
_PRICE = re.compile(r"^\d+\.\d{2,4}$|^\d+$")
_COUNT = re.compile(r"^\d+(\.\d{1,2})?$")


def decimal_param(value: Any, field: str) -> Decimal:
    """A control-surface number as ``Decimal`` (strings or numbers), or a 400 ``invalid_parameters``."""
    if isinstance(value, bool) or value is None:
        raise KalshiError(400, "invalid_parameters", f"{field} must be a number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise KalshiError(400, "invalid_parameters", f"{field} must be a number") from None
    if not result.is_finite():
        raise KalshiError(400, "invalid_parameters", f"{field} must be finite")
    return result


def price_param(value: Any, market: SbMarket, field: str = "price") -> Decimal:
    """A FixedPointDollars request string on the market's grid, or 400 ``invalid_price``."""
    if not isinstance(value, str) or not _PRICE.match(value):
        raise KalshiError(400, "invalid_parameters", f"{field} must be a dollar string with 2-4 decimals")
    price = Decimal(value)
    if not on_grid(market.bands, price):
        raise KalshiError(
            400,
            "invalid_price",
            f"{field} {value} is not a valid price for {market.ticker} ({market.price_level_structure})",
        )
    return price


def count_param(value: Any, field: str = "count", *, allow_zero: bool = False) -> Decimal:
    """A FixedPointCount request string (0-2 decimals, >= 0.01), or 400 ``invalid_order_size``."""
    if not isinstance(value, str) or not _COUNT.match(value):
        raise KalshiError(
            400, "invalid_order_size", f"{field} must be a count string with at most 2 decimals"
        )
    count = Decimal(value)
    if count < Decimal("0.01") and not (allow_zero and count == 0):
        raise KalshiError(400, "invalid_order_size", f"{field} must be at least 0.01")
    return count


def _bool(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise KalshiError(400, "invalid_parameters", f"{key} must be a boolean")
    return bool(value)


def build_order(body: Mapping[str, Any], account: str, market: SbMarket) -> tuple[SbOrder, bool, bool]:
    """``(order, post_only, reduce_only)`` from a ``CreateOrderV2Request``, or a ``KalshiError``."""
    unknown = sorted(set(body) - _CREATE_KEYS)
    if unknown:
        raise KalshiError(400, "invalid_parameters", f"not V2 order fields: {', '.join(unknown)}")
    side = body.get("side")
    if side not in ("bid", "ask"):
        raise KalshiError(400, "invalid_parameters", "side must be bid or ask (the YES book)")
    price = price_param(body.get("price"), market)
    count = count_param(body.get("count"))
    tif = body.get("time_in_force")
    if tif not in TIME_IN_FORCE:
        raise KalshiError(400, "invalid_parameters", f"time_in_force must be one of {sorted(TIME_IN_FORCE)}")
    stp = body.get("self_trade_prevention_type")
    if stp not in STP:
        raise KalshiError(
            400, "invalid_parameters", f"self_trade_prevention_type must be one of {sorted(STP)}"
        )
    expiration = body.get("expiration_time")
    if expiration is not None and (
        not isinstance(expiration, int) or isinstance(expiration, bool) or tif != "good_till_canceled"
    ):
        raise KalshiError(
            400, "invalid_parameters", "expiration_time is unix seconds, only with good_till_canceled"
        )
    reduce_only = _bool(body, "reduce_only")
    if reduce_only and tif != "immediate_or_cancel":
        raise KalshiError(400, "invalid_parameters", "reduce_only orders must be immediate_or_cancel")
    client_id = body.get("client_order_id")
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 64):
        raise KalshiError(
            400, "invalid_parameters", "client_order_id must be a string of at most 64 characters"
        )
    for key in ("subaccount", "exchange_index"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise KalshiError(400, "invalid_parameters", f"{key} must be an integer")
    if body.get("subaccount") not in (None, 0):
        raise KalshiError(400, "invalid_parameters", "the sandbox has only the primary subaccount 0")
    order = SbOrder(
        order_id=str(uuid.uuid4()),
        account=account,
        ticker=market.ticker,
        book=str(side),
        yes_price=price,
        count=count,
        client_order_id=client_id or "",
        time_in_force=str(tif),
        self_trade_prevention=str(stp),
        expiration_time=expiration,
        cancel_order_on_pause=_bool(body, "cancel_order_on_pause"),
        reduce_only=reduce_only,
    )
    return order, _bool(body, "post_only"), reduce_only
