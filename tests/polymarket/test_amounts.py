"""Order amounts: the reference's worked examples (section 5.5) and the invariants that matter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbkit.errors import ValidationError
from arbkit_polymarket.orders import TICK_SIZES, check_minimum, order_amounts

D = Decimal


@pytest.mark.parametrize(
    ("side", "price", "size", "maker", "taker"),
    [
        ("buy", "0.30", "16.90", 5_070_000, 16_900_000),  # official SDK test
        ("sell", "0.30", "33.30", 33_300_000, 9_990_000),  # official SDK test
        ("buy", "0.52", "100", 52_000_000, 100_000_000),
        ("buy", "0.52", "100.009", 52_000_000, 100_000_000),  # shares floor to 2 dp
    ],
)
def test_limit_order_worked_examples(side: str, price: str, size: str, maker: int, taker: int) -> None:
    amounts = order_amounts(side, D(price), D(size), D("0.01"))
    assert (amounts.maker_amount, amounts.taker_amount) == (maker, taker)


@pytest.mark.parametrize(
    ("tick", "price", "size", "maker"),
    [
        ("0.1", "0.3", "10.55", 3_165_000),
        ("0.01", "0.47", "10.55", 4_958_500),
        ("0.005", "0.475", "10.55", 5_011_250),
        ("0.0025", "0.4725", "10.55", 4_984_875),
        ("0.001", "0.473", "10.55", 4_990_150),
        ("0.0001", "0.4731", "10.55", 4_991_205),
    ],
)
def test_all_six_tick_sizes(tick: str, price: str, size: str, maker: int) -> None:
    amounts = order_amounts("buy", D(price), D(size), D(tick))
    assert amounts.maker_amount == maker
    assert amounts.taker_amount == 10_550_000
    assert amounts.implied_price == D(price)


def test_unknown_tick_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown tick size"):
        order_amounts("buy", D("0.5"), D("10"), D("0.02"))


@pytest.mark.parametrize("price", ["0.475", "0.995", "0.001"])
def test_off_grid_or_edge_prices_are_refused(price: str) -> None:
    with pytest.raises(ValidationError, match="tick grid"):
        order_amounts("buy", D(price), D("10"), D("0.01"))


def test_marketable_buy_keeps_implied_price_at_or_above_the_limit() -> None:
    amounts = order_amounts("buy", D("0.33"), D("16.9"), D("0.01"), marketable=True)
    assert (amounts.maker_amount, amounts.taker_amount) == (5_570_000, 16_878_700)
    assert amounts.implied_price >= D("0.33")
    assert amounts.shares <= D("16.9")


def test_marketable_sell_keeps_implied_price_at_or_below_the_limit() -> None:
    amounts = order_amounts("sell", D("0.936"), D("2"), D("0.001"), marketable=True)
    assert (amounts.maker_amount, amounts.taker_amount) == (2_000_000, 1_872_000)


def test_minimums_are_enforced_before_sending() -> None:
    small = order_amounts("buy", D("0.50"), D("4.99"), D("0.01"))
    with pytest.raises(ValidationError, match="lower than the minimum: 5"):
        check_minimum(small, marketable=False, min_order_size=D(5))
    check_minimum(small, marketable=True, min_order_size=D(5))  # $2.49 notional: fine when marketable
    with pytest.raises(ValidationError, match="minimum"):
        check_minimum(
            order_amounts("buy", D("0.5"), D("1"), D("0.01"), marketable=True),
            marketable=True,
            min_order_size=D(5),
        )


ticks = st.sampled_from(sorted(TICK_SIZES))


@st.composite
def orders(draw: st.DrawFn) -> tuple[str, Decimal, Decimal, Decimal]:
    tick = draw(ticks)
    steps = int((1 - tick) / tick)
    price = tick * draw(st.integers(min_value=1, max_value=steps - 1))
    size = D(draw(st.integers(min_value=500, max_value=10_000_000))) / 1000
    return draw(st.sampled_from(["buy", "sell"])), price, size, tick


@given(orders(), st.booleans())
def test_amounts_are_exact_integers_and_never_cross_the_limit(
    order: tuple[str, Decimal, Decimal, Decimal], marketable: bool
) -> None:
    side, price, size, tick = order
    try:
        amounts = order_amounts(side, price, size, tick, marketable=marketable)
    except ValidationError:
        assert marketable  # only tiny marketable orders cannot be expressed
        return
    assert amounts.shares <= size
    assert amounts.shares > size - D("0.01") - (D("0.01") / price if marketable else 0)
    if side == "buy":
        assert amounts.implied_price >= price  # never priced under the ask we mean to hit
        assert amounts.notional <= size * price
    else:
        assert amounts.implied_price <= price
    if not marketable:
        assert amounts.implied_price == price
    else:
        assert amounts.maker_amount % 10_000 == 0
        assert amounts.taker_amount % 100 == 0
