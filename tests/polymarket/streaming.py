"""Helpers of the stream tests: a recording sink and the sandbox with its stream on loopback."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from arbkit.errors import ArbkitError
from arbkit.models import Fill, Market, Order, OrderBook
from arbkit.sandbox import SandboxServer
from arbkit.sandbox.ws import WsSandboxServer
from arbkit.streams import FeedSink, MarketEvent
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.stream import serve_stream
from arbkit_polymarket.stream import PolymarketStream

from .conftest import make_client

#: Generous: a loaded 2-core box; every wait ends as soon as its condition holds.
WAIT = 8.0


class RecordingSink:
    """A :class:`FeedSink` that keeps everything and lets a test wait for a condition."""

    def __init__(self, forward: FeedSink | None = None) -> None:
        #: Told everything first (e.g. the core's BookStore), so a woken test sees it there too.
        self.forward = forward
        self.books: dict[tuple[str, str], OrderBook] = {}
        self.book_calls = 0
        self.events: list[tuple[Any, ...]] = []
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.markets: list[MarketEvent] = []
        self.errors: list[tuple[ArbkitError, str]] = []
        self.frames: list[tuple[str, str, datetime]] = []
        self.live_markets: set[str] = set()
        self._cond = threading.Condition()

    def _record(self, change: Callable[[], None]) -> None:
        with self._cond:
            change()
            self._cond.notify_all()

    def book(self, book: OrderBook) -> None:
        if self.forward is not None:
            self.forward.book(book)

        def change() -> None:
            self.books[book.key] = book
            self.book_calls += 1

        self._record(change)

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        if self.forward is not None:
            self.forward.stale(exchange, market_ids, reason)

        def change() -> None:
            self.events.append(("stale", tuple(market_ids), reason))
            self.live_markets.difference_update(market_ids)

        self._record(change)

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        if self.forward is not None:
            self.forward.live(exchange, market_ids)

        def change() -> None:
            self.events.append(("live", tuple(market_ids)))
            self.live_markets.update(market_ids)

        self._record(change)

    def order(self, order: Order) -> None:
        self._record(lambda: self.orders.append(order))

    def fill(self, fill: Fill) -> None:
        self._record(lambda: self.fills.append(fill))

    def market(self, event: MarketEvent) -> None:
        self._record(lambda: self.markets.append(event))

    def error(self, exc: ArbkitError, operation: str) -> None:
        if self.forward is not None:
            self.forward.error(exc, operation)
        self._record(lambda: self.errors.append((exc, operation)))

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        if self.forward is not None:
            self.forward.frame(exchange, connection, text, received_at)
        self._record(lambda: self.frames.append((connection, text, received_at)))

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Block until ``predicate()`` holds (re-checked on every report) or ``timeout`` passes."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def stale_reasons(self) -> list[str]:
        with self._cond:
            return [e[2] for e in self.events if e[0] == "stale"]


def levels(book: OrderBook) -> tuple[Any, ...]:
    """What a book says, without its timestamp or source."""
    return (book.market_id, book.outcome_id, book.bids, book.asks)


def same_as_rest(sink: RecordingSink, client: PolymarketClient, markets: Sequence[Market]) -> bool:
    """Whether every streamed book equals the REST book now (and the markets are live)."""
    rest = client.order_books(markets)
    with sink._cond:
        return all(m.id in sink.live_markets for m in markets) and all(
            key in sink.books and levels(sink.books[key]) == levels(book) for key, book in rest.items()
        )


def wait_same_as_rest(
    sink: RecordingSink, client: PolymarketClient, markets: Sequence[Market], timeout: float = WAIT
) -> bool:
    """Wait (on the sink's reports) until the streamed books equal REST's."""
    holds = False

    def check() -> bool:
        nonlocal holds
        holds = same_as_rest(sink, client, markets)
        return holds

    sink.wait(check, timeout)
    return holds


def until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll a condition nothing notifies about (the sandbox's side of an unsubscribe)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.005)
    return True


@attrs.define
class Venue:
    """The sandbox on loopback: REST, its stream, a client and a started stream with a sink."""

    sandbox: PolymarketSandbox
    http: SandboxServer
    ws: WsSandboxServer
    client: PolymarketClient
    stream: PolymarketStream
    sink: RecordingSink
    markets: list[Market]


@contextlib.contextmanager
def venue(
    sandbox: PolymarketSandbox,
    private_key: str | None = None,
    *,
    subscribe: bool = True,
    ws_options: dict[str, Any] | None = None,
    forward: FeedSink | None = None,
    **options: Any,
) -> Iterator[Venue]:
    """Serve the sandbox and its stream; start a :class:`PolymarketStream` on them."""
    with SandboxServer(sandbox) as http, serve_stream(sandbox, **(ws_options or {})) as ws:
        client = make_client(http, private_key)
        options.setdefault("seed", 7)
        options.setdefault("backoff_base", 0.02)
        options.setdefault("backoff_cap", 0.2)
        stream = PolymarketStream(client=client, url=ws.url + "/ws", **options)
        sink = RecordingSink(forward)
        markets = client.markets()
        try:
            stream.start(sink)
            if subscribe:
                stream.subscribe(markets)
            yield Venue(sandbox, http, ws, client, stream, sink, markets)
        finally:
            stream.close()
            client.close()
