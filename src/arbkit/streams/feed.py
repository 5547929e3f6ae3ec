"""The contract between a venue's streaming client and the core.

An adapter offers a :class:`MarketStream` through the ``arbkit_register_streams`` hook.
The stream owns its sockets and threads; it turns every frame it receives into the
same models the REST client returns (:class:`~arbkit.models.OrderBook`,
:class:`~arbkit.models.Order`, :class:`~arbkit.models.Fill`) and hands them to a
:class:`FeedSink`. It never assumes continuity: a sequence gap, a duplicate, a book
hash that disagrees, a disconnect or a silence longer than the market's cadence is
reported with :meth:`FeedSink.stale` *before* the stream resynchronises (a fresh
snapshot or a resubscribe), and :meth:`FeedSink.live` follows once the book is whole
again. Between the two the core never uses those books.

Decoding is separate from the socket (:meth:`MarketStream.decoder`), so a recording
of raw frames replays through exactly the code that parsed them live.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from arbkit.errors import ArbkitError
from arbkit.models import Fill, Market, MarketStatus, Order, OrderBook

__all__ = [
    "FeedSink",
    "FeedState",
    "FeedStatus",
    "ForwardingSink",
    "FrameDecoder",
    "MarketEvent",
    "MarketStream",
    "backoff",
]


class FeedState(enum.StrEnum):
    """Where one feed stands. Only ``LIVE`` books are used by detection."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    CLOSED = "closed"


@attrs.frozen
class FeedStatus:
    """A stream's state as the service and dashboard show it."""

    exchange: str
    state: FeedState
    #: Why the feed is in that state ("sequence gap on KXNBAGAME-...: 41 after 39").
    reason: str = ""
    since: datetime | None = None
    #: When the last frame of any kind arrived (heartbeats included).
    last_message_at: datetime | None = None
    subscribed: int = 0
    reconnects: int = 0
    messages: int = 0


@attrs.frozen
class MarketEvent:
    """A market lifecycle change read from a stream (opened, closed, settled, ...)."""

    exchange: str
    market_id: str
    status: MarketStatus
    #: The winning outcome id when the venue says the market is resolved, else ``None``.
    winner: str | None = None
    timestamp: datetime | None = None
    raw: str = ""


class FeedSink(Protocol):
    """What a stream reports to. Called from the stream's own thread; must not block long."""

    def book(self, book: OrderBook) -> None:
        """The whole current book of one outcome, after a snapshot or a delta was applied."""

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        """These markets' books are not to be trusted (``market_ids`` empty: all of the feed's)."""

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        """These markets' books are whole again (``market_ids`` empty: all of the feed's)."""

    def order(self, order: Order) -> None:
        """An update of one of our own orders (user channel)."""

    def fill(self, fill: Fill) -> None:
        """One execution of one of our own orders (user channel)."""

    def market(self, event: MarketEvent) -> None:
        """A market lifecycle change."""

    def error(self, exc: ArbkitError, operation: str) -> None:
        """A failure worth the error history (bad frame, refused subscription, disconnect)."""

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        """Every raw frame as received, for recording (``connection``: "market" or "user")."""


@runtime_checkable
class FrameDecoder(Protocol):
    """Parses one connection's raw frames and reports what they mean to a sink.

    Holds the local books and sequence numbers, so a live stream and a replay of its
    recording produce the same calls. Bad frames raise no exception: they are reported
    with :meth:`FeedSink.error` (an :class:`~arbkit.errors.InvalidResponse`) and, where
    they may have carried book state, the affected books go stale.
    """

    def feed(self, text: str, received_at: datetime) -> None:
        """Decode one frame."""


@runtime_checkable
class MarketStream(Protocol):
    """One venue's streaming client."""

    #: The registry name, the same as the venue's :class:`~arbkit.exchange.Exchange`.
    name: str

    def start(self, sink: FeedSink) -> None:
        """Connect in the background and return at once; reconnects with backoff until closed."""

    def subscribe(self, markets: Sequence[Market]) -> None:
        """Stream the books of every outcome of these markets (idempotent)."""

    def unsubscribe(self, markets: Sequence[Market]) -> None:
        """Stop streaming these markets."""

    def status(self) -> FeedStatus:
        """The feed's state now."""

    def decoder(self, sink: FeedSink, connection: str = "market") -> FrameDecoder:
        """A decoder of this venue's frames for one connection, as used live (for replay)."""

    def close(self) -> None:
        """Disconnect and stop every thread; idempotent."""


class ForwardingSink:
    """A :class:`FeedSink` that passes every call on to ``sink``: a stream wraps its user's sink in
    a subclass to keep its own status in step (overriding ``stale`` and ``live``, say)."""

    def __init__(self, sink: FeedSink) -> None:
        self.sink = sink

    def book(self, book: OrderBook) -> None:
        self.sink.book(book)

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        self.sink.stale(exchange, market_ids, reason)

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        self.sink.live(exchange, market_ids)

    def order(self, order: Order) -> None:
        self.sink.order(order)

    def fill(self, fill: Fill) -> None:
        self.sink.fill(fill)

    def market(self, event: MarketEvent) -> None:
        self.sink.market(event)

    def error(self, exc: ArbkitError, operation: str) -> None:
        self.sink.error(exc, operation)

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        self.sink.frame(exchange, connection, text, received_at)


def backoff(attempt: int, rng: random.Random, base: float, cap: float) -> float:
    """Seconds before reconnect number ``attempt`` (0 first): full-jitter exponential backoff,
    uniform in ``[0, min(cap, base * 2**attempt))``, so many clients never reconnect in step."""
    return float(rng.random() * min(cap, base * 2.0 ** min(attempt, 32)))
