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
from arbkit.errors import (
    BadRequest,
    ConfigError,
    NotFound,
    OrderNotFound,
    OrderRejected,
    ValidationError,
)
from arbkit.fees import FeeSchedule
from arbkit.http import HttpTransport
from arbkit.models import (
    Balance,
    BookKey,
    Fill,
    Market,
    MarketStatus,
    Order,
    OrderBook,
    OrderRequest,
    Position,
    Resolution,
    Side,
    TimeInForce,
)
from arbkit_kalshi.errors import map_error
from arbkit_kalshi.parse import (
    EventData,
    build_markets,
    event_fees,
    fee_schedule,
    page,
    parse_event,
    parse_market,
    parse_orderbook,
    parse_orderbooks,
    parse_resolution,
    parse_series,
)
from arbkit_kalshi.parse_trading import (
    Settlement,
    parse_balance,
    parse_fill,
    parse_order,
    parse_position,
    parse_settlement,
)
from arbkit_kalshi.throttle import BASIC, RateLimit, TokenBucket
from arbkit_kalshi.units import dollars_to_cents, format_count, format_dollars, is_cent_price

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

_EVENT_FILTER = {
    MarketStatus.OPEN: "open",
    MarketStatus.UNOPENED: "unopened",
    MarketStatus.CLOSED: "closed",
    MarketStatus.RESOLVED: "settled",
}
_TIF = {
    TimeInForce.FOK: "fill_or_kill",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.GTD: "good_till_canceled",
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
    ``legacy_cents`` sends integer-cent prices and ``type: limit`` for pre-2026 servers.
    ``use_buy_max_cost`` adds Kalshi's ``buy_max_cost`` cap to fill-or-kill buys.
    """

    name = "kalshi"

    def __init__(
        self,
        env: str = "prod",
        base_url: str | None = None,
        api_key_id: str | None = None,
        private_key: str | bytes | None = None,
        private_key_path: str | os.PathLike[str] | None = None,
        timeout: float = 10,
        *,
        rate_limit: RateLimit | None = BASIC,
        legacy_cents: bool = False,
        use_buy_max_cost: bool = False,
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
        )
        self.legacy_cents = legacy_cents
        self.use_buy_max_cost = use_buy_max_cost
        self._reads = TokenBucket(rate_limit.reads_per_second) if rate_limit else None
        self._writes = TokenBucket(rate_limit.writes_per_second) if rate_limit else None
        self._series_fees: dict[str, FeeSchedule | None] = {}
        self._lock = threading.Lock()
        self._batch_books = True

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> KalshiClient:
        """Build from :class:`arbkit.config.Settings` (``KALSHI_*`` variables); keywords win."""
        options: dict[str, Any] = {}
        if settings is not None:
            options["env"] = settings.kalshi_env
            options["base_url"] = settings.kalshi_base_url
            options["api_key_id"] = settings.kalshi_api_key
            if settings.kalshi_secret is not None:
                options["private_key"] = settings.kalshi_secret.reveal()
            elif settings.kalshi_private_key_path is not None:
                options["private_key_path"] = settings.kalshi_private_key_path
            options["timeout"] = float(settings.http_timeout)
        if "private_key" in overrides or "private_key_path" in overrides:
            options.pop("private_key", None)
            options.pop("private_key_path", None)
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
        if self._reads is not None:
            self._reads.acquire()
        return self.transport.get(path, params=params, signed=signed)

    def _write(self, method: str, path: str, body: Any = None) -> Any:
        if self._writes is not None:
            self._writes.acquire()
        return self.transport.request(method, path, json_body=body, signed=True)

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
        """Markets grouped by event, with fees and sports :class:`~arbkit.sports.GameInfo` attached.

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
            for ticker, (yes, no) in books.items():
                out[(ticker, "yes")] = yes
                out[(ticker, "no")] = no
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
    def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The ``POST /portfolio/orders`` body for a request (kalshi.md 3.8)."""
        size = request.size
        if size != size.quantize(Decimal("0.01")):
            raise ValidationError(f"Kalshi counts have at most 2 decimals, got {size}")
        outcome = request.outcome_id
        if outcome not in ("yes", "no"):
            raise ValidationError(f"Kalshi outcomes are 'yes' and 'no', got {outcome!r}")
        body: dict[str, Any] = {
            "ticker": request.market.id,
            "client_order_id": request.client_order_id or str(uuid.uuid4()),
            "side": outcome,
            "action": request.side.value,
        }
        whole = size == size.to_integral_value()
        if self.legacy_cents:
            if not whole or not is_cent_price(request.price):
                raise ValidationError("legacy Kalshi servers take whole contracts at whole cents only")
            body["count"] = int(size)
            body[f"{outcome}_price"] = dollars_to_cents(request.price)
            body["type"] = "limit"
        else:
            # The reference: "give exactly ONE price field (yes or no; cents or dollars)", so the
            # new dollars field is sent alone; count and count_fp may both be sent if they agree.
            body[f"{outcome}_price_dollars"] = format_dollars(request.price)
            body["count_fp"] = format_count(size)
            if whole:
                body["count"] = int(size)
        tif = _TIF.get(request.time_in_force)
        if tif:
            body["time_in_force"] = tif
        if request.time_in_force is TimeInForce.GTD and request.expires_at is not None:
            body["expiration_ts"] = int(request.expires_at.timestamp())
        if self.use_buy_max_cost and request.time_in_force is TimeInForce.FOK and request.side is Side.BUY:
            # UNCERTAIN whether Kalshi counts fees against buy_max_cost; the cap is the notional.
            body["buy_max_cost"] = dollars_to_cents(request.notional, round_up=True)
        return body

    def place_order(self, request: OrderRequest) -> Order:
        """Send one limit order; ``OrderRejected`` (or a subclass) when Kalshi refuses it.

        ``OutcomeUnknown`` propagates: reconcile with :meth:`find_order` by client order id.
        """
        body = self.order_body(request)
        try:
            response = self._write("POST", "/portfolio/orders", body)
        except (BadRequest, NotFound) as exc:
            raise _as(OrderRejected, exc) from exc
        return parse_order(response)

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

        ``type: market`` was removed (kalshi.md 3.8); the default worst price is 0.99 for a
        buy and 0.01 for a sell.
        """
        side = Side(side)
        price = worst_price or (Decimal("0.99") if side is Side.BUY else Decimal("0.01"))
        return self.place_order(
            OrderRequest(
                market, outcome_id, side, price, size, TimeInForce.IOC, client_order_id=client_order_id
            )
        )

    def cancel_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """Cancel what remains (``DELETE /portfolio/orders/{id}``) and return the final state."""
        try:
            body = self._write("DELETE", f"/portfolio/orders/{quote(order_id, safe='')}")
        except NotFound as exc:
            raise _as(OrderNotFound, exc) from exc
        return parse_order(body)

    def get_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """One order by Kalshi's id; :class:`~arbkit.errors.OrderNotFound` if none."""
        try:
            body = self._get(f"/portfolio/orders/{quote(order_id, safe='')}", signed=True)
        except NotFound as exc:
            raise _as(OrderNotFound, exc) from exc
        return parse_order(body)

    def orders(self, *, market: Market | None = None, status: str | None = None) -> list[Order]:
        """Our orders (``GET /portfolio/orders``), optionally of one market or status word."""
        params = {"ticker": market.id if market else None, "status": status, "limit": 1000}
        return [parse_order(o) for o in self._pages("/portfolio/orders", "orders", params, signed=True)]

    def find_order(self, client_order_id: str, *, market: Market | None = None) -> Order | None:
        """The order placed with that client order id, or ``None`` if Kalshi never got it."""
        params = {"ticker": market.id if market else None, "limit": 1000}
        for item in self._pages("/portfolio/orders", "orders", params, signed=True):
            if item.get("client_order_id") == client_order_id:
                return parse_order(item)
        return None

    def fills(self, *, order_id: str | None = None, market: Market | None = None) -> list[Fill]:
        """Our executions, newest first."""
        params = {"order_id": order_id, "ticker": market.id if market else None, "limit": 1000}
        fills = [parse_fill(f) for f in self._pages("/portfolio/fills", "fills", params, signed=True)]
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
