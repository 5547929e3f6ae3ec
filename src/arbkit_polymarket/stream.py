"""``PolymarketStream``: the CLOB's market and user WebSocket channels as an arbkit :class:`MarketStream`.

>>> stream = PolymarketStream(client=PolymarketClient())            # doctest: +SKIP
>>> stream.start(sink); stream.subscribe(markets)             # doctest: +SKIP

Wire (reference polymarket.md section 8): ``{base}/market`` takes
``{"assets_ids": [...], "type": "market", "custom_feature_enabled": true}`` right after
connecting and ``{"operation": "subscribe"|"unsubscribe", "assets_ids": [...]}`` later;
``{base}/user`` takes ``{"auth": {apiKey, secret, passphrase}, "type": "user"}`` (no
``markets``: all of them; the raw secret travels in the frame, as the venue wants it, and is
never logged). The keep-alive is the text ``PING`` every 10 s, answered ``PONG``; a socket
without a ``PONG`` for 30 s is dead and is replaced.

Markets are spread over market connections of ``max_assets`` tokens (200 by default; the
venue's cap is uncertain), a market's tokens on one connection. Continuity (8.2) is never
assumed. Each connection runs in its own thread:

* a disconnect discards every book built from the socket (the sink hears ``stale``), and the
  thread reconnects with jittered exponential backoff (0.25 s doubling, at most 30 s) and
  sends one full subscription: the fresh ``book`` snapshots make the markets ``live`` again;
* a failed check of the decoder (a bad frame, a hash or top-of-book disagreement, see
  :mod:`.parse_stream`) redrives the market: ``unsubscribe`` + ``subscribe`` of its assets,
  whose fresh snapshots rebuild it; a snapshot that does not come within
  ``resync_timeout`` replaces the connection;
* a market without a delivered book for ``silence_timeout`` (the venue is known to freeze,
  for some markets or all, while answering ``PONG``) is cross-checked against the REST books
  (``order_books``): a book that differs is stale and redriven; one that agrees was only quiet
  and is re-delivered as confirmed. [UNCERTAIN: the real feed's cadence per market; nautilus
  uses about 30 s.]

The user channel reports orders and fills (the REST parsers' models, fees priced from the
market's schedule as the REST client prices them); after a reconnect it re-reads
``/data/trades`` so a fill made while disconnected is still reported (once).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import attrs
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from arbkit.config import Settings
from arbkit.engine.fees import FeeSchedule
from arbkit.errors import (
    ArbkitError,
    AuthenticationError,
    ConfigError,
    InvalidResponse,
    NetworkError,
    ValidationError,
)
from arbkit.models import Fill, Market, Order, OrderBook, utcnow
from arbkit.streams import FeedSink, FeedState, FeedStatus, ForwardingSink, FrameDecoder, MarketEvent, backoff
from arbkit_polymarket.auth import ApiCredentials
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.parse import EXCHANGE
from arbkit_polymarket.parse_stream import PING, PONG, MarketDecoder, Subscriptions, UserDecoder
from arbkit_polymarket.settings import PolymarketSettings

__all__ = ["WS_URL", "PolymarketStream", "backoff"]

log = logging.getLogger(__name__)
# websockets logs every frame at DEBUG, and the user channel's subscribe frame carries the API
# secret and passphrase (reference 8.1): its logger never goes below INFO.
_WS_LOG = logging.getLogger("arbkit_polymarket.stream.websockets")
_WS_LOG.setLevel(logging.INFO)

#: The channels live under this base: ``/market`` and ``/user`` (reference section 1).
WS_URL = "wss://ws-subscriptions-clob.polymarket.com/ws"
PING_INTERVAL = 10.0
PONG_TIMEOUT = 30.0
#: Shorter than the core's 30 s silence watchdog, so a quiet market is re-confirmed in time.
SILENCE_TIMEOUT = 20.0
RESYNC_TIMEOUT = 10.0
#: Tokens per market connection [UNCERTAIN: the venue's cap; nautilus shards at 200].
MAX_ASSETS = 200
#: Subscriptions a token gets without a snapshot, while others are served, before it is given up.
SNAPSHOT_TRIES = 3
BACKOFF_BASE = 0.25
BACKOFF_CAP = 30.0
#: The initial dump of hundreds of books is one frame; the library's 1 MiB default is too small.
MAX_FRAME = 16 * 1024 * 1024
#: How often a connection thread looks at its timers and queued subscription changes.
POLL = 0.05
#: A policy-violation close on the user channel is taken as refused credentials [UNCERTAIN:
#: the venue's way of refusing them is not documented].
AUTH_CLOSE_CODES = frozenset({1008, 4001, 4003})


class _Tap(ForwardingSink):
    """Forwards to the user's sink, keeping what :meth:`PolymarketStream.status` reports."""

    def __init__(self, sink: FeedSink, stream: PolymarketStream) -> None:
        super().__init__(sink)
        self.stream = stream

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        self.stream._note(reason)
        self.sink.stale(exchange, market_ids, reason)

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        self.stream._note("")
        self.sink.live(exchange, market_ids)


class _Channel:
    """One WebSocket connection (market or user) and the thread that keeps it up."""

    def __init__(self, stream: PolymarketStream, name: str, url: str, shard: _Shard | None = None) -> None:
        self.stream = stream
        self.name = name
        self.url = url
        #: The market connection's share of the subscriptions (``None``: the user channel).
        self.shard = shard
        self.ws: ClientConnection | None = None
        label = f"{name}-{shard.index}" if shard is not None else name
        self.thread = threading.Thread(target=self._run, name=f"polymarket-ws-{label}", daemon=True)
        self.attempt = 0
        self.connected_once = False
        self.last_pong = 0.0
        self.last_ping = 0.0
        self.last_data = 0.0
        self.last_check = 0.0
        self.stopped = False
        self.stop_reason = ""

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        stream = self.stream
        while not stream._closing.is_set() and not self.stopped:
            if self.shard is not None and not self.shard.subscriptions.tokens:
                self.shard.changed.wait(POLL)  # nothing to stream yet: no socket either
                continue
            try:
                ws = self._connect()
            except ArbkitError as exc:
                stream.sink.error(exc, f"stream {self.name} connect")
                if isinstance(exc, AuthenticationError):
                    self._stop("credentials refused")
                    break
                self._sleep()
                continue
            reason = "disconnected"
            try:
                self._serve(ws)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                text = exc.rcvd.reason if exc.rcvd is not None else ""
                reason = f"disconnected ({code}{': ' + text[:80] if text else ''})"
                if self.name == "user" and code in AUTH_CLOSE_CODES:
                    stream.sink.error(
                        AuthenticationError(
                            f"user channel refused the credentials: {text[:80]}", exchange=EXCHANGE
                        ),
                        "stream user subscribe",
                    )
                    self._stop("credentials refused")
            except (OSError, TimeoutError) as exc:
                reason = f"connection failed: {type(exc).__name__}"
            except _Replace as exc:
                reason = str(exc)
            except ArbkitError as exc:  # the user channel's credentials could not be had
                stream.sink.error(exc, f"stream {self.name}")
                reason = f"failed: {type(exc).__name__}"
                if isinstance(exc, AuthenticationError):
                    self._stop("no usable credentials")
            except Exception:  # a sink that raised, or a bug: never let the feed thread die
                log.exception("polymarket stream: %s channel failed", self.name)
                reason = "failed: internal error (logged)"
            finally:
                self.ws = None
                ws.close()
            if stream._closing.is_set():
                break
            stream._disconnected(self, reason)
            if not self.stopped:
                self._sleep()
        with stream._lock:
            stream._recompute()

    def _stop(self, why: str) -> None:
        """Give up this channel for good (nothing a retry could fix)."""
        self.stopped = True
        self.stop_reason = why

    def _sleep(self) -> None:
        delay = backoff(self.attempt, self.stream._rng, self.stream.backoff_base, self.stream.backoff_cap)
        self.attempt += 1
        self.stream._closing.wait(delay)

    def _connect(self) -> ClientConnection:
        stream = self.stream
        try:
            ws = connect(
                self.url,
                open_timeout=stream.connect_timeout,
                close_timeout=1.0,
                max_size=MAX_FRAME,
                compression=None,
                logger=_WS_LOG,
                proxy=stream.proxy,
            )
        except InvalidURI as exc:
            self._stop("not a WebSocket URL")
            raise ConfigError(f"not a WebSocket URL: {exc}", variable="POLYMARKET_WS_URL") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise NetworkError(f"cannot open the {self.name} channel: {exc}", exchange=EXCHANGE) from None
        self.ws = ws
        if stream._closing.is_set():
            ws.close()
            raise NetworkError("stream closed", exchange=EXCHANGE)
        return ws

    def _serve(self, ws: ClientConnection) -> None:
        stream = self.stream
        now = time.monotonic()
        self.last_pong = self.last_ping = self.last_data = self.last_check = now
        stream._opened(self)
        while not stream._closing.is_set():
            try:
                text = ws.recv(timeout=POLL)
            except TimeoutError:
                text = None
            now = time.monotonic()
            if text is not None:
                if isinstance(text, bytes):
                    text = text.decode("utf-8", "replace")
                stream._received(self, text, now)
            if now - self.last_ping >= stream.ping_interval:
                self.last_ping = now
                ws.send(PING)
            if now - self.last_pong > stream.pong_timeout:
                raise _Replace(f"no PONG for {stream.pong_timeout:g} s")
            stream._tick(self, now)

    def send(self, payload: Mapping[str, Any]) -> None:
        """Send a JSON frame now (called on this channel's own thread only)."""
        ws = self.ws
        if ws is not None:
            ws.send(json.dumps(payload, separators=(",", ":")))


class _Replace(Exception):
    """End this connection and open another (the thread's own decision)."""


class _Shard:
    """One market connection: the markets it carries, its decoder, what its server was told.

    The venue's cap on assets per connection is [UNCERTAIN] (nautilus shards at 200, a third
    party cites 500), so the stream spreads its markets over connections of ``max_assets``.
    """

    def __init__(self, stream: PolymarketStream, index: int) -> None:
        self.index = index
        self.subscriptions = Subscriptions()
        self.channel = _Channel(stream, "market", f"{stream.url}/market", shard=self)
        self.decoder: MarketDecoder | None = None  # made when the stream starts (it needs the sink)
        #: What the server was told to stream (this shard's thread only).
        self.server_assets: set[str] = set()
        #: Tokens asked to snapshot, and when (monotonic; this shard's thread only).
        self.pending: dict[str, float] = {}
        #: Snapshot deadlines each token missed in a row (this shard's thread only).
        self.misses: dict[str, int] = {}
        #: Markets unsubscribed since the last sync, and those subscribed again since (stream lock).
        self.removed: set[str] = set()
        self.readded: set[str] = set()
        self.changed = threading.Event()


class PolymarketStream:
    """Polymarket's CLOB WebSocket feed (implements :class:`arbkit.streams.MarketStream`).

    ``client`` is the REST client: it supplies the REST books the feed is cross-checked
    against, the API credentials of the user channel and the fee schedules of fills.
    Without one the market channel still streams (silence then redrives instead of
    cross-checking). ``user`` turns the user channel on (default: when there are credentials
    or a private key).
    """

    name = EXCHANGE

    def __init__(
        self,
        *,
        client: PolymarketClient | None = None,
        url: str = WS_URL,
        credentials: ApiCredentials | None = None,
        user: bool | None = None,
        ping_interval: float = PING_INTERVAL,
        pong_timeout: float = PONG_TIMEOUT,
        silence_timeout: float = SILENCE_TIMEOUT,
        resync_timeout: float = RESYNC_TIMEOUT,
        connect_timeout: float = 10.0,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        check_hash: bool = True,
        seed: int | None = None,
        proxy: str | Literal[True] | None = True,
        max_assets: int | None = MAX_ASSETS,
    ) -> None:
        if min(ping_interval, pong_timeout, silence_timeout, resync_timeout, backoff_base) <= 0 or (
            max_assets is not None and max_assets < 2
        ):
            raise ValidationError("stream timings and backoff must be positive")
        self.client = client
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.user = (
            (credentials is not None or (client is not None and client.address is not None))
            if user is None
            else user
        )
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.silence_timeout = silence_timeout
        self.resync_timeout = resync_timeout
        self.connect_timeout = connect_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.check_hash = check_hash
        #: ``True``: the proxy the environment names (websockets' default); a URL; ``None``: direct.
        self.proxy = proxy
        #: Tokens per market connection (``None``: one connection for all).
        self.max_assets = max_assets
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not secrets
        self.subscriptions = Subscriptions()
        self.fee_schedules: dict[str, FeeSchedule] = {}
        self.sink: FeedSink = _NullSink()
        self._closing = threading.Event()
        self._lock = threading.Lock()  # guards the counters and state below, never held for I/O
        self._started = False
        self._shards: list[_Shard] = []
        #: The shard each market is (or was last) on.
        self._shard_of: dict[str, _Shard] = {}
        self._user_channel: _Channel | None = None
        self._user: UserDecoder | None = None
        self._reason = ""
        self._since: datetime | None = None
        self._state = FeedState.CONNECTING
        self._was_live = False
        self._last_message_at: datetime | None = None
        self._messages = 0
        self._reconnects = 0
        self._started_at = utcnow()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> PolymarketStream:
        """Build from ``POLYMARKET_*`` settings (``POLYMARKET_WS_URL`` and the REST client's)."""
        options: dict[str, Any] = {}
        ws_url = PolymarketSettings.of(settings).ws_url
        if ws_url:
            options["url"] = ws_url
        if "client" not in overrides:
            options["client"] = PolymarketClient.from_settings(settings)
        options.update(overrides)
        return cls(**options)

    def __repr__(self) -> str:
        return f"PolymarketStream(url={self.url!r}, markets={len(self.subscriptions.markets)})"

    # -- MarketStream ------------------------------------------------------------------------
    def start(self, sink: FeedSink) -> None:
        """Connect in the background and return at once; reconnects until :meth:`close`."""
        with self._lock:
            if self._started or self._closing.is_set():
                return
            self._started = True
            self.sink = _Tap(sink, self)
            self._started_at = self._since = utcnow()
            for shard in self._shards:
                shard.decoder = self._market_decoder(self.sink, shard.subscriptions, shard=shard)
            channels = [shard.channel for shard in self._shards]
            if self.user:
                self._user_channel = _Channel(self, "user", f"{self.url}/user")
                channels.append(self._user_channel)
        for channel in channels:
            channel.thread.start()

    def subscribe(self, markets: Sequence[Market]) -> None:
        """Stream every outcome's book of these markets (idempotent).

        A market unsubscribed and subscribed again (the core's answer to a silent feed) is
        resubscribed on the socket too: stale until its fresh snapshots arrive.
        """
        new = self.subscriptions.add([m for m in markets if m.exchange == EXCHANGE])
        opened: list[_Shard] = []
        with self._lock:
            for market in new:
                shard = self._place(market, opened)
                shard.subscriptions.add([market])
                self._shard_of[market.id] = shard
                if market.id in shard.removed:
                    shard.removed.discard(market.id)
                    shard.readded.add(market.id)
                shard.changed.set()
            started = self._started and not self._closing.is_set()
        for market in new:
            if market.fees is not None:
                self.fee_schedules.setdefault(market.id, market.fees)
        if started:
            for shard in opened:
                shard.channel.thread.start()

    def _place(self, market: Market, opened: list[_Shard]) -> _Shard:
        # Called with self._lock held: the market's last shard if it has room, else the first
        # that has, else a new connection.
        need = len(market.outcomes)
        previous = self._shard_of.get(market.id)
        for shard in ([previous] if previous is not None else []) + self._shards:
            if self.max_assets is None or len(shard.subscriptions.tokens) + need <= self.max_assets:
                return shard
        shard = _Shard(self, len(self._shards))
        if self._started:
            shard.decoder = self._market_decoder(self.sink, shard.subscriptions, shard=shard)
        self._shards.append(shard)
        opened.append(shard)
        return shard

    def unsubscribe(self, markets: Sequence[Market]) -> None:
        """Stop streaming these markets."""
        gone = self.subscriptions.remove(markets)
        with self._lock:
            for market in gone:
                shard = self._shard_of[market.id]
                shard.subscriptions.remove([market])
                shard.removed.add(market.id)
                shard.readded.discard(market.id)
                shard.changed.set()

    def status(self) -> FeedStatus:
        """The feed's state now."""
        with self._lock:
            return FeedStatus(
                exchange=EXCHANGE,
                state=self._state,
                reason=self._reason,
                since=self._since,
                last_message_at=self._last_message_at,
                subscribed=len(self.subscriptions.markets),
                reconnects=self._reconnects,
                messages=self._messages,
            )

    def tick_size(self, token_id: str) -> Decimal | None:
        """The tick size a ``tick_size_change`` last announced for a token (``None``: none seen).

        The venue moves ticks near 0.04/0.96 (reference 8); orders priced on the old grid are
        refused, so a trader re-reads the market (or uses this) before pricing.
        """
        decoder = self._decoder_of(token_id)
        return decoder.tick_sizes.get(token_id) if decoder is not None else None

    def last_trade_price(self, token_id: str) -> Decimal | None:
        """The price of the last ``last_trade_price`` event of a token (``None``: none seen)."""
        decoder = self._decoder_of(token_id)
        return decoder.last_trades.get(token_id) if decoder is not None else None

    def _decoder_of(self, token_id: str) -> MarketDecoder | None:
        market_id = self.subscriptions.tokens.get(token_id)
        shard = self._shard_of.get(market_id) if market_id is not None else None
        return shard.decoder if shard is not None else None

    def decoder(self, sink: FeedSink, connection: str = "market") -> FrameDecoder:
        """A decoder of this venue's frames for one connection, as used live (for replay).

        With no markets subscribed, the market decoder follows every book it reads.
        """
        if connection == "market":
            markets = list(self.subscriptions.markets.values())
            return self._market_decoder(sink, Subscriptions(markets, learn=not markets))
        if connection == "user":
            owner = self.credentials.api_key if self.credentials is not None else ""
            return self._user_decoder(sink, owner)
        raise ValidationError(f"Polymarket streams have 'market' and 'user' connections, not {connection!r}")

    def close(self) -> None:
        """Disconnect and stop every thread; idempotent."""
        self._closing.set()
        with self._lock:
            channels = [shard.channel for shard in self._shards]
            if self._user_channel is not None:
                channels.append(self._user_channel)
            self._state = FeedState.CLOSED
            self._since = utcnow()
        for channel in channels:
            ws = channel.ws
            if ws is not None:
                ws.close()
        for channel in channels:
            if channel.thread.is_alive() and channel.thread is not threading.current_thread():
                channel.thread.join(timeout=5)

    def __enter__(self) -> PolymarketStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoders ----------------------------------------------------------------------------
    def _market_decoder(
        self, sink: FeedSink, subscriptions: Subscriptions, *, shard: _Shard | None = None
    ) -> MarketDecoder:
        """A market decoder; a live shard's redrives its own socket, a replay's resyncs nothing."""

        def resync(assets: Sequence[str], reason: str) -> None:
            if shard is not None:
                self._redrive(shard, assets, reason)

        return MarketDecoder(
            sink, subscriptions, resync=resync if shard is not None else None, check_hash=self.check_hash
        )

    def _user_decoder(self, sink: FeedSink, owner: str) -> UserDecoder:
        address = self.client.address if self.client is not None else None
        return UserDecoder(sink, owner=owner, address=address or "", fees=self.fee_schedules.get)

    # -- called on the connection threads ---------------------------------------------------------
    def _note(self, reason: str) -> None:
        """A stale (``reason``) or live report went to the sink: recompute the feed's state."""
        with self._lock:
            if reason:
                self._reason = reason
            self._recompute()

    def _recompute(self) -> None:
        # Called with self._lock held.
        if self._closing.is_set():
            return
        active = [shard for shard in self._shards if shard.subscriptions.outcomes]
        whole = all(
            shard.decoder is not None
            and shard.channel.ws is not None
            and set(shard.subscriptions.outcomes) <= shard.decoder.whole
            for shard in active
        )
        if whole and (active or self._was_live):
            state = FeedState.LIVE
            self._was_live = True
        else:
            # Before the first whole set of books the feed is still connecting; after, stale.
            state = FeedState.STALE if self._was_live else FeedState.CONNECTING
        if state != self._state:
            self._state = state
            self._since = utcnow()
        if state is FeedState.LIVE:
            user = self._user_channel
            # The books are whole; say so if our own orders and fills no longer stream.
            self._reason = (
                f"user channel stopped: {user.stop_reason}" if user is not None and user.stopped else ""
            )

    def _opened(self, channel: _Channel) -> None:
        """A connection is open: send its whole subscription."""
        reconnect = channel.connected_once
        channel.connected_once = True
        shard = channel.shard
        if shard is not None:
            shard.changed.clear()  # before reading the subscriptions: a later change is not lost
            assets = shard.subscriptions.assets()
            shard.server_assets = set(assets)
            shard.pending = dict.fromkeys(assets, time.monotonic())
            channel.send({"assets_ids": sorted(assets), "type": "market", "custom_feature_enabled": True})
        else:
            credentials = self._user_credentials()
            if self._user is None:  # kept across reconnects: it knows which fills were reported
                self._user = self._user_decoder(self.sink, credentials.api_key)
            channel.send(
                {
                    "auth": {
                        "apiKey": credentials.api_key,
                        "secret": credentials.secret.reveal(),
                        "passphrase": credentials.passphrase.reveal(),
                    },
                    "type": "user",
                }
            )
            if reconnect:
                self._refill()
        with self._lock:
            if reconnect:
                self._reconnects += 1
            self._recompute()

    def _user_credentials(self) -> ApiCredentials:
        if self.credentials is not None:
            return self.credentials
        if self.client is None:
            raise AuthenticationError("the user channel needs API credentials", exchange=EXCHANGE)
        self.credentials = self.client.api_credentials()
        return self.credentials

    def _refill(self) -> None:
        """After a user-channel reconnect, report the fills REST knows and the socket missed."""
        decoder, client = self._user, self.client
        if decoder is None or client is None:
            return
        try:
            fills = client.fills()
        except ArbkitError as exc:
            self.sink.error(exc, "stream user resync")
            return
        since = self._started_at - timedelta(seconds=2)  # match times are whole seconds
        for fill in reversed(fills):
            if fill.timestamp < since:
                continue
            key = fill.fill_id or f"{fill.order_id}:{fill.timestamp.isoformat()}"
            if key not in decoder.seen:
                decoder.seen.add(key)
                self.sink.fill(decoder.priced(fill))  # priced as the socket's fills are

    def _received(self, channel: _Channel, text: str, now: float) -> None:
        received_at = utcnow()
        with self._lock:
            self._messages += 1
            self._last_message_at = received_at
        self.sink.frame(EXCHANGE, channel.name, text, received_at)
        if text == PONG:
            channel.last_pong = now
            return
        channel.last_data = now
        channel.attempt = 0  # data flows: the next outage starts its backoff afresh
        shard = channel.shard
        decoder: FrameDecoder | None = shard.decoder if shard is not None else self._user
        if decoder is not None:
            decoder.feed(text, received_at)
        if shard is not None and shard.decoder is not None:
            books = shard.decoder.books
            for asset in [a for a in shard.pending if a in books]:
                del shard.pending[asset]
                shard.misses.pop(asset, None)

    def _tick(self, channel: _Channel, now: float) -> None:
        shard = channel.shard
        if shard is None or shard.decoder is None:
            return
        if shard.changed.is_set():
            shard.changed.clear()
            self._sync_subscriptions(shard)
        overdue = [a for a, asked in shard.pending.items() if now - asked > self.resync_timeout]
        if overdue:
            self._overdue(shard, overdue, now)
        if now - channel.last_check >= self.silence_timeout / 4:
            channel.last_check = now
            decoder = shard.decoder
            wall = utcnow()
            # Per market, not per socket: one market can freeze while others flow (reference 8.2).
            limit = timedelta(seconds=self.silence_timeout)
            quiet = sorted(m for m in decoder.whole if wall - decoder.updated.get(m, wall) >= limit)
            if quiet:
                self._cross_check(shard, quiet)

    def _overdue(self, shard: _Shard, assets: list[str], now: float) -> None:
        """Snapshots that did not come in time: redrive, replace the connection, or give up.

        Nothing at all arrived since they were asked for: the connection may be dead or frozen,
        so it is replaced. Other data did arrive: the venue may have lost these subscriptions
        (reference 8.2), so the first miss redrives them and the next replaces the connection.
        A token still without a book after :data:`SNAPSHOT_TRIES` while other books are served
        is given up (reported; its market stays stale) instead of replacing sockets forever.
        """
        asked = min(shard.pending[a] for a in assets)
        silent = shard.channel.last_data <= asked
        for asset in assets:
            shard.misses[asset] = shard.misses.get(asset, 0) + 1
        served = shard.decoder is not None and bool(shard.decoder.books)
        lost = [a for a in assets if served and shard.misses[a] >= SNAPSHOT_TRIES]
        for asset in lost:
            del shard.pending[asset]
        if lost:
            self.sink.error(
                InvalidResponse(
                    f"no book for {len(lost)} token(s) ({lost[0][:20]}...) after {SNAPSHOT_TRIES} "
                    "subscriptions: their markets stay stale",
                    exchange=EXCHANGE,
                ),
                "stream market subscribe",
            )
        retry = [a for a in assets if a not in lost]
        if not retry:
            return
        if silent or any(shard.misses[a] > 1 for a in retry):
            raise _Replace(f"no snapshot of {len(retry)} book(s) within {self.resync_timeout:g} s")
        self._redrive(shard, retry, "no snapshot in time")
        shard.pending.update(dict.fromkeys(retry, now))

    def _sync_subscriptions(self, shard: _Shard) -> None:
        with self._lock:
            readded, shard.readded = shard.readded, set()
            shard.removed.clear()
        channel, decoder = shard.channel, shard.decoder
        wanted = set(shard.subscriptions.assets())
        added, removed = sorted(wanted - shard.server_assets), sorted(shard.server_assets - wanted)
        if removed:
            channel.send({"operation": "unsubscribe", "assets_ids": removed})
            if decoder is not None:
                decoder.forget(removed)
            for asset in removed:
                shard.pending.pop(asset, None)
        if added:
            channel.send({"operation": "subscribe", "assets_ids": added, "custom_feature_enabled": True})
            shard.pending.update(dict.fromkeys(added, time.monotonic()))
        shard.server_assets = wanted
        again = sorted(m for m in readded if m in shard.subscriptions.outcomes)
        if again and decoder is not None:
            decoder.doubt(again, "resubscribed")  # stale, then unsubscribe + subscribe
        with self._lock:
            self._recompute()

    def _redrive(self, shard: _Shard, assets: Sequence[str], reason: str) -> None:
        """The decoder lost these books: unsubscribe and subscribe them for fresh snapshots."""
        wanted = [a for a in assets if a in shard.server_assets]
        if not wanted:
            return
        log.info("polymarket stream: resubscribing %d asset(s): %s", len(wanted), reason)
        shard.channel.send({"operation": "unsubscribe", "assets_ids": wanted})
        shard.channel.send({"operation": "subscribe", "assets_ids": wanted, "custom_feature_enabled": True})
        asked = time.monotonic()
        for asset in wanted:
            shard.pending.setdefault(asset, asked)

    def _cross_check(self, shard: _Shard, market_ids: list[str]) -> None:
        """Markets silent for ``silence_timeout``: compare their books with REST.

        A book that differs means the feed froze for it: stale and redriven. Books that agree
        were only quiet: re-delivered as confirmed now (the core ages books by receipt).
        """
        decoder, channel = shard.decoder, shard.channel
        assert decoder is not None
        reason = f"silent for {self.silence_timeout:g} s"
        if self.client is None:
            decoder.doubt(market_ids, f"{reason}, nothing to check it against")
            return
        markets = [m for m in (self.subscriptions.markets.get(i) for i in market_ids) if m is not None]
        try:
            rest = self.client.order_books(markets)
        except ArbkitError as exc:
            # Unconfirmed, so not re-delivered (the core's watchdog ages them); asked again after
            # another silence_timeout rather than every tick while REST is down.
            self.sink.error(exc, "stream cross-check")
            postponed = utcnow()
            for market_id in market_ids:
                decoder.updated[market_id] = postponed
            return
        # Frames that came in meanwhile are applied first; a market they touched was not quiet.
        before = {m: decoder.updated.get(m) for m in market_ids}
        ws = channel.ws
        for _ in range(10_000):
            try:
                waiting = ws.recv(timeout=0) if ws is not None else None
            except TimeoutError:
                waiting = None
            if waiting is None:
                break
            self._received(
                channel, waiting if isinstance(waiting, str) else waiting.decode(), time.monotonic()
            )
        still = {m for m in market_ids if m in decoder.whole and decoder.updated.get(m) == before[m]}
        differ: set[str] = set()
        agree: list[str] = []
        for (_, market_id, asset), book in rest.items():
            local = decoder.books.get(asset)
            if market_id in still and local is not None:
                if _levels(local.model(None)) == _levels(book):
                    agree.append(asset)
                else:
                    differ.add(market_id)
        if differ:
            decoder.doubt(sorted(differ), f"{reason} and the REST book differs")
        confirmed = utcnow()
        for asset in agree:
            local = decoder.books.get(asset)
            if local is not None and local.market_id not in differ:
                decoder.updated[local.market_id] = confirmed
                self.sink.book(local.model(confirmed))

    def _disconnected(self, channel: _Channel, reason: str) -> None:
        self.sink.error(
            NetworkError(f"{channel.name} channel {reason}", exchange=EXCHANGE), f"stream {channel.name}"
        )
        shard = channel.shard
        if shard is not None and shard.decoder is not None:
            shard.server_assets = set()
            shard.pending = {}
            shard.decoder.discard(None, reason)
        with self._lock:
            self._recompute()


def _levels(book: OrderBook) -> tuple[Any, ...]:
    return (book.bids, book.asks)


@attrs.frozen
class _NullSink:
    """The sink before :meth:`PolymarketStream.start`."""

    def book(self, book: OrderBook) -> None:
        """Drop it."""

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        """Drop it."""

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        """Drop it."""

    def order(self, order: Order) -> None:
        """Drop it."""

    def fill(self, fill: Fill) -> None:
        """Drop it."""

    def market(self, event: MarketEvent) -> None:
        """Drop it."""

    def error(self, exc: ArbkitError, operation: str) -> None:
        """Drop it."""

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        """Drop it."""
