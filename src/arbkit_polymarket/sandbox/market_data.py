"""Public routes of the Polymarket sandbox (CLOB market data, Gamma, Data API) and scenarios.

The payloads come from :mod:`arbkit_polymarket.sandbox.wire`; this module picks the rows
and answers the routes.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbkit.sandbox import HttpError, Request, Response, Router
from arbkit_polymarket.sandbox import wire
from arbkit_polymarket.sandbox.engine import Engine, SandboxMarket
from arbkit_polymarket.sandbox.verify import TICK_DECIMALS, SandboxFee, checksum

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MarketDataRoutes"]

ONE = Decimal(1)
BOOKS_LIMIT = 500
#: CLOB market listings -> whether the rows are the simplified shape (reference section 2.5).
LISTINGS = {
    "/markets": False,
    "/simplified-markets": True,
    "/sampling-markets": False,
    "/sampling-simplified-markets": True,
}
NO_BOOK = "No orderbook exists for the requested token id"
GAMMA_PAGE_MAX = 100


def _bad(message: str, status: int = 400) -> HttpError:
    return HttpError(status, {"error": message})


def _dec(value: Any, what: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise _bad(f"scenario: {what} is not a number") from None
    if not result.is_finite():
        raise _bad(f"scenario: {what} is not finite")
    return result


def _offset(cursor: str | None) -> int:
    try:
        return wire.offset(cursor)
    except ValueError:
        raise _bad("invalid cursor") from None


class MarketDataRoutes:
    """The public routes (market data) and scenario loading; mixed into :class:`PolymarketSandbox`."""

    engine: Engine
    router: Router
    lock: threading.RLock
    clock: Callable[[], float]

    # -- scenarios ----------------------------------------------------------------------------------
    def control_scenario(self, data: Any) -> Any:
        """``POST /_sandbox/scenario``: see :func:`load_scenario`."""
        return self.load_scenario(data)

    def load_scenario(self, data: Any) -> dict[str, Any]:
        """Replace markets and add accounts from a scenario (format in the package docstring)."""
        if not isinstance(data, dict):
            raise _bad("scenario must be a JSON object")
        with self.lock:
            engine = self.engine
            engine.events = []
            count = 0
            for event in data.get("events", []):
                if not isinstance(event, dict):
                    raise _bad("scenario: an event must be an object")
                info = {k: v for k, v in event.items() if k != "markets"}
                info.setdefault("id", str(len(engine.events) + 1))
                info.setdefault("slug", f"event-{info['id']}")
                info.setdefault("title", info["slug"])
                ids = []
                for raw in event.get("markets", []):
                    market = self._scenario_market(raw, info)
                    engine.add_market(market)
                    book = raw.get("book") or {}
                    engine.set_book(market.condition_id, book.get("bids", []), book.get("asks", []))
                    ids.append(market.condition_id)
                    count += 1
                engine.events.append({**info, "market_ids": ids})
            for account in data.get("accounts", []):
                try:
                    address = checksum(str(account["address"]))
                except (KeyError, ValueError):
                    raise _bad("scenario: an account needs a 0x address") from None
                target = engine.account(address)
                target.cash += _dec(account.get("balance", 0), "balance")
                for token, size in (account.get("tokens") or {}).items():
                    target.tokens[str(token)] += _dec(size, "token size")
            return {"events": len(engine.events), "markets": count, "accounts": len(engine.accounts)}

    def _scenario_market(self, raw: Any, event: dict[str, Any]) -> SandboxMarket:
        if not isinstance(raw, dict):
            raise _bad("scenario: a market must be an object")
        try:
            tokens = tuple(str(t) for t in raw["token_ids"])
            outcomes = tuple(str(o) for o in raw.get("outcomes", ["Yes", "No"]))
            condition_id = str(raw["condition_id"])
        except KeyError as exc:
            raise _bad(f"scenario: market lacks {exc.args[0]}") from None
        if len(tokens) != 2 or len(outcomes) != 2:
            raise _bad("scenario: a market has exactly two tokens and two outcomes")
        tick = _dec(raw.get("tick_size", "0.01"), "tick_size")
        if tick not in TICK_DECIMALS:
            raise _bad(f"scenario: unknown tick size {tick}")
        fees_raw = raw.get("fees")
        fee_details = None
        fees = SandboxFee()
        if fees_raw:
            rate, exponent = _dec(fees_raw["rate"], "fee rate"), int(fees_raw.get("exponent", 1))
            fees = SandboxFee(rate=rate, exponent=exponent)
            fee_details = {"r": rate, "e": exponent, "to": True}
        known = {
            "condition_id",
            "token_ids",
            "outcomes",
            "tick_size",
            "min_order_size",
            "neg_risk",
            "fees",
            "book",
        }
        return SandboxMarket(
            condition_id=condition_id,
            question=str(raw.get("question", condition_id)),
            slug=str(raw.get("slug", condition_id)),
            tokens=(tokens[0], tokens[1]),
            outcomes=(outcomes[0], outcomes[1]),
            tick_size=tick,
            min_order_size=_dec(raw.get("min_order_size", 5), "min_order_size"),
            neg_risk=bool(raw.get("neg_risk", False)),
            fees=fees,
            fee_details=fee_details,
            seconds_delay=int(_dec(raw.get("secondsDelay", 0), "secondsDelay")),
            event=event,
            extra={k: v for k, v in raw.items() if k not in known},
        )

    # -- shapes ----------------------------------------------------------------------------------
    @staticmethod
    def page(rows: list[Any], request: Request, limit: int = 100) -> dict[str, Any]:
        """A CLOB page of ``rows`` from the request's ``next_cursor`` (``MA==`` is the first)."""
        given = request.arg("next_cursor")
        return wire.page_json(rows, _offset(None if given == "MA==" else given), limit)

    def _book_json(self, market: SandboxMarket, token: str) -> dict[str, Any]:
        return wire.book_json(self.engine, market, token, int(self.clock() * 1000))

    # -- routes -------------------------------------------------------------------------------------
    def add_public_routes(self) -> None:
        """CLOB market data at the root, Gamma under ``/gamma``, Data API under ``/data-api``."""
        r = self.router
        r.add("GET", "/ok", lambda req, p: Response.json("OK"))
        r.add("GET", "/time", lambda req, p: Response.json(int(self.clock())))
        r.add("GET", "/version", lambda req, p: Response.json({"version": 2}))
        r.add("GET", "/book", self._book)
        r.add("POST", "/books", self._books)
        r.add("GET", "/clob-markets/{condition_id}", self._clob_market_info)
        r.add("GET", "/markets/{condition_id}", self._clob_market)
        for path, simplified in LISTINGS.items():
            r.add("GET", path, self._listing(simplified))
        r.add("GET", "/markets-by-token/{token_id}", self._market_by_token)
        r.add("GET", "/tick-size", self._tick_size)
        r.add("GET", "/tick-size/{token_id}", self._tick_size)
        r.add("GET", "/neg-risk", self._neg_risk)
        r.add("GET", "/fee-rate", self._fee_rate)
        r.add("GET", "/midpoint", self._quote("mid"))
        r.add("GET", "/spread", self._quote("spread"))
        r.add("GET", "/price", self._price)
        r.add("GET", "/last-trade-price", self._last_trade_price)
        r.add("POST", "/midpoints", self._quotes("mid"))
        r.add("POST", "/spreads", self._quotes("spread"))
        r.add("POST", "/prices", self._prices)
        r.add("POST", "/last-trades-prices", self._last_trades_prices)
        r.add("GET", "/gamma/events/keyset", self._gamma_events)
        r.add("GET", "/gamma/events", self._gamma_events)
        r.add("GET", "/gamma/events/slug/{slug}", self._gamma_event)
        r.add("GET", "/gamma/events/{event_id}", self._gamma_event)
        r.add("GET", "/gamma/markets", self._gamma_markets)
        r.add("GET", "/gamma/markets/keyset", self._gamma_markets)
        r.add("GET", "/gamma/markets/slug/{slug}", self._gamma_market)
        r.add("GET", "/gamma/markets/{market_id}", self._gamma_market)
        r.add("GET", "/data-api/positions", self._positions)

    def _market_of_token(self, token: str | None) -> SandboxMarket:
        if not token or not token.isdigit():
            raise _bad("Invalid token id")
        market = self.engine.by_token.get(token)
        if market is None:
            raise _bad("No orderbook exists for the requested token id", 404)
        return market

    def _book(self, request: Request, _: dict[str, str]) -> Response:
        token = request.arg("token_id")
        with self.lock:
            return Response.json(self._book_json(self._market_of_token(token), str(token)))

    def _books(self, request: Request, _: dict[str, str]) -> Response:
        body = request.json()
        if not isinstance(body, list) or not all(isinstance(i, dict) and "token_id" in i for i in body):
            raise _bad("Invalid payload")
        if len(body) > BOOKS_LIMIT:
            raise _bad("Payload exceeds the limit")
        out = []
        with self.lock:
            for item in body:
                market = self.engine.by_token.get(str(item["token_id"]))
                if market is not None:
                    out.append(self._book_json(market, str(item["token_id"])))
        return Response.json(out)

    def _known(self, condition_id: str) -> SandboxMarket:
        market = self.engine.markets.get(condition_id)
        if market is None:
            raise _bad("market not found", 404)
        return market

    def _clob_market_info(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            market = self._known(params["condition_id"])
            body: dict[str, Any] = {
                "c": market.condition_id,
                "t": [{"t": t, "o": o} for t, o in zip(market.tokens, market.outcomes, strict=True)],
                "mts": market.tick_size,
                "mbf": 0,
                "tbf": 0,
                "r": None,
                "ao": market.accepting_orders,
                "mos": market.min_order_size,
                "sd": market.seconds_delay,
                "itode": market.seconds_delay > 0,
            }
            if market.neg_risk:  # omitted when false, as on the real host
                body["nr"] = True
            if market.fee_details is not None:
                body["fd"] = market.fee_details
            return Response.json(body)

    def _clob_market(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            return Response.json(wire.clob_market_json(self.engine, self._known(params["condition_id"])))

    # -- CLOB market listings, lookups and prices -----------------------------------------------------
    #: Rows per page of the CLOB market listings (the real host pages by 1000).
    market_page_size = 1000

    def _listing(self, simplified: bool) -> Callable[[Request, dict[str, str]], Response]:
        def handler(request: Request, _: dict[str, str]) -> Response:
            sampling = request.path.startswith("/sampling")
            with self.lock:
                markets = [m for m in self.engine.markets.values() if not sampling or m.accepting_orders]
                shape = wire.simplified_market_json if simplified else wire.clob_market_json
                rows = [shape(self.engine, m) for m in markets]
            return Response.json(self.page(rows, request, self.market_page_size))

        return handler

    def _token_arg(self, request: Request, params: dict[str, str]) -> tuple[SandboxMarket, str]:
        token = params.get("token_id") or request.arg("token_id")
        return self._market_of_token(token), str(token)

    def _market_by_token(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            market, _ = self._token_arg(request, params)
            body = {
                "condition_id": market.condition_id,
                "primary_token_id": market.tokens[0],
                "secondary_token_id": market.tokens[1],
            }
            return Response.json(body)

    def _tick_size(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            market, _ = self._token_arg(request, params)
            # A JSON number, as the reference's example shows (both SDKs accept a number or a string).
            return Response.json({"minimum_tick_size": market.tick_size})

    def _neg_risk(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            market, _ = self._token_arg(request, params)
            return Response.json({"neg_risk": market.neg_risk})

    def _fee_rate(self, request: Request, params: dict[str, str]) -> Response:
        # The legacy V1 flag (1000 = fees on), not the rate charged (reference section 7).
        with self.lock:
            market, _ = self._token_arg(request, params)
            return Response.json({"base_fee": 1000 if market.fee_details is not None else 0})

    def _quote_value(self, market: SandboxMarket, token: str, what: str) -> str:
        bid, ask = wire.best_prices(market, token)
        if bid is None or ask is None:
            # [UNCERTAIN what the host answers for a one-sided book; the sandbox says no book.]
            raise _bad(NO_BOOK, 404)
        return str((bid + ask) / 2 if what == "mid" else ask - bid)

    def _quote(self, what: str) -> Callable[[Request, dict[str, str]], Response]:
        def handler(request: Request, params: dict[str, str]) -> Response:
            with self.lock:
                market, token = self._token_arg(request, params)
                return Response.json({what: self._quote_value(market, token, what)})

        return handler

    def _token_list(self, request: Request, with_side: bool = False) -> list[dict[str, Any]]:
        body = request.json()
        if not isinstance(body, list) or not all(isinstance(i, dict) and "token_id" in i for i in body):
            raise _bad("Invalid payload")
        if len(body) > BOOKS_LIMIT:
            raise _bad("Payload exceeds the limit")
        if with_side and not all(i.get("side") in ("BUY", "SELL") for i in body):
            raise _bad("Invalid side")
        return body

    def _quotes(self, what: str) -> Callable[[Request, dict[str, str]], Response]:
        def handler(request: Request, _: dict[str, str]) -> Response:
            out: dict[str, str] = {}
            with self.lock:
                for item in self._token_list(request):
                    token = str(item["token_id"])
                    market = self.engine.by_token.get(token)
                    if market is not None and None not in wire.best_prices(market, token):
                        out[token] = self._quote_value(market, token, what)
            return Response.json(out)

        return handler

    def _side_price(self, market: SandboxMarket, token: str, side: str | None) -> str:
        # Reference 2.3: side=BUY answers the best bid, side=SELL the best ask.
        if side not in ("BUY", "SELL"):
            raise _bad("Invalid side")
        bid, ask = wire.best_prices(market, token)
        price = bid if side == "BUY" else ask
        if price is None:
            raise _bad(NO_BOOK, 404)
        return str(price)

    def _price(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            market, token = self._token_arg(request, params)
            return Response.json({"price": self._side_price(market, token, request.arg("side"))})

    def _prices(self, request: Request, _: dict[str, str]) -> Response:
        out: dict[str, dict[str, str]] = {}
        with self.lock:
            for item in self._token_list(request, with_side=True):
                token = str(item["token_id"])
                market = self.engine.by_token.get(token)
                if market is None:
                    continue
                bid, ask = wire.best_prices(market, token)
                price = bid if item["side"] == "BUY" else ask
                if price is not None:
                    out.setdefault(token, {})[str(item["side"])] = str(price)
        return Response.json(out)

    def _last_trade_price(self, request: Request, params: dict[str, str]) -> Response:
        with self.lock:
            market, token = self._token_arg(request, params)
            price, side = wire.last_trade(self.engine, market, token)
            return Response.json({"price": price, "side": side})

    def _last_trades_prices(self, request: Request, _: dict[str, str]) -> Response:
        out = []
        with self.lock:
            for item in self._token_list(request):
                token = str(item["token_id"])
                market = self.engine.by_token.get(token)
                if market is None:
                    continue
                price, side = wire.last_trade(self.engine, market, token)
                if side:  # sparse: tokens without trades are left out
                    out.append({"token_id": token, "price": price, "side": side})
        return Response.json(out)

    def _closed_filter(self, request: Request) -> bool | None:
        value = request.arg("closed")
        return None if value is None else value.lower() == "true"

    def _gamma_events(self, request: Request, _: dict[str, str]) -> Response:
        closed = self._closed_filter(request)
        tag = request.arg("tag_slug")
        limit = min(int(request.arg("limit") or GAMMA_PAGE_MAX), GAMMA_PAGE_MAX)
        with self.lock:
            events = [wire.gamma_event_json(self.engine, e) for e in self.engine.events]
        events = [e for e in events if closed is None or e["closed"] == closed]
        if tag:
            events = [
                e for e in events if tag in [t.get("slug") for t in e.get("tags", []) if isinstance(t, dict)]
            ]
        if request.path.endswith("/keyset"):
            start = _offset(request.arg("after_cursor"))
            chunk = events[start : start + limit]
            body: dict[str, Any] = {"events": chunk}
            if start + len(chunk) < len(events):
                body["next_cursor"] = wire.cursor(start + len(chunk))  # absent on the last page
            return Response.json(body)
        return Response.json(events[:limit])

    def _gamma_event(self, request: Request, params: dict[str, str]) -> Response:
        wanted = params.get("slug") or params.get("event_id")
        with self.lock:
            for event in self.engine.events:
                if wanted in (event.get("slug"), str(event.get("id"))):
                    return Response.json(wire.gamma_event_json(self.engine, event))
        raise _bad("event not found", 404)

    def _gamma_markets(self, request: Request, _: dict[str, str]) -> Response:
        closed = self._closed_filter(request)
        ids, slugs = set(request.args("condition_ids")), set(request.args("slug"))
        tokens = set(request.args("clob_token_ids"))
        with self.lock:
            rows = [
                wire.gamma_market_json(self.engine, m)
                for m in self.engine.markets.values()
                if (closed is None or m.closed == closed)
                and (not ids or m.condition_id in ids)
                and (not slugs or m.slug in slugs)
                and (not tokens or tokens & set(m.tokens))
            ]
        if not request.path.endswith("/keyset"):
            return Response.json(rows)
        limit = min(int(request.arg("limit") or GAMMA_PAGE_MAX), GAMMA_PAGE_MAX)
        start = _offset(request.arg("after_cursor"))
        chunk = rows[start : start + limit]
        body: dict[str, Any] = {"markets": chunk}
        if start + len(chunk) < len(rows):
            body["next_cursor"] = wire.cursor(start + len(chunk))  # absent on the last page
        return Response.json(body)

    def _gamma_market(self, request: Request, params: dict[str, str]) -> Response:
        wanted = params.get("slug") or params.get("market_id")
        with self.lock:
            for market in self.engine.markets.values():
                row = wire.gamma_market_json(self.engine, market)
                if wanted in (market.slug, row["id"], market.condition_id):
                    return Response.json(row)
        raise _bad("market not found", 404)

    def _positions(self, request: Request, _: dict[str, str]) -> Response:
        user = (request.arg("user") or "").lower()
        rows = []
        with self.lock:
            account = self.engine.accounts.get(user)
            for token, size in account.tokens.items() if account else []:
                market = self.engine.by_token.get(token)
                if market is None or not size:
                    continue
                rows.append(
                    {
                        "proxyWallet": account.address if account else user,
                        "asset": token,
                        "conditionId": market.condition_id,
                        "size": size,
                        "avgPrice": None,
                        "outcome": market.outcome_of(token),
                        "outcomeIndex": market.tokens.index(token),
                    }
                )
        return Response.json(rows)
