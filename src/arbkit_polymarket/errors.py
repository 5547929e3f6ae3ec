"""Polymarket CLOB error bodies -> the :mod:`arbkit.errors` hierarchy (reference: polymarket.md 5.7, 9.3).

A business rejection arrives either as HTTP 200 ``{"success": false, "errorMsg": ...}`` (read
by :func:`arbkit_polymarket.parse_trading.parse_send_order`) or as a 4xx ``{"error": ...}``: both
become :class:`~arbkit.errors.OrderRejected` with the exchange's message
(:class:`~arbkit.errors.InsufficientFunds` for balance/allowance). 425/503 stay
:class:`~arbkit.errors.ExchangeUnavailable`, 429 :class:`~arbkit.errors.RateLimited` (the
transport reads ``Retry-After``), 401 :class:`~arbkit.errors.AuthenticationError`, and a 5xx
after a POST is :class:`~arbkit.errors.OutcomeUnknown` (decided by the transport).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbkit.errors import BadRequest, ExchangeError, InsufficientFunds, OrderRejected
from arbkit_polymarket.parse import EXCHANGE

__all__ = ["map_error", "rejection"]

_FUNDS_MARKERS = ("not enough balance", "allowance", "insufficient balance", "insufficient funds")


def _message(payload: Any, text_body: str) -> str:
    if isinstance(payload, Mapping):
        for key in ("error", "errorMsg", "message"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value[:300]
    if isinstance(payload, str) and payload:
        return payload[:300]
    return text_body.strip()[:300]


def rejection(message: str, status_code: int | None = None) -> OrderRejected:
    """The right :class:`OrderRejected` subclass for the CLOB's message."""
    lowered = message.lower()
    cls = InsufficientFunds if any(m in lowered for m in _FUNDS_MARKERS) else OrderRejected
    return cls(
        f"order rejected: {message}", exchange=EXCHANGE, status_code=status_code, venue_message=message
    )


def map_error(status: int, payload: Any, text_body: str) -> ExchangeError | None:
    """The transport's :data:`arbkit.http.ErrorMapper` for the CLOB.

    4xx bodies ``{"error": ...}`` about balances become :class:`InsufficientFunds`; other
    400s are :class:`BadRequest` carrying the venue message (the client turns a refused
    ``POST /order`` into :class:`OrderRejected`). Everything else keeps the transport's
    default mapping (401, 404, 425/503, 429 with ``Retry-After``, 5xx/OutcomeUnknown).
    """
    if status in (400, 409, 422):
        message = _message(payload, text_body)
        if any(m in message.lower() for m in _FUNDS_MARKERS):
            return rejection(message, status)
        return BadRequest(
            message or "bad request", exchange=EXCHANGE, status_code=status, venue_message=message
        )
    return None
