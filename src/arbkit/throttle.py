"""Client-side rate limiting for the HTTP transport: token buckets chosen per request.

Both venues document their limits (kalshi.md section 6, polymarket.md section 9), and staying
under them is cheaper than being answered 429 and backing off. Each adapter describes its
venue's limits as :class:`Rule` s; a :class:`Throttle` built from them is handed to
:class:`arbkit.http.HttpTransport`, which takes a token from every bucket whose rule matches
before each attempt (a retry is a request too).

>>> throttle = Throttle([Rule(Limit(20, 1.0), methods=("GET",)), Rule(Limit(10, 1.0), path="/orders")])
>>> throttle.acquire("GET", "/markets")
0.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import attrs

__all__ = ["Limit", "Rule", "Throttle", "TokenBucket"]


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, holding at most ``capacity``.

    ``capacity`` defaults to one second's worth (at least one token).
    """

    def __init__(
        self,
        rate: float,
        *,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if capacity is not None and capacity <= 0:
            raise ValueError("capacity must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(rate, 1.0)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self, tokens: float = 1) -> float:
        """Take ``tokens``, waiting (outside the lock) until they are earned; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= tokens
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


@attrs.frozen
class Limit:
    """``requests`` per ``seconds``, with bursts of up to ``burst`` (default: ``requests``)."""

    requests: float = attrs.field(validator=attrs.validators.gt(0))
    seconds: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    burst: float | None = None

    def bucket(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> TokenBucket:
        """A fresh bucket enforcing this limit."""
        capacity = self.burst if self.burst is not None else self.requests
        return TokenBucket(self.requests / self.seconds, capacity=capacity, clock=clock, sleep=sleep)


def _methods(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(m.upper() for m in value)


@attrs.frozen
class Rule:
    """The requests a :class:`Limit` applies to.

    ``methods`` (upper case) and ``path`` narrow it: a ``path`` ending in ``/`` matches every
    path under it, any other matches exactly; ``""`` matches every path.
    """

    limit: Limit
    methods: tuple[str, ...] | None = attrs.field(default=None, converter=_methods)
    path: str = ""

    def matches(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` counts against this rule."""
        if self.methods is not None and method not in self.methods:
            return False
        if not self.path:
            return True
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))


class Throttle:
    """Every request takes a token (or ``cost`` tokens) from the bucket of each rule it matches."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rules = tuple(rules)
        self._buckets = [(rule, rule.limit.bucket(clock, sleep)) for rule in self.rules]

    def __repr__(self) -> str:
        return f"Throttle({len(self.rules)} rules)"

    def acquire(self, method: str, path: str, cost: float = 1) -> float:
        """Wait until ``method path`` may be sent; returns the seconds waited."""
        method = method.upper()
        return sum(bucket.acquire(cost) for rule, bucket in self._buckets if rule.matches(method, path))
