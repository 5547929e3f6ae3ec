"""Kalshi error bodies -> the :mod:`arbkit.errors` hierarchy (reference: kalshi.md sections 3.1 and 6).

The real server wraps ``{"code", "message", "details"}`` in ``{"error": {...}}``; the spec shows
the inner object alone, and some clients saw ``{"error": "text"}`` or a top-level
``message``. All are accepted. The exact code strings are UNCERTAIN in the reference, so
the mapping keys on the HTTP status plus a substring of the code or message, as the
reference advises, not on exact codes. The venue's code and message are kept on the
exception.
"""

from __future__ import annotations

from typing import Any

from arbkit.errors import (
    AuthenticationError,
    BadRequest,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    MarketClosed,
    NotFound,
    OrderRejected,
)

__all__ = ["DEPRECATED_V1", "DeprecatedEndpoint", "deprecated_body", "error_fields", "map_error"]

#: The ``error.code`` of a retired V1 order write (kalshi.md 3.9).
DEPRECATED_V1 = "deprecated_v1_order_endpoint"


class DeprecatedEndpoint(OrderRejected):
    """Kalshi answered ``deprecated_v1_order_endpoint``: the request used a retired V1 write.

    A hard failure whatever the HTTP status (410 is documented; one report saw it in a 2xx
    body): nothing was placed, cancelled or amended, and re-sending the same request cannot help.
    """


# Substrings (lower case) that mark an order refusal rather than a malformed request.
_FUNDS = ("insufficient", "balance")
_CLOSED = (
    "market_closed",
    "market closed",
    "not_open",
    "not open",
    "market is closed",
    "trading_is_paused",
    "trading is paused",
    "inactive",
    "market_not_active",
)
_ORDER = ("order", "post_only", "post only", "fill_or_kill", "self_trade", "cross", "duplicate", "already")


def error_fields(payload: Any, text: str = "") -> tuple[str | None, str | None]:
    """``(code, message)`` from any of the error body shapes Kalshi has used."""
    code: str | None = None
    message: str | None = None
    if isinstance(payload, dict):
        inner = payload.get("error")
        if isinstance(inner, dict):
            code = _text(inner.get("code"))
            message = _text(inner.get("message")) or _text(inner.get("details"))
        elif isinstance(inner, str):
            message = inner
        code = code or _text(payload.get("code"))
        message = message or _text(payload.get("message")) or _text(payload.get("details"))
    if message is None and text.strip() and payload is None:
        message = text.strip()[:200]
    return code, message


def _text(value: Any) -> str | None:
    return value[:300] if isinstance(value, str) and value else None


def deprecated_body(payload: Any) -> bool:
    """Whether a response body (of any status) is the V1-retirement error."""
    code, _ = error_fields(payload)
    return code == DEPRECATED_V1


def map_error(status: int, payload: Any, text: str) -> ExchangeError | None:
    """The :data:`arbkit.http.ErrorMapper` of the Kalshi client.

    Returns ``None`` for 429 so that the transport's default builds
    :class:`~arbkit.errors.RateLimited` with the ``Retry-After`` header.
    """
    if status == 429:
        return None
    code, message = error_fields(payload, text)
    haystack = f"{code or ''} {message or ''}".lower()
    summary = message or code or f"HTTP {status}"
    kw: dict[str, Any] = {"exchange": "kalshi", "status_code": status, "code": code, "venue_message": message}
    if code == DEPRECATED_V1:
        return DeprecatedEndpoint(f"kalshi retired this endpoint (use the V2 order writes): {summary}", **kw)
    if status in (401, 403):
        return AuthenticationError(f"kalshi refused the credentials: {summary}", **kw)
    if status == 404:
        return NotFound(f"kalshi: not found: {summary}", **kw)
    if status in (400, 409, 422):
        if any(s in haystack for s in _FUNDS):
            return InsufficientFunds(f"kalshi: insufficient balance: {summary}", **kw)
        if any(s in haystack for s in _CLOSED):
            return MarketClosed(f"kalshi: market not open: {summary}", **kw)
        if status == 409 or any(s in haystack for s in _ORDER):
            return OrderRejected(f"kalshi refused the order: {summary}", **kw)
        return BadRequest(f"kalshi: bad request: {summary}", **kw)
    if status in (500, 502, 503, 504):
        return ExchangeUnavailable(f"kalshi: server error: {summary}", **kw)
    return None
