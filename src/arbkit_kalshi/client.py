"""The Kalshi Trade API v2 client: :class:`KalshiClient`, an :class:`arbkit.exchange.Exchange`.

Start on the demo environment (real Kalshi, fake money; keys are per environment)::

    from arbkit_kalshi.client import KalshiClient

    kalshi = KalshiClient(env="demo", api_key_id="a952bcbe-...", private_key_path="~/kalshi-demo.key")
    games = kalshi.markets(series="KXNBAGAME")
    books = kalshi.order_books(games)            # {(ticker, "yes"|"no"): OrderBook}

Market data needs no credentials. Trading requests are signed (:mod:`arbkit_kalshi.auth`).
A 5xx, timeout or dropped connection after an order was sent raises
:class:`~arbkit.errors.OutcomeUnknown`; reconcile with :meth:`KalshiClient.find_order`
before doing anything else, never re-send blindly.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from arbkit.config import Settings
from arbkit.engine.fees import FeeSchedule
from arbkit.errors import (
    ArbkitError,
    BadRequest,
    ConfigError,
    ExchangeError,
    InvalidResponse,
    NotFound,
    OrderNotFound,
    OrderRejected,
    ValidationError,
)
from arbkit.http import DEFAULT_TIMEOUT, HttpTransport
from arbkit.models import (
    Balance,
    BookKey,
    Fill,
    Market,
    MarketStatus,
    Order,
    OrderBook,
    OrderRequest,
    OrderStatus,
    Position,
    Resolution,
    Side,
    TimeInForce,
)
from arbkit_kalshi.credentials import credential_options
from arbkit_kalshi.errors import DeprecatedEndpoint, deprecated_body, error_fields, map_error
from arbkit_kalshi.grid import LINEAR_CENT, PriceGrid, yes_book
from arbkit_kalshi.parse import (
    COUNT_STEP,
    GRID_META_KEY,
    EventData,
    build_markets,
    event_fees,
    fee_schedule,
    obj,
    page,
    parse_event,
    parse_market,
    parse_orderbook,
    parse_orderbooks,
    parse_resolution,
    parse_series,
)
from arbkit_kalshi.parse_trading import (
    Intent,
    Settlement,
    parse_balance,
    parse_fill,
    parse_order,
    parse_position,
    parse_settlement,
)
from arbkit_kalshi.settings import KalshiSettings
from arbkit_kalshi.throttle import BASIC, RateLimit, throttle
from arbkit_kalshi.units import format_count, format_dollars, number

if TYPE_CHECKING:
    from arbkit_kalshi.auth import KalshiSigner

__all__ = ["HOSTS", "LEGACY_HOSTS", "KalshiClient"]

#: REST bases recommended since May 2026 (kalshi.md section 1).
HOSTS = {
    "prod": "https://external-api.kalshi.com/trade-api/v2",
    "demo": "https://external-api.demo.kalshi.co/trade-api/v2",
}
#: The older hosts, still served: pass one as ``base_url`` if needed.
LEGACY_HOSTS = {
    "prod": "https://api.elections.kalshi.com/trade-api/v2",
    "demo": "https://demo-api.kalshi.co/trade-api/v2",
}
API_PREFIX = "/trade-api/v2"
BATCH_BOOKS = 100  # GET /markets/orderbooks takes at most 100 tickers (kalshi.md 3.11)
#: The only order-write path since June 2026 (kalshi.md 3.8); V1 writes answer 410.
V2_ORDERS = "/portfolio/events/orders"
_INTENTS = 10_000  # remembered order intents (oldest forgotten first)
SELF_TRADE_PREVENTION = ("taker_at_cross", "maker")

_EVENT_FILTER = {
    MarketStatus.OPEN: "open",
    MarketStatus.UNOPENED: "unopened",
    MarketStatus.CLOSED: "closed",
    MarketStatus.RESOLVED: "settled",
}
_TIF = {
    TimeInForce.GTC: "good_till_canceled",
    TimeInForce.FOK: "fill_or_kill",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.GTD: "good_till_canceled",  # with expiration_time (GTT is not an API value)
}


def _base_url(env: str, base_url: str | None) -> str:
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("must be an http(s) URL", variable="KALSHI_BASE_URL")
        url = base_url.rstrip("/")
        return url if parts.path.rstrip("/") else url + API_PREFIX
    if env not in HOSTS:
        raise ConfigError(f"must be one of {', '.join(HOSTS)}", variable="KALSHI_ENV")
    return HOSTS[env]


class KalshiClient:
    """Kalshi as an :class:`arbkit.exchange.Exchange`, in core units (Decimal dollars and contracts).

    ``env`` picks the production or demo host; ``base_url`` overrides it (a sandbox, a legacy
    host). Credentials are the API key id and the RSA private key (PEM text, bytes or a
    file via ``private_key_path``); without them only market data works. ``rate_limit``
    keeps requests under the account tier's limits (``None`` disables it, e.g. for a sandbox).

    Orders go through the V2 writes only (``/portfolio/events/orders``; V1 answers 410).
    ``self_trade_prevention`` is sent on every order (``taker_at_cross`` cancels our incoming
    order where it would hit our own resting one; ``maker`` cancels the resting one).
    ``off_grid`` says what to do with a price off the market's grid: ``"snap"`` it to the
    nearest valid price not past the limit, or ``"refuse"`` it with a ``ValidationError``.
    """

    name = "kalshi"

    def __init__(
        self,
        *,
        env: str = "prod",
        base_url: str | None = None,
        api_key_id: str | None = None,
        private_key: str | bytes | None = None,
        private_key_path: str | os.PathLike[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rate_limit: RateLimit | None = BASIC,
        self_trade_prevention: str = "taker_at_cross",
        off_grid: str = "snap",
        max_retries: int = 3,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = _base_url(env, base_url)
        self.env = env
        signer: KalshiSigner | None = None
        key = private_key if private_key is not None else private_key_path
        if key is not None and not api_key_id:
            raise ConfigError("a private key was given without its API key id", variable="KALSHI_API_KEY")
        if api_key_id and key is None:
            raise ConfigError("an API key id was given without its private key", variable="KALSHI_SECRET")
        if api_key_id and key is not None:
            # Imported here: a read-only client (paper trading) never loads cryptography (~6 MB).
            from arbkit_kalshi.auth import KalshiSigner
        if api_key_id and private_key is not None:
            signer = KalshiSigner(api_key_id, private_key)
        elif api_key_id and private_key_path is not None:
            signer = KalshiSigner(api_key_id, Path(private_key_path))
        self.signer = signer
        self.transport = HttpTransport(
            self.base_url,
            exchange=self.name,
            timeout=timeout,
            max_retries=max_retries,
            signer=signer,
            error_mapper=map_error,
            session=session,
            credentials_hint="KALSHI_API_KEY and KALSHI_SECRET (or KALSHI_PRIVATE_KEY_PATH)",
            throttle=throttle(rate_limit) if rate_limit else None,
        )
        if self_trade_prevention not in SELF_TRADE_PREVENTION:
            raise ConfigError(f"self_trade_prevention must be one of {', '.join(SELF_TRADE_PREVENTION)}")
        if off_grid not in ("snap", "refuse"):
            raise ConfigError("off_grid must be 'snap' or 'refuse'")
        self.self_trade_prevention = self_trade_prevention
        self.off_grid = off_grid
        self._intents: dict[str, Intent] = {}
        self._series_fees: dict[str, FeeSchedule | None] = {}
        self._lock = threading.Lock()
        self._batch_books = True

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> KalshiClient:
        """Build from :class:`arbkit.config.Settings` (``KALSHI_*`` variables); keywords win."""
        options = credential_options(settings, overrides)
        if settings is not None:
            own = KalshiSettings.of(settings)
            options["env"] = own.env
            options["base_url"] = own.base_url
            options["timeout"] = float(settings.http_timeout)
        options.update(overrides)
        return cls(**options)

    def __repr__(self) -> str:
        return f"KalshiClient(base_url={self.base_url!r}, authenticated={self.signer is not None})"

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far (benchmarks report requests per scan)."""
        return self.transport.request_count

    # -- plumbing ---------------------------------------------------------------------------
    def _get(self, path: str, params: Any = None, *, signed: bool = False) -> Any:
        return self.transport.get(path, params=params, signed=signed)

    def _write(self, method: str, path: str, body: Any = None, *, params: Any = None, cost: int = 1) -> Any:
        # Batches bill per item (kalshi.md 6), in create-sized slots of the write bucket.
        answer = self.transport.request(
            method, path, params=params or None, json_body=body, signed=True, cost=max(1, cost)
        )
        if deprecated_body(answer):
            # Whatever the status (a 2xx was once reported): a hard failure, nothing happened.
            code, message = error_fields(answer)
            raise DeprecatedEndpoint(
                f"kalshi retired this endpoint: {message or code}",
                exchange=self.name,
                code=code,
                venue_message=message,
            )
        return answer

    def _pages(
        self, path: str, key: str, params: Mapping[str, Any], *, signed: bool = False
    ) -> Iterator[Mapping[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query = {k: v for k, v in params.items() if v is not None}
            if cursor:
                query["cursor"] = cursor
            items, cursor = page(self._get(path, query, signed=signed), key)
            yield from items
            if not cursor or cursor in seen:  # a repeated cursor would loop forever
                return
            seen.add(cursor)

    # -- market data ------------------------------------------------------------------------
    def events(
        self, *, status: str | None = "open", series: str | None = None, limit: int | None = None
    ) -> Iterator[EventData]:
        """Events with their markets (``GET /events?with_nested_markets=true``), page by page."""
        params = {"with_nested_markets": "true", "status": status, "series_ticker": series, "limit": 200}
        for n, item in enumerate(self._pages("/events", "events", params)):
            if limit is not None and n >= limit:
                return
            yield parse_event(item)

    def event(self, event_ticker: str) -> EventData:
        """One event with its markets."""
        body = self._get(f"/events/{quote(event_ticker, safe='')}", {"with_nested_markets": "true"})
        return parse_event(body)

    def series_fees(self, series_ticker: str) -> FeeSchedule | None:
        """The fee schedule of a series (``GET /series/{ticker}``), cached per client."""
        with self._lock:
            if series_ticker in self._series_fees:
                return self._series_fees[series_ticker]
        series = parse_series(self._get(f"/series/{quote(series_ticker, safe='')}"))
        fees = fee_schedule(series.fee_type, series.fee_multiplier)
        with self._lock:
            self._series_fees[series_ticker] = fees
        return fees

    def _fees_for(self, events: Sequence[EventData]) -> dict[str, FeeSchedule | None]:
        out: dict[str, FeeSchedule | None] = {}
        for series in {e.series_ticker for e in events if e.series_ticker}:
            try:
                out[series] = self.series_fees(series)
            except NotFound:
                out[series] = None  # unknown fees: the markets are listed but never traded
        return out

    def markets(
        self,
        *,
        status: MarketStatus | None = MarketStatus.OPEN,
        event_id: str | None = None,
        series: str | None = None,
        query: str | None = None,
        limit: int | None = None,
    ) -> list[Market]:
        """Markets grouped by event, with fees and sports :class:`~arbkit.games.GameInfo` attached.

        Follows ``/events`` cursors to the end (or ``limit`` markets). ``status`` is applied
        to each market (an open event may hold closed markets); ``query`` matches titles,
        tickers and team names, case-insensitively.
        """
        if event_id is not None:
            events: Iterator[EventData] = iter([self.event(event_id)])
        else:
            events = self.events(status=_EVENT_FILTER.get(status) if status else None, series=series)
        needle = query.lower() if query else None
        out: list[Market] = []
        batch: list[EventData] = []

        def flush() -> bool:
            fees = self._fees_for(batch)
            for event in batch:
                for market in build_markets(event, fees):
                    if status is not None and market.status is not status:
                        continue
                    if needle and not _matches(market, needle):
                        continue
                    out.append(market)
                    if limit is not None and len(out) >= limit:
                        return True
            batch.clear()
            return False

        for event in events:
            batch.append(event)
            if len(batch) >= 200 and flush():
                return out
        flush()
        return out

    def market(self, market_id: str) -> Market:
        """One market by ticker, with its event grouping and fees."""
        body = self._get(f"/markets/{quote(market_id, safe='')}")
        data = body.get("market") if isinstance(body, Mapping) else None
        event_ticker = data.get("event_ticker") if isinstance(data, Mapping) else None
        if not isinstance(event_ticker, str) or not event_ticker:
            return parse_market(body)
        event = self.event(event_ticker)
        fees = event_fees(event, self._fees_for([event]))
        return parse_market(body, event=event, fees=fees, siblings=event.market_payloads)

    def order_book(self, market: Market, outcome_id: str) -> OrderBook:
        """The book of one outcome (``GET /markets/{ticker}/orderbook``)."""
        market.outcome(outcome_id)
        yes, no = parse_orderbook(self._get(f"/markets/{quote(market.id, safe='')}/orderbook"), market.id)
        return yes if outcome_id == "yes" else no

    def order_books(self, markets: Sequence[Market]) -> Mapping[BookKey, OrderBook]:
        """YES and NO books of every market, 100 tickers per request (``GET /markets/orderbooks``).

        Falls back to one request per market if the batch endpoint answers 404. Markets the
        venue returns no book for are left out.
        """
        tickers = list(dict.fromkeys(m.id for m in markets))
        out: dict[BookKey, OrderBook] = {}
        for start in range(0, len(tickers), BATCH_BOOKS):
            chunk = tickers[start : start + BATCH_BOOKS]
            books: dict[str, tuple[OrderBook, OrderBook]] = {}
            if self._batch_books:
                try:
                    books = parse_orderbooks(
                        self._get("/markets/orderbooks", [("tickers", t) for t in chunk])
                    )
                except NotFound:
                    self._batch_books = False
            if not self._batch_books:
                for ticker in chunk:
                    try:
                        books[ticker] = parse_orderbook(
                            self._get(f"/markets/{quote(ticker, safe='')}/orderbook"), ticker
                        )
                    except NotFound:
                        continue
            for yes, no in books.values():
                out[yes.key] = yes
                out[no.key] = no
        return out

    def fee_schedule(self, market: Market) -> FeeSchedule | None:
        """The market's fee model (from its series, cached), or ``None`` if unknown."""
        if market.fees is not None:
            return market.fees
        series = market.meta.get("series_ticker")
        return self.series_fees(series) if isinstance(series, str) and series else None

    def resolution(self, market: Market) -> Resolution:
        """Whether and how the market resolved (``status``/``result``, kalshi.md 4.3-4.4)."""
        return parse_resolution(self._get(f"/markets/{quote(market.id, safe='')}"))

    # -- trading ------------------------------------------------------------------------------
    def grid(self, market: Market) -> PriceGrid:
        """The market's price grid (from its ``price_ranges``; 1 cent for a market built by hand)."""
        grid = market.meta.get(GRID_META_KEY)
        return grid if isinstance(grid, PriceGrid) else LINEAR_CENT

    def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The V2 ``POST /portfolio/events/orders`` body (``CreateOrderV2Request``, kalshi.md 3.8).

        The intent is mapped once onto the YES book (:func:`~arbkit_kalshi.grid.yes_book`); an
        off-grid price is snapped to the market's grid without passing the limit (down for a
        bid, up for an ask), or refused when ``off_grid="refuse"``. A sell with
        immediate-or-cancel is ``reduce_only`` so it can only close a position (an ``ask``
        while flat would open NO).
        """
        size = request.size
        if size < COUNT_STEP or size != size.quantize(COUNT_STEP):
            raise ValidationError(f"Kalshi counts are multiples of 0.01 contracts, got {size}")
        book_side, yes_price = yes_book(request.outcome_id, request.side, request.price)
        grid = self.grid(request.market)
        if not grid.is_valid(yes_price):
            if self.off_grid == "refuse":
                raise ValidationError(
                    f"price {request.price} is not on the price grid of {request.market.id}"
                    f" ({grid.structure or 'price_ranges'})"
                )
            yes_price = grid.snap(yes_price, book_side)
        tif = _TIF[request.time_in_force]
        body: dict[str, Any] = {
            "ticker": request.market.id,
            "client_order_id": request.client_order_id or str(uuid.uuid4()),
            "side": book_side,
            "price": format_dollars(yes_price),
            "count": format_count(size),
            "time_in_force": tif,
            "self_trade_prevention_type": self.self_trade_prevention,
        }
        if request.time_in_force is TimeInForce.GTD and request.expires_at is not None:
            body["expiration_time"] = int(request.expires_at.timestamp())
        if request.side is Side.SELL and tif == "immediate_or_cancel":
            body["reduce_only"] = True  # only allowed with IOC (kalshi.md 3.8)
        return body

    def _remember(self, order_id: str, client_order_id: str | None, intent: Intent) -> None:
        with self._lock:
            if order_id:
                self._intents[order_id] = intent
            if client_order_id:
                self._intents[f"c:{client_order_id}"] = intent
            while len(self._intents) > _INTENTS:
                self._intents.pop(next(iter(self._intents)))

    def order_intent(self, data: Mapping[str, Any]) -> Intent | None:
        """How this client placed the order ``data`` names (by ``order_id``/``client_order_id``), if it did.

        A stream takes it (``KalshiStream(intents=client.order_intent)``) to read streamed
        orders and fills in the caller's terms, as this client's reads do.
        """
        return self._intent(data)

    def _intent(self, data: Mapping[str, Any]) -> Intent | None:
        with self._lock:
            found = self._intents.get(str(data.get("order_id")))
            client_id = data.get("client_order_id")
            if found is None and isinstance(client_id, str) and client_id:
                found = self._intents.get(f"c:{client_id}")
        return found

    def _order(self, body: Any) -> Order:
        data = (
            body.get("order")
            if isinstance(body, Mapping) and isinstance(body.get("order"), Mapping)
            else body
        )
        return parse_order(data, self._intent(data) if isinstance(data, Mapping) else None)

    def place_order(self, request: OrderRequest) -> Order:
        """Send one limit order through V2 and return the full order (``GET`` after the create).

        ``OrderRejected`` (or a subclass) when Kalshi refuses it; ``OutcomeUnknown``
        propagates (reconcile with :meth:`find_order` by client order id). A create answer
        without an ``order_id`` is never taken as placed (:class:`InvalidResponse`).
        """
        body = self.order_body(request)
        intent = Intent(request.outcome_id, request.side)
        self._remember("", body["client_order_id"], intent)
        try:
            created = self._write("POST", V2_ORDERS, body)
        except (BadRequest, NotFound) as exc:
            raise _as(OrderRejected, exc) from exc
        order_id = _created_id(created)
        self._remember(order_id, body["client_order_id"], intent)
        try:
            return self.get_order(order_id, market=request.market)
        except (ArbkitError, OrderNotFound):
            # Reads lag writes (kalshi.md 9.10): the flat create answer is the venue's word.
            return _from_created(created, body, request)

    def place_orders(self, requests: Sequence[OrderRequest]) -> list[Order | ExchangeError]:
        """Batched create (``POST /portfolio/events/orders/batched``): one result per request, in order.

        Each item is the placed :class:`Order` (from the flat answer) or the venue's refusal
        of that entry as an :class:`~arbkit.errors.OrderRejected`.
        """
        if not requests:
            return []
        bodies = [self.order_body(r) for r in requests]
        for body, request in zip(bodies, requests, strict=True):
            self._remember("", body["client_order_id"], Intent(request.outcome_id, request.side))
        try:
            answer = self._write("POST", V2_ORDERS + "/batched", {"orders": bodies}, cost=len(bodies))
        except (BadRequest, NotFound) as exc:
            raise _as(OrderRejected, exc) from exc
        items = _items(answer, "orders", len(bodies))
        out: list[Order | ExchangeError] = []
        for item, body, request in zip(items, bodies, requests, strict=True):
            if item.get("error") is not None or not item.get("order_id"):
                code, message = error_fields({"error": item.get("error")})
                out.append(
                    OrderRejected(
                        f"kalshi refused batch order {body['client_order_id']}: {message or code}",
                        exchange=self.name,
                        code=code,
                        venue_message=message,
                    )
                )
                continue
            self._remember(
                str(item["order_id"]), body["client_order_id"], Intent(request.outcome_id, request.side)
            )
            out.append(_from_created(item, body, request))
        return out

    def place_market_order(
        self,
        market: Market,
        outcome_id: str,
        side: Side | str,
        size: Decimal,
        *,
        worst_price: Decimal | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """A "market" order as the current API allows it: immediate-or-cancel at a worst price.

        ``type: market`` was removed (kalshi.md 3.8); the default worst price is the market's
        highest valid price for a buy and its lowest for a sell.
        """
        side = Side(side)
        grid = self.grid(market)
        if worst_price is None:
            worst_price = (
                grid.snap(Decimal("0.9999"), "bid")
                if side is Side.BUY
                else grid.snap(Decimal("0.0001"), "ask")
            )
        return self.place_order(
            OrderRequest(
                market, outcome_id, side, worst_price, size, TimeInForce.IOC, client_order_id=client_order_id
            )
        )

    def _route(self, market: Market | None) -> dict[str, Any]:
        # Without market_ticker (or the shard) a cancel goes to shard 0 and 404s elsewhere (3.8).
        return {"market_ticker": market.id} if market is not None else {}

    def cancel_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """Cancel what remains (``DELETE /portfolio/events/orders/{id}``) and return the final state.

        A 404 is not taken as "already gone": the order is read back, and only a final order
        is returned; otherwise :class:`~arbkit.errors.OrderNotFound` is raised.
        """
        path = f"{V2_ORDERS}/{quote(order_id, safe='')}"
        try:
            answer = self._write("DELETE", path, params=self._route(market))
        except NotFound as exc:
            try:
                found = self.get_order(order_id, market=market)
            except OrderNotFound:
                raise _as(OrderNotFound, exc) from exc
            if found.status.is_final:
                return found
            raise _as(OrderNotFound, exc) from exc
        _require(answer, "order_id", "cancel")
        return self.get_order(order_id, market=market)

    def cancel_orders(
        self, order_ids: Sequence[str], *, market: Market | None = None
    ) -> dict[str, Decimal | ExchangeError]:
        """Batched cancel (``DELETE /portfolio/events/orders/batched``): ``{order_id: reduced_by}``.

        An entry the venue could not cancel maps to its refusal.
        """
        if not order_ids:
            return {}
        entries = [{"order_id": oid, **self._route(market)} for oid in order_ids]
        # A cancel costs 2 tokens, a create 10 (kalshi.md 6): five cancels per write slot.
        cost = -(-len(entries) // 5)
        answer = self._write("DELETE", V2_ORDERS + "/batched", {"orders": entries}, cost=cost)
        out: dict[str, Decimal | ExchangeError] = {}
        for item in _items(answer, "orders", len(entries)):
            oid = str(item.get("order_id") or "")
            if item.get("error") is not None:
                code, message = error_fields({"error": item.get("error")})
                out[oid] = OrderNotFound(
                    f"kalshi could not cancel {oid}: {message or code}", exchange=self.name, code=code
                )
            else:
                out[oid] = number(item.get("reduced_by"), "reduced_by")
        return out

    def cancel_all(self) -> None:
        """Cancel every resting order on every shard (``DELETE /portfolio/events/orders``, 204).

        Kalshi may also cancel orders placed during the following minute (kalshi.md 3.8):
        do not re-quote right after.
        """
        self._write("DELETE", V2_ORDERS)

    def amend_order(
        self,
        order: Order,
        market: Market,
        *,
        price: Decimal | None = None,
        size: Decimal | None = None,
    ) -> Order:
        """Change a resting order's price and/or total size (``POST .../{id}/amend``).

        ``price`` is in the order's own terms (as :attr:`Order.price`); ``size`` is the new
        **total** (already filled + still wanted), Kalshi's amend semantics. The order keeps
        its side; an amend may cross and fill.
        """
        new_price = order.price if price is None else price
        total = order.size if size is None else size
        if total < order.filled_size or total != total.quantize(COUNT_STEP):
            raise ValidationError(f"amended size {total} must be >= filled {order.filled_size}, 0.01 steps")
        book_side, yes_price = yes_book(order.outcome_id, order.side, new_price)
        grid = self.grid(market)
        if not grid.is_valid(yes_price):
            if self.off_grid == "refuse":
                raise ValidationError(f"price {new_price} is not on the price grid of {market.id}")
            yes_price = grid.snap(yes_price, book_side)
        body: dict[str, Any] = {
            "ticker": market.id,
            "side": book_side,
            "price": format_dollars(yes_price),
            "count": format_count(total),
        }
        if order.client_order_id:
            body["client_order_id"] = order.client_order_id
        try:
            answer = self._write("POST", f"{V2_ORDERS}/{quote(order.id, safe='')}/amend", body)
        except BadRequest as exc:
            raise _as(OrderRejected, exc) from exc
        except NotFound as exc:
            raise _as(OrderNotFound, exc) from exc
        new_id = _require(answer, "order_id", "amend")
        self._remember(new_id, order.client_order_id, Intent(order.outcome_id, order.side))
        return self.get_order(new_id, market=market)

    def decrease_order(
        self,
        order_id: str,
        *,
        market: Market | None = None,
        reduce_by: Decimal | None = None,
        reduce_to: Decimal | None = None,
    ) -> Order:
        """Shrink a resting order without losing its place (``POST .../{id}/decrease``).

        Exactly one of ``reduce_by`` / ``reduce_to`` (contracts).
        """
        if (reduce_by is None) == (reduce_to is None):
            raise ValidationError("give exactly one of reduce_by or reduce_to")
        body: dict[str, Any] = self._route(market)
        if reduce_by is not None:
            body["reduce_by"] = format_count(reduce_by)
        if reduce_to is not None:
            body["reduce_to"] = format_count(reduce_to)
        try:
            answer = self._write("POST", f"{V2_ORDERS}/{quote(order_id, safe='')}/decrease", body)
        except BadRequest as exc:
            raise _as(OrderRejected, exc) from exc
        except NotFound as exc:
            raise _as(OrderNotFound, exc) from exc
        _require(answer, "order_id", "decrease")
        return self.get_order(order_id, market=market)

    def queue_position(self, order_id: str) -> Decimal:
        """Contracts ahead of a resting order at its price (0 = first in line)."""
        try:
            body = self._get(f"/portfolio/orders/{quote(order_id, safe='')}/queue_position", signed=True)
        except NotFound as exc:
            raise _as(OrderNotFound, exc) from exc
        return number(obj(body, "queue position").get("queue_position_fp"), "queue_position_fp")

    def queue_positions(self, markets: Sequence[Market]) -> dict[str, Decimal]:
        """``{order_id: contracts ahead}`` of our resting orders in these markets."""
        params = {"market_tickers": ",".join(m.id for m in markets)} if markets else {}
        body = obj(self._get("/portfolio/orders/queue_positions", params, signed=True), "queue positions")
        rows = body.get("queue_positions")
        if not isinstance(rows, list):
            raise InvalidResponse("kalshi: queue_positions is not a list", exchange=self.name)
        return {
            str(obj(r, "queue position").get("order_id")): number(
                r.get("queue_position_fp"), "queue_position_fp"
            )
            for r in rows
        }

    def get_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """One order by Kalshi's id; :class:`~arbkit.errors.OrderNotFound` if none."""
        try:
            body = self._get(f"/portfolio/orders/{quote(order_id, safe='')}", signed=True)
        except NotFound as exc:
            raise _as(OrderNotFound, exc) from exc
        return self._order(body)

    def orders(self, *, market: Market | None = None, status: str | None = None) -> list[Order]:
        """Our orders (``GET /portfolio/orders``), optionally of one market or status word."""
        params = {"ticker": market.id if market else None, "status": status, "limit": 1000}
        return [self._order(o) for o in self._pages("/portfolio/orders", "orders", params, signed=True)]

    def find_order(self, client_order_id: str, *, market: Market | None = None) -> Order | None:
        """The order placed with that client order id, or ``None`` if Kalshi never got it."""
        params = {"ticker": market.id if market else None, "limit": 1000}
        for item in self._pages("/portfolio/orders", "orders", params, signed=True):
            if item.get("client_order_id") == client_order_id:
                return self._order(item)
        return None

    def fills(self, *, order_id: str | None = None, market: Market | None = None) -> list[Fill]:
        """Our executions, newest first."""
        params = {"order_id": order_id, "ticker": market.id if market else None, "limit": 1000}
        fills = [
            parse_fill(f, self._intent(f))
            for f in self._pages("/portfolio/fills", "fills", params, signed=True)
        ]
        return sorted(fills, key=lambda f: f.timestamp, reverse=True)

    def balance(self) -> Balance:
        """Cash available to trade, in dollars."""
        return parse_balance(self._get("/portfolio/balance", signed=True))

    def positions(self) -> list[Position]:
        """Open positions: one row per market, YES if long YES, NO if long NO (Kalshi nets them)."""
        params = {"count_filter": "position", "limit": 1000}
        rows = self._pages("/portfolio/positions", "market_positions", params, signed=True)
        return [p for p in (parse_position(r) for r in rows) if p is not None]

    def settlements(self, *, market: Market | None = None) -> list[Settlement]:
        """Settled markets of the account (``GET /portfolio/settlements``)."""
        params = {"ticker": market.id if market else None, "limit": 1000}
        return [
            parse_settlement(s)
            for s in self._pages("/portfolio/settlements", "settlements", params, signed=True)
        ]

    def close(self) -> None:
        """Release pooled connections."""
        self.transport.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _require(answer: Any, key: str, what: str) -> str:
    value = answer.get(key) if isinstance(answer, Mapping) else None
    if not isinstance(value, str) or not value:
        raise InvalidResponse(f"kalshi: the {what} answer has no {key}", exchange="kalshi")
    return value


def _created_id(answer: Any) -> str:
    """The ``order_id`` of a ``CreateOrderV2Response``; never counted as placed without one."""
    return _require(answer, "order_id", "create-order")


def _items(answer: Any, key: str, expected: int) -> list[Mapping[str, Any]]:
    items = answer.get(key) if isinstance(answer, Mapping) else None
    if not isinstance(items, list) or len(items) != expected:
        raise InvalidResponse(f"kalshi: the batch answer has no {expected} {key}", exchange="kalshi")
    return [obj(i, key) for i in items]


def _from_created(answer: Any, body: Mapping[str, Any], request: OrderRequest) -> Order:
    """An :class:`Order` from the flat create answer (when the full order cannot be read yet).

    ``remaining_count`` is final for IOC/FoK, so an order with nothing left is final; a
    resting one is open. ``average_fill_price`` is a YES price (UNCERTAIN: the reference
    shows only a bid), converted to the request's terms; the fee is per contract.
    """
    data = obj(answer, "create-order answer")
    filled = number(data.get("fill_count"), "fill_count")
    remaining = number(data.get("remaining_count"), "remaining_count")
    average: Decimal | None = None
    fees = Decimal(0)
    if filled > 0 and data.get("average_fill_price") not in (None, ""):
        yes_average = number(data["average_fill_price"], "average_fill_price")
        average = yes_average if request.outcome_id == "yes" else 1 - yes_average
    if filled > 0 and data.get("average_fee_paid") not in (None, ""):
        fees = number(data["average_fee_paid"], "average_fee_paid") * filled
    if remaining > 0:
        status, raw = OrderStatus.OPEN, "resting"
    elif filled >= request.size:
        status, raw = OrderStatus.FILLED, "executed"
    else:
        status, raw = OrderStatus.CANCELED, "canceled"
    return Order(
        exchange="kalshi",
        id=str(data["order_id"]),
        market_id=request.market.id,
        outcome_id=request.outcome_id,
        side=request.side,
        price=request.price,
        size=request.size,
        status=status,
        filled_size=filled,
        average_price=average,
        fees=fees,
        client_order_id=str(body.get("client_order_id") or "") or None,
        raw_status=raw,
    )


def _as(cls: type[OrderRejected] | type[OrderNotFound], exc: Any) -> Any:
    return cls(
        str(exc.args[0]) if exc.args else str(exc),
        exchange=exc.exchange,
        status_code=exc.status_code,
        code=exc.code,
        venue_message=exc.venue_message,
    )


def _matches(market: Market, needle: str) -> bool:
    names = [market.id, market.title, market.event_title or "", *(o.name for o in market.outcomes)]
    return any(needle in name.lower() for name in names)
