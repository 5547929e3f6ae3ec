"""The Kalshi sandbox app: Trade API v2 routes under ``/trade-api/v2``, signature checks, control.

See :mod:`arbkit_kalshi.sandbox` for the scenario format and the control surface.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from arbkit.sandbox import HttpError, Request, Response, SandboxApp
from arbkit_kalshi.sandbox.engine import (
    HOUSE,
    MARKET_STATUSES,
    STRUCTURES,
    Account,
    Engine,
    KalshiError,
    SbMarket,
    SbOrder,
)
from arbkit_kalshi.sandbox.orders import build_order, count_param, decimal_param, price_param
from arbkit_kalshi.sandbox.verify import load_public_pem, signed_text, verify
from arbkit_kalshi.sandbox.wire import (
    balance_json,
    count,
    error_json,
    event_position_json,
    fill_json,
    market_json,
    money,
    order_json,
    orderbook_json,
    position_json,
    settlement_json,
    trade_json,
)

__all__ = ["PREFIX", "KalshiSandbox"]

PREFIX = "/trade-api/v2"
# The request headers (kalshi.md 2), spelled here so the sandbox shares nothing with the client.
KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"
#: The body of every retired V1 order write (kalshi.md 3.9), exactly.
V1_GONE = {
    "error": {
        "code": "deprecated_v1_order_endpoint",
        "message": "Please switch to the V2 endpoints",
        "details": "https://docs.kalshi.com/api-reference/orders/create-order-v2",
    }
}
V2 = "/portfolio/events/orders"
# Fields Kalshi removed from Market in 2026 (kalshi.md 4.2): never echoed from a scenario.
_REMOVED_MARKET_KEYS = frozenset(
    {
        "yes_bid",
        "yes_ask",
        "no_bid",
        "no_ask",
        "last_price",
        "previous_yes_bid",
        "previous_yes_ask",
        "previous_price",
        "notional_value",
        "settlement_value",
        "liquidity",
        "volume",
        "volume_24h",
        "open_interest",
        "tick_size",
        "response_price_units",
        "fractional_trading_enabled",
        "tick",
        "liquidity_dollars",
    }
)
# Scenario files may use the filter words; the Market object only has the lifecycle words (4.3).
_LEGACY_STATUS = {"open": "active", "paused": "inactive", "unopened": "initialized", "settled": "finalized"}
_FEE_TYPES = frozenset({"quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"})
ZERO = Decimal(0)
ONE = Decimal(1)
_FAULT_CODES = {
    400: "bad_request",
    401: "authentication_error",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "service_unavailable",
}
# Market-object status <- the /markets and /events ``status`` filter words (kalshi.md 4.3).
_FILTER = {
    "unopened": {"initialized"},
    "open": {"active"},
    "closed": {"closed", "determined", "disputed", "amended"},
    "settled": {"finalized"},
}

Handler = Callable[[Request, dict[str, str]], Response]


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "o":
            raise ValueError(kind)
        return max(0, int(value))
    except (ValueError, UnicodeDecodeError):
        raise KalshiError(400, "invalid_parameters", "malformed cursor") from None


def _page(
    request: Request, items: Sequence[Any], key: str, *, default: int = 100, maximum: int = 1000
) -> dict[str, Any]:
    """One page of ``items`` with Kalshi's opaque cursor (``""`` on the last page, kalshi.md 7)."""
    raw = request.arg("limit")
    try:
        limit = default if raw in (None, "") else int(str(raw))
    except ValueError:
        raise KalshiError(400, "invalid_parameters", "limit must be an integer") from None
    if not 1 <= limit <= maximum:
        raise KalshiError(400, "invalid_parameters", f"limit must be between 1 and {maximum}")
    start = _offset(request.arg("cursor"))
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    return {key: chunk, "cursor": _cursor(start + limit) if more else ""}


class KalshiSandbox(SandboxApp):
    """A loopback Kalshi: same paths, JSON, signatures and errors as the real Trade API v2.

    ``signature_window_s`` is how far a request's timestamp may be from the sandbox clock
    (the real tolerance is UNCERTAIN in the reference). ``clock`` returns Unix milliseconds.
    """

    venue = "kalshi"

    def __init__(self, *, signature_window_s: float = 30.0, clock: Callable[[], int] | None = None) -> None:
        super().__init__()
        self.engine = Engine()
        self.signature_window_ms = int(signature_window_s * 1000)
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        #: The WebSocket side (:class:`~arbkit_kalshi.sandbox.stream.SandboxStream`, set by its
        #: ``serve``): every change is published to it when its request finishes.
        self.stream: Any = None
        self._add_routes()

    # -- Python handle ---------------------------------------------------------------------------
    def load_scenario(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Replace all state with a scenario (format: :mod:`arbkit_kalshi.sandbox`)."""
        with self.lock:
            try:
                return self._load(data)
            finally:
                self._changed()

    def add_account(self, key_id: str, public_key_pem: str | bytes, balance: Decimal | str | int = 0) -> None:
        """Register a user: API key id, RSA or Ed25519 public key (PEM) and cash balance in dollars."""
        with self.lock:
            self.engine.accounts[key_id] = Account(
                key_id, load_public_pem(public_key_pem), decimal_param(balance, "balance")
            )

    def set_book(
        self, ticker: str, *, yes_bids: Sequence[Sequence[Any]] = (), no_bids: Sequence[Sequence[Any]] = ()
    ) -> None:
        """Replace the house liquidity of a market (``[[price, size], ...]`` in dollars and contracts)."""
        with self.lock:
            try:
                self._kalshi(lambda: self.engine.set_book(ticker, yes_bids, no_bids))
            finally:
                self._changed()

    def set_status(self, ticker: str, status: str) -> None:
        """Move a market to a lifecycle status (``active``, ``inactive``, ``closed``, ...)."""
        with self.lock:
            try:
                self._kalshi(lambda: self.engine.set_status(ticker, status))
            finally:
                self._changed()

    def resolve(self, ticker: str, result: str, settlement_value: Decimal | str | None = None) -> None:
        """Determine and settle a market (``yes``, ``no``, ``scalar``; ``void`` is a scalar refund)."""
        value = None if settlement_value is None else decimal_param(settlement_value, "settlement_value")
        with self.lock:
            try:
                self._kalshi(lambda: self.engine.resolve(ticker, result, value))
            finally:
                self._changed()

    def balance_of(self, key_id: str) -> Decimal:
        """An account's cash in dollars."""
        with self.lock:
            return self.engine.accounts[key_id].balance

    def _changed(self) -> None:
        """Publish what the last change did to the stream (under the lock, so none interleaves)."""
        if self.stream is not None:
            self.stream.changed()
        else:
            self.engine.touched_markets.clear()
            self.engine.touched_orders.clear()

    def _kalshi(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except KalshiError as exc:
            raise HttpError(exc.status, error_json(exc.code, exc.message)) from None

    # -- control hooks -----------------------------------------------------------------------------
    def control_scenario(self, data: Any) -> Any:
        try:
            return self._load(data)
        finally:
            self._changed()

    def control_book(self, data: Any) -> Any:
        data = self._object(data)
        try:
            self._kalshi(
                lambda: self.engine.set_book(
                    str(data.get("ticker")), data.get("yes_bids") or [], data.get("no_bids") or []
                )
            )
        finally:
            self._changed()
        return self._kalshi(lambda: orderbook_json(self.engine.market(str(data.get("ticker")))))

    def control_resolve(self, data: Any) -> Any:
        data = self._object(data)
        raw = data.get("settlement_value")
        value = None if raw is None else self._kalshi(lambda: decimal_param(raw, "settlement_value"))
        try:
            market = self._kalshi(
                lambda: self.engine.resolve(str(data.get("ticker")), str(data.get("result")), value)
            )
        finally:
            self._changed()
        return {"market": market_json(market)}

    def control_state(self) -> Any:
        engine = self.engine
        return {
            "accounts": {
                key: {
                    "balance": money(acc.balance),
                    "positions": {t: str(p.position) for t, p in acc.positions.items() if p.position},
                }
                for key, acc in engine.accounts.items()
                if not acc.is_house
            },
            "orders": [order_json(o) for o in engine.orders.values()],
            "markets": {t: {"status": m.status, "result": m.result} for t, m in engine.markets.items()},
        }

    def _object(self, data: Any) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise HttpError(400, error_json("invalid_parameters", "expected a JSON object"))
        return data

    def _load(self, data: Any) -> dict[str, Any]:
        data = self._object(data)
        engine = self.engine
        engine.reset()
        try:
            for series in data.get("series", []):
                engine.series[str(series["ticker"])] = dict(series)
            for event in data.get("events", []):
                event = dict(event)
                markets = event.pop("markets", [])
                ticker = str(event["event_ticker"])
                engine.series.setdefault(
                    str(event.get("series_ticker", "")), {"ticker": event.get("series_ticker")}
                )
                engine.events[ticker] = event
                for raw in markets:
                    self._add_market(event, dict(raw))
            for account in data.get("accounts", []):
                engine.accounts[str(account["key_id"])] = Account(
                    str(account["key_id"]),
                    load_public_pem(account["public_key_pem"]),
                    decimal_param(account.get("balance", 0), "balance"),
                )
        except KalshiError as exc:
            raise HttpError(exc.status, error_json(exc.code, exc.message)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise HttpError(400, error_json("invalid_parameters", f"bad scenario: {exc}")) from None
        return {"series": len(engine.series), "events": len(engine.events), "markets": len(engine.markets)}

    def _add_market(self, event: Mapping[str, Any], raw: dict[str, Any]) -> None:
        yes_bids = raw.pop("yes_bids", [])
        no_bids = raw.pop("no_bids", [])
        known = {
            "ticker",
            "title",
            "yes_sub_title",
            "no_sub_title",
            "status",
            "close_time",
            "rules_primary",
            "rules_secondary",
            "price_level_structure",
            "price_ranges",
        }
        structure = str(raw.get("price_level_structure") or "linear_cent")
        if raw.get("price_ranges"):
            bands = tuple(
                (
                    decimal_param(r["start"], "price_ranges.start"),
                    decimal_param(r["end"], "price_ranges.end"),
                    decimal_param(r["step"], "price_ranges.step"),
                )
                for r in raw["price_ranges"]
            )
        elif structure in STRUCTURES:
            bands = STRUCTURES[structure]
        else:
            raise KalshiError(400, "invalid_parameters", f"unknown price_level_structure {structure!r}")
        status = str(raw.get("status", "active"))
        status = _LEGACY_STATUS.get(status, status)
        if status not in MARKET_STATUSES:
            raise KalshiError(400, "invalid_parameters", f"unknown market status {status!r}")
        market = SbMarket(
            ticker=str(raw["ticker"]),
            event_ticker=str(event["event_ticker"]),
            series_ticker=str(event.get("series_ticker", "")),
            title=str(raw.get("title", event.get("title", ""))),
            yes_sub_title=str(raw.get("yes_sub_title", "")),
            no_sub_title=str(raw.get("no_sub_title", "")),
            status=status,
            close_time=str(raw.get("close_time", "2030-01-01T00:00:00Z")),
            rules_primary=str(raw.get("rules_primary", "")),
            rules_secondary=str(raw.get("rules_secondary", "")),
            price_level_structure=structure,
            bands=bands,
            extra={k: v for k, v in raw.items() if k not in known and k not in _REMOVED_MARKET_KEYS},
        )
        self.engine.markets[market.ticker] = market
        self.engine.set_book(market.ticker, yes_bids, no_bids)

    # -- venue responses ------------------------------------------------------------------------------
    def not_found(self, request: Request) -> Response:
        return Response.json(error_json("not_found", f"no route for {request.method} {request.path}"), 404)

    def error_response(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        if isinstance(payload, Mapping) and isinstance(payload.get("error"), str):
            payload = error_json(_FAULT_CODES.get(status, "bad_request"), payload["error"])
        return Response.json(payload, status, headers)

    def fault_body(self, status: int, message: str) -> Any:
        return error_json(_FAULT_CODES.get(status, "error"), message)

    # -- authentication ------------------------------------------------------------------------------
    def authenticate(self, request: Request, *, required: bool) -> Account | None:
        """The signing account, verifying the ``KALSHI-ACCESS-*`` headers (kalshi.md section 2).

        Public endpoints accept unsigned requests but reject a bad signature, as the real API
        does. The signature must cover ``timestamp + METHOD + path`` without the query string.
        """
        key_id = request.header(KEY_HEADER)
        ts = request.header(TIMESTAMP_HEADER)
        signature = request.header(SIGNATURE_HEADER)
        if not (key_id or ts or signature):
            if required:
                raise self._auth_error("missing authentication headers")
            return None
        if not (key_id and ts and signature):
            raise self._auth_error("incomplete authentication headers")
        with self.lock:
            account = self.engine.accounts.get(key_id)
        if account is None or account.public_key is None:
            raise self._auth_error("unknown API key")
        if not ts.isdigit() or abs(self.clock() - int(ts)) > self.signature_window_ms:
            raise self._auth_error("request timestamp is outside the allowed window")
        # Verified from the public key with cryptography directly (sandbox/verify.py).
        if not verify(account.public_key, signed_text(ts, request.method, request.path), signature):
            raise self._auth_error("invalid signature")
        return account

    def _auth_error(self, message: str) -> HttpError:
        return HttpError(401, error_json("authentication_error", message))

    # -- routes ----------------------------------------------------------------------------------------
    def _add_routes(self) -> None:
        add = self._wire
        add("GET", "/exchange/status", self._exchange_status, auth=False)
        add("GET", "/series", self._series_list, auth=False)
        add("GET", "/series/{ticker}", self._series, auth=False)
        add("GET", "/events", self._events, auth=False)
        add("GET", "/events/{ticker}", self._event, auth=False)
        add("GET", "/markets", self._markets, auth=False)
        add("GET", "/markets/trades", self._trades, auth=False)
        add("GET", "/markets/orderbooks", self._orderbooks, auth=False)
        add("GET", "/markets/{ticker}", self._market, auth=False)
        add("GET", "/markets/{ticker}/orderbook", self._orderbook, auth=False)
        add("GET", "/portfolio/balance", self._balance)
        add("GET", "/portfolio/positions", self._positions)
        add("GET", "/portfolio/fills", self._fills)
        add("GET", "/portfolio/settlements", self._settlements)
        # Order reads stay under /portfolio/orders (kalshi.md 3.7).
        add("GET", "/portfolio/orders", self._orders)
        add("GET", "/portfolio/orders/queue_positions", self._queue_positions)
        add("GET", "/portfolio/orders/{order_id}", self._get_order)
        add("GET", "/portfolio/orders/{order_id}/queue_position", self._queue_position)
        # The V2 writes (3.8).
        add("POST", V2, self._create_order)
        add("DELETE", V2, self._cancel_all)
        add("POST", V2 + "/batched", self._batch_create)
        add("DELETE", V2 + "/batched", self._batch_cancel)
        add("DELETE", V2 + "/{order_id}", self._cancel_order)
        add("POST", V2 + "/{order_id}/amend", self._amend_order)
        add("POST", V2 + "/{order_id}/decrease", self._decrease_order)
        # The six retired V1 writes answer 410 (3.9), signed or not.
        for method, path in (
            ("POST", "/portfolio/orders"),
            ("DELETE", "/portfolio/orders/{order_id}"),
            ("POST", "/portfolio/orders/{order_id}/amend"),
            ("POST", "/portfolio/orders/{order_id}/decrease"),
            ("POST", "/portfolio/orders/batched"),
            ("DELETE", "/portfolio/orders/batched"),
        ):
            self.router.add(method, PREFIX + path, self._v1_gone)
        self.router.add("POST", "/_sandbox/accounts", self._control_account)
        self.router.add("POST", "/_sandbox/market_status", self._control_status)
        # WebSocket faults (sandbox/stream.py), shaped like the HTTP ones at /_sandbox/faults and
        # at the same paths as the Polymarket sandbox's.
        for method in ("POST", "GET", "DELETE"):
            self.router.add(method, "/_sandbox/stream/faults", self._control_stream)
        self.router.add("GET", "/_sandbox/stream", self._control_stream)

    def _wire(self, method: str, path: str, handler: Callable[..., Response], *, auth: bool = True) -> None:
        def run(request: Request, params: dict[str, str]) -> Response:
            try:
                account = self.authenticate(request, required=auth)
                with self.lock:
                    try:
                        return handler(request, params, account) if auth else handler(request, params)
                    finally:
                        if method != "GET":
                            self._changed()
            except KalshiError as exc:
                return Response.json(error_json(exc.code, exc.message), exc.status)

        self.router.add(method, PREFIX + path, run)

    def _v1_gone(self, request: Request, _: dict[str, str]) -> Response:
        return Response.json(V1_GONE, 410)

    def _control_account(self, request: Request, _: dict[str, str]) -> Response:
        data = self._object(request.json())
        try:
            self.add_account(str(data["key_id"]), str(data["public_key_pem"]), data.get("balance", 0))
        except (KeyError, ValueError) as exc:
            raise HttpError(400, error_json("invalid_parameters", f"bad account: {exc}")) from None
        return Response.json({"key_id": data["key_id"]}, 201)

    def _control_stream(self, request: Request, _: dict[str, str]) -> Response:
        if self.stream is None:
            raise HttpError(
                409, error_json("conflict", "no stream is served: start it with arbkit_kalshi.sandbox.stream")
            )
        body = request.json() if request.method == "POST" else None
        answer = self.stream.control(request.method, request.path, body)
        return Response.json(answer, 201 if request.method == "POST" else 200)

    def _control_status(self, request: Request, _: dict[str, str]) -> Response:
        data = self._object(request.json())
        self.set_status(str(data.get("ticker")), str(data.get("status")))
        return Response.json({"ticker": data.get("ticker"), "status": data.get("status")})

    # -- market data -----------------------------------------------------------------------------------
    def _exchange_status(self, request: Request, _: dict[str, str]) -> Response:
        return Response.json(
            {
                "exchange_active": True,
                "trading_active": True,
                "intra_exchange_transfers_active": True,
                "exchange_estimated_resume_time": None,
                "exchange_index_statuses": [
                    {
                        "exchange_index": 0,
                        "description": "Default",
                        "exchange_active": True,
                        "trading_active": True,
                        "intra_exchange_transfers_active": True,
                    }
                ],
            }
        )

    def _series_json(self, ticker: str) -> dict[str, Any]:
        series = self.engine.series[ticker]
        body: dict[str, Any] = {
            "ticker": ticker,
            "frequency": "custom",
            "title": ticker,
            "category": "Sports",
            "categories": ["Sports"],
            "tags": None,
            "settlement_sources": None,
            "contract_url": f"https://kalshi.com/contracts/{ticker}.pdf",
            "contract_terms_url": f"https://kalshi.com/contracts/{ticker}-terms.pdf",
            "fee_type": "quadratic",
            "fee_multiplier": 1,
            "additional_prohibitions": None,
            "exchange_index": 0,
        }
        body.update({k: v for k, v in series.items() if v is not None})
        body["ticker"] = ticker
        if body["fee_type"] not in _FEE_TYPES:
            raise KalshiError(
                500, "internal_server_error", f"series {ticker} has fee_type {body['fee_type']!r}"
            )
        body["fee_multiplier"] = _json_number(body["fee_multiplier"])
        return body

    def _series(self, request: Request, params: dict[str, str]) -> Response:
        if params["ticker"] not in self.engine.series:
            raise KalshiError(404, "not_found", f"series {params['ticker']} not found")
        return Response.json({"series": self._series_json(params["ticker"])})

    def _series_list(self, request: Request, _: dict[str, str]) -> Response:
        category = request.arg("category")
        rows = [self._series_json(t) for t in self.engine.series if t]
        if category:
            rows = [r for r in rows if category in r.get("categories", [])]
        return Response.json({"series": rows})

    def _event_json(self, ticker: str, *, nested: bool) -> dict[str, Any]:
        event = self.engine.events[ticker]
        body: dict[str, Any] = {
            "event_ticker": ticker,
            "series_ticker": "",
            "title": "",
            "sub_title": "",
            "collateral_return_type": "",
            "mutually_exclusive": False,
            "settlement_sources": None,
            "exchange_index": 0,
        }
        body.update({k: v for k, v in event.items() if k not in ("available_on_brokers", "strike_date")})
        for key in ("fee_multiplier_override",):
            if body.get(key) is not None:
                body[key] = _json_number(body[key])
        body["mutually_exclusive"] = bool(body.get("mutually_exclusive"))
        if body["mutually_exclusive"] and not body.get("collateral_return_type"):
            body["collateral_return_type"] = "MECNET"
        if nested:
            body["markets"] = [
                market_json(m) for m in self.engine.markets.values() if m.event_ticker == ticker
            ]
        return body

    def _events(self, request: Request, _: dict[str, str]) -> Response:
        status = request.arg("status")
        if status and status not in _FILTER:
            raise KalshiError(400, "invalid_parameters", f"unknown status filter {status!r}")
        series = request.arg("series_ticker")
        wanted = set(request.args("tickers"))
        nested = (request.arg("with_nested_markets") or "").lower() == "true"
        out = []
        for ticker, event in self.engine.events.items():
            if (series and event.get("series_ticker") != series) or (wanted and ticker not in wanted):
                continue
            markets = [m for m in self.engine.markets.values() if m.event_ticker == ticker]
            if status and not any(m.status in _FILTER[status] for m in markets):
                continue
            out.append(self._event_json(ticker, nested=nested))
        return Response.json(_page(request, out, "events", default=200, maximum=200))

    def _event(self, request: Request, params: dict[str, str]) -> Response:
        ticker = params["ticker"]
        if ticker not in self.engine.events:
            raise KalshiError(404, "not_found", f"event {ticker} not found")
        nested = (request.arg("with_nested_markets") or "").lower() == "true"
        # The top-level ``markets`` is deprecated but required by the SDK: [] when nested (3.12).
        markets = [] if nested else [m for m in self.engine.markets.values() if m.event_ticker == ticker]
        return Response.json(
            {"event": self._event_json(ticker, nested=nested), "markets": [market_json(m) for m in markets]}
        )

    def _markets(self, request: Request, _: dict[str, str]) -> Response:
        status = request.arg("status")
        if status and status not in _FILTER:
            raise KalshiError(400, "invalid_parameters", f"unknown status filter {status!r}")
        series, event = request.arg("series_ticker"), request.arg("event_ticker")
        wanted = set(request.args("tickers"))
        out = [
            market_json(m)
            for m in self.engine.markets.values()
            if (not status or m.status in _FILTER[status])
            and (not series or m.series_ticker == series)
            and (not event or m.event_ticker == event)
            and (not wanted or m.ticker in wanted)
        ]
        return Response.json(_page(request, out, "markets", default=100, maximum=1000))

    def _market(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json({"market": market_json(self.engine.market(params["ticker"]))})

    def _trades(self, request: Request, _: dict[str, str]) -> Response:
        ticker = request.arg("ticker")
        rows = [
            trade_json(m.ticker, t)
            for m in self.engine.markets.values()
            if not ticker or m.ticker == ticker
            for t in m.trades
        ]
        rows.sort(key=lambda r: str(r["created_time"]), reverse=True)
        return Response.json(_page(request, rows, "trades", default=100, maximum=1000))

    def _depth(self, request: Request) -> int:
        raw = request.arg("depth") or "0"
        if not raw.isdigit() or int(raw) > 100:
            raise KalshiError(400, "invalid_parameters", "depth must be between 0 and 100")
        return int(raw)

    def _orderbook(self, request: Request, params: dict[str, str]) -> Response:
        market = self.engine.markets.get(params["ticker"])
        if market is None:  # the real API answers 200 with two empty sides (kalshi.md 3.11)
            return Response.json({"orderbook_fp": {"yes_dollars": [], "no_dollars": []}})
        return Response.json(orderbook_json(market, self._depth(request)))

    def _orderbooks(self, request: Request, _: dict[str, str]) -> Response:
        tickers = request.args("tickers")
        if not tickers or len(tickers) > 100:
            raise KalshiError(400, "invalid_parameters", "tickers must list 1 to 100 markets")
        books = []
        for ticker in dict.fromkeys(tickers):
            market = self.engine.markets.get(ticker)
            if market is not None:
                books.append({"ticker": ticker, **orderbook_json(market)})
        return Response.json({"orderbooks": books})

    # -- portfolio -------------------------------------------------------------------------------------
    def _balance(self, request: Request, _: dict[str, str], account: Account) -> Response:
        value = sum((p.exposure for p in account.positions.values()), ZERO)
        return Response.json(balance_json(account, value, self.clock() // 1000))

    def _positions(self, request: Request, _: dict[str, str], account: Account) -> Response:
        ticker, event = request.arg("ticker"), request.arg("event_ticker")
        filters = set(request.args("count_filter"))
        if filters - {"position", "total_traded"}:
            raise KalshiError(400, "invalid_parameters", "count_filter takes position and total_traded")
        rows = []
        by_event: dict[str, list[Any]] = {}
        for t, p in account.positions.items():
            market = self.engine.markets.get(t)
            event_ticker = market.event_ticker if market else ""
            if (ticker and t != ticker) or (event and event_ticker != event):
                continue
            if "position" in filters and p.position == 0:
                continue
            if "total_traded" in filters and p.traded == 0:
                continue
            rows.append(position_json(t, p))
            by_event.setdefault(event_ticker, []).append(p)
        body = _page(request, rows, "market_positions")
        body["event_positions"] = [event_position_json(e, ps) for e, ps in by_event.items() if e]
        return Response.json(body)

    def _fills(self, request: Request, _: dict[str, str], account: Account) -> Response:
        tickers, order_id = set(request.args("ticker")), request.arg("order_id")
        rows = [
            fill_json(f)
            for f in reversed(self.engine.fills)
            if f["account"] == account.key_id
            and (not tickers or f["ticker"] in tickers)
            and (not order_id or f["order_id"] == order_id)
        ]
        return Response.json(_page(request, rows, "fills"))

    def _settlements(self, request: Request, _: dict[str, str], account: Account) -> Response:
        ticker = request.arg("ticker")
        rows = [
            settlement_json(s)
            for s in reversed(self.engine.settlements)
            if s["account"] == account.key_id and (not ticker or s["ticker"] == ticker)
        ]
        return Response.json(_page(request, rows, "settlements"))

    def _orders(self, request: Request, _: dict[str, str], account: Account) -> Response:
        ticker, status = request.arg("ticker"), request.arg("status")
        if status and status not in ("resting", "canceled", "executed"):
            raise KalshiError(400, "invalid_parameters", "status is resting, canceled or executed")
        events = set(request.args("event_ticker"))
        rows = [
            order_json(o)
            for o in reversed(list(self.engine.orders.values()))
            if o.account == account.key_id
            and (not ticker or o.ticker == ticker)
            and (not status or o.status == status)
            and (not events or self.engine.markets[o.ticker].event_ticker in events)
        ]
        return Response.json(_page(request, rows, "orders"))

    def _get_order(self, request: Request, params: dict[str, str], account: Account) -> Response:
        return Response.json({"order": order_json(self.engine.own_order(account, params["order_id"]))})

    def _queue_position(self, request: Request, params: dict[str, str], account: Account) -> Response:
        order = self.engine.own_order(account, params["order_id"])
        if order.status != "resting":
            raise KalshiError(400, "invalid_parameters", "the order is not resting")
        return Response.json({"queue_position_fp": count(self.engine.queue_position(order))})

    def _queue_positions(self, request: Request, _: dict[str, str], account: Account) -> Response:
        tickers, event = set(request.args("market_tickers")), request.arg("event_ticker")
        if not tickers and not event:
            raise KalshiError(400, "invalid_parameters", "market_tickers or event_ticker is required")
        rows = [
            {
                "order_id": o.order_id,
                "market_ticker": o.ticker,
                "queue_position_fp": count(self.engine.queue_position(o)),
            }
            for o in self.engine.orders.values()
            if o.account == account.key_id
            and o.status == "resting"
            and (not tickers or o.ticker in tickers)
            and (not event or self.engine.markets[o.ticker].event_ticker == event)
        ]
        return Response.json({"queue_positions": rows})

    # -- V2 order writes -------------------------------------------------------------------------------
    def _body(self, request: Request) -> Mapping[str, Any]:
        body = request.json()
        if not isinstance(body, Mapping):
            raise KalshiError(400, "invalid_parameters", "expected a JSON object")
        return body

    def _trader(self, account: Account) -> None:
        if account.key_id == HOUSE:
            raise KalshiError(403, "forbidden", "the house account cannot trade over HTTP")

    def _submit(self, request: Request, account: Account, body: Mapping[str, Any]) -> SbOrder:
        """Validate a ``CreateOrderV2Request`` and hand it to the engine with any pending order fault."""
        self._trader(account)
        if not isinstance(body.get("ticker"), str) or not body.get("ticker"):
            raise KalshiError(400, "missing_parameters", "ticker is required")
        market = self.engine.market(body["ticker"])
        order, post_only, reduce_only = build_order(body, account.key_id, market)
        return self.engine.place(
            account,
            market,
            order,
            post_only=post_only,
            reduce_only=reduce_only,
            fault=self.order_fault(request),
        )

    def _created(self, order: SbOrder) -> dict[str, Any]:
        """A flat ``CreateOrderV2Response`` (no ``order`` wrapper, kalshi.md 3.8)."""
        out: dict[str, Any] = {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "fill_count": count(order.filled),
            "remaining_count": count(order.remaining),
            "ts_ms": self.clock(),
        }
        if order.filled > 0:
            # A YES price, like the request's ``price`` (UNCERTAIN for asks; the reference shows a bid).
            yes_cost = sum_yes_cost(order)
            out["average_fill_price"] = str((yes_cost / order.filled).quantize(Decimal("0.0001")))
            out["average_fee_paid"] = money((order.taker_fees + order.maker_fees) / order.filled)
        return out

    def _create_order(self, request: Request, _: dict[str, str], account: Account) -> Response:
        return Response.json(self._created(self._submit(request, account, self._body(request))), 201)

    def _batch_create(self, request: Request, _: dict[str, str], account: Account) -> Response:
        self._trader(account)
        orders = self._body(request).get("orders")
        if not isinstance(orders, list) or not orders:
            raise KalshiError(400, "invalid_parameters", "orders must be a non-empty list")
        if len(orders) > BATCH_LIMIT:
            raise KalshiError(400, "invalid_parameters", f"at most {BATCH_LIMIT} orders per batch")
        out = []
        for entry in orders:
            try:
                if not isinstance(entry, Mapping):
                    raise KalshiError(400, "invalid_parameters", "each order must be an object")
                out.append(self._created(self._submit(request, account, entry)))
            except KalshiError as exc:
                client_id = entry.get("client_order_id") if isinstance(entry, Mapping) else None
                out.append(
                    {
                        "client_order_id": client_id,
                        "error": {"code": exc.code, "message": exc.message, "details": ""},
                    }
                )
        return Response.json({"orders": out}, 201)

    def _cancelled(self, order: SbOrder, reduced: Decimal) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "reduced_by": count(reduced),
            "ts_ms": self.clock(),
        }

    def _cancel_order(self, request: Request, params: dict[str, str], account: Account) -> Response:
        order, reduced = self.engine.cancel(account, params["order_id"])
        return Response.json(self._cancelled(order, reduced))

    def _batch_cancel(self, request: Request, _: dict[str, str], account: Account) -> Response:
        orders = self._body(request).get("orders")
        if not isinstance(orders, list) or not orders:
            raise KalshiError(400, "invalid_parameters", "orders must be a non-empty list")
        out = []
        for entry in orders:
            order_id = str(entry.get("order_id") or "") if isinstance(entry, Mapping) else ""
            try:
                order, reduced = self.engine.cancel(account, order_id)
                out.append(self._cancelled(order, reduced))
            except KalshiError as exc:
                out.append(
                    {
                        "order_id": order_id,
                        "reduced_by": "0.00",
                        "error": {"code": exc.code, "message": exc.message, "details": ""},
                    }
                )
        return Response.json({"orders": out})

    def _cancel_all(self, request: Request, _: dict[str, str], account: Account) -> Response:
        self.engine.cancel_everything(account)
        return Response(204)

    def _amend_order(self, request: Request, params: dict[str, str], account: Account) -> Response:
        body = self._body(request)
        order = self.engine.own_order(account, params["order_id"])
        market = self.engine.market(order.ticker)
        side = body.get("side")
        if side not in ("bid", "ask") or not isinstance(body.get("ticker"), str):
            raise KalshiError(400, "invalid_parameters", "ticker and side (bid|ask) are required")
        amended = self.engine.amend(
            account,
            order.order_id,
            str(body["ticker"]),
            str(side),
            price_param(body.get("price"), market),
            count_param(body.get("count")),
        )
        updated = body.get("updated_client_order_id")
        if isinstance(updated, str) and updated:
            amended.client_order_id = updated
            account.client_ids.add(updated)
        out: dict[str, Any] = {
            "order_id": amended.order_id,
            "client_order_id": amended.client_order_id,
            "remaining_count": count(amended.remaining),
            "fill_count": count(amended.filled),
            "ts_ms": self.clock(),
        }
        return Response.json(out)

    def _decrease_order(self, request: Request, params: dict[str, str], account: Account) -> Response:
        body = self._body(request)
        order = self.engine.own_order(account, params["order_id"])
        by, to = body.get("reduce_by"), body.get("reduce_to")
        if (by is None) == (to is None):
            raise KalshiError(400, "invalid_parameters", "give exactly one of reduce_by or reduce_to")
        remaining = order.remaining
        target = (
            count_param(to, "reduce_to", allow_zero=True)
            if to is not None
            else remaining - count_param(by, "reduce_by")
        )
        decreased = self.engine.decrease(account, order.order_id, max(target, ZERO))
        return Response.json(
            {
                "order_id": decreased.order_id,
                "client_order_id": decreased.client_order_id,
                "remaining_count": count(decreased.remaining),
                "ts_ms": self.clock(),
            }
        )


#: Creates per batch. V1 capped batches at 20; the V2 hard cap is UNCERTAIN (it "scales with the
#: write budget", kalshi.md 3.8), so the sandbox keeps the old 20.
BATCH_LIMIT = 20


def sum_yes_cost(order: SbOrder) -> Decimal:
    """What the order's fills cost in YES terms (costs are kept in the outcome's terms)."""
    own = order.taker_cost + order.maker_cost
    return own if order.book == "bid" else order.filled - own


def _json_number(value: Any) -> int | float:
    """A JSON number for fields the SDK wants as numbers (``fee_multiplier``), whatever the scenario gave."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)
