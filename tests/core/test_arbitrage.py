"""Detection and sizing, on worked examples whose figures were computed by hand (shown in comments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from arbkit.engine.detect import detect, find_opportunities
from arbkit.engine.fees import FeeSchedule, NoFees, PowerFee, QuadraticFee
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.engine.sizing import common_lot
from arbkit.models import Market, OrderBook, Outcome

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
KALSHI_FEE = QuadraticFee(rate=D("0.07"))
POLY_SPORTS_FEE = PowerFee(rate=D("0.03"), exponent=1)


def kalshi_market(ticker: str, *, fees: FeeSchedule | None = None, **kw: object) -> Market:
    """A Kalshi binary market: outcome ids ``yes`` / ``no``."""
    return Market(
        exchange="kalshi",
        id=ticker,
        title=ticker,
        outcomes=[Outcome("yes", "Yes"), Outcome("no", "No")],
        status="open",
        fees=fees if fees is not None else NoFees(),
        **kw,  # type: ignore[arg-type]
    )


def poly_market(
    cid: str, names: tuple[str, str] = ("Yes", "No"), *, fees: FeeSchedule | None = None, **kw: object
) -> Market:
    """A Polymarket binary market whose outcome ids are token ids ``{cid}-0`` / ``{cid}-1``."""
    return Market(
        exchange="polymarket",
        id=cid,
        title=cid,
        outcomes=[Outcome(f"{cid}-0", names[0]), Outcome(f"{cid}-1", names[1])],
        status="open",
        fees=fees if fees is not None else NoFees(),
        **kw,  # type: ignore[arg-type]
    )


def book(market: Market, outcome_id: str, asks: list[tuple[str, str]], *, at: datetime = NOW) -> OrderBook:
    return OrderBook.build(market.exchange, market.id, outcome_id, asks=asks, timestamp=at)


def binary_match(poly: Market, kalshi: Market, **kw: object) -> MarketMatch:
    """Poly token 0 == Kalshi yes; Poly token 1 == Kalshi no."""
    return MarketMatch(
        method="explicit",
        groups=[
            OutcomeGroup("yes", [OutcomeRef(poly, poly.outcomes[0].id), OutcomeRef(kalshi, "yes")]),
            OutcomeGroup("no", [OutcomeRef(poly, poly.outcomes[1].id), OutcomeRef(kalshi, "no")]),
        ],
        confidence=D(1),
        title="pair",
        **kw,  # type: ignore[arg-type]
    )


def binary_books(
    poly: Market,
    kalshi: Market,
    *,
    poly_yes: list[tuple[str, str]],
    kalshi_no: list[tuple[str, str]],
    poly_no: list[tuple[str, str]] | None = None,
    kalshi_yes: list[tuple[str, str]] | None = None,
    at: datetime = NOW,
) -> dict:
    # The "other" sides default to expensive books that give no edge.
    books = [
        book(poly, poly.outcomes[0].id, poly_yes, at=at),
        book(poly, poly.outcomes[1].id, poly_no or [("0.99", "1000")], at=at),
        book(kalshi, "yes", kalshi_yes or [("0.99", "1000")], at=at),
        book(kalshi, "no", kalshi_no, at=at),
    ]
    return {b.key: b for b in books}


def run(match: MarketMatch, books: dict, **kw: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"bet_amount": D(1000), "min_roi_percent": D(0), "now": NOW}
    options.update(kw)
    return detect(match, books, **options)  # type: ignore[arg-type]


# -- two-way ------------------------------------------------------------------------------------------


def test_yes_on_one_venue_and_no_on_the_other_is_found_with_exact_figures() -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "100")], kalshi_no=[("0.55", "100")])
    opp = run(binary_match(poly, kalshi), books)
    assert opp is not None
    # 100 contracts: 40 + 55 = 95 paid, 100 guaranteed back.
    assert opp.size == D(100)
    assert [(leg.exchange, leg.outcome_id, leg.limit_price) for leg in opp.legs] == [
        ("polymarket", "P-0", D("0.40")),
        ("kalshi", "no", D("0.55")),
    ]
    assert (opp.cost, opp.fees, opp.payout, opp.profit) == (D(95), D(0), D(100), D(5))
    assert opp.roi_percent.quantize(D("0.0001")) == D("5.2632")  # 5 / 95
    assert opp.match is not None
    assert opp.match.title == "pair"
    assert opp.oldest_book == NOW


def test_the_other_direction_kalshi_yes_and_polymarket_no_is_found_too() -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K")
    books = binary_books(
        poly,
        kalshi,
        poly_yes=[("0.60", "100")],
        kalshi_no=[("0.60", "100")],
        kalshi_yes=[("0.45", "50")],
        poly_no=[("0.50", "80")],
    )
    opp = run(binary_match(poly, kalshi), books)
    assert opp is not None
    assert {(leg.exchange, leg.outcome_id) for leg in opp.legs} == {("kalshi", "yes"), ("polymarket", "P-1")}
    assert (opp.size, opp.profit) == (D(50), D("2.50"))


def test_fees_turn_a_two_cent_edge_into_a_loss() -> None:
    # Before fees: 0.47 + 0.51 = 0.98, a 2-cent edge per contract.
    # Kalshi NO, 100 @ 0.51: ceil(0.07 * 100 * 0.51 * 0.49) = ceil(1.7493) = 1.75
    # Polymarket YES, 100 @ 0.47: 100 * 0.03 * 0.47 * 0.53 = 0.7473
    # 98 + 1.75 + 0.7473 = 100.4973 > 100: every size loses, so nothing is reported.
    poly, kalshi = poly_market("P", fees=POLY_SPORTS_FEE), kalshi_market("K", fees=KALSHI_FEE)
    books = binary_books(poly, kalshi, poly_yes=[("0.47", "100")], kalshi_no=[("0.51", "100")])
    assert run(binary_match(poly, kalshi), books) is None
    assert KALSHI_FEE.fee(D("0.51"), D(100)) + POLY_SPORTS_FEE.fee(D("0.47"), D(100)) == D("2.4973")

    free_poly, free_kalshi = poly_market("P"), kalshi_market("K")
    free = run(
        binary_match(free_poly, free_kalshi),
        binary_books(free_poly, free_kalshi, poly_yes=[("0.47", "100")], kalshi_no=[("0.51", "100")]),
    )
    assert free is not None
    assert free.profit == D(2)


def test_fees_are_in_cost_profit_and_roi() -> None:
    # 100 @ 0.40 (Polymarket, 100 * 0.03 * 0.24 = 0.72) + 100 @ 0.50 (Kalshi, ceil(1.75) = 1.75)
    poly, kalshi = poly_market("P", fees=POLY_SPORTS_FEE), kalshi_market("K", fees=KALSHI_FEE)
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "100")], kalshi_no=[("0.50", "100")])
    opp = run(binary_match(poly, kalshi), books)
    assert opp is not None
    assert [leg.fee for leg in opp.legs] == [D("0.72"), D("1.75")]
    assert opp.total_cost == D("92.47")
    assert opp.profit == D("7.53")
    assert opp.roi_percent == D("7.53") / D("92.47") * 100


def test_kalshi_fee_is_rounded_once_per_order_across_levels() -> None:
    # 6 NO contracts walk two levels: 0.07 * (3*0.25 + 3*0.24) = 0.1029 -> 0.11 for the order
    # (rounding each level would charge 0.06 + 0.06 = 0.12).
    poly, kalshi = poly_market("P"), kalshi_market("K", fees=KALSHI_FEE)
    books = binary_books(poly, kalshi, poly_yes=[("0.30", "6")], kalshi_no=[("0.50", "3"), ("0.60", "3")])
    opp = run(binary_match(poly, kalshi), books)
    assert opp is not None
    assert opp.size == D(6)
    assert opp.legs[1].fee == D("0.11")
    assert opp.legs[1].limit_price == D("0.60")


def test_unknown_fee_schedule_is_never_traded() -> None:
    poly = poly_market("P")
    kalshi = Market(
        exchange="kalshi",
        id="K",
        title="K",
        outcomes=[Outcome("yes", "Y"), Outcome("no", "N")],
        status="open",
        fees=None,
    )
    books = binary_books(poly, kalshi, poly_yes=[("0.30", "100")], kalshi_no=[("0.30", "100")])
    assert run(binary_match(poly, kalshi), books) is None


def test_closed_market_is_never_traded() -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K", fees=NoFees())
    kalshi = Market(
        exchange="kalshi", id="K", title="K", outcomes=kalshi.outcomes, status="closed", fees=NoFees()
    )
    books = binary_books(poly, kalshi, poly_yes=[("0.30", "100")], kalshi_no=[("0.30", "100")])
    assert run(binary_match(poly, kalshi), books) is None


# -- sizing -------------------------------------------------------------------------------------------

# Polymarket YES asks 10 @ 0.40, 20 @ 0.45, 100 @ 0.60; Kalshi NO asks 25 @ 0.50, 100 @ 0.52.
# Contracts  0-10: 0.40 + 0.50 = 0.90 (+0.10 each)
# Contracts 10-25: 0.45 + 0.50 = 0.95 (+0.05 each)
# Contracts 25-30: 0.45 + 0.52 = 0.97 (+0.03 each)
# Contracts 30-  : 0.60 + 0.52 = 1.12 (loses)
DEEP_YES = [("0.40", "10"), ("0.45", "20"), ("0.60", "100")]
DEEP_NO = [("0.50", "25"), ("0.52", "100")]


def deep(**market_kw: object) -> tuple[MarketMatch, dict]:
    poly_kw = {k[5:]: v for k, v in market_kw.items() if k.startswith("poly_")}
    kalshi_kw = {k[7:]: v for k, v in market_kw.items() if k.startswith("kalshi_")}
    poly, kalshi = poly_market("P", **poly_kw), kalshi_market("K", **kalshi_kw)
    return binary_match(poly, kalshi), binary_books(poly, kalshi, poly_yes=DEEP_YES, kalshi_no=DEEP_NO)


def test_depth_limits_size_to_where_the_marginal_contract_stops_paying() -> None:
    match, books = deep()
    opp = run(match, books)
    assert opp is not None
    # 30 contracts: Polymarket 10*0.40 + 20*0.45 = 13.00, Kalshi 25*0.50 + 5*0.52 = 15.10.
    assert opp.size == D(30)
    assert [leg.cost for leg in opp.legs] == [D(13), D("15.10")]
    assert [leg.limit_price for leg in opp.legs] == [D("0.45"), D("0.52")]
    assert opp.profit == D("1.90")  # 10*0.10 + 15*0.05 + 5*0.03
    assert opp.legs[0].size == opp.legs[1].size  # equal contracts, not equal dollars


def test_bet_amount_caps_money_committed() -> None:
    # 9.00 for the first 10, then 0.95 each: 9 + 0.95 * 11 = 19.45 <= 20 < 20.40 for 22.
    match, books = deep()
    opp = run(match, books, bet_amount=D(20))
    assert opp is not None
    assert opp.size == D(21)
    assert opp.total_cost == D("19.45")
    assert opp.profit == D("1.55")


def test_max_position_lowers_the_cap_below_the_bet_amount() -> None:
    match, books = deep()
    opp = run(match, books, bet_amount=D(1000), max_position=D(20))
    assert opp is not None
    assert opp.size == D(21)


def test_fractional_lots_size_to_the_cent_when_both_venues_allow_it() -> None:
    match, books = deep(poly_size_increment=D("0.01"), kalshi_size_increment=D("0.01"))
    opp = run(match, books, bet_amount=D(20))
    assert opp is not None
    assert opp.size == D("21.57")  # 9 + 0.95 * 11.57 = 19.9915 <= 20
    assert opp.total_cost <= D(20)


def test_lot_of_one_venue_rounds_both_legs() -> None:
    assert common_lot([D("0.01"), D(1)]) == D(1)
    assert common_lot([D("0.01"), D("0.1")]) == D("0.1")
    assert common_lot([D("0.04"), D("0.06")]) == D("0.12")
    match, books = deep(poly_size_increment=D("0.01"))  # Kalshi whole contracts
    opp = run(match, books, bet_amount=D(20))
    assert opp is not None
    assert opp.size == D(21)


def test_min_roi_shrinks_size_to_the_largest_that_still_qualifies() -> None:
    # Size 10 + k (k <= 15): profit 1 + 0.05k over cost 9 + 0.95k; at 8% k <= 10.77 -> 20 contracts.
    match, books = deep()
    opp = run(match, books, min_roi_percent=D(8))
    assert opp is not None
    assert opp.size == D(20)
    assert (opp.total_cost, opp.profit) == (D("18.50"), D("1.50"))
    assert opp.roi_percent >= D(8)
    assert run(match, books, min_roi_percent=D(12)) is None  # best ROI is 1/9 = 11.1% at 10 contracts


def test_balance_on_one_venue_caps_its_leg() -> None:
    match, books = deep()
    opp = run(match, books, balances={"polymarket": D(4), "kalshi": D(1000)})
    assert opp is not None
    assert opp.size == D(10)  # 10 @ 0.40 spends the 4 dollars on Polymarket
    assert run(match, books, balances={"polymarket": D(1000)}) is None  # nothing on Kalshi


def test_min_order_size_stops_a_trade_the_book_cannot_fill() -> None:
    # Only 3 contracts are profitable; Polymarket's minimum is 5 shares.
    poly, kalshi = poly_market("P", min_order_size=D(5)), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "3"), ("0.70", "100")], kalshi_no=[("0.50", "100")])
    assert run(binary_match(poly, kalshi), books) is None
    poly_small = poly_market("P")
    books = binary_books(
        poly_small, kalshi, poly_yes=[("0.40", "3"), ("0.70", "100")], kalshi_no=[("0.50", "100")]
    )
    opp = run(binary_match(poly_small, kalshi), books)
    assert opp is not None
    assert (opp.size, opp.profit) == (D(3), D("0.30"))


def test_min_order_size_raises_size_when_that_still_pays() -> None:
    # 3 contracts at 0.40 then 0.44: buying the minimum 5 still earns 3*0.10 + 2*0.06.
    poly, kalshi = poly_market("P", min_order_size=D(5)), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "3"), ("0.44", "2")], kalshi_no=[("0.50", "100")])
    opp = run(binary_match(poly, kalshi), books)
    assert opp is not None
    assert (opp.size, opp.profit) == (D(5), D("0.42"))


def test_no_opportunity_when_best_asks_sum_to_one() -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=[("0.45", "100")], kalshi_no=[("0.55", "100")])
    assert run(binary_match(poly, kalshi), books) is None


def test_missing_or_empty_book_means_no_opportunity() -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "100")], kalshi_no=[("0.50", "100")])
    del books[("kalshi", "K", "no")]
    assert run(binary_match(poly, kalshi), books) is None


# -- match gating, staleness, ordering ----------------------------------------------------------------


def test_refused_or_unconfirmed_matches_are_not_traded() -> None:
    match, books = deep()
    refused = binary_match(
        match.groups[0].refs[0].market,
        match.groups[0].refs[1].market,
        differences=["close times 3 days apart"],
        refusals=["close times 3 days apart"],
    )
    assert not refused.allowed
    assert run(refused, books) is None
    proposal = binary_match(match.groups[0].refs[0].market, match.groups[0].refs[1].market, confirmed=False)
    assert run(proposal, books) is None
    assert run(proposal.confirm(), books) is not None


def test_stale_books_are_refused_when_a_max_age_is_given() -> None:
    poly, kalshi = poly_market("P"), kalshi_market("K")
    old = NOW - timedelta(seconds=30)
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "100")], kalshi_no=[("0.50", "100")], at=old)
    match = binary_match(poly, kalshi)
    assert run(match, books, max_book_age=timedelta(seconds=10)) is None
    opp = run(match, books, max_book_age=timedelta(seconds=60))
    assert opp is not None
    assert opp.oldest_book == old


def test_find_opportunities_is_sorted_by_profit_and_deterministic() -> None:
    matches, books = [], {}
    for name, edge in [("A", "0.45"), ("B", "0.40"), ("C", "0.49"), ("D", "0.60")]:
        poly, kalshi = poly_market(f"P{name}"), kalshi_market(f"K{name}")
        matches.append(binary_match(poly, kalshi))
        books.update(binary_books(poly, kalshi, poly_yes=[(edge, "10")], kalshi_no=[("0.50", "10")]))
    found = find_opportunities(matches, books, bet_amount=D(100), min_roi_percent=D(0), now=NOW)
    assert [o.legs[0].market.id for o in found] == ["PB", "PA", "PC"]
    assert [o.profit for o in found] == [D("1.00"), D("0.50"), D("0.10")]
    again = find_opportunities(
        list(reversed(matches)), books, bet_amount=D(100), min_roi_percent=D(0), now=NOW
    )
    assert [o.key for o in again] == [o.key for o in found]


# -- N-way --------------------------------------------------------------------------------------------


def test_three_way_soccer_buys_each_outcome_at_its_cheapest_venue_with_fees() -> None:
    # Kalshi HOME/TIE/AWAY yes asks 0.40 / 0.30 / 0.33 (sum 1.03); Polymarket 0.38 / 0.31 / 0.28 (0.97).
    # Cheapest after fees per outcome, 100 contracts:
    #   home  Polymarket 38 + 100*0.03*0.38*0.62 = 0.7068
    #   draw  Kalshi     30 + ceil(0.07*100*0.3*0.7 = 1.47) = 1.47   (Polymarket: 31 + 0.6417)
    #   away  Polymarket 28 + 100*0.03*0.28*0.72 = 0.6048
    # cost 96, fees 2.7816, profit 100 - 98.7816 = 1.2184
    ks = {t: kalshi_market(f"KXEPLGAME-26APR12CFCMCI-{t}", fees=KALSHI_FEE) for t in ("CFC", "TIE", "MCI")}
    ps = {t: poly_market(f"epl-che-mci-2026-04-12-{t}", fees=POLY_SPORTS_FEE) for t in ("che", "draw", "mci")}
    pairs = {"home": ("CFC", "che"), "draw": ("TIE", "draw"), "away": ("MCI", "mci")}
    groups = [
        OutcomeGroup(name, [OutcomeRef(ks[k], "yes"), OutcomeRef(ps[p], ps[p].outcomes[0].id)])
        for name, (k, p) in pairs.items()
    ]
    match = MarketMatch(method="sports", groups=groups, confidence=D(1), title="Chelsea vs Man City")
    prices = {"CFC": "0.40", "TIE": "0.30", "MCI": "0.33", "che": "0.38", "draw": "0.31", "mci": "0.28"}
    books = {}
    for code, market in [*ks.items(), *ps.items()]:
        b = book(market, market.outcomes[0].id, [(prices[code], "100")])
        books[b.key] = b
    opp = run(match, books)
    assert opp is not None
    assert opp.kind == "3-way"
    assert [(leg.exchange, leg.market.id[-4:]) for leg in opp.legs] == [
        ("polymarket", "-che"),
        ("kalshi", "-TIE"),
        ("polymarket", "-mci"),
    ]
    assert (opp.size, opp.cost, opp.fees) == (D(100), D(96), D("2.7816"))
    assert opp.profit == D("1.2184")
    # Without Kalshi's draw, Polymarket's (31 + 0.6417) is next: profit 100 - 97 - 1.9533 = 1.0467.
    del books["kalshi", ks["TIE"].id, "yes"]
    second = run(match, books)
    assert second is not None
    assert second.legs[1].market.id.endswith("-draw")
    assert second.profit == D("1.0467")
    # Without Polymarket's away (Kalshi 0.33 instead of 0.28) 0.38 + 0.31 + 0.33 = 1.02: nothing.
    del books["polymarket", ps["mci"].id, ps["mci"].outcomes[0].id]
    assert run(match, books) is None
