"""Properties of detection on random books (hypothesis): reported figures are what the legs produce."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbkit.engine.detect import detect
from arbkit.engine.fees import FeeSchedule, NoFees, PowerFee, QuadraticFee
from arbkit.engine.sizing import walk_asks
from tests.core.test_arbitrage import NOW, binary_books, binary_match, kalshi_market, poly_market

fee_schedules = st.sampled_from(
    [
        NoFees(),
        QuadraticFee(rate=D("0.07")),
        PowerFee(rate=D("0.03"), exponent=1),
        PowerFee(rate=D("0.25"), exponent=2),
    ]
)
ladders = st.lists(
    st.tuples(st.integers(1, 99), st.integers(1, 300)),
    min_size=1,
    max_size=6,
    unique_by=lambda level: level[0],
).map(lambda levels: [(str(D(cents) / 100), str(size)) for cents, size in levels])
lots = st.sampled_from([D(1), D("0.01"), D("0.1")])
minimums = st.sampled_from([D(0), D(1), D(5), D(50)])


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    return {
        "poly_fees": draw(fee_schedules),
        "kalshi_fees": draw(fee_schedules),
        "books": [draw(ladders) for _ in range(4)],
        "lots": (draw(lots), draw(lots)),
        "minimums": (draw(minimums), draw(minimums)),
        "bet": D(draw(st.integers(1, 5000))),
        "roi": D(draw(st.integers(0, 20))) / 2,
    }


def setup(s: dict):  # type: ignore[no-untyped-def]
    poly = poly_market("P", fees=s["poly_fees"], size_increment=s["lots"][0], min_order_size=s["minimums"][0])
    kalshi = kalshi_market(
        "K", fees=s["kalshi_fees"], size_increment=s["lots"][1], min_order_size=s["minimums"][1]
    )
    yes, no, poly_no, kalshi_yes = s["books"]
    books = binary_books(poly, kalshi, poly_yes=yes, kalshi_no=no, poly_no=poly_no, kalshi_yes=kalshi_yes)
    return binary_match(poly, kalshi), books


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_reported_profit_is_what_the_legs_produce_at_their_prices(s: dict) -> None:
    match, books = setup(s)
    opp = detect(match, books, bet_amount=s["bet"], min_roi_percent=s["roi"], now=NOW)
    if opp is None:
        return
    total = D(0)
    for leg in opp.legs:
        book = books[leg.key]
        fills, cost = walk_asks(book.asks, leg.size)
        fees: FeeSchedule = leg.market.fees  # type: ignore[assignment]
        assert leg.cost == cost
        assert leg.fee == fees.order_fee(fills)
        assert leg.limit_price == max(price for price, _ in fills)
        assert all(level.price <= leg.limit_price for level in book.asks[: len(fills)])
        assert leg.size % leg.market.size_increment == 0
        assert leg.size >= leg.market.min_order_size
        total += cost + leg.fee
    assert opp.payout == opp.size  # one leg pays $1 per contract
    assert opp.profit == opp.payout - total
    assert opp.profit > 0
    assert total <= s["bet"]
    assert opp.roi_percent >= s["roi"]


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_opportunity_when_best_asks_sum_to_one_or_more(s: dict) -> None:
    match, books = setup(s)
    best = [min(books[ref.book_key].asks[0].price for ref in group.refs) for group in match.groups]
    opp = detect(match, books, bet_amount=s["bet"], min_roi_percent=D(0), now=NOW)
    if sum(best) >= 1:
        assert opp is None


@settings(max_examples=200, deadline=None)
@given(st.lists(ladders, min_size=2, max_size=2), st.integers(1, 3000))
def test_without_fees_the_size_is_as_profitable_as_any_whole_size(ladder_pair: list, bet: int) -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=ladder_pair[0], kalshi_no=ladder_pair[1])
    opp = detect(binary_match(poly, kalshi), books, bet_amount=D(bet), min_roi_percent=D(0), now=NOW)
    yes, no = books["polymarket", "P", "P-0"].asks, books["kalshi", "K", "no"].asks
    depth = int(min(sum(lv.size for lv in yes), sum(lv.size for lv in no)))
    best = D(0)
    for size in range(1, depth + 1):  # brute force over every whole size
        cost = walk_asks(yes, D(size))[1] + walk_asks(no, D(size))[1]
        if cost <= bet:
            best = max(best, size - cost)
    assert (opp.profit if opp else D(0)) == best
