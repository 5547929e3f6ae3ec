"""Kalshi's documented rate limits as rules of the core's throttle (reference: kalshi.md section 6).

Kalshi meters reads and writes separately; the Basic tier allows 20 reads and 10 writes
per second of default-cost requests (order create/cancel/amend/decrease are writes; a batch
bills per item, which the client passes as the request's cost). The transport waits for a
token before each attempt (:mod:`arbkit.throttle`); higher tiers pass their own rates.
"""

from __future__ import annotations

import attrs

from arbkit.throttle import Limit, Rule, Throttle

__all__ = ["BASIC", "RateLimit", "throttle"]


@attrs.frozen
class RateLimit:
    """Requests per second allowed for reads and for writes (the account's tier)."""

    reads_per_second: float = 20.0
    writes_per_second: float = 10.0


#: Kalshi's Basic tier (the default for a new API key).
BASIC = RateLimit()

_READS = ("GET", "HEAD")
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def throttle(limit: RateLimit) -> Throttle:
    """The transport's throttle for an account of tier ``limit``: one bucket for reads, one for writes."""
    return Throttle(
        [
            Rule(Limit(limit.reads_per_second), methods=_READS),
            Rule(Limit(limit.writes_per_second), methods=_WRITES),
        ]
    )
