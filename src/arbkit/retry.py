"""When a request is sent again: one policy, which the HTTP transport runs and ``is_retryable`` asks.

:class:`RetryPolicy` decides per failure whether the *same* request may be sent again and
how long to wait first. :class:`~arbkit.http.HttpTransport` runs it for every request it
sends, preparing and signing each attempt afresh (a retried signed request carries a new
timestamp). The rules:

* An idempotent request (GET, HEAD, OPTIONS, DELETE, PUT) is sent again after a timeout, a
  dropped connection, a 429 (waiting what ``Retry-After`` asks, capped) or a 5xx.
* A request that is not idempotent (a POST: an order) is sent again only when it certainly
  never left: the connection could not be made. Any other failure of a POST is left to the
  caller, above all :class:`~arbkit.errors.OutcomeUnknown` (it may have taken effect), which
  is never retryable: the caller reconciles first (the executor looks the order up by its
  client order id, then fences it by an identical re-send).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from arbkit.errors import (
    ExchangeError,
    ExchangeUnavailable,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
)

__all__ = ["DEFAULT_RETRY", "IDEMPOTENT_METHODS", "RETRY_STATUSES", "RetryPolicy", "is_retryable"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
#: HTTP statuses after which an idempotent request is worth sending again.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@attrs.frozen
class RetryPolicy:
    """``attempts`` sends at most; waits ``backoff`` x 2^(n-1) seconds, or what a 429 asks up to
    ``max_retry_after`` seconds."""

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    backoff: float = attrs.field(default=0.2, validator=attrs.validators.ge(0))
    max_retry_after: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))

    @staticmethod
    def retryable(error: BaseException) -> bool:
        """Whether the same request, sent later unchanged, may succeed (whatever its method)."""
        if isinstance(error, OutcomeUnknown):
            return False
        if isinstance(error, RequestTimeout | RateLimited | ExchangeUnavailable | NetworkError):
            return True
        return isinstance(error, ExchangeError) and error.status_code in RETRY_STATUSES

    def should_retry(self, method: str, error: BaseException, attempt: int) -> bool:
        """Whether attempt number ``attempt`` (1 = the first send), which failed with ``error``, is
        followed by another."""
        if attempt >= self.attempts or not self.retryable(error):
            return False
        if method.upper() in IDEMPOTENT_METHODS:
            return True
        # Not idempotent: only when nothing reached the venue (a connection never made).
        return isinstance(error, NetworkError) and error.sent is False

    def delay(self, error: BaseException, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return float(min(error.retry_after, Decimal(str(self.max_retry_after))))
        return float(self.backoff * (2 ** (attempt - 1)))


#: The policy every transport uses unless given another.
DEFAULT_RETRY = RetryPolicy()


def is_retryable(error: BaseException) -> bool:
    """Whether repeating the same request later may succeed without changing it.

    ``OutcomeUnknown`` is deliberately *not* retryable: the request may have taken effect,
    so the caller must reconcile first. The transport asks the same policy
    (:meth:`RetryPolicy.retryable`).
    """
    return DEFAULT_RETRY.retryable(error)
