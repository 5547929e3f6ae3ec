"""The local book store: the latest book of every streamed outcome, and whether to trust it.

:class:`BookStore` is a :class:`~arbkit.streams.feed.FeedSink`: every venue's stream
reports to it from its own thread. Detection reads it in the form REST scans use,
``Mapping[BookKey, OrderBook]`` (:meth:`BookStore.books`, :meth:`BookStore.view`), so
:func:`arbkit.engine.detect.find_opportunities` runs unchanged on streamed books.

A book is *usable* only when both hold:

* its market is live: the feed said :meth:`~FeedSink.live` (for the whole feed or that
  market) and no :meth:`~FeedSink.stale` came after it;
* the book itself arrived after the last ``stale()`` that covered it (a book kept from
  before a gap or a disconnect is never used again, whatever the order in which the venue
  then sends ``live()`` and its fresh snapshots).

A silence watchdog (:meth:`BookStore.check_silence`, run by :meth:`start_watchdog` or by
the engine) invalidates the books of a feed that sent nothing (not even a heartbeat) for
longer than its venue's cadence, and tells ``on_silence`` listeners, which resynchronise
(resubscribe for fresh snapshots). Each stale, silence and reported error goes to a
bounded error history (:meth:`BookStore.errors`) and to ``on_error``.

Changes are pushed to subscribers (:meth:`BookStore.changes`): each gets the keys that
changed since it last looked, coalesced while it is busy, with when each change was
first received, so the engine measures its latency from receipt.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from arbkit.errors import ArbkitError, NetworkError
from arbkit.models import BookKey, Fill, Order, OrderBook, utcnow
from arbkit.streams.feed import FeedState, FeedStatus, MarketEvent
from arbkit.trading.records import ErrorRecord

__all__ = ["BookStore", "ChangeFeed", "FeedInterrupted"]

logger = logging.getLogger(__name__)

#: A feed silent this long (seconds) is stale unless its venue has its own cadence.
DEFAULT_CADENCE_SECONDS = 30.0

ErrorSink = Callable[[BaseException, str, str], object]
_T = TypeVar("_T")


class FeedInterrupted(NetworkError):
    """A feed stopped being trustworthy (gap, silence, disconnect): its books are stale."""


@attrs.define
class _Entry:
    book: OrderBook
    #: False once a ``stale()`` covered the book; only a newer book makes the key usable again.
    valid: bool
    received_ns: int


@attrs.define
class _Feed:
    state: FeedState = FeedState.CONNECTING
    reason: str = ""
    since: datetime | None = None
    last_message_at: datetime | None = None
    last_message_ns: int | None = None
    messages: int = 0
    #: Set by the watchdog until the next frame; status shows it as stale.
    silent: str = ""
    #: Per-market overrides of the feed state (``LIVE`` or ``STALE``).
    markets: dict[str, FeedState] = attrs.field(factory=dict)


class ChangeFeed:
    """One subscriber's pending changes: book keys with when each was first received.

    The store adds to it from the streams' threads; the consumer calls :meth:`take`.
    Changes that arrive while the consumer is busy are coalesced per key (the earliest
    receipt is kept, so a latency measured from it includes the time spent waiting).
    """

    def __init__(self, store: BookStore) -> None:
        self._store = store
        self._pending: dict[BookKey, int] = {}
        self._cond = threading.Condition()
        self._closed = False
        #: Keys added while already pending (updates coalesced into one evaluation).
        self.coalesced = 0

    def _add(self, keys: Iterable[BookKey], received_ns: int) -> None:
        with self._cond:
            for key in keys:
                if key in self._pending:
                    self.coalesced += 1
                else:
                    self._pending[key] = received_ns
            self._cond.notify_all()

    def take(self, timeout: float | None = 0.0) -> dict[BookKey, int]:
        """The changes since the last call (empty after ``timeout`` seconds, or when closed)."""
        with self._cond:
            if not self._pending and not self._closed and timeout != 0.0:
                self._cond.wait_for(lambda: bool(self._pending) or self._closed, timeout)
            pending, self._pending = self._pending, {}
            return pending

    def __len__(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self) -> None:
        """Stop receiving changes and wake a waiting consumer."""
        self._store._unsubscribe(self)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed


class BookStore:
    """Thread-safe latest books per :class:`~arbkit.models.OutcomeKey`, with staleness per feed.

    * ``cadence``: seconds of silence after which a venue's feed is stale, by venue name
      (others use ``default_cadence``; ``None`` turns the watchdog off for a venue);
    * ``history``: how many error records to keep;
    * ``clock`` / ``monotonic_ns``: wall time for records and a monotonic nanosecond clock
      for receipt and silence (replay injects a simulated one);
    * ``on_error(exc, venue, operation)``: also told every error and interruption (a
      trading system's ``record_error``).
    """

    def __init__(
        self,
        *,
        cadence: Mapping[str, float | None] | None = None,
        default_cadence: float | None = DEFAULT_CADENCE_SECONDS,
        history: int = 200,
        clock: Callable[[], datetime] = utcnow,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
        on_error: ErrorSink | None = None,
    ) -> None:
        self.cadence = dict(cadence or {})
        self.default_cadence = default_cadence
        self.on_error = on_error
        self._clock = clock
        self._ns = monotonic_ns
        self._lock = threading.Lock()
        self._books: dict[BookKey, _Entry] = {}
        self._by_market: dict[tuple[str, str], set[BookKey]] = {}
        self._feeds: dict[str, _Feed] = {}
        self._errors: collections.deque[ErrorRecord] = collections.deque(maxlen=history)
        self._subscribers: list[ChangeFeed] = []
        self._order_listeners: list[Callable[[Order], object]] = []
        self._fill_listeners: list[Callable[[Fill], object]] = []
        self._market_listeners: list[Callable[[MarketEvent], object]] = []
        self._silence_listeners: list[Callable[[str, str], object]] = []
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()
        #: Book updates received, over the store's life.
        self.updates = 0

    # -- FeedSink ---------------------------------------------------------------------------
    def book(self, book: OrderBook) -> None:
        """Keep the newest book of its outcome; it is usable once its market is live."""
        now = self._ns()
        key = book.key
        with self._lock:
            self._books[key] = _Entry(book, True, now)
            self._by_market.setdefault((book.exchange, book.market_id), set()).add(key)
            feed = self._feed(book.exchange)
            self._seen(feed, now)
            self.updates += 1
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber._add((key,), now)

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        """Stop using these markets' books (all of the feed's when ``market_ids`` is empty)."""
        now = self._ns()
        with self._lock:
            feed = self._feed(exchange)
            # Only news is passed on to ``on_error`` (notifiers): a feed reported stale again
            # while it already was is kept in this store's history alone.
            if market_ids:
                news = any(self._status_of(feed, m) is not FeedState.STALE for m in market_ids)
                for market_id in market_ids:
                    feed.markets[market_id] = FeedState.STALE
            else:
                news = feed.state is not FeedState.STALE or FeedState.LIVE in feed.markets.values()
                feed.markets.clear()
                self._set(feed, FeedState.STALE, reason)
            changed = self._invalidate(exchange, market_ids)
            record = self._remember(exchange, "stale", reason or "stale")
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber._add(changed, now)
        if news:
            interrupted = FeedInterrupted(reason or "stale", exchange=exchange)
            self._tell_error(interrupted, exchange, record.operation)

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        """These markets (all of the feed's when empty) are whole again."""
        now = self._ns()
        with self._lock:
            feed = self._feed(exchange)
            if market_ids:
                for market_id in market_ids:
                    feed.markets[market_id] = FeedState.LIVE
            else:
                feed.markets.clear()
                self._set(feed, FeedState.LIVE, "")
            if market_ids:
                changed = [k for m in market_ids for k in self._by_market.get((exchange, m), ())]
            else:
                changed = [k for (ex, _), keys in self._by_market.items() if ex == exchange for k in keys]
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber._add(changed, now)

    def order(self, order: Order) -> None:
        """Forward one of our order updates to the order listeners."""
        self._dispatch(self._order_listeners, order, order.exchange, "order update")

    def fill(self, fill: Fill) -> None:
        """Forward one of our fills to the fill listeners."""
        self._dispatch(self._fill_listeners, fill, fill.exchange, "fill")

    def market(self, event: MarketEvent) -> None:
        """Forward a market lifecycle change to the market listeners."""
        self._dispatch(self._market_listeners, event, event.exchange, "market event")

    def error(self, exc: ArbkitError, operation: str) -> None:
        """Keep a stream failure in the error history (and tell ``on_error``)."""
        exchange = getattr(exc, "exchange", None) or "stream"
        with self._lock:
            self._errors.append(ErrorRecord.of(exc, venue=exchange, operation=operation, now=self._clock()))
        self._tell_error(exc, exchange, operation)

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        """A raw frame: counts as a sign of life for the silence watchdog."""
        now = self._ns()
        with self._lock:
            feed = self._feed(exchange)
            self._seen(feed, now, received_at)
            feed.messages += 1

    # -- reading ----------------------------------------------------------------------------
    def books(self) -> dict[BookKey, OrderBook]:
        """Every usable book, keyed as :meth:`Exchange.order_books` keys them."""
        with self._lock:
            return {key: entry.book for key, entry in self._books.items() if self._usable(entry)}

    def view(self, keys: Iterable[BookKey]) -> dict[BookKey, OrderBook]:
        """The usable books among ``keys`` (the books one match reads)."""
        out: dict[BookKey, OrderBook] = {}
        with self._lock:
            for key in keys:
                entry = self._books.get(key)
                if entry is not None and self._usable(entry):
                    out[key] = entry.book
        return out

    def get(self, key: BookKey) -> OrderBook | None:
        """The book at ``key`` if it is usable, else ``None``."""
        return self.view((key,)).get(key)

    def latest(self, key: BookKey) -> OrderBook | None:
        """The last book received at ``key``, usable or not (for display)."""
        with self._lock:
            entry = self._books.get(key)
            return None if entry is None else entry.book

    def usable(self, key: BookKey) -> bool:
        """Whether detection may use the book at ``key`` now."""
        with self._lock:
            entry = self._books.get(key)
            return entry is not None and self._usable(entry)

    def received_ns(self, key: BookKey) -> int | None:
        """When the book at ``key`` arrived (the store's monotonic clock)."""
        with self._lock:
            entry = self._books.get(key)
            return None if entry is None else entry.received_ns

    def status(self, exchange: str) -> FeedStatus:
        """One feed's state as the store sees it (silence and per-market staleness included)."""
        with self._lock:
            feed = self._feed(exchange)
            state, reason = feed.state, feed.reason
            stale_markets = sorted(m for m, s in feed.markets.items() if s is FeedState.STALE)
            if feed.silent:
                state, reason = FeedState.STALE, feed.silent
            elif state is FeedState.LIVE and stale_markets:
                reason = f"{len(stale_markets)} market(s) stale: {', '.join(stale_markets[:3])}"
            subscribed = sum(1 for ex, _ in self._by_market if ex == exchange)
            return FeedStatus(
                exchange=exchange,
                state=state,
                reason=reason,
                since=feed.since,
                last_message_at=feed.last_message_at,
                subscribed=subscribed,
                messages=feed.messages,
            )

    def exchanges(self) -> list[str]:
        """Venues the store has heard of."""
        with self._lock:
            return sorted(self._feeds)

    def errors(self) -> list[ErrorRecord]:
        """The error history, oldest first (bounded)."""
        with self._lock:
            return list(self._errors)

    # -- listeners --------------------------------------------------------------------------
    def changes(self) -> ChangeFeed:
        """A new subscription to book changes (close it when done)."""
        feed = ChangeFeed(self)
        with self._lock:
            self._subscribers.append(feed)
        return feed

    def _unsubscribe(self, feed: ChangeFeed) -> None:
        with self._lock:
            if feed in self._subscribers:
                self._subscribers.remove(feed)

    def listen(
        self,
        *,
        order: Callable[[Order], object] | None = None,
        fill: Callable[[Fill], object] | None = None,
        market: Callable[[MarketEvent], object] | None = None,
        silence: Callable[[str, str], object] | None = None,
    ) -> None:
        """Be told of our orders, fills, market events, and of silences (``silence(venue, reason)``)."""
        with self._lock:
            if order is not None:
                self._order_listeners.append(order)
            if fill is not None:
                self._fill_listeners.append(fill)
            if market is not None:
                self._market_listeners.append(market)
            if silence is not None:
                self._silence_listeners.append(silence)

    # -- silence watchdog -------------------------------------------------------------------
    def check_silence(self) -> list[str]:
        """Invalidate the books of every feed silent past its cadence; returns those venues.

        A feed is checked once it has sent something; it is reported again only after it
        has spoken since.
        """
        now = self._ns()
        silenced: list[tuple[str, str, list[BookKey]]] = []
        with self._lock:
            for exchange, feed in self._feeds.items():
                cadence = self.cadence.get(exchange, self.default_cadence)
                if cadence is None or feed.last_message_ns is None or feed.silent:
                    continue
                quiet = (now - feed.last_message_ns) / 1e9
                if quiet <= cadence:
                    continue
                reason = f"silent for {quiet:.1f} s (cadence {cadence:g} s)"
                feed.silent = reason
                changed = self._invalidate(exchange, ())
                self._remember(exchange, "silence", reason)
                silenced.append((exchange, reason, changed))
            subscribers = list(self._subscribers)
            listeners = list(self._silence_listeners)
        for exchange, reason, changed in silenced:
            logger.warning("%s feed %s: its books are stale", exchange, reason)
            for subscriber in subscribers:
                subscriber._add(changed, now)
            self._tell_error(FeedInterrupted(reason, exchange=exchange), exchange, "silence")
            for listener in listeners:
                try:
                    listener(exchange, reason)
                except Exception:
                    logger.exception("silence listener failed")
        return [exchange for exchange, _, _ in silenced]

    def start_watchdog(self, interval: float = 1.0) -> None:
        """Run :meth:`check_silence` every ``interval`` seconds in a daemon thread."""
        if self._watchdog is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check_silence()
                except Exception:
                    logger.exception("silence watchdog failed")

        self._watchdog = threading.Thread(target=loop, name="arbkit-book-watchdog", daemon=True)
        self._watchdog.start()

    def close(self) -> None:
        """Stop the watchdog and wake every change subscriber."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(5)
            self._watchdog = None
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.close()

    # -- internals (called with the lock held unless said) ----------------------------------
    def _feed(self, exchange: str) -> _Feed:
        feed = self._feeds.get(exchange)
        if feed is None:
            feed = self._feeds[exchange] = _Feed(since=self._clock())
        return feed

    def _set(self, feed: _Feed, state: FeedState, reason: str) -> None:
        if feed.state is not state:
            feed.since = self._clock()
        feed.state = state
        feed.reason = reason

    def _seen(self, feed: _Feed, now_ns: int, at: datetime | None = None) -> None:
        feed.last_message_ns = now_ns
        feed.last_message_at = at or self._clock()
        feed.silent = ""

    @staticmethod
    def _status_of(feed: _Feed, market_id: str) -> FeedState:
        return feed.markets.get(market_id, feed.state)

    def _usable(self, entry: _Entry) -> bool:
        if not entry.valid:
            return False
        feed = self._feeds.get(entry.book.exchange)
        if feed is None:
            return False
        market = feed.markets.get(entry.book.market_id)
        if market is not None:
            return market is FeedState.LIVE
        return feed.state is FeedState.LIVE

    def _invalidate(self, exchange: str, market_ids: Sequence[str]) -> list[BookKey]:
        if market_ids:
            keys = [k for m in market_ids for k in self._by_market.get((exchange, m), ())]
        else:
            keys = [k for (ex, _), ks in self._by_market.items() if ex == exchange for k in ks]
        for key in keys:
            self._books[key].valid = False
        return keys

    def _remember(self, exchange: str, operation: str, message: str) -> ErrorRecord:
        record = ErrorRecord(
            time=self._clock(),
            venue=exchange,
            operation=operation,
            message=message[:500],
            error_type=FeedInterrupted.__name__,
        )
        self._errors.append(record)
        return record

    def _tell_error(self, exc: BaseException, venue: str, operation: str) -> None:
        # Outside the lock: the sink may notify, and notifiers never block a stream's thread long.
        if self.on_error is None:
            return
        try:
            self.on_error(exc, venue, f"stream {operation}")
        except Exception:
            logger.exception("stream error sink failed")

    def _dispatch(self, listeners: list[Callable[[_T], object]], item: _T, venue: str, what: str) -> None:
        with self._lock:
            self._seen(self._feed(venue), self._ns())
            targets = list(listeners)
        for listener in targets:
            try:
                listener(item)
            except Exception as exc:
                logger.exception("%s listener failed", what)
                self._tell_error(exc, venue, f"{what} listener")
