"""Client-side rate limiting to Kalshi's documented limits (reference: kalshi.md section 6).

Kalshi meters reads and writes separately; the Basic tier allows 20 reads and 10 writes
per second (order create/cancel/amend/decrease are writes). Staying under the limit is
cheaper than being answered 429 and backing off, so the client waits for a token before
each request. Higher tiers pass their own rates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import attrs

__all__ = ["BASIC", "RateLimit", "TokenBucket"]


@attrs.frozen
class RateLimit:
    """Requests per second allowed for reads and for writes."""

    reads_per_second: float = 20.0
    writes_per_second: float = 10.0


#: Kalshi's Basic tier (the default for a new API key).
BASIC = RateLimit()


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, bursts up to ``rate``."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if none is left; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
