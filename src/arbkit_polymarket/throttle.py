"""Polymarket's documented rate limits as rules of the core's throttle (reference: polymarket.md 9.1, 9.2).

Cloudflare meters every host per IP in 10-second (and, for trading, 10-minute) windows, and the
CLOB meters orders and cancels per signer in token buckets by volume tier. The rules below
take the older, lower trading figures the reference says to plan for; the transport waits
for a token before each attempt (:mod:`arbkit.throttle`), so the client stays under them
instead of being throttled or answered 429. Higher tiers pass their own :class:`RateLimit`.
"""

from __future__ import annotations

import attrs

from arbkit.throttle import Limit, Rule, Throttle

__all__ = ["STANDARD", "RateLimit", "clob_throttle", "data_throttle", "gamma_throttle"]

_TEN_S = 10.0
_TEN_MIN = 600.0


@attrs.frozen
class RateLimit:
    """The per-signer order and cancel buckets of the account's tier (orders/s and burst)."""

    orders_per_second: float = 40.0
    order_burst: float = 60.0
    cancels_per_second: float = 80.0
    cancel_burst: float = 120.0


#: The Standard tier (every account below $30k of 30-day volume).
STANDARD = RateLimit()


def _per_10s(requests: float, *, methods: tuple[str, ...] | None = None, path: str = "") -> Rule:
    return Rule(Limit(requests, _TEN_S), methods=methods, path=path)


def clob_throttle(limit: RateLimit) -> Throttle:
    """The CLOB host's limits: general, books, orders and cancels, account reads."""
    return Throttle(
        [
            _per_10s(9_000),
            _per_10s(1_500, methods=("GET",), path="/book"),
            _per_10s(500, methods=("POST",), path="/books"),
            _per_10s(3_500, methods=("POST",), path="/order"),
            Rule(Limit(36_000, _TEN_MIN), methods=("POST",), path="/order"),
            Rule(Limit(limit.orders_per_second, burst=limit.order_burst), methods=("POST",), path="/order"),
            _per_10s(3_000, methods=("DELETE",), path="/order"),
            Rule(Limit(30_000, _TEN_MIN), methods=("DELETE",), path="/order"),
            Rule(
                Limit(limit.cancels_per_second, burst=limit.cancel_burst), methods=("DELETE",), path="/order"
            ),
            _per_10s(200, methods=("GET",), path="/balance-allowance"),
            _per_10s(500, path="/data/orders"),
            _per_10s(500, path="/data/trades"),
            _per_10s(900, methods=("GET",), path="/data/order/"),
            _per_10s(100, path="/auth/"),
        ]
    )


def gamma_throttle() -> Throttle:
    """Gamma's limits: general, ``/events`` (and its pages) and ``/markets``."""
    return Throttle(
        [
            _per_10s(4_000),
            _per_10s(500, path="/events"),
            _per_10s(500, path="/events/"),
            _per_10s(300, path="/markets"),
        ]
    )


def data_throttle() -> Throttle:
    """The Data API's limits: general and ``/positions``."""
    return Throttle([_per_10s(1_000), _per_10s(150, path="/positions")])
