"""BookStore: which streamed books detection may use, silences, changes and events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from arbkit.errors import InvalidResponse
from arbkit.models import Fill, MarketStatus, OrderBook, OutcomeKey, Side
from arbkit.streams import BookStore, FeedInterrupted, FeedState, MarketEvent

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)


def book(market: str = "M1", outcome: str = "yes", ask: str = "0.40", exchange: str = "kalshi") -> OrderBook:
    return OrderBook.build(exchange, market, outcome, asks=[(ask, "10")], timestamp=T0)


def store(**kwargs: object) -> tuple[BookStore, Clock]:
    clock = Clock()
    return BookStore(monotonic_ns=clock, clock=lambda: T0, **kwargs), clock  # type: ignore[arg-type]


def test_a_book_is_usable_only_once_its_feed_is_live() -> None:
    books, _ = store()
    books.book(book())
    assert books.books() == {}
    assert books.status("kalshi").state is FeedState.CONNECTING
    books.live("kalshi", [])
    assert books.books() == {("kalshi", "M1", "yes"): book()}
    assert books.status("kalshi").state is FeedState.LIVE


def test_a_book_from_before_a_stale_is_never_used_again() -> None:
    books, _ = store()
    books.live("kalshi", [])
    books.book(book())
    books.stale("kalshi", [], "sequence gap: 41 after 39")
    assert books.get(("kalshi", "M1", "yes")) is None
    assert books.status("kalshi").reason == "sequence gap: 41 after 39"
    books.live("kalshi", [])  # live before the fresh snapshot: the old book stays out
    assert not books.usable(("kalshi", "M1", "yes"))
    books.book(book(ask="0.45"))
    assert books.get(("kalshi", "M1", "yes")) == book(ask="0.45")


def test_snapshots_before_live_count_as_fresh() -> None:
    books, _ = store()
    books.live("kalshi", [])
    books.book(book())
    books.stale("kalshi", [], "disconnected")
    books.book(book(ask="0.42"))
    assert books.books() == {}
    books.live("kalshi", [])
    assert books.books() == {("kalshi", "M1", "yes"): book(ask="0.42")}


def test_stale_markets_leave_the_rest_of_the_feed_usable() -> None:
    books, _ = store()
    books.live("kalshi", [])
    books.book(book("M1"))
    books.book(book("M2"))
    books.book(book("P1", exchange="polymarket"))
    books.live("polymarket", [])
    books.stale("kalshi", ["M1"], "hash mismatch")
    assert set(books.books()) == {("kalshi", "M2", "yes"), ("polymarket", "P1", "yes")}
    assert "M1" in books.status("kalshi").reason
    books.live("kalshi", ["M1"])
    assert ("kalshi", "M1", "yes") not in books.books()
    books.book(book("M1", ask="0.41"))
    assert set(books.books()) == {
        ("kalshi", "M1", "yes"),
        ("kalshi", "M2", "yes"),
        ("polymarket", "P1", "yes"),
    }


def test_a_silent_feed_goes_stale_until_fresh_books_arrive() -> None:
    interruptions: list[tuple[str, str]] = []
    silences: list[tuple[str, str]] = []
    books, clock = store(
        cadence={"kalshi": 5.0}, on_error=lambda exc, venue, op: interruptions.append((venue, op))
    )
    books.listen(silence=lambda venue, reason: silences.append((venue, reason)))
    books.live("kalshi", [])
    books.live("polymarket", [])
    books.book(book())
    books.book(book("P1", exchange="polymarket"))
    clock.advance(4.0)
    assert books.check_silence() == []
    clock.advance(2.0)
    assert books.check_silence() == ["kalshi"]  # polymarket: default cadence of 30 s
    assert set(books.books()) == {("polymarket", "P1", "yes")}
    assert books.status("kalshi").state is FeedState.STALE
    assert "silent for 6.0 s" in books.status("kalshi").reason
    assert silences == [("kalshi", books.status("kalshi").reason)]
    assert ("kalshi", "stream silence") in interruptions
    assert books.errors()[-1].operation == "silence"
    assert books.check_silence() == []  # reported once per silence
    books.frame("kalshi", "market", '{"type":"heartbeat"}', T0)  # alive, but nothing fresh yet
    assert books.status("kalshi").state is FeedState.LIVE
    assert not books.usable(("kalshi", "M1", "yes"))
    books.book(book(ask="0.39"))
    assert books.usable(("kalshi", "M1", "yes"))


def test_changes_are_coalesced_per_key_keeping_the_first_receipt() -> None:
    books, clock = store()
    changes = books.changes()
    books.live("kalshi", [])
    assert changes.take() == {}  # no books yet, nothing changed
    books.book(book(ask="0.40"))
    first = clock.ns
    clock.advance(0.001)
    books.book(book(ask="0.41"))
    books.book(book("M2"))
    assert changes.take() == {("kalshi", "M1", "yes"): first, ("kalshi", "M2", "yes"): clock.ns}
    assert changes.coalesced == 1
    assert changes.take() == {}
    books.stale("kalshi", ["M2"], "gap")
    assert set(changes.take()) == {("kalshi", "M2", "yes")}  # consumers re-evaluate what went stale
    changes.close()
    books.book(book())
    assert changes.take(timeout=1.0) == {}


def test_a_waiting_consumer_is_woken_by_a_change() -> None:
    books, _ = store()
    changes = books.changes()
    got: list[dict[OutcomeKey, int]] = []
    waiter = threading.Thread(target=lambda: got.append(changes.take(timeout=5.0)))
    waiter.start()
    books.book(book())
    waiter.join(5.0)
    assert list(got[0]) == [("kalshi", "M1", "yes")]


def test_events_reach_listeners_and_a_failing_listener_is_recorded() -> None:
    errors: list[tuple[str, str]] = []
    books, _ = store(on_error=lambda exc, venue, op: errors.append((venue, op)))
    fills: list[Fill] = []
    events: list[MarketEvent] = []

    def broken(fill: Fill) -> None:
        raise RuntimeError("listener bug")

    books.listen(fill=fills.append, market=events.append)
    books.listen(fill=broken)
    fill = Fill(
        exchange="kalshi",
        order_id="o1",
        market_id="M1",
        outcome_id="yes",
        side=Side.BUY,
        price=Decimal("0.4"),
        size=Decimal(2),
        fee=Decimal("0.01"),
        timestamp=T0,
    )
    books.fill(fill)
    event = MarketEvent(exchange="kalshi", market_id="M1", status=MarketStatus.CLOSED)
    books.market(event)
    assert fills == [fill]
    assert events == [event]
    assert errors == [("kalshi", "stream fill listener")]


def test_error_history_is_bounded_and_names_the_venue() -> None:
    books, _ = store(history=3)
    for n in range(5):
        books.error(InvalidResponse(f"bad frame {n}", exchange="polymarket"), "decode")
    history = books.errors()
    assert [r.message for r in history] == [f"bad frame {n} [polymarket]" for n in (2, 3, 4)]
    assert history[0].venue == "polymarket"
    assert history[0].error_type == "InvalidResponse"
    books.stale("kalshi", [], "disconnected")
    assert books.errors()[-1].error_type == FeedInterrupted.__name__


def test_concurrent_feeds_keep_the_newest_book_of_each_key() -> None:
    books, _ = store()
    books.live("kalshi", [])
    books.live("polymarket", [])

    def feed(exchange: str) -> None:
        for n in range(500):
            books.book(book(f"{exchange}-{n % 10}", ask=f"0.{10 + n % 80}", exchange=exchange))

    threads = [threading.Thread(target=feed, args=(ex,)) for ex in ("kalshi", "polymarket")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(books.books()) == 20
    assert books.updates == 1000
    assert books.get(("kalshi", "kalshi-9", "yes")) == book("kalshi-9", ask="0.29")  # n = 499 came last


def test_only_a_new_interruption_is_passed_on_to_the_error_sink() -> None:
    told: list[str] = []
    books, _ = store(on_error=lambda exc, venue, op: told.append(str(exc)))
    books.live("kalshi", [])
    books.stale("kalshi", [], "disconnected")
    books.stale("kalshi", [], "reconnect failed")  # still down: history only
    books.stale("kalshi", ["M1"], "gap")  # inside a stale feed: nothing new
    books.live("kalshi", [])
    books.stale("kalshi", ["M1"], "gap on M1")
    books.stale("kalshi", ["M1"], "gap on M1 again")
    assert [t.split(" [")[0] for t in told] == ["disconnected", "gap on M1"]
    assert len([r for r in books.errors() if r.operation == "stale"]) == 5
