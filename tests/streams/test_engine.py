"""StreamingEngine: detection re-run for the matches a change touches, on usable books only."""

from __future__ import annotations

from decimal import Decimal as D

from arbkit.engine.detect import find_opportunities
from arbkit.models import OrderBook
from arbkit.streams import BookStore
from arbkit.streams.engine import Detection, StreamingEngine
from tests.core.test_arbitrage import NOW, binary_match, kalshi_market, poly_market
from tests.streams.test_books import Clock

POLY, KALSHI = poly_market("P"), kalshi_market("K")
POLY2, KALSHI2 = poly_market("P2"), kalshi_market("K2")
MATCH, OTHER = binary_match(POLY, KALSHI), binary_match(POLY2, KALSHI2)


def books(
    poly: object = POLY, kalshi: object = KALSHI, yes: str = "0.40", no: str = "0.55"
) -> list[OrderBook]:
    p, k = poly, kalshi
    return [
        OrderBook.build("polymarket", p.id, p.outcomes[0].id, asks=[(yes, "100")], timestamp=NOW),
        OrderBook.build("polymarket", p.id, p.outcomes[1].id, asks=[("0.99", "100")], timestamp=NOW),
        OrderBook.build("kalshi", k.id, "yes", asks=[("0.99", "100")], timestamp=NOW),
        OrderBook.build("kalshi", k.id, "no", asks=[(no, "100")], timestamp=NOW),
    ]


def setup(*matches: object) -> tuple[BookStore, StreamingEngine, Clock, list[Detection]]:
    clock = Clock()
    store = BookStore(monotonic_ns=clock, clock=lambda: NOW)
    found: list[Detection] = []
    engine = StreamingEngine(
        store,
        matches or (MATCH,),
        bet_amount=D(1000),
        on_opportunity=found.append,
        clock=lambda: NOW,  # type: ignore[arg-type]
    )
    store.live("polymarket", [])
    store.live("kalshi", [])
    return store, engine, clock, found


def test_a_change_is_detected_with_the_scanners_figures_and_its_latency() -> None:
    store, engine, clock, found = setup()
    received = clock.ns
    for book in books():
        store.book(book)
    clock.advance(0.002)
    (detection,) = engine.step()
    assert found == [detection]
    expected = find_opportunities([MATCH], {b.key: b for b in books()}, bet_amount=D(1000), now=NOW)
    assert detection.opportunity == expected[0]
    assert detection.opportunity.profit == D(5)  # 100 sets at 0.40 + 0.55
    assert detection.received_ns == received
    assert detection.latency_seconds == 0.002
    assert engine.latency().count == 1


def test_only_the_matches_a_change_touches_are_evaluated() -> None:
    store, engine, _, _ = setup(MATCH, OTHER)
    for book in books() + books(POLY2, KALSHI2, no="0.70"):
        store.book(book)
    before = engine.matches_evaluated
    engine.step()
    assert engine.matches_evaluated == before + 2
    store.book(OrderBook.build("kalshi", "K2", "no", asks=[("0.50", "100")], timestamp=NOW))
    (detection,) = engine.step()
    assert engine.matches_evaluated == before + 3
    assert detection.opportunity.match is OTHER
    assert engine.book_keys() >= {("kalshi", "K", "no"), ("polymarket", "P2", "P2-0")}


def test_a_stale_book_never_yields_an_opportunity() -> None:
    store, engine, _, found = setup()
    for book in books():
        store.book(book)
    store.stale("kalshi", ["K"], "sequence gap")
    assert engine.step() == []
    store.live("kalshi", ["K"])  # live again, but no fresh book yet
    assert engine.step() == []
    assert found == []
    store.book(books()[3])  # the fresh NO book
    assert len(engine.step()) == 1


def test_an_opportunity_lives_from_the_change_that_opens_it_to_the_one_that_closes_it() -> None:
    store, engine, clock, _ = setup()
    for book in books(no="0.70"):  # 0.40 + 0.70: nothing
        store.book(book)
    engine.step()
    assert engine.lifetimes() == []
    clock.advance(1.0)
    store.book(books(no="0.55")[3])
    engine.step()
    clock.advance(0.5)
    store.book(books(no="0.52")[3])  # better: the same arbitrage, more profit
    engine.step()
    (life,) = engine.lifetimes()
    assert life.closed_ns is None
    assert engine.current() == [life.last]
    clock.advance(2.0)
    store.stale("kalshi", [], "disconnected")  # gone with its books
    engine.step()
    (life,) = engine.lifetimes()
    assert life.seconds == 2.5
    assert life.detections == 2
    assert life.first.profit == D(5)
    assert life.best.profit == D(8)
    assert engine.current() == []
