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
from arbkit_kalshi.auth import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    load_public_key,
    signing_message,
    verify_signature,
)
from arbkit_kalshi.sandbox.engine import HOUSE, Account, Engine, KalshiError, SbMarket, SbOrder
from arbkit_kalshi.sandbox.orders import TIME_IN_FORCE, build_order, decimal_param
from arbkit_kalshi.sandbox.wire import (
    balance_json,
    error_json,
    fill_json,
    market_json,
    order_json,
    orderbook_json,
    position_json,
    settlement_json,
)
from arbkit_kalshi.units import format_count, format_dollars

__all__ = ["PREFIX", "KalshiSandbox"]

PREFIX = "/trade-api/v2"
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
    "unopened": {"initialized", "unopened"},
    "open": {"active", "open"},
    "paused": {"inactive", "paused"},
    "closed": {"closed", "determined", "disputed", "amended"},
    "settled": {"finalized", "settled"},
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
        self._add_routes()

    # -- Python handle ---------------------------------------------------------------------------
    def load_scenario(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Replace all state with a scenario (format: :mod:`arbkit_kalshi.sandbox`)."""
        with self.lock:
            return self._load(data)

    def add_account(self, key_id: str, public_key_pem: str | bytes, balance: Decimal | str | int = 0) -> None:
        """Register a user: API key id, RSA public key (PEM) and cash balance in dollars."""
        with self.lock:
            self.engine.accounts[key_id] = Account(
                key_id, load_public_key(public_key_pem), decimal_param(balance, "balance")
            )

    def set_book(
        self, ticker: str, *, yes_bids: Sequence[Sequence[Any]] = (), no_bids: Sequence[Sequence[Any]] = ()
    ) -> None:
        """Replace the house liquidity of a market (``[[price, size], ...]`` in dollars and contracts)."""
        with self.lock:
            self._kalshi(lambda: self.engine.set_book(ticker, yes_bids, no_bids))

    def set_status(self, ticker: str, status: str) -> None:
        """Move a market to a lifecycle status (``active``, ``inactive``, ``closed``, ...)."""
        with self.lock:
            self._kalshi(lambda: self.engine.set_status(ticker, status))

    def resolve(self, ticker: str, result: str, settlement_value: Decimal | str | None = None) -> None:
        """Determine and settle a market (``yes``, ``no``, ``void``, ``scalar``)."""
        value = None if settlement_value is None else decimal_param(settlement_value, "settlement_value")
        with self.lock:
            self._kalshi(lambda: self.engine.resolve(ticker, result, value))

    def balance_of(self, key_id: str) -> Decimal:
        """An account's cash in dollars."""
        with self.lock:
            return self.engine.accounts[key_id].balance

    def _kalshi(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except KalshiError as exc:
            raise HttpError(exc.status, error_json(exc.code, exc.message)) from None

    # -- control hooks -----------------------------------------------------------------------------
    def control_scenario(self, data: Any) -> Any:
        return self._load(data)

    def control_book(self, data: Any) -> Any:
        data = self._object(data)
        self._kalshi(
            lambda: self.engine.set_book(
                str(data.get("ticker")), data.get("yes_bids") or [], data.get("no_bids") or []
            )
        )
        return self._kalshi(lambda: orderbook_json(self.engine.market(str(data.get("ticker")))))

    def control_resolve(self, data: Any) -> Any:
        data = self._object(data)
        raw = data.get("settlement_value")
        value = None if raw is None else self._kalshi(lambda: decimal_param(raw, "settlement_value"))
        market = self._kalshi(
            lambda: self.engine.resolve(str(data.get("ticker")), str(data.get("result")), value)
        )
        return {"market": market_json(market)}

    def control_state(self) -> Any:
        engine = self.engine
        return {
            "accounts": {
                key: {
                    "balance": format_dollars(acc.balance),
                    "positions": {
                        t: format_count(p.position) for t, p in acc.positions.items() if p.position
                    },
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
                    load_public_key(account["public_key_pem"]),
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
            "fractional_trading_enabled",
            "tick",
        }
        market = SbMarket(
            ticker=str(raw["ticker"]),
            event_ticker=str(event["event_ticker"]),
            series_ticker=str(event.get("series_ticker", "")),
            title=str(raw.get("title", event.get("title", ""))),
            yes_sub_title=str(raw.get("yes_sub_title", "")),
            no_sub_title=str(raw.get("no_sub_title", "")),
            status=str(raw.get("status", "active")),
            close_time=str(raw.get("close_time", "2030-01-01T00:00:00Z")),
            rules_primary=str(raw.get("rules_primary", "")),
            rules_secondary=str(raw.get("rules_secondary", "")),
            fractional=bool(raw.get("fractional_trading_enabled", False)),
            tick=decimal_param(raw.get("tick", "0.01"), "tick"),
            extra={k: v for k, v in raw.items() if k not in known},
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
        if not verify_signature(
            account.public_key, signing_message(ts, request.method, request.path), signature
        ):
            raise self._auth_error("invalid signature")
        return account

    def _auth_error(self, message: str) -> HttpError:
        return HttpError(401, error_json("authentication_error", message))

    # -- routes ----------------------------------------------------------------------------------------
    def _add_routes(self) -> None:
        add = self._wire
        add("GET", "/exchange/status", self._exchange_status, auth=False)
        add("GET", "/series/{ticker}", self._series, auth=False)
        add("GET", "/events", self._events, auth=False)
        add("GET", "/events/{ticker}", self._event, auth=False)
        add("GET", "/markets", self._markets, auth=False)
        add("GET", "/markets/orderbooks", self._orderbooks, auth=False)
        add("GET", "/markets/{ticker}", self._market, auth=False)
        add("GET", "/markets/{ticker}/orderbook", self._orderbook, auth=False)
        add("GET", "/portfolio/balance", self._balance)
        add("GET", "/portfolio/positions", self._positions)
        add("GET", "/portfolio/fills", self._fills)
        add("GET", "/portfolio/settlements", self._settlements)
        add("GET", "/portfolio/orders", self._orders)
        add("POST", "/portfolio/orders", self._create_order)
        add("GET", "/portfolio/orders/{order_id}", self._get_order)
        add("DELETE", "/portfolio/orders/{order_id}", self._cancel_order)
        add("POST", "/portfolio/events/orders", self._create_order_v2)
        add("DELETE", "/portfolio/events/orders/{order_id}", self._cancel_order_v2)
        self.router.add("POST", "/_sandbox/accounts", self._control_account)
        self.router.add("POST", "/_sandbox/market_status", self._control_status)

    def _wire(self, method: str, path: str, handler: Callable[..., Response], *, auth: bool = True) -> None:
        def run(request: Request, params: dict[str, str]) -> Response:
            try:
                account = self.authenticate(request, required=auth)
                with self.lock:
                    return handler(request, params, account) if auth else handler(request, params)
            except KalshiError as exc:
                return Response.json(error_json(exc.code, exc.message), exc.status)

        self.router.add(method, PREFIX + path, run)

    def _control_account(self, request: Request, _: dict[str, str]) -> Response:
        data = self._object(request.json())
        try:
            self.add_account(str(data["key_id"]), str(data["public_key_pem"]), data.get("balance", 0))
        except (KeyError, ValueError) as exc:
            raise HttpError(400, error_json("invalid_parameters", f"bad account: {exc}")) from None
        return Response.json({"key_id": data["key_id"]}, 201)

    def _control_status(self, request: Request, _: dict[str, str]) -> Response:
        data = self._object(request.json())
        self.set_status(str(data.get("ticker")), str(data.get("status")))
        return Response.json({"ticker": data.get("ticker"), "status": data.get("status")})

    # -- market data -----------------------------------------------------------------------------------
    def _exchange_status(self, request: Request, _: dict[str, str]) -> Response:
        return Response.json(
            {"exchange_active": True, "trading_active": True, "exchange_estimated_resume_time": None}
        )

    def _series(self, request: Request, params: dict[str, str]) -> Response:
        series = self.engine.series.get(params["ticker"])
        if series is None:
            raise KalshiError(404, "not_found", f"series {params['ticker']} not found")
        body = {
            "ticker": params["ticker"],
            "title": "",
            "frequency": "custom",
            "category": "",
            "fee_type": "quadratic",
            "fee_multiplier": 1,
            "tags": [],
            "settlement_sources": [],
        }
        body.update({k: v for k, v in series.items() if v is not None})
        return Response.json({"series": body})

    def _event_json(self, ticker: str, *, nested: bool) -> dict[str, Any]:
        event = self.engine.events[ticker]
        body: dict[str, Any] = {
            "event_ticker": ticker,
            "series_ticker": "",
            "title": "",
            "sub_title": "",
            "mutually_exclusive": False,
            "collateral_return_type": "",
            "strike_date": None,
        }
        body.update(event)
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
        body: dict[str, Any] = {"event": self._event_json(ticker, nested=nested)}
        if not nested:  # the deprecated top-level list (kalshi.md 3.12)
            body["markets"] = [
                market_json(m) for m in self.engine.markets.values() if m.event_ticker == ticker
            ]
        return Response.json(body)

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

    def _depth(self, request: Request) -> int:
        raw = request.arg("depth") or "0"
        if not raw.isdigit() or int(raw) > 100:
            raise KalshiError(400, "invalid_parameters", "depth must be between 0 and 100")
        return int(raw)

    def _orderbook(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(orderbook_json(self.engine.market(params["ticker"]), self._depth(request)))

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
        return Response.json(balance_json(account, value))

    def _positions(self, request: Request, _: dict[str, str], account: Account) -> Response:
        ticker = request.arg("ticker")
        only_open = "position" in request.args("count_filter")
        rows = [
            position_json(t, p)
            for t, p in account.positions.items()
            if (not ticker or t == ticker) and (not only_open or p.position != 0)
        ]
        return Response.json({**_page(request, rows, "market_positions"), "event_positions": []})

    def _fills(self, request: Request, _: dict[str, str], account: Account) -> Response:
        ticker, order_id = request.arg("ticker"), request.arg("order_id")
        rows = [
            fill_json(f)
            for f in reversed(self.engine.fills)
            if f["account"] == account.key_id
            and (not ticker or f["ticker"] == ticker)
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
        order = self.engine.orders.get(params["order_id"])
        if order is None or order.account != account.key_id:
            raise KalshiError(404, "not_found", f"order {params['order_id']} not found")
        return Response.json({"order": order_json(order)})

    def _cancel_order(self, request: Request, params: dict[str, str], account: Account) -> Response:
        order, reduced = self.engine.cancel(account, params["order_id"])
        return Response.json(
            {"order": order_json(order), "reduced_by": int(reduced), "reduced_by_fp": format_count(reduced)}
        )

    def _create_order(self, request: Request, _: dict[str, str], account: Account) -> Response:
        body = request.json()
        if not isinstance(body, Mapping):
            raise KalshiError(400, "invalid_parameters", "expected a JSON object")
        order = self._submit(request, account, body)
        return Response.json({"order": order_json(order)}, 201)

    def _create_order_v2(self, request: Request, _: dict[str, str], account: Account) -> Response:
        body = request.json()
        if not isinstance(body, Mapping):
            raise KalshiError(400, "invalid_parameters", "expected a JSON object")
        side = body.get("side")
        if side not in ("bid", "ask"):
            raise KalshiError(400, "invalid_parameters", "side must be bid or ask")
        if body.get("time_in_force") not in TIME_IN_FORCE - {None}:
            raise KalshiError(400, "invalid_parameters", "time_in_force is required")
        # V2 side is the book side of YES: bid = buy YES, ask = sell YES (kalshi.md 3.9).
        legacy = {
            "ticker": body.get("ticker"),
            "client_order_id": body.get("client_order_id"),
            "side": "yes",
            "action": "buy" if side == "bid" else "sell",
            "yes_price_dollars": body.get("price"),
            "count_fp": body.get("count"),
            "time_in_force": body.get("time_in_force"),
            "post_only": body.get("post_only"),
            "expiration_ts": body.get("expiration_time"),
        }
        order = self._submit(request, account, legacy)
        filled = order.filled
        cost = order.taker_cost + order.maker_cost
        out: dict[str, Any] = {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "fill_count": format_count(filled),
            "remaining_count": format_count(order.remaining),
            "ts_ms": self.clock(),
        }
        if filled > 0:
            out["average_fill_price"] = format_dollars(cost / filled)
            out["average_fee_paid"] = format_dollars((order.taker_fees + order.maker_fees) / filled)
        return Response.json(out, 201)

    def _cancel_order_v2(self, request: Request, params: dict[str, str], account: Account) -> Response:
        order, reduced = self.engine.cancel(account, params["order_id"])
        return Response.json(
            {
                "order_id": order.order_id,
                "client_order_id": order.client_order_id,
                "reduced_by": format_count(reduced),
                "ts_ms": self.clock(),
            }
        )

    def _submit(self, request: Request, account: Account, body: Mapping[str, Any]) -> SbOrder:
        """Validate a ``CreateOrderRequest`` and hand it to the engine with any pending order fault."""
        if account.key_id == HOUSE:
            raise KalshiError(403, "forbidden", "the house account cannot trade over HTTP")
        if not isinstance(body.get("ticker"), str) or not body.get("ticker"):
            raise KalshiError(400, "missing_parameters", "ticker is required")
        market = self.engine.market(body["ticker"])
        order, post_only, max_cost = build_order(body, account.key_id, market)
        return self.engine.place(
            account, market, order, post_only=post_only, max_cost=max_cost, fault=self.order_fault(request)
        )
