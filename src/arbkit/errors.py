"""One error hierarchy for the whole library, rooted in :class:`ArbkitError`.

The names follow what ccxt users expect (``NetworkError``, ``RequestTimeout``,
``InsufficientFunds``, ...). Every exchange failure is mapped to one of these at the
adapter boundary, keeping the venue's own code and message on the exception.
Whether an error is worth retrying is decided in one place, :mod:`arbkit.retry`, which the
HTTP transport runs.

Errors caused by bad input (configuration, model values) also subclass
:class:`ValueError`, so ``except ValueError`` keeps working for callers that expect it.

Hierarchy::

    ArbkitError
    ├── ConfigError (ValueError)
    ├── ValidationError (ValueError)
    ├── UnknownExchangeError (LookupError)
    ├── TradeNotFound (LookupError)
    ├── ExchangeError
    │   ├── NetworkError
    │   │   ├── RequestTimeout
    │   │   ├── RateLimited
    │   │   ├── ExchangeUnavailable
    │   │   └── OutcomeUnknown
    │   ├── AuthenticationError
    │   ├── BadRequest
    │   ├── NotFound
    │   │   └── OrderNotFound
    │   ├── OrderRejected
    │   │   ├── InsufficientFunds
    │   │   └── MarketClosed
    │   └── InvalidResponse
    ├── RiskRejected
    └── PersistenceError
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

__all__ = [
    "ArbkitError",
    "AuthenticationError",
    "BadRequest",
    "ConfigError",
    "ExchangeError",
    "ExchangeUnavailable",
    "InsufficientFunds",
    "InvalidResponse",
    "MarketClosed",
    "NetworkError",
    "NotFound",
    "OrderNotFound",
    "OrderRejected",
    "OutcomeUnknown",
    "PersistenceError",
    "RateLimited",
    "RequestTimeout",
    "RiskRejected",
    "TradeNotFound",
    "UnknownExchangeError",
    "ValidationError",
]


class ArbkitError(Exception):
    """Base class of every error arbkit raises on purpose."""


class ConfigError(ArbkitError, ValueError):
    """A configuration value is missing or invalid.

    ``variable`` names the setting (for example ``LIVE_TRADING_MAX_DAILY_TRADES``); the
    message says what was wrong with it, never the value of a secret.
    """

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {message}" if variable else message)


class ValidationError(ArbkitError, ValueError):
    """A domain value is nonsense (negative size, price outside (0, 1), NaN, ...)."""


class UnknownExchangeError(ArbkitError, LookupError):
    """No installed plugin provides an exchange of that name."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        self.name = name
        self.available = tuple(available)
        listed = ", ".join(self.available) or "none"
        super().__init__(f"unknown exchange {name!r}; installed exchanges: {listed}")


class TradeNotFound(ArbkitError, LookupError):
    """No recorded trade has that id."""

    def __init__(self, trade_id: str) -> None:
        self.trade_id = trade_id
        super().__init__(f"no trade {trade_id!r} is recorded")


class ExchangeError(ArbkitError):
    """A request to an exchange failed.

    Attributes keep the context a caller needs to decide what to do: the exchange
    name, the HTTP status (if any), and the venue's own error code and message.
    """

    def __init__(
        self,
        message: str,
        *,
        exchange: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        venue_message: str | None = None,
    ) -> None:
        self.exchange = exchange
        self.status_code = status_code
        self.code = code
        self.venue_message = venue_message
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        context = []
        if self.exchange:
            context.append(self.exchange)
        if self.status_code is not None:
            context.append(f"HTTP {self.status_code}")
        if self.code:
            context.append(f"code={self.code}")
        return f"{text} [{', '.join(context)}]" if context else text


class NetworkError(ExchangeError):
    """The exchange could not be reached or did not answer properly.

    ``sent`` is ``False`` when the request certainly never reached the venue (the connection
    could not be made), ``None`` when that is not known.
    """

    def __init__(
        self,
        message: str,
        *,
        sent: bool | None = None,
        exchange: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        venue_message: str | None = None,
    ) -> None:
        self.sent = sent
        super().__init__(
            message, exchange=exchange, status_code=status_code, code=code, venue_message=venue_message
        )


class RequestTimeout(NetworkError):
    """The exchange did not answer within the timeout."""


class RateLimited(NetworkError):
    """The exchange asked us to slow down (HTTP 429). ``retry_after`` is in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: Decimal | None = None,
        exchange: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        venue_message: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message, exchange=exchange, status_code=status_code, code=code, venue_message=venue_message
        )


class ExchangeUnavailable(NetworkError):
    """The exchange refused service for now (maintenance, trading paused, 425/503)."""


class OutcomeUnknown(NetworkError):
    """A non-idempotent request (placing an order) may or may not have taken effect.

    Raised on a timeout, a dropped connection or a 5xx after the request was sent.
    Never re-send blindly: reconcile by client order id or order lookup first.
    """


class AuthenticationError(ExchangeError):
    """Credentials are missing, wrong, or the signature did not verify (401/403)."""


class BadRequest(ExchangeError, ValueError):
    """The exchange refused the request as malformed (HTTP 400 not about an order)."""


class NotFound(ExchangeError, LookupError):
    """The exchange has no such resource (HTTP 404)."""


class OrderNotFound(NotFound):
    """The exchange has no order with that id."""


class OrderRejected(ExchangeError):
    """The exchange refused an order; ``code`` and ``venue_message`` say why."""


class InsufficientFunds(OrderRejected):
    """Not enough balance (or allowance) for the order."""


class MarketClosed(OrderRejected):
    """The market is not open for trading."""


class InvalidResponse(ExchangeError):
    """The exchange answered with something that is not what its API promises."""


class RiskRejected(ArbkitError):
    """A risk policy refused a trade. ``reasons`` lists every failing policy's reason."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("; ".join(self.reasons) or "rejected by risk policy")


class PersistenceError(ArbkitError):
    """The trade store could not be read or written. Nothing stored was overwritten."""
