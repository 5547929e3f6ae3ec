"""A small threaded HTTP server on loopback that exchange sandboxes build on.

Each venue's sandbox is a :class:`SandboxApp` subclass: it adds its wire routes
to ``self.router`` and implements the control hooks (load a scenario, set a
book, resolve a market, dump state). This module supplies the rest, shared by
both venues so the executor tests treat them alike:

* HTTP/1.1 keep-alive (clients pool connections as they would against the real host);
* the fault plan (:mod:`arbkit.sandbox.faults`): latency, status codes before or after
  the request is handled, dropped connections;
* the control API under ``/_sandbox/``: ``POST /_sandbox/faults``, ``DELETE /_sandbox/faults``,
  ``GET /_sandbox/faults``, ``POST /_sandbox/scenario``, ``POST /_sandbox/book``,
  ``POST /_sandbox/resolve``, ``GET /_sandbox/state``, ``GET /_sandbox/requests``;
* a request counter per path (benchmarks report how many requests a scan used).

Only the standard library is used, so ``python -m arbkit_kalshi.sandbox`` works
from a bare install.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from arbkit.errors import ArbkitError
from arbkit.sandbox.faults import ORDER_KINDS, Fault, FaultPlan

__all__ = ["HttpError", "Request", "Response", "Router", "SandboxApp", "SandboxServer"]

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024


class _DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return str(o)
        return super().default(o)


class HttpError(Exception):
    """Raised by a handler to answer with ``status`` and a JSON ``payload``."""

    def __init__(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})
        super().__init__(f"HTTP {status}")


class Request:
    """One parsed request as a handler sees it."""

    def __init__(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> None:
        parts = urlsplit(target)
        self.method = method.upper()
        self.path = parts.path
        self.query_string = parts.query
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated query parameter, comma lists split."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out

    def json(self) -> Any:
        """The body decoded as JSON; ``HttpError(400)`` if it is not."""
        try:
            return json.loads(self.body or b"null", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, {"error": "Invalid JSON body"}) from None


class Response:
    """What a handler returns."""

    def __init__(
        self, status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        """A JSON response (Decimals are written as strings)."""
        body = json.dumps(payload, cls=_DecimalEncoder, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request, dict[str, str]], Response]


class Router:
    """Maps ``(method, path pattern)`` to handlers; ``{name}`` captures one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` on ``pattern`` (e.g. ``/markets/{ticker}``)."""
        regex = re.sub(
            r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")
        )
        self._routes.append((method.upper(), re.compile(f"^{regex}$"), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def decorate(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorate

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and path parameters for a request, ``None`` for 404, raising 405."""
        path_matched = False
        for route_method, regex, handler in self._routes:
            match = regex.match(path)
            if match:
                path_matched = True
                if route_method == method:
                    return handler, match.groupdict()
        if path_matched:
            raise HttpError(405, {"error": "method not allowed"})
        return None


class _Drop(Exception):
    """Close the connection without answering."""


class SandboxApp:
    """Base of a venue sandbox: routing, faults, control API and request accounting.

    Subclasses add wire routes in ``__init__`` and override the ``control_*`` hooks.
    ``self.lock`` serialises state changes; handlers run on server threads.
    """

    #: Name used in logs and the control API.
    venue = "sandbox"

    def __init__(self) -> None:
        self.router = Router()
        self.faults = FaultPlan()
        self.lock = threading.RLock()
        self.requests: Counter[str] = Counter()
        #: Requests whose handling has finished (answered or dropped), by ``"METHOD path"``:
        #: a test waits on this for a request still in flight (a latency fault) to land.
        self.handled: Counter[str] = Counter()
        self._add_control_routes()

    # -- hooks for subclasses -------------------------------------------------------------
    def not_found(self, request: Request) -> Response:
        """The venue's 404 body."""
        return Response.json({"error": "not found"}, 404)

    def error_response(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        """Turn an :class:`HttpError` into the venue's error response."""
        return Response.json(payload, status, headers)

    def fault_body(self, status: int, message: str) -> Any:
        """The body the venue would send with an injected ``status``."""
        return {"error": message}

    def control_scenario(self, data: Any) -> Any:
        """Load a scenario (markets, books, accounts); returns a summary."""
        raise HttpError(501, {"error": f"{self.venue} sandbox has no scenarios"})

    def control_book(self, data: Any) -> Any:
        """Replace the house liquidity of one market."""
        raise HttpError(501, {"error": f"{self.venue} sandbox cannot set books"})

    def control_resolve(self, data: Any) -> Any:
        """Resolve a market and settle positions."""
        raise HttpError(501, {"error": f"{self.venue} sandbox cannot resolve markets"})

    def control_state(self) -> Any:
        """Everything a test needs to check: balances, positions, orders."""
        return {}

    # -- order-level faults, for venue handlers ------------------------------------------------
    def order_fault(self, request: Request) -> Fault | None:
        """The pending order-level fault (reject/partial_fill/no_fill/insufficient) for this request."""
        return self.faults.take(ORDER_KINDS, request.method, request.path)

    # -- dispatch -------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        """Handle one request, applying transport faults. Raises ``_Drop`` to drop it."""
        control = request.path.startswith("/_sandbox/")
        if not control:
            self.requests[f"{request.method} {request.path}"] += 1
            delay = self.faults.latency_ms(request.method, request.path)
            if delay:
                time.sleep(delay / 1000)
            before = self.faults.take({"status", "drop"}, request.method, request.path)
            if before is not None:
                if before.kind == "drop":
                    raise _Drop
                return self._fault_response(before)
        response = self._route(request)
        if not control:
            after = self.faults.take({"status_after", "drop_after"}, request.method, request.path)
            if after is not None:
                if after.kind == "drop_after":
                    raise _Drop
                return self._fault_response(after)
        return response

    def _fault_response(self, fault: Fault) -> Response:
        headers = {}
        if fault.retry_after is not None:
            # Retry-After is whole seconds on the wire (RFC 9110); round up.
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return self.error_response(fault.status, self.fault_body(fault.status, fault.message), headers)

    def _route(self, request: Request) -> Response:
        try:
            found = self.router.resolve(request.method, request.path)
            if found is None:
                return self.not_found(request)
            handler, params = found
            return handler(request, params)
        except HttpError as exc:
            return self.error_response(exc.status, exc.payload, exc.headers)
        except ArbkitError as exc:
            return self.error_response(400, {"error": str(exc)})

    def _add_control_routes(self) -> None:
        r = self.router

        def add_fault(request: Request, _: dict[str, str]) -> Response:
            data = request.json()
            items = data if isinstance(data, list) else [data]
            added = [self.faults.add(Fault.from_json(item)).to_json() for item in items]
            return Response.json({"faults": added}, 201)

        def list_faults(request: Request, _: dict[str, str]) -> Response:
            return Response.json({"faults": [f.to_json() for f in self.faults.pending()]})

        def clear_faults(request: Request, _: dict[str, str]) -> Response:
            self.faults.clear()
            return Response.json({"faults": []})

        def scenario(request: Request, _: dict[str, str]) -> Response:
            with self.lock:
                return Response.json(self.control_scenario(request.json()))

        def book(request: Request, _: dict[str, str]) -> Response:
            with self.lock:
                return Response.json(self.control_book(request.json()))

        def resolve(request: Request, _: dict[str, str]) -> Response:
            with self.lock:
                return Response.json(self.control_resolve(request.json()))

        def state(request: Request, _: dict[str, str]) -> Response:
            with self.lock:
                return Response.json(self.control_state())

        def requests_seen(request: Request, _: dict[str, str]) -> Response:
            if request.method == "DELETE":
                self.requests.clear()
            return Response.json({"total": sum(self.requests.values()), "by_path": dict(self.requests)})

        r.add("POST", "/_sandbox/faults", add_fault)
        r.add("GET", "/_sandbox/faults", list_faults)
        r.add("DELETE", "/_sandbox/faults", clear_faults)
        r.add("POST", "/_sandbox/scenario", scenario)
        r.add("POST", "/_sandbox/book", book)
        r.add("POST", "/_sandbox/resolve", resolve)
        r.add("GET", "/_sandbox/state", state)
        r.add("GET", "/_sandbox/requests", requests_seen)
        r.add("DELETE", "/_sandbox/requests", requests_seen)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients wait
    # for the peer's delayed ACK (~40 ms per request on Linux loopback).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length else 0
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BODY:
            self._send(Response.json({"error": "bad Content-Length"}, 400))
            return
        body = self.rfile.read(size) if size else b""
        request = Request(self.command, self.path, dict(self.headers.items()), body)
        app = self.server.app
        try:
            response = app.dispatch(request)
        except _Drop:
            with app.lock:
                app.handled[f"{request.method} {request.path}"] += 1
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:  # a sandbox bug must answer 500, not hang the client
            log.exception("sandbox handler failed")
            response = Response.json({"error": "internal sandbox error"}, 500)
        with app.lock:
            app.handled[f"{request.method} {request.path}"] += 1
        with contextlib.suppress(OSError):  # the client may have timed out and gone
            self._send(response)

    def _send(self, response: Response) -> None:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        self.send_response(response.status, phrase)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or drop their end are normal in fault tests.
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class SandboxServer:
    """Runs a :class:`SandboxApp` on ``host:port`` in a background thread.

    ``port=0`` picks a free port. Use as a context manager::

        with SandboxServer(KalshiSandbox()) as server:
            client = KalshiClient(base_url=server.url + "/trade-api/v2")
    """

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server((host, port), app)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host = self._server.server_address[0]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # so stop() returns promptly
                name=f"{self.app.venue}-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
