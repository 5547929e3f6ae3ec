"""The HTTP transport every adapter shares.

One :class:`HttpTransport` per client wraps one ``requests.Session`` with:

* a connection pool sized for concurrent use (the executor sends legs in parallel);
* a default timeout of 10 s;
* retries by one policy (:class:`arbkit.retry.RetryPolicy`): exponential backoff for
  *idempotent* requests on 429/5xx and connection errors, honouring ``Retry-After``
  (capped so a venue cannot park us for minutes), and a POST sent again only when its
  connection could not be made;
* client-side rate limiting (:class:`arbkit.throttle.Throttle`, the venue's documented
  limits, configured by each adapter), waited for before every attempt;
* a signing hook (:class:`RequestSigner`) that sees the exact bytes that are sent, run
  for every attempt (a retried request carries a fresh signature and timestamp);
* mapping of every failure to :mod:`arbkit.errors`. A non-idempotent request that
  fails after it may have reached the venue raises :class:`~arbkit.errors.OutcomeUnknown`.

JSON numbers with a fraction are decoded as ``Decimal`` (``parse_float=Decimal``), so
a venue's ``0.03`` never passes through a float. Responses that are not the JSON the caller expects raise
:class:`~arbkit.errors.InvalidResponse`, never ``KeyError`` or ``ValueError``.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from arbkit.__about__ import __version__
from arbkit.errors import (
    AuthenticationError,
    BadRequest,
    ExchangeError,
    ExchangeUnavailable,
    InvalidResponse,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
)
from arbkit.retry import DEFAULT_RETRY, IDEMPOTENT_METHODS, RetryPolicy
from arbkit.throttle import Throttle

__all__ = [
    "DEFAULT_TIMEOUT",
    "ErrorMapper",
    "HttpTransport",
    "RequestSigner",
    "dumps",
    "parse_retry_after",
]

DEFAULT_TIMEOUT = 10.0
#: Statuses after which a POST may have been carried out: the outcome is unknown.
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})


class RequestSigner(Protocol):
    """Signs one request. Gets what is sent, returns the headers to add.

    ``path`` is the URL path without the query string (venues sign it that way);
    ``body`` is the exact byte string that goes on the wire (``b""`` for none).
    """

    def __call__(self, method: str, path: str, body: bytes) -> Mapping[str, str]: ...


#: Turns an error response into the right exception, or ``None`` to use the default
#: mapping by status code. Gets the status, the decoded JSON body (or ``None``) and
#: the response text.
ErrorMapper = Callable[[int, Any, str], ExchangeError | None]


def dumps(payload: Any) -> bytes:
    """Serialize a JSON body once, compactly, so the bytes signed are the bytes sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_retry_after(value: str | None) -> Decimal | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = Decimal(value)
    except InvalidOperation:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delta = (when - datetime.now(UTC)).total_seconds()
        return max(Decimal(0), Decimal(str(round(delta, 3))))
    if not seconds.is_finite() or seconds < 0:
        return None
    return seconds


class _SigningAuth(requests.auth.AuthBase):
    def __init__(self, signer: RequestSigner) -> None:
        self._signer = signer

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        path = urlsplit(request.url or "").path
        request.headers.update(self._signer(request.method or "GET", path, body))
        return request

    def __repr__(self) -> str:  # never show the signer, it holds keys
        return "<signing auth>"


class HttpTransport:
    """A pooled, retrying, signing HTTP client for one exchange's base URL.

    >>> t = HttpTransport("https://example.invalid/api", exchange="demo")
    >>> t.url("/markets")
    'https://example.invalid/api/markets'
    """

    def __init__(
        self,
        base_url: str,
        *,
        exchange: str,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        backoff_factor: float | None = None,
        max_retry_after: float | None = None,
        retry: RetryPolicy | None = None,
        pool_size: int = 32,
        signer: RequestSigner | None = None,
        error_mapper: ErrorMapper | None = None,
        session: requests.Session | None = None,
        credentials_hint: str = "",
        throttle: Throttle | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.exchange = exchange
        self.timeout = timeout
        self.signer = signer
        self.error_mapper = error_mapper
        #: The venue's rate limits, waited for before each attempt (``None``: unthrottled).
        self.throttle = throttle
        #: What to set when a signed request is made without credentials (the adapter's variables).
        self.credentials_hint = credentials_hint
        self._requests = 0
        self._lock = threading.Lock()
        policy = retry or DEFAULT_RETRY
        changes: dict[str, Any] = {}
        if max_retries is not None:
            changes["attempts"] = max_retries + 1
        if backoff_factor is not None:
            changes["backoff"] = backoff_factor
        if max_retry_after is not None:
            changes["max_retry_after"] = max_retry_after
        #: When a failed request is sent again (the one policy, :mod:`arbkit.retry`).
        self.retry = attrs.evolve(policy, **changes) if changes else policy
        self.session = session or requests.Session()
        # No retries below us: every attempt goes through request() and is signed afresh.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"User-Agent": f"arbkit/{__version__}", "Accept": "application/json"})

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r}, exchange={self.exchange!r})"

    @property
    def request_count(self) -> int:
        """Requests made through this transport (not counting automatic retries)."""
        return self._requests

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` under the base URL."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        signed: bool = False,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        cost: float = 1,
    ) -> Any:
        """Send one request and return its decoded JSON (``None`` for an empty body).

        ``signed=True`` runs the signer; it is an error to ask for it without one. ``cost`` is
        what each attempt takes from the throttle's buckets (a venue that bills a batch per item).
        """
        method = method.upper()
        body = dumps(json_body) if json_body is not None else None
        send_headers = dict(headers or {})
        if body is not None:
            send_headers["Content-Type"] = "application/json"
        auth = None
        if signed:
            if self.signer is None:
                hint = f": set {self.credentials_hint}" if self.credentials_hint else ""
                raise AuthenticationError(
                    f"this request needs credentials, and none were configured{hint}", exchange=self.exchange
                )
            auth = _SigningAuth(self.signer)
        with self._lock:
            self._requests += 1
        attempt = 1
        while True:
            if self.throttle is not None:
                self.throttle.acquire(method, path, cost)
            try:
                return self._send(method, path, params, body, send_headers, auth, timeout)
            except ExchangeError as exc:
                if not self.retry.should_retry(method, exc, attempt):
                    raise
                pause = self.retry.delay(exc, attempt)
            if pause > 0:
                time.sleep(pause)
            attempt += 1

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        body: bytes | None,
        headers: Mapping[str, str],
        auth: requests.auth.AuthBase | None,
        timeout: float | None,
    ) -> Any:
        """One attempt: prepared and signed now, sent, its answer decoded or mapped to an error."""
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                self.url(path),
                params=params,
                data=body,
                headers=dict(headers),
                auth=auth,
                timeout=timeout or self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise self._network_error(method, path, exc, time.monotonic() - started) from exc
        return self._handle(method, path, response)

    def get(self, path: str, **kw: Any) -> Any:
        """``request("GET", ...)``."""
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        """``request("POST", ...)``: never retried automatically."""
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        """``request("DELETE", ...)``."""
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    # -- internals -----------------------------------------------------------------------
    def _network_error(
        self, method: str, path: str, exc: requests.exceptions.RequestException, elapsed: float
    ) -> NetworkError:
        idempotent = method in IDEMPOTENT_METHODS
        where = f"{method} {path}"
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _never_connected(exc):
            # Nothing reached the venue: safe to say so, even for a POST.
            if _timed_out(exc):
                return RequestTimeout(f"{where}: connect timed out", exchange=self.exchange, sent=False)
            return NetworkError(f"{where}: could not connect", exchange=self.exchange, sent=False)
        if not idempotent:
            return OutcomeUnknown(
                f"{where}: no answer after sending ({type(exc).__name__}); the request may have taken effect",
                exchange=self.exchange,
            )
        if _timed_out(exc):
            return RequestTimeout(f"{where}: timed out after {elapsed:.1f}s", exchange=self.exchange)
        return NetworkError(f"{where}: {type(exc).__name__}", exchange=self.exchange)

    def _handle(self, method: str, path: str, response: requests.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json(parse_float=Decimal)
            except ValueError:
                raise InvalidResponse(
                    f"{method} {path}: response is not JSON", exchange=self.exchange, status_code=status
                ) from None
        try:
            payload: Any = response.json(parse_float=Decimal)
        except ValueError:
            payload = None
        text = response.text[:500]
        if self.error_mapper is not None:
            mapped = self.error_mapper(status, payload, text)
            if mapped is not None:
                _fill_context(mapped, self.exchange, status)
                if status in AMBIGUOUS_STATUSES and method not in IDEMPOTENT_METHODS:
                    raise OutcomeUnknown(
                        f"{method} {path}: HTTP {status} after sending; the request may have taken effect",
                        exchange=self.exchange,
                        status_code=status,
                        code=mapped.code,
                        venue_message=mapped.venue_message,
                    ) from mapped
                raise mapped
        raise self._default_error(method, path, status, payload, text, response)

    def _default_error(
        self,
        method: str,
        path: str,
        status: int,
        payload: Any,
        text: str,
        response: requests.Response,
    ) -> ExchangeError:
        message = _venue_message(payload) or text.strip()[:200] or response.reason or ""
        context: dict[str, Any] = {
            "exchange": self.exchange,
            "status_code": status,
            "venue_message": message or None,
        }
        where = f"{method} {path}"
        if status == 429:
            return RateLimited(
                f"{where}: rate limited",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                **context,
            )
        if status in (401, 403):
            return AuthenticationError(f"{where}: {message or 'not authorized'}", **context)
        if status == 404:
            return NotFound(f"{where}: not found", **context)
        if status in (425, 503):
            return ExchangeUnavailable(f"{where}: unavailable: {message}", **context)
        if status in AMBIGUOUS_STATUSES and method not in IDEMPOTENT_METHODS:
            return OutcomeUnknown(
                f"{where}: HTTP {status} after sending; the request may have taken effect", **context
            )
        if status >= 500:
            return ExchangeUnavailable(f"{where}: server error {status}", **context)
        if 400 <= status < 500:
            return BadRequest(f"{where}: {message or 'bad request'}", **context)
        return InvalidResponse(f"{where}: unexpected HTTP {status}", **context)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (requests and urllib3 nest errors in ``reason``/``args``)."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 12:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        for nested in (
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *(a for a in current.args if isinstance(a, BaseException)),
        ):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return found


def _never_connected(exc: requests.exceptions.RequestException) -> bool:
    return any(isinstance(c, NewConnectionError | ConnectTimeoutError) for c in _causes(exc))


def _timed_out(exc: requests.exceptions.RequestException) -> bool:
    return any(
        isinstance(c, requests.exceptions.Timeout | ReadTimeoutError | TimeoutError) for c in _causes(exc)
    )


def _venue_message(payload: Any) -> str | None:
    """The human message in a venue's error body, whatever its shape."""
    if isinstance(payload, dict):
        for key in ("error", "message", "errorMsg", "detail"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict):
                inner = _venue_message(value)
                if inner:
                    return inner
    return None


def _fill_context(error: ExchangeError, exchange: str, status: int) -> None:
    if error.exchange is None:
        error.exchange = exchange
    if error.status_code is None:
        error.status_code = status
