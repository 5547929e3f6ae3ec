"""Kalshi WebSocket frames -> core models, and the decoder that keeps the local books.

Reference: kalshi.md section 11 (certainty marks [A] AsyncAPI, [C] changelog, [O] observed,
UNCERTAIN). One function per payload, as :mod:`arbkit_kalshi.parse` does for REST, reusing
its book mapping (:func:`~arbkit_kalshi.parse.books_from_bids`) and
:mod:`arbkit_kalshi.parse_trading`'s order and fill parsers, so a streamed book, order or
fill is the same value REST returns. Only the 2026 fields are read (``*_dollars``,
``*_fp``); the integer fields removed Mar 12 2026 are ignored.

:class:`KalshiDecoder` is the :class:`~arbkit.streams.FrameDecoder` the live stream uses: it
holds the books and sequence numbers, so replaying a recording runs exactly this code.
Continuity is never assumed (11.5): ``seq`` is per subscription id (``sid``) and +1 per
message across all of that sid's markets; a gap or a repeat marks every book of the sid
stale and asks for a resync; a snapshot makes a market whole again.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import attrs

from arbkit.errors import (
    ArbkitError,
    AuthenticationError,
    BadRequest,
    ExchangeError,
    ExchangeUnavailable,
    InvalidResponse,
    NotFound,
    RateLimited,
)
from arbkit.models import BookLevel, Fill, MarketStatus, Order, OrderBook
from arbkit.streams import FeedSink, MarketEvent
from arbkit_kalshi.parse import EXCHANGE, bid_levels, books_from_bids, complement, obj
from arbkit_kalshi.parse_trading import Intent, parse_fill, parse_order
from arbkit_kalshi.units import read_count, read_dollars

__all__ = [
    "BOOK_CHANNEL",
    "TERMINAL_CODES",
    "Delta",
    "Envelope",
    "KalshiDecoder",
    "KalshiTicker",
    "LocalBook",
    "StreamControl",
    "parse_delta",
    "parse_envelope",
    "parse_lifecycle",
    "parse_snapshot",
    "parse_ticker",
    "parse_user_fill",
    "parse_user_order",
    "ws_error",
]

BOOK_CHANNEL = "orderbook_delta"
ZERO = Decimal(0)
ONE = Decimal(1)
_MAX_ID = 2**63
#: Error codes after which the subscription is gone and must be made again (11.2: 10 channel
#: error, 25 buffer overflow; 17 internal error is "retired" in the AsyncAPI but still listed).
TERMINAL_CODES = frozenset({10, 17, 25})
_BOOK_TYPES = frozenset({"orderbook_snapshot", "orderbook_delta"})


def _fail(message: str) -> InvalidResponse:
    return InvalidResponse(f"kalshi stream: {message}", exchange=EXCHANGE)


def _int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_ID:
        raise _fail(f"{what} is not a non-negative integer")
    return value


def _ticker(data: Mapping[str, Any], key: str = "market_ticker") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise _fail(f"frame has no {key}")
    return value


def _from_ms(value: Any, what: str) -> datetime | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise _fail(f"{what} is out of range") from None


def _from_s(value: Any, what: str) -> datetime | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        raise _fail(f"{what} is out of range") from None


# -- payloads ------------------------------------------------------------------------------------
@attrs.frozen
class Envelope:
    """One server frame: ``{"type", "id"?, "sid"?, "seq"?, "msg"}`` (11.3)."""

    type: str
    msg: Any = None
    id: int | None = None
    sid: int | None = None
    seq: int | None = None


def parse_envelope(text: str) -> Envelope:
    """A raw text frame -> :class:`Envelope`; :class:`InvalidResponse` if it is not one.

    Numbers are read as ``Decimal`` (never float); an unknown ``type`` is returned as is
    (the caller ignores it, as the reference advises).
    """
    try:
        data = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise _fail(f"frame is not JSON: {text[:60]!r}") from None
    if not isinstance(data, Mapping):
        raise _fail("frame is not a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise _fail("frame has no type")
    return Envelope(
        type=kind,
        msg=data.get("msg"),
        id=_int(data.get("id"), "id"),
        sid=_int(data.get("sid"), "sid"),
        seq=_int(data.get("seq"), "seq"),
    )


def parse_snapshot(msg: Any) -> tuple[str, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """``orderbook_snapshot`` -> ``(ticker, yes_bids, no_bids)``.

    Both arrays are bids in their own outcome's prices ([A]; the stream subscribes with
    ``use_yes_price: false``); an empty side is omitted on the WebSocket ([A]), unlike REST.
    """
    data = obj(msg, "orderbook_snapshot")
    return (
        _ticker(data),
        bid_levels(data.get("yes_dollars_fp"), what="yes_dollars_fp"),
        bid_levels(data.get("no_dollars_fp"), what="no_dollars_fp"),
    )


@attrs.frozen
class Delta:
    """One ``orderbook_delta``: a signed change of the resting size at one bid level."""

    ticker: str
    side: str
    price: Decimal
    delta: Decimal
    #: Present only when our own order caused the change ([O]).
    client_order_id: str | None = None


def parse_delta(msg: Any) -> Delta:
    """``orderbook_delta`` -> :class:`Delta` (``price_dollars``, signed ``delta_fp``, ``side``)."""
    data = obj(msg, "orderbook_delta")
    ticker = _ticker(data)
    side = data.get("side")
    if side not in ("yes", "no"):
        raise _fail(f"delta of {ticker} has no side yes|no")
    price = read_dollars(data, "price_dollars")
    change = read_count(data, "delta_fp")
    if price is None or change is None:
        raise _fail(f"delta of {ticker} has no price_dollars or delta_fp")
    if not ZERO < price < ONE:
        raise _fail(f"delta of {ticker} has a price outside (0, 1): {price}")
    client_id = data.get("client_order_id")
    return Delta(ticker, str(side), price, change, client_id if isinstance(client_id, str) else None)


@attrs.frozen
class KalshiTicker:
    """A ``ticker`` frame: top of the YES book and the market's last trade (no ``seq``)."""

    market_id: str
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    yes_bid_size: Decimal | None
    yes_ask_size: Decimal | None
    last_price: Decimal | None
    volume: Decimal | None
    open_interest: Decimal | None
    timestamp: datetime | None


def parse_ticker(msg: Any) -> KalshiTicker:
    """``ticker`` -> :class:`KalshiTicker`. ``price_dollars`` is ``""`` before any trade ([A]).

    ``ts_ms`` is occasionally missing ([O]/KFR): ``ts`` (seconds) is the fallback.
    """
    data = obj(msg, "ticker")
    when = _from_ms(data.get("ts_ms"), "ts_ms") or _from_s(data.get("ts"), "ts")
    return KalshiTicker(
        market_id=_ticker(data),
        yes_bid=read_dollars(data, "yes_bid_dollars"),
        yes_ask=read_dollars(data, "yes_ask_dollars"),
        yes_bid_size=read_count(data, "yes_bid_size_fp"),
        yes_ask_size=read_count(data, "yes_ask_size_fp"),
        last_price=read_dollars(data, "price_dollars"),
        volume=read_count(data, "volume_fp"),
        open_interest=read_count(data, "open_interest_fp"),
        timestamp=when,
    )


def parse_user_order(msg: Any, intent: Intent | None = None) -> Order:
    """``user_order`` -> :class:`~arbkit.models.Order`, by the REST parser (same fields, 11.3).

    The frame carries ``created_ts_ms`` where REST has ``created_time`` (deprecated on the
    WebSocket): the time is taken from it when ``created_time`` is absent.
    """
    data = obj(msg, "user_order")
    order = parse_order(data, intent)
    if order.created_at is None:
        created = _from_ms(data.get("created_ts_ms"), "created_ts_ms")
        if created is not None:
            order = attrs.evolve(order, created_at=created)
    return order


def parse_user_fill(msg: Any, intent: Intent | None = None) -> Fill:
    """``fill`` -> :class:`~arbkit.models.Fill`, by the REST parser.

    ``trade_id`` is the REST ``fill_id`` (3.5: "trade_id (= fill_id)"); the time is
    ``ts_ms`` when present (REST's ``created_time`` is absent here, ``ts`` has seconds only).
    """
    data = obj(msg, "fill")
    fill = parse_fill(data, intent)
    when = _from_ms(data.get("ts_ms"), "ts_ms")
    if when is not None:
        fill = attrs.evolve(fill, timestamp=when)
    return fill


_LIFECYCLE = {
    "activated": MarketStatus.OPEN,
    "determined": MarketStatus.RESOLVED,
    "settled": MarketStatus.RESOLVED,
}


def parse_lifecycle(msg: Any, received_at: datetime) -> MarketEvent | None:
    """``market_lifecycle_v2`` -> :class:`MarketEvent` when the market's status changes, else ``None``.

    ``determined`` carries ``result`` (the winner when ``yes``/``no``); ``deactivated``
    pauses or resumes by ``is_deactivated``; ``close_date_updated`` with a ``close_ts``
    already past is an early close (there is no explicit "closed" event: UNCERTAIN, 11.3).
    ``created``, ``metadata_updated`` and grid changes are not status changes.
    """
    data = obj(msg, "market_lifecycle_v2")
    ticker = _ticker(data)
    kind = data.get("event_type")
    if not isinstance(kind, str):
        raise _fail(f"lifecycle of {ticker} has no event_type")
    status = _LIFECYCLE.get(kind)
    when: datetime | None = received_at
    if kind == "deactivated":
        paused = data.get("is_deactivated")
        status = MarketStatus.OPEN if paused is False else MarketStatus.PAUSED
    elif kind == "close_date_updated":
        closes = _from_s(data.get("close_ts"), "close_ts")
        status = MarketStatus.CLOSED if closes is not None and closes <= received_at else None
    elif kind == "determined":
        when = _from_s(data.get("determination_ts"), "determination_ts") or received_at
    elif kind == "settled":
        when = _from_s(data.get("settled_ts"), "settled_ts") or received_at
    if status is None:
        return None
    result = data.get("result")
    winner = result if kind in ("determined", "settled") and result in ("yes", "no") else None
    return MarketEvent(EXCHANGE, ticker, status, winner=winner, timestamp=when, raw=kind)


def ws_error(msg: Any, command: str = "command") -> ExchangeError:
    """An ``error`` frame's ``{"code", "msg"}`` -> the matching :mod:`arbkit.errors` class (11.2)."""
    data = msg if isinstance(msg, Mapping) else {}
    raw_code = data.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    text = data.get("msg")
    text = text[:200] if isinstance(text, str) else ""
    message = f"kalshi stream: {command} refused (code {code}): {text}"
    kwargs: dict[str, Any] = {
        "exchange": EXCHANGE,
        "code": None if code is None else str(code),
        "venue_message": text,
    }
    if code == 9:
        return AuthenticationError(message, **kwargs)
    if code == 27:
        return RateLimited(message, **kwargs)
    if code == 16:
        return NotFound(message, **kwargs)
    if code in TERMINAL_CODES or code == 18:
        return ExchangeUnavailable(message, **kwargs)
    return BadRequest(message, **kwargs)


# -- the local book ----------------------------------------------------------------------------
class _Ladder:
    """One outcome's bids: price -> level, the prices sorted, and each level's complement cached."""

    __slots__ = ("_best", "_complements_best", "complements", "levels", "prices")

    def __init__(self, pairs: Sequence[tuple[Decimal, Decimal]]) -> None:
        self.levels: dict[Decimal, BookLevel] = {}
        for price, size in pairs:
            seen = self.levels.get(price)
            self.levels[price] = BookLevel(price, size if seen is None else seen.size + size)
        self.prices = sorted(self.levels)
        self.complements = {p: complement(level) for p, level in self.levels.items()}
        # The sides as tuples, kept until this ladder changes (a delta touches one ladder).
        self._best: tuple[BookLevel, ...] | None = None
        self._complements_best: tuple[BookLevel, ...] | None = None

    def apply(self, price: Decimal, change: Decimal) -> None:
        self._best = self._complements_best = None
        seen = self.levels.get(price)
        size = (seen.size if seen is not None else ZERO) + change
        if size <= 0:
            # q <= 0 deletes the level; a negative change on a missing level is ignored (11.5).
            if seen is not None:
                del self.levels[price], self.complements[price]
                self.prices.pop(bisect.bisect_left(self.prices, price))
            return
        level = BookLevel(price, size)
        self.levels[price] = level
        self.complements[price] = complement(level)
        if seen is None:
            bisect.insort(self.prices, price)

    def best_first(self) -> tuple[BookLevel, ...]:
        if self._best is None:
            levels = self.levels
            self._best = tuple(levels[p] for p in reversed(self.prices))
        return self._best

    def complements_best_first(self) -> tuple[BookLevel, ...]:
        if self._complements_best is None:
            # The highest bid is the lowest (best) complementary ask.
            complements = self.complements
            self._complements_best = tuple(complements[p] for p in reversed(self.prices))
        return self._complements_best


class LocalBook:
    """One market's two bid ladders (YES and NO), kept from a snapshot and its deltas (11.5)."""

    __slots__ = ("no", "owner", "ticker", "yes")

    def __init__(
        self,
        ticker: str,
        yes_bids: Sequence[tuple[Decimal, Decimal]],
        no_bids: Sequence[tuple[Decimal, Decimal]],
        owner: int | None = None,
    ) -> None:
        self.ticker = ticker
        #: The subscription id whose snapshot this book came from: only its deltas apply.
        self.owner = owner
        self.yes = _Ladder(yes_bids)
        self.no = _Ladder(no_bids)

    def apply(self, delta: Delta) -> None:
        """Add a delta's signed change to its level (exact Decimal keys, never floats)."""
        (self.yes if delta.side == "yes" else self.no).apply(delta.price, delta.delta)

    def books(self, timestamp: datetime) -> tuple[OrderBook, OrderBook]:
        """``(yes_book, no_book)``: the same values :func:`books_from_bids` gives for these levels."""
        yes_bids = self.yes.best_first()
        no_bids = self.no.best_first()
        return (
            OrderBook(
                EXCHANGE,
                self.ticker,
                "yes",
                bids=yes_bids,
                asks=self.no.complements_best_first(),
                timestamp=timestamp,
                source="stream",
            ),
            OrderBook(
                EXCHANGE,
                self.ticker,
                "no",
                bids=no_bids,
                asks=self.yes.complements_best_first(),
                timestamp=timestamp,
                source="stream",
            ),
        )


# -- the decoder ----------------------------------------------------------------------------------
class StreamControl(Protocol):
    """What the decoder tells the live stream (a replay passes none)."""

    def response(self, envelope: Envelope) -> None:
        """A command's answer: ``subscribed``, ``unsubscribed``, ``ok`` or ``error``."""

    def resync(self, sid: int, market_ids: Sequence[str], reason: str) -> None:
        """The books of subscription ``sid`` are stale: resubscribe them for fresh snapshots."""


@attrs.define
class _Sid:
    channel: str = ""
    last_seq: int | None = None
    dead: bool = False
    #: When its last frame (or its ack) arrived.
    last_at: datetime | None = None
    markets: set[str] = attrs.field(factory=set)


class KalshiDecoder:
    """Parses one connection's frames and reports books, orders, fills and lifecycle to a sink.

    ``control`` (the live stream) hears command answers and resync requests; ``intents``
    looks up how our own orders were placed (``KalshiClient.order_intent``), so orders and
    fills read in the caller's terms as REST reports them. Never raises on a bad frame: it
    goes to :meth:`FeedSink.error` as an :class:`~arbkit.errors.InvalidResponse`, and books
    it may have touched go stale.
    """

    def __init__(
        self,
        sink: FeedSink,
        connection: str = "market",
        *,
        control: StreamControl | None = None,
        intents: Callable[[Mapping[str, Any]], Intent | None] | None = None,
    ) -> None:
        self.sink = sink
        self.connection = connection
        self.control = control
        self.intents = intents
        self.books: dict[str, LocalBook] = {}
        #: Markets whose book is whole (snapshot seen since the last gap or reset).
        self.whole: set[str] = set()
        self.tickers: dict[str, KalshiTicker] = {}
        self.frames = 0
        self.ignored = 0
        self._sids: dict[int, _Sid] = {}
        self._results: dict[str, str] = {}

    # -- what the stream calls ------------------------------------------------------------------
    def reset(self) -> None:
        """A new connection: every subscription id is gone and every book awaits its snapshot.

        The caller reports the staleness (it knows why); the books are kept for reference
        but are not whole until their new snapshot.
        """
        self._sids.clear()
        self.whole.clear()

    def forget(self, market_ids: Sequence[str]) -> None:
        """Drop the books of markets no longer streamed."""
        for ticker in market_ids:
            self.books.pop(ticker, None)
            self.whole.discard(ticker)
            self.tickers.pop(ticker, None)
            for state in self._sids.values():
                state.markets.discard(ticker)

    def quiet(self, since: datetime) -> list[tuple[int, list[str]]]:
        """Live book subscriptions with no frame since ``since``, and their whole markets.

        Kalshi sends no sequenced heartbeat, so a delta lost just before a market goes quiet
        shows only with the next frame of its subscription: the stream asks these for a
        snapshot, whose ``seq`` exposes the loss (and whose content replaces the book).
        """
        out = []
        for sid, state in self._sids.items():
            if state.channel != BOOK_CHANNEL or state.dead or state.last_at is None or state.last_at >= since:
                continue
            markets = sorted(t for t, b in self.books.items() if b.owner == sid and t in self.whole)
            if markets:
                out.append((sid, markets))
        return out

    def stale_all(self, reason: str) -> list[str]:
        """Mark every orderbook subscription stale and ask for resyncs (a frame we cannot read)."""
        hit: list[str] = []
        for sid, state in list(self._sids.items()):
            if state.channel == BOOK_CHANNEL and not state.dead:
                hit.extend(self._gap(sid, state, reason))
        return hit

    # -- FrameDecoder ------------------------------------------------------------------------------
    def feed(self, text: str, received_at: datetime) -> None:
        """Decode one frame; never raises."""
        self.frames += 1
        try:
            envelope = parse_envelope(text)
        except InvalidResponse as exc:
            self.sink.error(exc, "stream")
            # It may have been a book frame: no book can be trusted until resynchronised.
            self.stale_all(f"unreadable frame: {exc}")
            return
        try:
            self._dispatch(envelope, received_at)
        except ArbkitError as exc:
            error = exc if isinstance(exc, InvalidResponse) else _fail(f"{envelope.type}: {exc}")
            self.sink.error(error, "stream")
            if envelope.type in _BOOK_TYPES and envelope.sid is not None:
                state = self._sids.get(envelope.sid)
                if state is not None and not state.dead:
                    self._gap(envelope.sid, state, f"bad {envelope.type} frame: {error}")

    # -- internals -------------------------------------------------------------------------------
    def _dispatch(self, env: Envelope, received_at: datetime) -> None:
        kind = env.type
        if kind in _BOOK_TYPES:
            self._book_frame(env, received_at)
        elif kind == "ticker":
            update = parse_ticker(env.msg)
            self.tickers[update.market_id] = update
        elif kind == "fill":
            data = obj(env.msg, "fill")
            self.sink.fill(parse_user_fill(data, self._intent(data)))
        elif kind == "user_order":
            data = obj(env.msg, "user_order")
            self.sink.order(parse_user_order(data, self._intent(data)))
        elif kind == "market_lifecycle_v2":
            self._lifecycle(env, received_at)
        elif kind in ("subscribed", "unsubscribed", "ok", "error"):
            self._response(env, received_at)
        else:
            self.ignored += 1  # event_lifecycle, trade, market_position, ...: not used (11.3)

    def _intent(self, data: Mapping[str, Any]) -> Intent | None:
        return self.intents(data) if self.intents is not None else None

    def _sid(self, sid: int) -> _Sid:
        state = self._sids.get(sid)
        if state is None:
            # A frame before its ack (a recording that starts mid-stream): adopt its numbering.
            state = self._sids[sid] = _Sid()
        return state

    def _sequence(self, env: Envelope, state: _Sid) -> bool:
        """Whether the frame continues its sid; a gap or repeat marks the sid stale."""
        seq = env.seq
        if seq is None:
            raise _fail(f"{env.type} has no seq")
        last = state.last_seq
        if last is not None and seq != last + 1:
            what = "duplicate" if seq <= last else "gap"
            assert env.sid is not None
            self._gap(env.sid, state, f"sequence {what} on sid {env.sid}: {seq} after {last}")
            return False
        state.last_seq = seq
        return True

    def _gap(self, sid: int, state: _Sid, reason: str) -> list[str]:
        state.dead = True  # its later frames are ignored; a new subscription replaces it
        markets = sorted(state.markets | {t for t, b in self.books.items() if b.owner == sid})
        stale = [t for t in markets if t in self.whole]
        self.whole.difference_update(markets)
        if stale:
            self.sink.stale(EXCHANGE, stale, reason)
        if self.control is not None:
            self.control.resync(sid, markets, reason)
        return stale

    def _book_frame(self, env: Envelope, received_at: datetime) -> None:
        if env.sid is None:
            raise _fail(f"{env.type} has no sid")
        state = self._sid(env.sid)
        if state.dead:
            return
        state.channel = BOOK_CHANNEL
        state.last_at = received_at
        if not self._sequence(env, state):
            return
        if env.type == "orderbook_snapshot":
            ticker, yes_bids, no_bids = parse_snapshot(env.msg)
            state.markets.add(ticker)
            self.books[ticker] = LocalBook(ticker, yes_bids, no_bids, owner=env.sid)
            # A snapshot is mapped exactly as a REST book is; deltas then update the ladders.
            yes, no = books_from_bids(ticker, yes_bids, no_bids, timestamp=received_at, source="stream")
            self.sink.book(yes)
            self.sink.book(no)
            if ticker not in self.whole:
                self.whole.add(ticker)
                self.sink.live(EXCHANGE, [ticker])
            return
        delta = parse_delta(env.msg)
        book_of = self.books.get(delta.ticker)
        if book_of is None or book_of.owner != env.sid or delta.ticker not in self.whole:
            return  # before its snapshot, or another subscription's market: dropped (11.5)
        book_of.apply(delta)
        yes, no = book_of.books(received_at)
        self.sink.book(yes)
        self.sink.book(no)

    def _lifecycle(self, env: Envelope, received_at: datetime) -> None:
        if env.sid is not None and env.seq is not None:
            state = self._sid(env.sid)
            state.channel = state.channel or "market_lifecycle_v2"
            last = state.last_seq
            if last is not None and env.seq != last + 1:
                # Lost lifecycle events cannot be fetched again: say so, keep going.
                self.sink.error(
                    _fail(f"lifecycle sequence gap on sid {env.sid}: {env.seq} after {last}"), "stream"
                )
            state.last_seq = env.seq
        data = obj(env.msg, "market_lifecycle_v2")
        result = data.get("result")
        if data.get("event_type") == "determined" and isinstance(result, str):
            self._results[_ticker(data)] = result
        elif data.get("event_type") == "settled" and "result" not in data:
            known = self._results.get(_ticker(data))
            if known is not None:
                data = {**data, "result": known}
        event = parse_lifecycle(data, received_at)
        if event is not None:
            self.sink.market(event)

    def _response(self, env: Envelope, received_at: datetime) -> None:
        if env.type == "subscribed":
            msg = obj(env.msg, "subscribed")
            sid = _int(msg.get("sid"), "sid")
            channel = msg.get("channel")
            if sid is not None:
                old = self._sids.get(sid)
                if old is not None and not old.dead:
                    # A reused sid is a new connection's (a replay crossing a reconnect).
                    self._gap(sid, old, f"subscription {sid} started again")
                self._sids[sid] = _Sid(
                    channel=channel if isinstance(channel, str) else "", last_at=received_at
                )
        elif env.type == "unsubscribed" and env.sid is not None:
            state = self._sids.get(env.sid)
            if state is not None:
                state.dead = True
        elif env.type == "ok" and env.sid is not None and env.seq is not None:
            # An update_subscription answer may carry the sid's seq (UNCERTAIN, 11.2): count it.
            state = self._sids.get(env.sid)
            if state is not None and state.last_seq is not None and env.seq == state.last_seq + 1:
                state.last_seq = env.seq
        elif env.type == "error":
            self.sink.error(ws_error(env.msg), "stream command")
            code = env.msg.get("code") if isinstance(env.msg, Mapping) else None
            if env.sid is not None and isinstance(code, int) and code in TERMINAL_CODES:
                state = self._sids.get(env.sid)
                if state is not None and not state.dead:
                    self._gap(env.sid, state, f"subscription {env.sid} ended by the venue")
        if self.control is not None:
            self.control.response(env)
