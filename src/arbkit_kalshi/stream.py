"""Kalshi's WebSocket stream as an :class:`arbkit.streams.MarketStream` (reference: kalshi.md 11).

One signed connection carries everything: ``orderbook_delta`` (snapshot, then deltas with
``seq``), ``ticker``, our own ``fill`` and ``user_orders``, and ``market_lifecycle_v2``.
The handshake is an HTTP upgrade with the three REST headers over
``timestamp + "GET" + "/trade-api/ws/v2"`` ([A] 11.1), signed afresh on every attempt by
:class:`~arbkit_kalshi.auth.KalshiSigner`; every connection needs them, even for public
channels ([A]).

Continuity is never assumed. Frames are decoded by :class:`~arbkit_kalshi.parse_stream.KalshiDecoder`
(also what :meth:`KalshiStream.decoder` returns, so a recording replays through the same
code). A sequence gap or repeat marks the subscription's books stale and the stream
unsubscribes it and subscribes its markets again for fresh snapshots (Kalshi documents no
recovery, UNCERTAIN: a new subscription is the one that certainly restarts ``seq``). A
disconnect marks every book stale; the stream reconnects with exponential backoff and
jitter and subscribes everything again (new connection, new sids, 11.4). Silence is
caught twice: a connection with no frame for ``idle_probe_s`` is asked
``list_subscriptions``; no answer within ``probe_timeout_s`` means the feed is frozen, so
its books go stale and it reconnects. (Kalshi's 10 s pings keep a socket alive but prove
nothing about the data, so they do not count as traffic.)

Needs the ``stream`` extra (``websockets``)::

    stream = KalshiStream(api_key_id="...", private_key=pem)
    stream.start(sink)
    stream.subscribe(markets)
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import attrs

from arbkit.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    NetworkError,
    ValidationError,
)
from arbkit.models import Market
from arbkit.streams import FeedSink, FeedState, FeedStatus, ForwardingSink, backoff
from arbkit_kalshi.credentials import credential_options
from arbkit_kalshi.parse import EXCHANGE
from arbkit_kalshi.parse_stream import BOOK_CHANNEL, Envelope, KalshiDecoder, KalshiTicker
from arbkit_kalshi.parse_trading import Intent
from arbkit_kalshi.settings import KalshiSettings

if TYPE_CHECKING:
    import os

    from websockets.sync.client import ClientConnection

    from arbkit.config import Settings
    from arbkit_kalshi.auth import KalshiSigner

__all__ = ["WS_HOSTS", "WS_SIGN_PATH", "KalshiStream"]

log = logging.getLogger(__name__)
# websockets logs the handshake headers at DEBUG; ours carry a live signature. Never below INFO.
_WS_LOG = logging.getLogger("arbkit_kalshi.stream.websockets")
_WS_LOG.setLevel(logging.INFO)

#: The recommended WebSocket hosts (kalshi.md 1 / 11.1).
WS_HOSTS = {
    "prod": "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
    "demo": "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
}
#: What the handshake signs, whatever the host ([A] 11.1; no query string).
WS_SIGN_PATH = "/trade-api/ws/v2"
_USER_CHANNELS = ("fill", "user_orders")
_LIFECYCLE = "market_lifecycle_v2"
_TICKER = "ticker"


def _ws_url(env: str, url: str | None) -> str:
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ConfigError("must be a ws:// or wss:// URL", variable="KALSHI_WS_URL")
        return url if parts.path.rstrip("/") else url.rstrip("/") + WS_SIGN_PATH
    if env not in WS_HOSTS:
        raise ConfigError(f"must be one of {', '.join(WS_HOSTS)}", variable="KALSHI_ENV")
    return WS_HOSTS[env]


@attrs.define
class _Command:
    kind: str
    channel: str = ""
    markets: tuple[str, ...] = ()


@attrs.define
class _Sub:
    channel: str
    markets: set[str]


class _Tap(ForwardingSink):
    """Forwards the decoder's calls to the user's sink and keeps the stream's state in step."""

    def __init__(self, stream: KalshiStream, sink: FeedSink) -> None:
        super().__init__(sink)
        self._stream = stream

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        self._stream._went_stale(reason)
        self.sink.stale(exchange, market_ids, reason)

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        # The status first: a sink told "live" finds the feed LIVE when it asks.
        self._stream._maybe_live()
        self.sink.live(exchange, market_ids)


class KalshiStream:
    """Kalshi's market data and user channels over one signed WebSocket connection.

    ``url`` overrides the ``env`` host (a sandbox: ``ws://127.0.0.1:PORT/trade-api/ws/v2``).
    Credentials are needed to connect (every Kalshi connection is authenticated, [A] 11.1): an
    API key id and its private key (PEM text or a file), or a ready ``signer``; without them
    the stream still decodes (a replay needs no keys).

    ``ticker`` / ``user`` / ``lifecycle`` choose the extra channels. ``intents`` looks up how
    our own orders were placed (e.g. ``KalshiClient.order_intent``), so streamed orders and
    fills read in the caller's terms exactly as REST reports them. ``backoff_s`` doubles per
    failed attempt up to ``max_backoff_s``, with jitter (kalshi.md 11.4: 1-5 s x 2^n, ~30 s).
    """

    name = EXCHANGE

    def __init__(
        self,
        *,
        url: str | None = None,
        env: str = "prod",
        api_key_id: str | None = None,
        private_key: str | bytes | None = None,
        private_key_path: str | os.PathLike[str] | None = None,
        signer: KalshiSigner | None = None,
        ticker: bool = True,
        user: bool = True,
        lifecycle: bool = True,
        markets_per_subscription: int = 100,
        idle_probe_s: float = 10.0,
        probe_timeout_s: float = 5.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        open_timeout_s: float = 10.0,
        ping_interval_s: float | None = 20.0,
        max_frame_bytes: int = 4 << 20,
        proxy: str | Literal[True] | None = True,
        intents: Callable[[Mapping[str, Any]], Intent | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = _ws_url(env, url)
        key = private_key if private_key is not None else private_key_path
        if signer is None and (api_key_id or key is not None):
            if not api_key_id or key is None:
                raise ConfigError(
                    "a Kalshi API key id and its private key go together", variable="KALSHI_API_KEY"
                )
            from arbkit_kalshi.auth import KalshiSigner

            signer = KalshiSigner(api_key_id, key if isinstance(key, str | bytes) else _path(key))
        if markets_per_subscription < 1:
            raise ConfigError("markets_per_subscription must be at least 1")
        if min(idle_probe_s, probe_timeout_s, backoff_s) <= 0 or max_backoff_s < backoff_s:
            raise ConfigError("stream timings must be positive (and max_backoff_s >= backoff_s)")
        self._signer = signer
        self.channels_ticker = ticker
        self.channels_user = user
        self.channels_lifecycle = lifecycle
        self.markets_per_subscription = markets_per_subscription
        self.idle_probe_s = idle_probe_s
        self.probe_timeout_s = probe_timeout_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.open_timeout_s = open_timeout_s
        self.ping_interval_s = ping_interval_s
        self.max_frame_bytes = max_frame_bytes
        self.proxy = proxy
        self.intents = intents
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self._lock = threading.RLock()
        self._decode_lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._sink: _Tap | None = None
        self._decoder: KalshiDecoder | None = None
        self._ws: ClientConnection | None = None
        self._wanted: dict[str, Market] = {}
        #: Markets whose book subscription the venue refused: reported, and not waited for.
        self._refused: set[str] = set()
        self._snapshots_refused = False
        self._pending: dict[int, _Command] = {}
        self._subs: dict[int, _Sub] = {}
        self._next_id = 1
        self._resyncs: collections.deque[tuple[int, tuple[str, ...], str]] = collections.deque()
        #: Commands decided while decoding, sent once the frame is done (no I/O under the decode lock).
        self._outbox: list[dict[str, Any]] = []
        self._state = FeedState.CONNECTING
        self._reason = "not started"
        self._since: datetime | None = None
        self._last_message: datetime | None = None
        self._connected_once = False
        self._reconnects = 0
        self._messages = 0

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> KalshiStream:
        """Build from :class:`arbkit.config.Settings` (``KALSHI_WS_URL``, ``KALSHI_*`` keys); keywords win."""
        options = credential_options(settings, overrides)
        if settings is not None:
            own = KalshiSettings.of(settings)
            options["env"] = own.env
            options["url"] = own.ws_url
        options.update(overrides)
        known = inspect.signature(cls).parameters
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"kalshi stream: unknown options {', '.join(unknown)}")
        return cls(**options)

    def __repr__(self) -> str:
        key_id = self._signer.api_key_id if self._signer is not None else None
        return f"KalshiStream(url={self.url!r}, api_key_id={key_id!r})"

    @property
    def can_connect(self) -> bool:
        """Whether the stream has the credentials every Kalshi connection needs (it decodes without)."""
        return self._signer is not None

    # -- MarketStream ---------------------------------------------------------------------------
    def start(self, sink: FeedSink) -> None:
        """Connect in a background thread and return at once (a second call does nothing).

        Raises :class:`~arbkit.errors.ConfigError` without credentials: every Kalshi connection
        is signed, even for public data ([A] 11.1). (A stream built without them still gives
        :meth:`decoder`, for replays.)
        """
        if self._signer is None:
            # The status says why this feed never goes live (a session records the error).
            self._set_state(FeedState.CLOSED, "not started: no Kalshi credentials")
            raise ConfigError(
                "Kalshi's WebSocket needs credentials for every connection: set KALSHI_API_KEY "
                "and KALSHI_SECRET (or KALSHI_PRIVATE_KEY_PATH)",
                variable="KALSHI_API_KEY",
            )
        with self._lock:
            if self._thread is not None or self._closed.is_set():
                return
            self._sink = _Tap(self, sink)
            self._decoder = KalshiDecoder(self._sink, "market", control=_Control(self), intents=self.intents)
            self._thread = threading.Thread(target=self._run, name="kalshi-stream", daemon=True)
        self._set_state(FeedState.CONNECTING, "connecting")
        self._thread.start()

    def subscribe(self, markets: Sequence[Market]) -> None:
        """Stream the books (and tickers) of these markets; markets already streamed are skipped."""
        for market in markets:
            if market.exchange != EXCHANGE:
                raise ValidationError(f"kalshi stream: {market.exchange} market {market.id} is not Kalshi's")
        fresh = []
        with self._lock:
            for market in markets:
                if market.id not in self._wanted:
                    self._wanted[market.id] = market
                    fresh.append(market.id)
            ws = self._ws
            commands = self._market_commands(fresh) if ws is not None and fresh else []
        if fresh and self._state is FeedState.LIVE:
            self._set_state(FeedState.STALE, "waiting for snapshots")
        self._send(ws, commands)

    def unsubscribe(self, markets: Sequence[Market]) -> None:
        """Stop streaming these markets and drop their books."""
        gone = {m.id for m in markets}
        commands: list[dict[str, Any]] = []
        with self._lock:
            gone &= set(self._wanted)
            for ticker in gone:
                del self._wanted[ticker]
            self._refused -= gone
            ws = self._ws
            for sid, sub in list(self._subs.items()):
                if sub.channel not in (BOOK_CHANNEL, _TICKER) or not sub.markets & gone:
                    continue
                if sub.markets <= gone:
                    del self._subs[sid]
                    commands.append(self._command("unsubscribe", {"sids": [sid]}))
                else:
                    leaving = sorted(sub.markets & gone)
                    sub.markets -= gone
                    params = {"sids": [sid], "market_tickers": leaving, "action": "delete_markets"}
                    commands.append(self._command("update_subscription", params))
        if self._decoder is not None:
            with self._decode_lock:
                self._decoder.forget(sorted(gone))
        self._send(ws, commands if ws is not None else [])
        self._maybe_live()

    def status(self) -> FeedStatus:
        """The feed's state now: LIVE only while connected with every subscribed book whole."""
        with self._lock:
            return FeedStatus(
                exchange=EXCHANGE,
                state=self._state,
                reason=self._reason,
                since=self._since,
                last_message_at=self._last_message,
                subscribed=len(self._wanted),
                reconnects=self._reconnects,
                messages=self._messages,
            )

    def decoder(self, sink: FeedSink, connection: str = "market") -> KalshiDecoder:
        """A decoder of Kalshi frames as the live stream uses (one connection carries all channels)."""
        return KalshiDecoder(sink, connection, intents=self.intents)

    def close(self) -> None:
        """Disconnect and stop the thread; idempotent."""
        self._closed.set()
        with self._lock:
            ws, thread = self._ws, self._thread
        if ws is not None:
            ws.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(5.0, self.open_timeout_s + 1))
        self._set_state(FeedState.CLOSED, "closed")

    def __enter__(self) -> KalshiStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- extras ---------------------------------------------------------------------------------
    def ticker(self, market_id: str) -> KalshiTicker | None:
        """The last ``ticker`` frame of a market (top of book, last trade, volume), if any."""
        if self._decoder is None:
            return None
        with self._decode_lock:
            return self._decoder.tickers.get(market_id)

    # -- state ---------------------------------------------------------------------------------
    def _set_state(self, state: FeedState, reason: str) -> None:
        with self._lock:
            if state is not self._state or reason != self._reason:
                if state is not self._state:
                    self._since = datetime.now(UTC)
                self._state, self._reason = state, reason

    def _went_stale(self, reason: str) -> None:
        if self._state is not FeedState.CLOSED:
            self._set_state(FeedState.STALE, reason)

    def _maybe_live(self) -> None:
        decoder = self._decoder
        with self._lock:
            connected = self._ws is not None
            wanted = set(self._wanted) - self._refused
        if decoder is None or not connected or self._state is FeedState.CLOSED:
            return
        if wanted <= decoder.whole:
            self._set_state(FeedState.LIVE, "")

    # -- commands ----------------------------------------------------------------------------------
    def _command(self, cmd: str, params: Mapping[str, Any], record: _Command | None = None) -> dict[str, Any]:
        # Under self._lock. Ids are unique per connection, from 1 ([A] 11.2).
        command_id = self._next_id
        self._next_id += 1
        self._pending[command_id] = record or _Command(cmd)
        body: dict[str, Any] = {"id": command_id, "cmd": cmd}
        if params:
            body["params"] = dict(params)
        return body

    def _subscribe(self, channel: str, markets: Sequence[str] = ()) -> dict[str, Any]:
        params: dict[str, Any] = {"channels": [channel]}
        if markets:
            params["market_tickers"] = list(markets)
        if channel == BOOK_CHANNEL:
            # NO bids in NO prices, said explicitly: the default "will be flipped" (11.2, gotcha 2).
            params["use_yes_price"] = False
        if channel == _TICKER:
            params["send_initial_snapshot"] = True  # the current ticker at once, not at the next change [A]
        return self._command("subscribe", params, _Command("subscribe", channel, tuple(markets)))

    def _market_commands(self, tickers: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        size = self.markets_per_subscription
        for start in range(0, len(tickers), size):
            chunk = tickers[start : start + size]
            out.append(self._subscribe(BOOK_CHANNEL, chunk))
            if self.channels_ticker:
                out.append(self._subscribe(_TICKER, chunk))
        return out

    def _initial_commands(self) -> list[dict[str, Any]]:
        out = self._market_commands(list(self._wanted))
        if self.channels_user:
            out.extend(self._subscribe(channel) for channel in _USER_CHANNELS)
        if self.channels_lifecycle:
            out.append(self._subscribe(_LIFECYCLE))
        return out

    def _send(self, ws: ClientConnection | None, commands: Iterable[Mapping[str, Any]]) -> None:
        if ws is None:
            return
        from websockets.exceptions import ConnectionClosed

        try:
            for command in commands:
                ws.send(json.dumps(command, separators=(",", ":")))
        except ConnectionClosed:
            pass  # the reader sees the close and reconnects; everything is subscribed again

    def _on_response(self, env: Envelope) -> None:
        with self._lock:
            command = self._pending.pop(env.id, None) if env.id is not None else None
            if env.type == "subscribed" and command is not None:
                msg = env.msg if isinstance(env.msg, Mapping) else {}
                sid = msg.get("sid")
                if isinstance(sid, int):
                    channel = str(msg.get("channel") or command.channel)
                    live = [t for t in command.markets if t in self._wanted]
                    self._subs[sid] = _Sub(channel, set(live))
                    gone = sorted(set(command.markets) - set(live))
                    # Markets unsubscribed while the subscribe was in flight leave it now.
                    if gone and not live:
                        del self._subs[sid]
                        self._outbox.append(self._command("unsubscribe", {"sids": [sid]}))
                    elif gone:
                        params = {"sids": [sid], "market_tickers": gone, "action": "delete_markets"}
                        self._outbox.append(self._command("update_subscription", params))
            elif env.type == "unsubscribed" and env.sid is not None:
                self._subs.pop(env.sid, None)
            if env.type == "error" and command is not None and command.kind == "get_snapshot":
                self._snapshots_refused = True  # this venue will not verify quiet books; stop asking
            if env.type == "error" and command is not None and command.kind == "subscribe":
                # The decoder reported the typed error; a market Kalshi will not stream must not
                # hold the whole feed out of LIVE.
                log.info("kalshi stream: a %s subscription was refused", command.channel)
                if command.channel == BOOK_CHANNEL and len(command.markets) > 1:
                    # One bad ticker refuses the whole command: ask for each market alone.
                    self._resyncs.append((0, command.markets, "refused together"))
                elif command.channel == BOOK_CHANNEL:
                    self._refused.update(command.markets)
        if env.type == "error":
            self._maybe_live()

    def _on_resync(self, sid: int, markets: Sequence[str], reason: str) -> None:
        with self._lock:
            self._resyncs.append((sid, tuple(markets), reason))

    def _drain_resyncs(self, ws: ClientConnection) -> None:
        with self._lock:
            commands, self._outbox = self._outbox, []
            while self._resyncs:
                sid, markets, _reason = self._resyncs.popleft()
                sub = self._subs.pop(sid, None) if sid else None
                wanted = [t for t in (sub.markets if sub else set()) | set(markets) if t in self._wanted]
                if sub is not None:
                    commands.append(self._command("unsubscribe", {"sids": [sid]}))
                size = self.markets_per_subscription if sid else 1
                wanted.sort()
                for start in range(0, len(wanted), size):
                    commands.append(self._subscribe(BOOK_CHANNEL, wanted[start : start + size]))
        self._send(ws, commands)

    # -- the connection thread ----------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self._rng, self.backoff_s, self.max_backoff_s)

    def _run(self) -> None:
        attempt = 0
        while not self._closed.is_set():
            try:
                ws = self._connect()
            except Exception as exc:  # never let the thread die; retried with backoff
                log.exception("kalshi stream: connecting failed")
                assert self._sink is not None
                with contextlib.suppress(Exception):
                    error = NetworkError(
                        f"kalshi stream: cannot connect: {type(exc).__name__}", exchange=EXCHANGE
                    )
                    self._sink.error(error, "connect")
                ws = None
            if ws is None:
                self._closed.wait(self._backoff(attempt))
                attempt += 1
                continue
            began = time.monotonic()
            try:
                reason = self._serve(ws)
            except Exception as exc:  # a sink's or our own bug: never let the thread die
                log.exception("kalshi stream: reading failed; reconnecting")
                reason = f"internal error: {type(exc).__name__}"
                assert self._sink is not None
                with contextlib.suppress(Exception):
                    self._sink.error(NetworkError(f"kalshi stream: {reason}", exchange=EXCHANGE), "stream")
            with self._lock:
                self._ws = None
            ws.close()
            if self._closed.is_set():
                break
            self._went_stale(reason)
            assert self._sink is not None
            self._sink.stale(EXCHANGE, [], reason)
            # A connection that held for a while earns a fast retry; a flapping one backs off.
            attempt = 0 if time.monotonic() - began >= self.max_backoff_s else attempt + 1
            self._closed.wait(self._backoff(attempt))

    def _connect(self) -> ClientConnection | None:
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
        from websockets.sync.client import connect

        assert self._sink is not None
        assert self._signer is not None
        headers = self._signer.headers("GET", WS_SIGN_PATH)
        try:
            ws = connect(
                self.url,
                additional_headers=headers,
                open_timeout=self.open_timeout_s,
                ping_interval=self.ping_interval_s,
                ping_timeout=self.ping_interval_s,
                max_size=self.max_frame_bytes,
                proxy=self.proxy,
                logger=_WS_LOG,
                create_connection=_heartbeat_connection(self._heard),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            error: ExchangeError = (
                AuthenticationError("kalshi stream: handshake refused", exchange=EXCHANGE, status_code=status)
                if status in (401, 403)
                else NetworkError("kalshi stream: handshake refused", exchange=EXCHANGE, status_code=status)
            )
            self._fail_connect(error, f"handshake refused: HTTP {status}")
            return None
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            self._fail_connect(
                NetworkError(f"kalshi stream: cannot connect: {type(exc).__name__}", exchange=EXCHANGE),
                f"cannot connect: {type(exc).__name__}",
            )
            return None
        with self._lock:
            if self._connected_once:
                self._reconnects += 1
            self._connected_once = True
            self._ws = ws
            self._next_id = 1
            self._pending.clear()
            self._subs.clear()
            self._resyncs.clear()
            self._outbox.clear()
            self._refused.clear()  # asked again on every connection
            self._snapshots_refused = False
            commands = self._initial_commands()
        assert self._decoder is not None
        with self._decode_lock:
            self._decoder.reset()
        if self._closed.is_set():
            return ws
        if self._wanted:
            self._set_state(FeedState.STALE, "waiting for snapshots")
        else:
            self._maybe_live()
        self._send(ws, commands)
        return ws

    def _heard(self) -> None:
        # A server ping (Kalshi's heartbeat, every 10 s): the status shows it, but it proves
        # nothing about the data, so it does not reset the silence probe.
        with self._lock:
            self._last_message = datetime.now(UTC)

    def _verify_quiet(self, ws: ClientConnection, decoder: KalshiDecoder, verified: dict[int, float]) -> None:
        """Ask each book subscription quiet for ``idle_probe_s`` for a snapshot of its markets.

        A delta lost just before its markets go quiet would otherwise stay unnoticed until
        their next change: the snapshot's ``seq`` shows the gap (then the usual resync), and
        its content is the venue's book either way. ``get_snapshot`` is [A]; whether it keeps
        the sid's ``seq`` running is UNCERTAIN (a restart reads as a repeat: a resync).
        """
        if self._snapshots_refused:
            return
        now = time.monotonic()
        since = datetime.now(UTC) - timedelta(seconds=self.idle_probe_s)
        with self._decode_lock:
            quiet = decoder.quiet(since)
        commands = []
        with self._lock:
            for sid, markets in quiet:
                if now - verified.get(sid, -math.inf) < self.idle_probe_s or sid not in self._subs:
                    continue
                verified[sid] = now
                params = {"sids": [sid], "market_tickers": markets, "action": "get_snapshot"}
                commands.append(self._command("update_subscription", params, _Command("get_snapshot")))
        self._send(ws, commands)

    def _fail_connect(self, error: ExchangeError, reason: str) -> None:
        assert self._sink is not None
        self._sink.error(error, "connect")
        if self._state is not FeedState.CONNECTING:
            self._went_stale(reason)
        else:
            self._set_state(FeedState.CONNECTING, reason)

    def _serve(self, ws: ClientConnection) -> str:
        """Read until the connection ends or goes silent; returns why it ended."""
        from websockets.exceptions import ConnectionClosed

        assert self._sink is not None
        assert self._decoder is not None
        sink, decoder = self._sink, self._decoder
        last = time.monotonic()
        probed_at: float | None = None
        tick = min(self.idle_probe_s, self.probe_timeout_s, 1.0) / 2
        next_check = last + tick
        verified: dict[int, float] = {}
        while not self._closed.is_set():
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + tick
                self._verify_quiet(ws, decoder, verified)
            try:
                message = ws.recv(timeout=tick)
            except TimeoutError:
                now = time.monotonic()
                if probed_at is None and now - last >= self.idle_probe_s:
                    probed_at = now
                    with self._lock:
                        probe = self._command("list_subscriptions", {})
                    self._send(ws, [probe])
                elif probed_at is not None and now - probed_at >= self.probe_timeout_s:
                    return f"silent for {now - last:.1f}s (no answer to a probe)"
                continue
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                return f"disconnected (close code {code})"
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            received_at = datetime.now(UTC)
            last, probed_at = time.monotonic(), None
            with self._lock:
                self._messages += 1
                self._last_message = received_at
            sink.frame(EXCHANGE, "market", text, received_at)
            with self._decode_lock:
                decoder.feed(text, received_at)
            if self._resyncs or self._outbox:
                self._drain_resyncs(ws)
        return "closed"


class _Control:
    """The decoder's line back to its stream (command answers, resync requests)."""

    def __init__(self, stream: KalshiStream) -> None:
        self._stream = stream

    def response(self, envelope: Envelope) -> None:
        self._stream._on_response(envelope)

    def resync(self, sid: int, market_ids: Sequence[str], reason: str) -> None:
        self._stream._on_resync(sid, market_ids, reason)


def _heartbeat_connection(heard: Callable[[], None]) -> type[ClientConnection]:
    """A websockets connection that calls ``heard`` on every ping the server sends."""
    from websockets.frames import Frame, Opcode
    from websockets.sync.client import ClientConnection

    class _Heartbeats(ClientConnection):
        def process_event(self, event: Any) -> None:
            super().process_event(event)
            if isinstance(event, Frame) and event.opcode is Opcode.PING:
                heard()

    return _Heartbeats


def _path(value: str | os.PathLike[str]) -> Any:
    from pathlib import Path

    return Path(value)
