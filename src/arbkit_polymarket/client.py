"""``PolymarketClient``: Gamma discovery, CLOB books, fees, signed V2 trading, resolution.

>>> client = PolymarketClient()                      # market data needs no credentials
>>> client.name
'polymarket'

Trading needs ``private_key`` (the EOA; for signature types 1/2 also ``funder``, the
proxy/Safe that holds the money). API credentials are derived from it on first use
(``GET /auth/derive-api-key``; ``POST /auth/api-key`` only when none exist) unless
``api_key``/``api_secret``/``api_passphrase`` are given.

Client order ids: the CLOB has none; an order's id is its EIP-712 hash. The salt is
derived from ``OrderRequest.client_order_id``, and the signed order is kept, so
:meth:`PolymarketClient.order_id_for` tells the id before sending and re-sending the
same request sends the very same order. :meth:`find_order` can only find orders this
client object prepared: an order prepared by another process is found by listing
``orders(market=...)`` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from arbkit.config import Secret, Settings
from arbkit.engine.fees import FeeSchedule
from arbkit.errors import (
    AuthenticationError,
    BadRequest,
    ConfigError,
    NotFound,
    OrderNotFound,
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
    Position,
    Resolution,
    ResolutionState,
    TimeInForce,
)
from arbkit_polymarket.auth import ApiCredentials, L2Signer, l1_headers
from arbkit_polymarket.crypto import SigningKey
from arbkit_polymarket.errors import map_error, rejection
from arbkit_polymarket.orders import (
    CHAIN_ID,
    MARKETABLE,
    OrderAmounts,
    OrderSigner,
    SignedOrder,
    check_minimum,
    order_amounts,
    salt_for,
)
from arbkit_polymarket.parse import (
    EXCHANGE,
    ClobMarketInfo,
    invalid,
    obj,
    parse_book,
    parse_books,
    parse_clob_market_info,
    parse_clob_resolution,
    parse_event,
    parse_gamma_market,
    parse_gamma_resolution,
    seq,
)
from arbkit_polymarket.parse_trading import (
    parse_balance,
    parse_cancel,
    parse_open_order,
    parse_order_page,
    parse_positions,
    parse_send_order,
    parse_trades,
)
from arbkit_polymarket.settings import PolymarketSettings
from arbkit_polymarket.throttle import STANDARD, RateLimit, clob_throttle, data_throttle, gamma_throttle

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
__all__ = ["PolymarketClient"]

CLOB_URL = "https://clob.polymarket.com"
GAMMA_URL = "https://gamma-api.polymarket.com"
DATA_URL = "https://data-api.polymarket.com"
#: Token ids per ``POST /books``. The cap is undocumented [UNCERTAIN]; a "Payload exceeds the
#: limit" answer halves the chunk and retries.
BOOKS_PER_REQUEST = 100
#: Gamma keyset pages are clamped to 100 (reference section 3.1).
GAMMA_PAGE = 100
#: GTD expirations under one minute away are refused by the CLOB (reference section 5.6).
GTD_SECURITY_SECONDS = 60
_ORDER_TYPES = {
    TimeInForce.GTC: "GTC",
    TimeInForce.GTD: "GTD",
    TimeInForce.FOK: "FOK",
    TimeInForce.IOC: "FAK",
}


@attrs.frozen
class PreparedOrder:
    """A signed order and the request it came from (kept so a re-send sends the same bytes)."""

    request: OrderRequest
    amounts: OrderAmounts
    signed: SignedOrder
    order_type: str

    @property
    def order_id(self) -> str:
        """The CLOB order id (the order's EIP-712 hash)."""
        return self.signed.order_id


class PolymarketClient:
    """The Polymarket venue (CLOB V2 + Gamma), implementing :class:`arbkit.exchange.Exchange`.

    ``base_url`` is the CLOB host (a sandbox's URL in tests); ``gamma_url`` and ``data_url``
    the Gamma and Data API hosts. ``rate_limit`` is the account's per-signer tier, kept with
    the Cloudflare limits by the transports (``None`` disables client-side throttling).
    Closing the client (or leaving ``with PolymarketClient(...) as client:``) releases
    every pooled connection.
    """

    name = EXCHANGE

    def __init__(
        self,
        *,
        base_url: str = CLOB_URL,
        gamma_url: str = GAMMA_URL,
        data_url: str = DATA_URL,
        private_key: str | Secret | None = None,
        api_key: str | None = None,
        api_secret: str | Secret | None = None,
        api_passphrase: str | Secret | None = None,
        funder: str | None = None,
        signature_type: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
        chain_id: int = CHAIN_ID,
        max_retries: int = 3,
        rate_limit: RateLimit | None = STANDARD,
    ) -> None:
        common: dict[str, Any] = {"exchange": EXCHANGE, "timeout": timeout, "max_retries": max_retries}
        # Each host has its own documented limits (throttle.py); rate_limit=None turns all off.
        limited = rate_limit is not None
        self.clob = HttpTransport(
            base_url,
            error_mapper=map_error,
            throttle=clob_throttle(rate_limit) if rate_limit else None,
            **common,
        )
        self.gamma = HttpTransport(
            gamma_url, error_mapper=map_error, throttle=gamma_throttle() if limited else None, **common
        )
        self.data = HttpTransport(
            data_url, error_mapper=map_error, throttle=data_throttle() if limited else None, **common
        )
        self.chain_id = chain_id
        self._lock = threading.RLock()
        self._prepared: dict[str, PreparedOrder] = {}
        self._clob_info: dict[str, ClobMarketInfo] = {}
        self._fees: dict[str, FeeSchedule] = {}
        self._key: SigningKey | None = None
        self._signer: OrderSigner | None = None
        self._credentials: ApiCredentials | None = None
        if private_key is not None:
            raw = private_key.reveal() if isinstance(private_key, Secret) else private_key
            self._key = SigningKey(raw)
            self._signer = OrderSigner(
                self._key, signature_type=signature_type, funder=funder, chain_id=chain_id
            )
        elif signature_type not in (0, 1, 2):
            raise ConfigError(
                "must be 0, 1 or 2 (3, deposit wallets, is not supported)",
                variable="POLYMARKET_SIGNATURE_TYPE",
            )
        given = [api_key, api_secret, api_passphrase]
        if any(v is not None for v in given):
            if not all(given):
                raise ConfigError(
                    "api_key, api_secret and api_passphrase go together", variable="POLYMARKET_API_KEY"
                )
            self._set_credentials(
                ApiCredentials(
                    str(api_key),
                    api_secret if isinstance(api_secret, Secret) else Secret(str(api_secret)),
                    api_passphrase if isinstance(api_passphrase, Secret) else Secret(str(api_passphrase)),
                )
            )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> PolymarketClient:
        """Build from ``POLYMARKET_*`` settings; keyword arguments override them."""
        options: dict[str, Any] = {}
        if settings is not None:
            own = PolymarketSettings.of(settings)
            options = {
                "private_key": own.private_key,
                "api_key": own.api_key,
                "api_secret": own.api_secret,
                "api_passphrase": own.api_passphrase,
                "funder": own.funder,
                "signature_type": own.signature_type,
                "timeout": float(settings.http_timeout),
                "base_url": own.clob_url,
                "gamma_url": own.gamma_url,
                "data_url": own.data_url,
            }
            options = {k: v for k, v in options.items() if v is not None}
        options.update(overrides)
        return cls(**options)

    def __repr__(self) -> str:
        who = self._signer.maker if self._signer else "no wallet"
        return f"PolymarketClient(base_url={self.clob.base_url!r}, {who})"

    @property
    def base_url(self) -> str:
        """The CLOB host this client talks to."""
        return self.clob.base_url

    # -- credentials --------------------------------------------------------------------------
    @property
    def address(self) -> str | None:
        """The signing EOA, or ``None`` without a private key."""
        return self._key.address if self._key else None

    def _set_credentials(self, credentials: ApiCredentials) -> None:
        self._credentials = credentials
        if self._key is not None:
            self.clob.signer = L2Signer(self._key.address, credentials)

    def api_credentials(self, *, nonce: int = 0) -> ApiCredentials:
        """The CLOB API credentials: given, or derived (created only when none exist)."""
        with self._lock:
            if self._credentials is not None:
                return self._credentials
            key = self._require_key()
            try:
                payload = self.clob.get(
                    "/auth/derive-api-key", headers=l1_headers(key, chain_id=self.chain_id, nonce=nonce)
                )
            except NotFound:
                # Derive first, create only on 404: a second created key can be non-canonical (ref 4.2).
                payload = self.clob.post(
                    "/auth/api-key", headers=l1_headers(key, chain_id=self.chain_id, nonce=nonce)
                )
            credentials = ApiCredentials.from_json(payload)
            self._set_credentials(credentials)
            return credentials

    def _require_key(self) -> SigningKey:
        if self._key is None:
            raise AuthenticationError(
                "trading needs a private key (POLYMARKET_PRIVATE_KEY)", exchange=EXCHANGE
            )
        return self._key

    def _require_signer(self) -> OrderSigner:
        self._require_key()
        assert self._signer is not None
        self.api_credentials()
        return self._signer

    def sync_time(self) -> int:
        """Align L2 timestamps with the CLOB clock (``GET /time``); returns the offset in seconds."""
        server = self.clob.get("/time")
        try:
            server_seconds = int(server)
        except (TypeError, ValueError):
            raise invalid("GET /time did not answer a number") from None
        offset = server_seconds - int(datetime.now(UTC).timestamp())
        if isinstance(self.clob.signer, L2Signer):
            self.clob.signer.offset = offset
        return offset

    # -- market data ------------------------------------------------------------------------------
    def markets(
        self,
        *,
        status: MarketStatus | None = MarketStatus.OPEN,
        event_id: str | None = None,
        series: str | None = None,
        query: str | None = None,
        limit: int | None = None,
    ) -> list[Market]:
        """Markets from Gamma events (keyset pages of 100), always with an explicit ``closed=``.

        ``event_id`` is an event slug or numeric id; ``series`` is passed as Gamma's ``tag_slug``
        (``"nba"``, ``"epl"``); ``query`` filters title and slug locally.
        """
        if event_id is not None:
            path = f"/events/{event_id}" if event_id.isdigit() else f"/events/slug/{event_id}"
            candidates = parse_event(self.gamma.get(path))
        else:
            closed_values = ["false"] if status in (MarketStatus.OPEN, MarketStatus.PAUSED) else ["true"]
            if status is None:
                closed_values = ["false", "true"]
            candidates = []
            for closed in closed_values:
                candidates.extend(self._event_markets(closed, series, limit if status is None else None))
        needle = query.lower() if query else None
        result = []
        for market in candidates:
            if status is not None and market.status is not status:
                continue
            if needle and needle not in f"{market.title} {market.meta.get('slug', '')}".lower():
                continue
            result.append(market)
            if limit is not None and len(result) >= limit:
                break
        return result

    def _event_markets(self, closed: str, series: str | None, limit: int | None) -> list[Market]:
        params: dict[str, Any] = {"closed": closed, "limit": GAMMA_PAGE}
        if series:
            params["tag_slug"] = series
        found: list[Market] = []
        while True:
            payload = self.gamma.get("/events/keyset", params=params)
            if isinstance(payload, list):  # the legacy /events shape: one page
                events, cursor = payload, None
            else:
                page = obj(payload, "events page")
                events = list(seq(page.get("events", []), "events"))
                cursor = page.get("next_cursor")
            for event in events:
                found.extend(parse_event(event))
            if not cursor or not isinstance(cursor, str) or not events or (limit and len(found) >= limit):
                return found
            params["after_cursor"] = cursor

    def market(self, market_id: str) -> Market:
        """One market by condition id, with the CLOB's own tick, minimum, neg-risk flag and fees."""
        market = None
        for closed in ("false", "true"):
            payload = self.gamma.get("/markets", params={"condition_ids": market_id, "closed": closed})
            items = seq(payload, "Gamma markets")
            if items:
                market = parse_gamma_market(items[0])
                break
        if market is None:
            raise NotFound(f"no Polymarket market {market_id}", exchange=EXCHANGE)
        info = self.clob_market_info(market_id)
        meta = {**market.meta, "neg_risk": info.neg_risk, "seconds_delay": info.seconds_delay}
        return attrs.evolve(
            market, tick_size=info.tick_size, min_order_size=info.min_order_size, fees=info.fees, meta=meta
        )

    def clob_market_info(self, condition_id: str) -> ClobMarketInfo:
        """``GET /clob-markets/{condition_id}``, cached per client."""
        cached = self._clob_info.get(condition_id)
        if cached is None:
            cached = parse_clob_market_info(self.clob.get(f"/clob-markets/{condition_id}"))
            self._clob_info[condition_id] = cached
            self._fees[condition_id] = cached.fees
        return cached

    def fee_schedule(self, market: Market) -> FeeSchedule | None:
        """The taker fee ``shares x r x (p(1-p))^e`` from ``/clob-markets`` ``fd``; Gamma's as fallback."""
        try:
            return self.clob_market_info(market.id).fees
        except NotFound:
            return market.fees

    def order_book(self, market: Market, outcome_id: str) -> OrderBook:
        """``GET /book?token_id=``, best first."""
        market.outcome(outcome_id)
        book = parse_book(self.clob.get("/book", params={"token_id": outcome_id}))
        if book.outcome_id != outcome_id:
            raise invalid(f"asked for the book of {outcome_id[:20]}, got {book.outcome_id[:20]}")
        return book

    def order_books(self, markets: Sequence[Market]) -> Mapping[BookKey, OrderBook]:
        """Every outcome's book via ``POST /books`` in chunks, keyed ``(condition_id, token_id)``.

        Tokens the CLOB has no book for are left out.
        """
        owner = {o.id: m.id for m in markets for o in m.outcomes}
        tokens = list(owner)
        books: dict[BookKey, OrderBook] = {}
        for start in range(0, len(tokens), BOOKS_PER_REQUEST):
            for book in self._fetch_books(tokens[start : start + BOOKS_PER_REQUEST]):
                market_id = owner.get(book.outcome_id)
                if market_id is not None:
                    book = attrs.evolve(book, market_id=market_id)
                    books[book.key] = book
        return books

    def _fetch_books(self, tokens: list[str]) -> list[OrderBook]:
        try:
            return parse_books(self.clob.post("/books", json_body=[{"token_id": t} for t in tokens]))
        except BadRequest as exc:
            if len(tokens) > 1 and "exceeds the limit" in (exc.venue_message or "").lower():
                half = len(tokens) // 2
                return self._fetch_books(tokens[:half]) + self._fetch_books(tokens[half:])
            raise

    def resolution(self, market: Market) -> Resolution:
        """CLOB ``tokens[].winner`` first, then Gamma ``umaResolutionStatus``/``outcomePrices``."""
        try:
            found = parse_clob_resolution(self.clob.get(f"/markets/{market.id}"), market)
        except NotFound:
            found = None
        if found is not None:
            return found
        for closed in ("true", "false"):
            items = seq(
                self.gamma.get("/markets", params={"condition_ids": market.id, "closed": closed}),
                "Gamma markets",
            )
            if items:
                return parse_gamma_resolution(items[0], market)
        return Resolution(EXCHANGE, market.id, ResolutionState.PENDING, raw_result="unknown to Gamma")

    # -- trading ------------------------------------------------------------------------------------
    def prepare_order(self, request: OrderRequest) -> PreparedOrder:
        """Compute amounts, check minimums and sign; the same ``client_order_id`` gives the same order."""
        signer = self._require_signer()
        coid = request.client_order_id
        with self._lock:
            if coid is not None and coid in self._prepared:
                prepared = self._prepared[coid]
                # The same order in a market read again later (status, books) is still the same.
                same_market = prepared.request.market.id == request.market.id
                if not same_market or attrs.evolve(prepared.request, market=request.market) != request:
                    raise ValidationError(f"client_order_id {coid!r} was already used for a different order")
                return prepared
        market = request.market
        if market.meta.get("version") == "v2":
            raise ValidationError("Protocol-V2 (ExchangeV3) markets are not supported yet")
        info = self._clob_info.get(market.id)
        tick = info.tick_size if info else market.tick_size
        neg_risk = info.neg_risk if info else bool(market.meta.get("neg_risk", False))
        marketable = request.time_in_force in MARKETABLE
        amounts = order_amounts(request.side, request.price, request.size, tick, marketable=marketable)
        check_minimum(
            amounts,
            marketable=marketable,
            min_order_size=info.min_order_size if info else market.min_order_size,
        )
        expiration = 0
        if request.time_in_force is TimeInForce.GTD:
            assert request.expires_at is not None
            expiration = int(request.expires_at.timestamp())
            if expiration <= datetime.now(UTC).timestamp() + GTD_SECURITY_SECONDS:
                raise ValidationError(
                    "a GTD order must expire more than 60 s from now (CLOB security threshold)"
                )
        signed = signer.sign(
            token_id=request.outcome_id,
            amounts=amounts,
            neg_risk=neg_risk,
            salt=salt_for(coid),
            # A request's creation time makes the signed order (and its id) reproducible, so a
            # process rebuilding the order from the journal re-sends the same one
            # (arbkit.trading.execution.executor).
            timestamp_ms=(
                (request.created_at - _EPOCH) // timedelta(milliseconds=1) if request.created_at else None
            ),
            expiration=expiration,
        )
        prepared = PreparedOrder(request, amounts, signed, _ORDER_TYPES[request.time_in_force])
        if coid is not None:
            with self._lock:
                prepared = self._prepared.setdefault(coid, prepared)
        return prepared

    def order_id_for(self, request: OrderRequest) -> str:
        """The CLOB order id the request will have (journal it before :meth:`place_order`)."""
        return self.prepare_order(request).order_id

    def place_order(self, request: OrderRequest) -> Order:
        """``POST /order``. Refusals raise ``OrderRejected``; a 5xx/timeout raises ``OutcomeUnknown``."""
        prepared = self.prepare_order(request)
        credentials = self.api_credentials()
        body = {
            "order": prepared.signed.to_json(),
            "owner": credentials.api_key,
            "orderType": prepared.order_type,
            "deferExec": False,
            "postOnly": False,
        }
        try:
            payload = self.clob.post("/order", json_body=body, signed=True)
        except BadRequest as exc:  # every 4xx {"error"} on an order is a refusal of that order
            raise rejection(exc.venue_message or str(exc), exc.status_code) from exc
        return parse_send_order(
            payload,
            order_id=prepared.order_id,
            market_id=request.market.id,
            outcome_id=request.outcome_id,
            side=request.side,
            price=request.price,
            size=prepared.amounts.shares,
            marketable=request.time_in_force in MARKETABLE,
            client_order_id=request.client_order_id,
        )

    def cancel_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """``DELETE /order`` then the order's final state."""
        self._require_signer()
        parse_cancel(self.clob.delete("/order", json_body={"orderID": order_id}, signed=True), order_id)
        return self.get_order(order_id)

    def get_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """``GET /data/order/{id}``; :class:`OrderNotFound` when the CLOB does not know it."""
        self._require_signer()
        try:
            payload = self.clob.get(f"/data/order/{order_id}", signed=True)
        except NotFound:
            payload = None
        if not payload:
            raise OrderNotFound(f"no order {order_id}", exchange=EXCHANGE)
        return parse_open_order(payload, client_order_id=self._client_id_of(order_id))

    def _client_id_of(self, order_id: str) -> str | None:
        with self._lock:
            for coid, prepared in self._prepared.items():
                if prepared.order_id == order_id:
                    return coid
        return None

    def find_order(self, client_order_id: str, *, market: Market | None = None) -> Order | None:
        """The order this client prepared under ``client_order_id``, or ``None`` if the CLOB never got it."""
        with self._lock:
            prepared = self._prepared.get(client_order_id)
        if prepared is None:
            return None
        try:
            return self.get_order(prepared.order_id)
        except OrderNotFound:
            return None

    def orders(self, *, market: Market | None = None) -> list[Order]:
        """Our open orders (``GET /data/orders``, every page)."""
        self._require_signer()
        params = {"market": market.id} if market else {}
        items = self._pages("/data/orders", params)
        return [
            parse_open_order(item, client_order_id=self._client_id_of(str(obj(item, "order").get("id"))))
            for item in items
        ]

    def _pages(self, path: str, params: dict[str, Any]) -> list[Any]:
        items: list[Any] = []
        cursor = "MA=="
        while True:
            page, next_cursor = parse_order_page(
                self.clob.get(path, params={**params, "next_cursor": cursor}, signed=True)
            )
            items.extend(page)
            if next_cursor is None or next_cursor == cursor:
                return items
            cursor = next_cursor

    def fills(self, *, order_id: str | None = None, market: Market | None = None) -> list[Fill]:
        """Our executions from ``GET /data/trades``, newest first.

        Taker fees are priced from the market's fee schedule (the trade payload has no fee amount).
        """
        self._require_signer()
        credentials = self.api_credentials()
        params = {"market": market.id} if market else {}
        signer = self._signer
        assert signer is not None
        fills = parse_trades(
            self._pages("/data/trades", params), owner=credentials.api_key, address=signer.maker
        )
        if order_id is not None:
            fills = [f for f in fills if f.order_id == order_id]
        priced = []
        for fill in fills:
            schedule = self._fees.get(fill.market_id) or (market.fees if market else None)
            fee = schedule.fee(fill.price, fill.size, taker=fill.is_taker) if schedule else Decimal(0)
            priced.append(attrs.evolve(fill, fee=fee))
        return sorted(priced, key=lambda f: f.timestamp, reverse=True)

    def balance(self) -> Balance:
        """pUSD from ``/balance-allowance?asset_type=COLLATERAL`` for this account's signature type."""
        signer = self._require_signer()
        params = {"asset_type": "COLLATERAL", "signature_type": signer.signature_type}
        return parse_balance(self.clob.get("/balance-allowance", params=params, signed=True))

    def positions(self) -> list[Position]:
        """Token holdings from the Data API ``/positions?user=<funder>`` [UNCERTAIN payload shape]."""
        signer = self._require_signer()
        return parse_positions(
            self.data.get("/positions", params={"user": signer.maker, "sizeThreshold": "0"})
        )

    def close(self) -> None:
        """Release pooled connections."""
        for transport in (self.clob, self.gamma, self.data):
            transport.close()

    def __enter__(self) -> PolymarketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
