"""Kalshi's fee formula on the reference's worked examples, and error bodies mapped to arbkit errors."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from arbkit.engine.fees import QuadraticFee
from arbkit.errors import (
    AuthenticationError,
    BadRequest,
    ExchangeUnavailable,
    InsufficientFunds,
    MarketClosed,
    NotFound,
    OrderRejected,
)
from arbkit_kalshi.errors import error_fields, map_error
from arbkit_kalshi.parse import EventData, event_fees, fee_schedule


@pytest.mark.parametrize(
    ("count", "price", "fee"),
    [  # kalshi.md section 5 and the section 10 order example
        (10, "0.50", "0.18"),
        (1, "0.50", "0.02"),
        (100, "0.50", "1.75"),
        (4, "0.49", "0.07"),
    ],
)
def test_taker_fee_rounds_up_to_the_cent(count: int, price: str, fee: str) -> None:
    schedule = fee_schedule("quadratic")
    assert schedule is not None
    assert schedule.fee(D(price), D(count)) == D(fee)


def test_maker_fees_only_on_series_that_charge_them() -> None:
    plain, makers, combo = (
        fee_schedule(t) for t in ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees")
    )
    assert plain is not None
    assert makers is not None
    assert combo is not None
    assert plain.fee(D("0.5"), D(100), taker=False) == 0
    assert makers.fee(D("0.5"), D(100), taker=False) == D("0.44")  # ceil(0.0175*100*0.25)
    assert combo.fee(D("0.5"), D(100), taker=False) == D("0.88")  # ceil(0.035*100*0.25)


def test_series_multiplier_and_event_override() -> None:
    half = fee_schedule("quadratic", D("0.5"))
    assert half is not None
    assert half.fee(D("0.5"), D(100)) == D("0.88")
    event = EventData("E", "S", "", "", None, None, D("2"))
    doubled = event_fees(event, {"S": fee_schedule("quadratic")})
    assert isinstance(doubled, QuadraticFee)
    assert doubled.fee(D("0.5"), D(100)) == D("3.50")
    retyped = event_fees(
        EventData("E", "S", "", "", None, "quadratic_with_maker_fees", None), {"S": fee_schedule("quadratic")}
    )
    assert retyped is not None
    assert retyped.fee(D("0.5"), D(100), taker=False) == D("0.44")


def test_flat_or_unknown_fee_types_are_unknown_fees() -> None:
    assert fee_schedule("flat") is None
    assert fee_schedule("something_new") is None


def test_fee_is_rounded_once_per_order_across_levels() -> None:
    schedule = fee_schedule("quadratic")
    assert schedule is not None
    # Two fills of 0.0875 each would round to 0.09 + 0.09; one order pays ceil(0.175) = 0.18.
    assert schedule.order_fee([(D("0.5"), D(5)), (D("0.5"), D(5))]) == D("0.18")


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (
            400,
            {"error": {"code": "insufficient_balance", "message": "Insufficient balance"}},
            InsufficientFunds,
            "insufficient_balance",
        ),
        (
            409,
            {"error": {"code": "insufficient_balance", "message": "x"}},
            InsufficientFunds,
            "insufficient_balance",
        ),
        (
            400,
            {"error": {"code": "market_closed", "message": "Market is closed"}},
            MarketClosed,
            "market_closed",
        ),
        (400, {"code": "trading_is_paused", "message": "paused"}, MarketClosed, "trading_is_paused"),
        (
            409,
            {"error": {"code": "order_already_exists", "message": "dup"}},
            OrderRejected,
            "order_already_exists",
        ),
        (
            400,
            {"error": {"code": "post_only_cross", "message": "would cross"}},
            OrderRejected,
            "post_only_cross",
        ),
        (
            400,
            {"error": {"code": "invalid_parameters", "message": "limit"}},
            BadRequest,
            "invalid_parameters",
        ),
        (
            401,
            {"error": {"code": "authentication_error", "message": "bad sig"}},
            AuthenticationError,
            "authentication_error",
        ),
        (403, {"error": {"code": "forbidden", "message": "read-only key"}}, AuthenticationError, "forbidden"),
        (404, {"error": {"code": "not_found", "message": "no such order"}}, NotFound, "not_found"),
        (
            503,
            {"error": {"code": "service_unavailable", "message": "maintenance"}},
            ExchangeUnavailable,
            "service_unavailable",
        ),
    ],
)
def test_error_bodies_map_to_the_hierarchy_keeping_code_and_message(
    status: int, body: dict[str, Any], cls: type[Exception], code: str
) -> None:
    error = map_error(status, body, "")
    assert type(error) is cls
    assert error is not None
    assert error.code == code
    assert error.status_code == status
    assert error.venue_message


def test_rate_limits_are_left_to_the_transport_for_retry_after() -> None:
    assert map_error(429, {"error": {"code": "too_many_requests"}}, "") is None


def test_every_error_body_shape_is_read() -> None:
    assert error_fields({"error": {"code": "c", "message": "m", "details": "d"}}) == ("c", "m")
    assert error_fields({"error": {"code": "c", "details": "d"}}) == ("c", "d")
    assert error_fields({"error": "plain text"}) == (None, "plain text")
    assert error_fields({"code": "c", "message": "m"}) == ("c", "m")
    assert error_fields(None, "<html>bad gateway</html>") == (None, "<html>bad gateway</html>")
