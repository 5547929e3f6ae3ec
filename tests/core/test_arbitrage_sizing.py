"""Sizing picks the most profitable size the venues would accept (issue 14, items 6 and 10).

Regression cases as a user meets them (an arbitrage the scanner used to miss, a second leg
refused for balance) and a property: on random books, fees, lots, minimums, budgets and
balances, the chosen size is feasible and at least as profitable as every feasible size
of the grid, found by brute force.
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbkit.engine.fees import NoFees, PowerFee, QuadraticFee
from arbkit.engine.sizing import LegQuote, SetSize, order_reserve, size_set, walk_asks
from arbkit.models import BookLevel, Market
from arbkit.trading.risk import BalanceCheck, RiskContext
from tests.core.test_arbitrage import NOW, binary_books, binary_match, kalshi_market, poly_market, run

KALSHI_FEE = QuadraticFee(rate=D("0.07"))
POLY_FEE = PowerFee(rate=D("0.03"), exponent=1)


def quotes(poly: Market, kalshi: Market, poly_asks: list, kalshi_asks: list) -> list[LegQuote]:
    return [
        LegQuote(poly, tuple(BookLevel(D(p), D(s)) for p, s in poly_asks)),
        LegQuote(kalshi, tuple(BookLevel(D(p), D(s)) for p, s in kalshi_asks)),
    ]


def test_a_budget_just_short_of_a_fee_cent_still_finds_the_fractional_arbitrage() -> None:
    # Kalshi fractional market (0.01 contracts, fee rounded up to the cent per order). With $60 the
    # first guess, 61.55 contracts, costs $60.00951: a fraction of a cent over. It used to fall back
    # to 0.01 contracts (which the cent of fee makes a loss) and report nothing.
    poly = poly_market("P", fees=POLY_FEE, size_increment=D("0.01"))
    kalshi = kalshi_market("K", fees=KALSHI_FEE, size_increment=D("0.01"))
    books = binary_books(poly, kalshi, poly_yes=[("0.45", "500")], kalshi_no=[("0.50", "500")])
    opp = run(binary_match(poly, kalshi), books, bet_amount=D(60))
    assert opp is not None
    assert opp.size == D("61.54")
    assert opp.total_cost == D("59.99993")  # 27.693 + 0.41540 + 30.77 + 1.08 fee
    assert opp.profit == D("1.54007")


def test_missed_budgets_are_found_over_a_whole_range() -> None:
    poly = poly_market("P", fees=POLY_FEE, size_increment=D("0.01"))
    kalshi = kalshi_market("K", fees=KALSHI_FEE, size_increment=D("0.01"))
    legs = quotes(poly, kalshi, [("0.45", "500")], [("0.50", "500")])
    # Below ~$0.40 Kalshi's cent of fee on the order eats the whole edge: nothing to find there.
    for tenths in range(4, 716):  # $0.40 .. $71.50: 359 of these budgets used to find nothing
        found = size_set(legs, budget=D(tenths) / 10, min_roi_percent=D(0))
        assert found is not None, f"no size for a budget of ${D(tenths) / 10}"
        assert found.total <= D(tenths) / 10


def test_a_minimum_above_the_marginal_cutoff_is_bought_when_the_whole_order_pays() -> None:
    # One contract at 0.40 + 0.50 earns 0.10; every further one costs 0.70 + 0.50 and loses 0.20.
    # The marginal contract stops paying at 1, below Polymarket's minimum of 1.4 shares; the whole
    # order of 1.4 still earns 0.10 - 0.4 * 0.20 = 0.02. Sizing used to stop at the cutoff and,
    # finding it under the minimum, report nothing.
    poly = poly_market("P", size_increment=D("0.1"), min_order_size=D("1.4"))
    kalshi = kalshi_market("K", size_increment=D("0.1"))
    books = binary_books(poly, kalshi, poly_yes=[("0.40", "1"), ("0.70", "100")], kalshi_no=[("0.50", "100")])
    opp = run(binary_match(poly, kalshi), books)
    assert opp is not None
    assert (opp.size, opp.profit) == (D("1.4"), D("0.02"))


def test_of_sizes_earning_the_same_the_smallest_is_bought() -> None:
    # Polymarket YES 5 @ 0.48 without fees, Kalshi NO 5 @ 0.50 (fee 7% x C x 0.25, rounded up):
    # 5 contracts cost 4.90 + 0.09 fee and earn $0.01; 4 cost 3.92 + exactly 0.07 and earn $0.01
    # too. The search starts at 5, where the marginal contract stops paying; 4's unrounded profit
    # equals the best found, and the same profit for less money at risk is the better trade.
    poly = poly_market("P", fees=NoFees())
    kalshi = kalshi_market("K", fees=KALSHI_FEE)
    legs = quotes(poly, kalshi, [("0.48", "5"), ("0.49", "3")], [("0.50", "5"), ("0.51", "2")])
    found = size_set(legs, budget=None, min_roi_percent=D(0))
    assert found is not None
    assert (found.size, found.profit) == (D(4), D("0.01"))
    assert [leg.fee for leg in found.legs] == [D(0), D("0.07")]


def test_balance_covers_what_the_venue_reserves_not_the_walked_cost() -> None:
    # Kalshi NO asks 10 @ 0.50 and 10 @ 0.60: 20 contracts walk to $11.00, but the IOC order at the
    # 0.60 limit reserves 20 * 0.60 = $12.00 (+ fee). With $11.50 on Kalshi, sizing to the walked
    # cost let the trade through, the Kalshi order was refused for balance after Polymarket filled,
    # and the Polymarket leg was sold back at a loss.
    poly, kalshi = poly_market("P"), kalshi_market("K")
    books = binary_books(poly, kalshi, poly_yes=[("0.30", "100")], kalshi_no=[("0.50", "10"), ("0.60", "10")])
    opp = run(binary_match(poly, kalshi), books, balances={"polymarket": D(100), "kalshi": D("11.50")})
    assert opp is not None
    kalshi_leg = opp.legs[1]
    assert kalshi_leg.limit_price * kalshi_leg.size <= D("11.50")
    assert opp.size == D(19)  # 19 * 0.60 = 11.40 reserved; 20 would need 12.00
    # The balance check refuses a trade the venue would refuse, for the same reason.
    wide = run(binary_match(poly, kalshi), books)
    assert wide is not None
    assert wide.size == D(20)
    context = RiskContext(
        mode="live", now=NOW, balance=D(0), venue_balances={"polymarket": D(100), "kalshi": D("11.50")}
    )
    decision = BalanceCheck().check(wide, context)
    assert not decision.allowed
    assert "kalshi needs $12.00" in decision.reason


def test_order_reserve_is_limit_times_size_plus_the_fee_at_the_limit() -> None:
    assert order_reserve(KALSHI_FEE, D("0.60"), D(20)) == D("12.34")  # 12 + ceil(0.07*20*0.24)
    assert order_reserve(None, D("0.60"), D(20)) == D(12)
    # A quadratic fee peaks at 0.50: fills below a 0.70 limit may cost more fee than the limit's.
    assert order_reserve(KALSHI_FEE, D("0.70"), D(10), fill_fee=D("0.18")) == D("7.18")


# -- property: nothing on the grid beats the chosen size ------------------------------------------

fee_schedules = st.sampled_from(
    [NoFees(), KALSHI_FEE, POLY_FEE, PowerFee(rate=D("0.25"), exponent=2), QuadraticFee(rate=D("0.035"))]
)
ladders = st.lists(
    st.tuples(st.integers(1, 99), st.integers(1, 40)), min_size=1, max_size=4, unique_by=lambda lv: lv[0]
).map(lambda levels: tuple(BookLevel(D(c) / 100, D(s)) for c, s in sorted(levels)))
lots = st.sampled_from([D(1), D("0.5"), D("0.1")])
minimums = st.sampled_from([D(0), D(1), D(5), D(12)])
money = st.one_of(st.none(), st.integers(1, 6000).map(lambda c: D(c) / 100))
#: A venue that spends whole cents (or nickels) on a crossing buy, or one that buys any lot.
cost_steps = st.sampled_from([None, None, D("0.01"), D("0.05")])
#: The least a crossing buy may spend (Polymarket: $1).
min_costs = st.sampled_from([D(0), D(0), D(1), D("2.5")])


def feasible(
    legs: list[LegQuote], size: D, budget: D | None, roi: D, balances: dict | None
) -> SetSize | None:
    """Price ``size`` from scratch as the venues would, or ``None`` when it breaks a rule."""
    if any(size % q.market.size_increment or size < q.market.min_order_size for q in legs):
        return None
    priced = []
    committed = D(0)
    reserved: dict[str, D] = {}
    for q in legs:
        try:
            fills, cost = walk_asks(q.asks, size)
        except ValueError:
            return None
        fee = q.fees.order_fee(fills)
        committed += cost + fee
        limit = fills[-1][0]
        if size % q.market.buy_step(limit):  # a venue spending whole cents would buy less
            return None
        if size * limit < q.market.min_order_cost:  # and refuses to spend too little
            return None
        reserve = max(cost + fee, order_reserve(q.fees, limit, size, fill_fee=fee))
        reserved[q.market.exchange] = reserved.get(q.market.exchange, D(0)) + reserve
        priced.append((cost, fee))
    profit = size - committed
    if profit <= 0 or profit * 100 < roi * committed:
        return None
    if budget is not None and committed > budget:
        return None
    if balances is not None and any(v > balances.get(k, D(0)) for k, v in reserved.items()):
        return None
    return SetSize(size=size, legs=())  # only size and profit matter here


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fee_a=fee_schedules,
    fee_b=fee_schedules,
    ladder_a=ladders,
    ladder_b=ladders,
    lot_a=lots,
    lot_b=lots,
    min_a=minimums,
    min_b=minimums,
    budget=money,
    balance_a=money,
    balance_b=money,
    roi=st.integers(0, 10).map(D),
    cost_a=cost_steps,
    cost_b=cost_steps,
    least_a=min_costs,
)
def test_the_chosen_size_is_feasible_and_beats_every_feasible_size_on_the_grid(
    fee_a,
    fee_b,
    ladder_a,
    ladder_b,
    lot_a,
    lot_b,
    min_a,
    min_b,
    budget,
    balance_a,
    balance_b,
    roi,
    cost_a,
    cost_b,
    least_a,
) -> None:  # type: ignore[no-untyped-def]
    a = poly_market(
        "P",
        fees=fee_a,
        size_increment=lot_a,
        min_order_size=min_a,
        cost_increment=cost_a,
        min_order_cost=least_a,
    )
    b = kalshi_market("K", fees=fee_b, size_increment=lot_b, min_order_size=min_b, cost_increment=cost_b)
    legs = [LegQuote(a, ladder_a), LegQuote(b, ladder_b)]
    balances = None
    if balance_a is not None or balance_b is not None:
        balances = {k: v for k, v in (("polymarket", balance_a), ("kalshi", balance_b)) if v is not None}
    chosen = size_set(legs, budget=budget, min_roi_percent=roi, balances=balances)
    step = D("0.1")
    depth = min(sum(lv.size for lv in ladder_a), sum(lv.size for lv in ladder_b))
    best = None
    size = step
    while size <= depth:
        found = feasible(legs, size, budget, roi, balances)
        if found is not None:
            profit = size - sum(
                walk_asks(q.asks, size)[1] + q.fees.order_fee(walk_asks(q.asks, size)[0]) for q in legs
            )
            best = profit if best is None else max(best, profit)
        size += step
    if chosen is None:
        assert best is None, f"missed a feasible size earning {best}"
        return
    assert feasible(legs, chosen.size, budget, roi, balances) is not None  # never infeasible
    assert best is not None
    assert chosen.profit >= best
    assert chosen.profit == chosen.size - chosen.total


# -- property: exactly the best size of the lot grid, the smallest of equals ----------------------

# Deep ladders of many small levels: a Polymarket fee rounds per fill, so the rounding slack a
# size may hide grows with the levels it walks (the search prices sizes by the fills they walk).
deep_ladders = st.lists(
    st.tuples(st.integers(1, 99), st.integers(1, 6)), min_size=1, max_size=12, unique_by=lambda lv: lv[0]
).map(lambda levels: tuple(BookLevel(D(c) / 100, D(s)) for c, s in sorted(levels)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fee_a=fee_schedules,
    fee_b=fee_schedules,
    ladder_a=deep_ladders,
    ladder_b=deep_ladders,
    lot_b=st.sampled_from([D(1), D("0.5")]),
    min_b=minimums,
    budget=money,
    balance_a=money,
    roi=st.integers(0, 5).map(D),
    cost_a=cost_steps,
    least_a=min_costs,
)
def test_the_chosen_size_is_the_most_profitable_of_every_lot_the_smallest_of_equals(
    fee_a, fee_b, ladder_a, ladder_b, lot_b, min_b, budget, balance_a, roi, cost_a, least_a
) -> None:  # type: ignore[no-untyped-def]
    a = poly_market("P", fees=fee_a, size_increment=D("0.5"), cost_increment=cost_a, min_order_cost=least_a)
    b = kalshi_market("K", fees=fee_b, size_increment=lot_b, min_order_size=min_b)
    legs = [LegQuote(a, ladder_a), LegQuote(b, ladder_b)]
    balances = None if balance_a is None else {"polymarket": balance_a, "kalshi": D(10**6)}
    chosen = size_set(legs, budget=budget, min_roi_percent=roi, balances=balances)
    depth = min(sum(lv.size for lv in ladder_a), sum(lv.size for lv in ladder_b))
    best: tuple[D, D] | None = None  # (profit, size) of the best feasible size, smallest first
    size = lot_b
    while size <= depth:
        if feasible(legs, size, budget, roi, balances) is not None:
            profit = size - sum(
                walk_asks(q.asks, size)[1] + q.fees.order_fee(walk_asks(q.asks, size)[0]) for q in legs
            )
            if best is None or profit > best[0]:
                best = (profit, size)
        size += lot_b
    if best is None:
        assert chosen is None
        return
    assert chosen is not None, f"missed size {best[1]} earning {best[0]}"
    assert (chosen.profit, chosen.size) == best
