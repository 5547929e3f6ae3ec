"""The shared transport against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from arbkit import (
    AuthenticationError,
    BadRequest,
    ExchangeError,
    ExchangeUnavailable,
    InvalidResponse,
    NetworkError,
    NotFound,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
    is_retryable,
)
from arbkit.http import HttpTransport, dumps, parse_retry_after
from arbkit.sandbox import Fault, Request, Response, SandboxApp, SandboxServer


class EchoApp(SandboxApp):
    venue = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []
        self.router.add("GET", "/items/{item}", self._item)
        self.router.add("POST", "/orders", self._order)
        self.router.add("DELETE", "/orders/{oid}", self._cancel)
        self.router.add("GET", "/garbage", lambda r, p: Response(200, b"<html>oops</html>"))
        self.router.add("GET", "/empty", lambda r, p: Response(204))
        self.router.add("GET", "/teapot", lambda r, p: Response.json({"error": "bad ticker"}, 400))
        self.router.add("GET", "/private", lambda r, p: Response.json({"error": "nope"}, 401))

    def _item(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json({"item": params["item"], "query": request.query_string})

    def _order(self, request: Request, params: dict[str, str]) -> Response:
        self.bodies.append(request.body)
        return Response.json(
            {"accepted": True, "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")}}
        )

    def _cancel(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json({"canceled": params["oid"]})


@pytest.fixture
def app() -> EchoApp:
    return EchoApp()


@pytest.fixture
def server(app: EchoApp) -> Iterator[SandboxServer]:
    with SandboxServer(app) as srv:
        yield srv


@pytest.fixture
def transport(server: SandboxServer) -> Iterator[HttpTransport]:
    t = HttpTransport(server.url, exchange="echo", backoff_factor=0, max_retry_after=0.5)
    yield t
    t.close()


def seen(app: EchoApp, key: str) -> int:
    return app.requests[key]


def test_get_decodes_json_and_counts_requests(transport: HttpTransport, app: EchoApp) -> None:
    assert transport.get("/items/7", params={"depth": 3}) == {"item": "7", "query": "depth=3"}
    assert transport.request_count == 1
    assert transport.get("/empty") is None


def test_retries_idempotent_request_on_429_honouring_retry_after(
    transport: HttpTransport, app: EchoApp
) -> None:
    app.faults.add(Fault("status", method="GET", path="/items/*", status=429, retry_after=Decimal(1)))
    started = time.monotonic()
    assert transport.get("/items/1")["item"] == "1"
    assert time.monotonic() - started >= 0.5  # waited as told (capped at 0.5 s here), not immediately
    assert seen(app, "GET /items/1") == 2
    assert transport.request_count == 1


def test_retry_after_is_capped(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("status", path="/items/*", status=503, retry_after=Decimal(3600)))
    started = time.monotonic()
    assert transport.get("/items/2")["item"] == "2"
    assert time.monotonic() - started < 30


def test_persistent_429_raises_rate_limited_with_retry_after(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("status", path="/items/*", status=429, retry_after=Decimal(0), times=None))
    with pytest.raises(RateLimited) as info:
        transport.get("/items/3")
    assert info.value.retry_after == Decimal(0)
    assert info.value.status_code == 429
    assert seen(app, "GET /items/3") == 4  # first try + 3 retries
    assert is_retryable(info.value)


def test_post_is_never_retried_and_5xx_means_outcome_unknown(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("status_after", method="POST", status=500))
    with pytest.raises(OutcomeUnknown) as info:
        transport.post("/orders", json_body={"size": "1"})
    assert seen(app, "POST /orders") == 1
    assert app.bodies == [b'{"size":"1"}']  # it was carried out: exactly why the caller must reconcile
    assert not is_retryable(info.value)


def test_post_429_is_not_retried(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("status", method="POST", status=429, retry_after=Decimal(0)))
    with pytest.raises(RateLimited):
        transport.post("/orders", json_body={})
    assert seen(app, "POST /orders") == 1
    assert app.bodies == []


def test_post_503_is_unavailable_not_unknown(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("status", method="POST", status=503))
    with pytest.raises(ExchangeUnavailable):
        transport.post("/orders", json_body={})
    assert seen(app, "POST /orders") == 1


def test_dropped_connection_after_post_is_outcome_unknown(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("drop_after", method="POST"))
    with pytest.raises(OutcomeUnknown):
        transport.post("/orders", json_body={"a": 1})
    assert len(app.bodies) == 1


def test_dropped_connection_on_get_is_retried(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("drop", method="GET"))
    assert transport.get("/items/9")["item"] == "9"


def test_timeout_maps_to_request_timeout(server: SandboxServer, app: EchoApp) -> None:
    app.faults.add(Fault("latency", delay_ms=400, times=None))
    t = HttpTransport(server.url, exchange="echo", timeout=0.1, max_retries=0)
    with pytest.raises(RequestTimeout):
        t.get("/items/1")
    with pytest.raises(OutcomeUnknown):
        t.post("/orders", json_body={})


def test_connection_refused_on_post_is_a_plain_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = HttpTransport(f"http://127.0.0.1:{port}", exchange="echo", max_retries=0)
    with pytest.raises(NetworkError) as info:
        t.post("/orders", json_body={})
    assert not isinstance(info.value, OutcomeUnknown)  # nothing was sent: safe to say so


def test_malformed_json_is_invalid_response(transport: HttpTransport) -> None:
    with pytest.raises(InvalidResponse):
        transport.get("/garbage")


@pytest.mark.parametrize(
    ("path", "error"),
    [("/private", AuthenticationError), ("/nowhere", NotFound), ("/teapot", BadRequest)],
)
def test_status_codes_map_to_the_hierarchy(
    transport: HttpTransport, path: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        transport.get(path)
    assert isinstance(info.value, ExchangeError)
    assert info.value.exchange == "echo"


def test_error_mapper_refines_venue_errors(server: SandboxServer) -> None:
    def mapper(status: int, payload: Any, text: str) -> ExchangeError | None:
        if status == 400 and isinstance(payload, dict):
            return OrderRejected("refused", code="bad_ticker", venue_message=payload.get("error"))
        return None

    t = HttpTransport(server.url, exchange="echo", error_mapper=mapper)
    with pytest.raises(OrderRejected) as info:
        t.get("/teapot")
    assert (info.value.code, info.value.venue_message, info.value.status_code) == (
        "bad_ticker",
        "bad ticker",
        400,
    )


def test_signer_sees_exact_body_and_path_without_query(server: SandboxServer, app: EchoApp) -> None:
    calls: list[tuple[str, str, bytes]] = []

    def signer(method: str, path: str, body: bytes) -> Mapping[str, str]:
        calls.append((method, path, body))
        return {"X-Signature": f"{method}:{path}:{len(body)}"}

    t = HttpTransport(server.url + "/", exchange="echo", signer=signer)
    answer = t.post("/orders", params={"q": "1"}, json_body={"price": "0.47", "name": "Zürich"}, signed=True)
    expected_body = dumps({"price": "0.47", "name": "Zürich"})
    assert calls == [("POST", "/orders", expected_body)]
    assert app.bodies == [expected_body]
    assert answer["headers"]["x-signature"] == f"POST:/orders:{len(expected_body)}"


def test_signed_request_without_signer_is_refused_before_sending(
    transport: HttpTransport, app: EchoApp
) -> None:
    with pytest.raises(AuthenticationError, match="credentials"):
        transport.post("/orders", json_body={}, signed=True)
    assert seen(app, "POST /orders") == 0


def test_delete_is_idempotent_and_retried(transport: HttpTransport, app: EchoApp) -> None:
    app.faults.add(Fault("status", method="DELETE", status=502))
    assert transport.delete("/orders/abc") == {"canceled": "abc"}
    assert seen(app, "DELETE /orders/abc") == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", Decimal(3)), ("0.5", Decimal("0.5")), (None, None), ("soon", None), ("-1", None)],
)
def test_parse_retry_after(header: str | None, expected: Decimal | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    value = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    assert value == Decimal(0)  # a date in the past means "now"


def test_repr_shows_no_signer(server: SandboxServer) -> None:
    t = HttpTransport(server.url, exchange="echo", signer=lambda m, p, b: {"k": "secret-sentinel"})
    assert "sentinel" not in repr(t)


def test_a_retried_signed_request_is_signed_again_with_a_fresh_timestamp(
    server: SandboxServer, app: EchoApp
) -> None:
    stamps = iter(range(1000))
    seen_headers: list[str] = []

    def signer(method: str, path: str, body: bytes) -> Mapping[str, str]:
        stamp = str(next(stamps))
        seen_headers.append(stamp)
        return {"X-Timestamp": stamp}

    app.faults.add(Fault("status", method="GET", path="/items/*", status=503))
    t = HttpTransport(server.url, exchange="echo", signer=signer, backoff_factor=0)
    assert t.get("/items/3", signed=True)["item"] == "3"
    assert seen_headers == ["0", "1"]  # each attempt signed when it was sent
    assert seen(app, "GET /items/3") == 2


def test_one_policy_decides_what_is_sent_again() -> None:
    from arbkit.retry import RetryPolicy

    policy = RetryPolicy(attempts=3)
    unavailable = ExchangeUnavailable("x", status_code=503)
    never_connected = NetworkError("x", sent=False)
    maybe_sent = NetworkError("x")
    assert policy.should_retry("GET", unavailable, 1)
    assert not policy.should_retry("GET", unavailable, 3)  # attempts spent
    assert not policy.should_retry("POST", unavailable, 1)  # an order may have been taken
    assert not policy.should_retry("POST", OutcomeUnknown("x"), 1)
    assert policy.should_retry("POST", never_connected, 1)  # nothing left the machine
    assert not policy.should_retry("POST", maybe_sent, 1)
    assert not policy.should_retry("GET", BadRequest("x", status_code=400), 1)
    assert policy.delay(RateLimited("x", retry_after=Decimal(99)), 1) == policy.max_retry_after
    assert is_retryable(unavailable)
    assert not is_retryable(OutcomeUnknown("x"))
