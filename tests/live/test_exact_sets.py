"""A set the detector sizes is bought exactly on both venues, at whatever prices the books show.

The markets and books come from the sandboxes through the real clients, the detector sizes the
set, and the live system trades it. Every leg must then hold the size the detector promised,
with no top-up, no unwind and no error, and the venues must hold what the store says: the
venues' own amount rules take part (a Polymarket marketable buy spends whole cents, so 21.63
shares at 0.50 would buy 21.62 and leave the Kalshi leg 0.01 over, unwound at a loss).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arbkit.engine.detect import find_opportunities
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.trading.records import LegStatus, TradeStatus
from arbkit.trading.store import JsonFileStore
from tests import scenarios as sc
from tests.live.checks import assert_matches_venues
from tests.live.conftest import SystemFactory, Venues

D = Decimal
_runs = itertools.count()

cents = st.integers(15, 75).map(lambda c: D(c) / 100)
#: Depth in hundredths of a contract, so the detector meets fractional sizes.
depths = st.integers(100, 6000).map(lambda n: D(n) / 100)
levels = st.lists(st.tuples(cents, depths), min_size=1, max_size=3, unique_by=lambda level: level[0])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kalshi_asks=levels, poly_asks=levels, budget=st.integers(3, 80).map(D))
def test_the_detected_size_is_what_both_venues_fill(
    live_system: SystemFactory,
    venues: Venues,
    tmp_path: Path,
    kalshi_asks: list[tuple[Decimal, Decimal]],
    poly_asks: list[tuple[Decimal, Decimal]],
    budget: Decimal,
) -> None:
    venues.reset()
    # Kalshi YES asks are NO bids at 1 - price; Polymarket Rockets asks are Knicks bids at 1 - price.
    venues.kalshi_app.set_book(
        sc.KALSHI_TICKER, no_bids=[[str(1 - price), str(size)] for price, size in kalshi_asks]
    )
    venues.poly_app.set_book(sc.POLY_MARKET, [[str(1 - price), str(size)] for price, size in poly_asks], [])
    kalshi, poly = venues.kalshi(), venues.poly()
    k_market, p_market = kalshi.market(sc.KALSHI_TICKER), poly.market(sc.POLY_MARKET)
    match = MarketMatch(
        method="explicit",
        groups=[
            OutcomeGroup("New York", [OutcomeRef(k_market, "yes"), OutcomeRef(p_market, sc.KNICKS)]),
            OutcomeGroup("Houston", [OutcomeRef(k_market, "no"), OutcomeRef(p_market, sc.ROCKETS)]),
        ],
        confidence=D(1),
        title="New York at Houston",
    )
    books = {**kalshi.order_books([k_market]), **poly.order_books([p_market])}
    found = find_opportunities([match], books, bet_amount=budget)
    assume(found)
    opportunity = found[0]
    run = next(_runs)
    system = live_system(
        store=JsonFileStore(tmp_path / f"store-{run}.json"), journal=tmp_path / f"journal-{run}.jsonl"
    )

    result = system.execute(opportunity)

    assert result.error is None
    assert not result.reasons
    trade = result.trade
    assert trade is not None
    assert trade.status is TradeStatus.OPEN, trade.note
    for leg in trade.legs:
        assert leg.status is LegStatus.FILLED, (leg.exchange, leg.filled_size, opportunity.size)
        assert leg.filled_size == opportunity.size
        assert leg.unwound_size == 0
        assert len(leg.order_ids) == 1  # the entry only: nothing topped up, nothing unwound
    assert system.state().recent_errors == ()
    assert_matches_venues(system, trade, venues)
