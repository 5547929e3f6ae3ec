"""One error hierarchy, named as ccxt users expect, with context kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

import arbkit
from arbkit import errors
from arbkit.retry import is_retryable


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.ConfigError, ValueError),
        (errors.ValidationError, ValueError),
        (errors.NetworkError, errors.ExchangeError),
        (errors.RequestTimeout, errors.NetworkError),
        (errors.RateLimited, errors.NetworkError),
        (errors.ExchangeUnavailable, errors.NetworkError),
        (errors.OutcomeUnknown, errors.NetworkError),
        (errors.InsufficientFunds, errors.OrderRejected),
        (errors.MarketClosed, errors.OrderRejected),
        (errors.OrderNotFound, errors.NotFound),
        (errors.InvalidResponse, errors.ExchangeError),
        (errors.AuthenticationError, errors.ExchangeError),
        (errors.RiskRejected, errors.ArbkitError),
        (errors.PersistenceError, errors.ArbkitError),
        (errors.ExchangeError, errors.ArbkitError),
    ],
)
def test_hierarchy(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


def test_every_public_error_is_exported_and_rooted() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.ArbkitError)
            assert getattr(arbkit, name) is obj


def test_exchange_error_keeps_venue_context() -> None:
    error = errors.OrderRejected(
        "order refused", exchange="kalshi", status_code=400, code="invalid_order", venue_message="bad price"
    )
    assert (error.exchange, error.status_code, error.code, error.venue_message) == (
        "kalshi",
        400,
        "invalid_order",
        "bad price",
    )
    assert str(error) == "order refused [kalshi, HTTP 400, code=invalid_order]"


def test_rate_limited_carries_retry_after() -> None:
    assert errors.RateLimited("slow down", retry_after=Decimal(2)).retry_after == Decimal(2)


def test_risk_rejected_lists_every_reason() -> None:
    error = errors.RiskRejected(["ROI 0.5% below 1%", "daily trades 10/10"])
    assert error.reasons == ("ROI 0.5% below 1%", "daily trades 10/10")
    assert "daily trades" in str(error)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (errors.RequestTimeout("t"), True),
        (errors.RateLimited("r"), True),
        (errors.ExchangeUnavailable("u"), True),
        (errors.OutcomeUnknown("maybe placed"), False),
        (errors.OrderRejected("no"), False),
        (errors.InsufficientFunds("poor"), False),
        (errors.AuthenticationError("who"), False),
        (ValueError("x"), False),
    ],
)
def test_retry_decision_lives_in_one_place(error: Exception, retryable: bool) -> None:
    assert is_retryable(error) is retryable
