"""BookStore against a model of its rule, over random sequences of stream reports (hypothesis).

The rule, stated over the history rather than as the store keeps it: a book is usable when
(1) the last ``live``/``stale`` report covering its market (the whole feed's or that market's)
is a ``live``, and (2) the book was received after the last ``stale`` covering its market.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from arbkit.models import OrderBook
from arbkit.streams import BookStore

T0 = datetime(2026, 12, 3, tzinfo=UTC)
VENUES = ("kalshi", "polymarket")
MARKETS = ("M1", "M2", "M3")
OUTCOMES = ("yes", "no")


def market_id(venue: str, market: str) -> str:
    return market  # the same ids on both venues: a book is told apart by its venue too


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = BookStore(default_cadence=None, clock=lambda: T0)
        self.events: list[tuple[str, str, str | None]] = []  # (kind, venue, market or None for the feed)
        self.books: dict[tuple[str, str, str], tuple[int, str]] = {}  # -> (event index, ask)

    @rule(
        venue=st.sampled_from(VENUES),
        market=st.sampled_from(MARKETS),
        outcome=st.sampled_from(OUTCOMES),
        cents=st.integers(1, 99),
    )
    def book(self, venue: str, market: str, outcome: str, cents: int) -> None:
        ask = f"0.{cents:02d}"
        self.store.book(
            OrderBook.build(venue, market_id(venue, market), outcome, asks=[(ask, "1")], timestamp=T0)
        )
        self.events.append(("book", venue, market))
        self.books[(venue, market, outcome)] = (len(self.events) - 1, ask)

    @rule(venue=st.sampled_from(VENUES), markets=st.lists(st.sampled_from(MARKETS), max_size=2, unique=True))
    def stale(self, venue: str, markets: list[str]) -> None:
        self.store.stale(venue, [market_id(venue, m) for m in markets], "gap")
        self._status("stale", venue, markets)

    @rule(venue=st.sampled_from(VENUES), markets=st.lists(st.sampled_from(MARKETS), max_size=2, unique=True))
    def live(self, venue: str, markets: list[str]) -> None:
        self.store.live(venue, [market_id(venue, m) for m in markets])
        self._status("live", venue, markets)

    def _status(self, kind: str, venue: str, markets: list[str]) -> None:
        if markets:
            for market in markets:
                self.events.append((kind, venue, market))
        else:
            self.events.append((kind, venue, None))

    def expected_usable(self, venue: str, market: str, outcome: str) -> bool:
        held = self.books.get((venue, market, outcome))
        if held is None:
            return False
        covering = [
            (i, kind)
            for i, (kind, v, m) in enumerate(self.events)
            if kind != "book" and v == venue and m in (None, market)
        ]
        if not covering or covering[-1][1] != "live":
            return False
        last_stale = max((i for i, kind in covering if kind == "stale"), default=-1)
        return held[0] > last_stale

    @invariant()
    def usable_books_follow_the_rule(self) -> None:
        usable = self.store.books()
        for venue in VENUES:
            for market in MARKETS:
                for outcome in OUTCOMES:
                    key = (venue, market_id(venue, market), outcome)
                    expected = self.expected_usable(venue, market, outcome)
                    assert (key in usable) == expected, (venue, market, outcome, self.events)
                    if expected:
                        assert str(usable[key].asks[0].price) == self.books[(venue, market, outcome)][1]


StoreMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_book_store_follows_its_rule = StoreMachine.TestCase
