"""Fee models reproduce the venues' worked examples exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbkit import FeeSchedule, NoFees, PowerFee, QuadraticFee, ValidationError

D = Decimal


class TestQuadraticFee:
    """Kalshi: ceil_to_cent(0.07 x C x P x (1 - P)) (reference kalshi.md section 5)."""

    @pytest.mark.parametrize(
        ("size", "price", "fee"),
        [("10", "0.50", "0.18"), ("1", "0.50", "0.02"), ("100", "0.50", "1.75"), ("4", "0.49", "0.07")],
    )
    def test_worked_examples(self, size: str, price: str, fee: str) -> None:
        assert QuadraticFee(rate=D("0.07")).fee(D(price), D(size)) == D(fee)

    def test_order_across_levels_is_rounded_once(self) -> None:
        fees = QuadraticFee(rate=D("0.07"))
        fills = [(D("0.50"), D("1")), (D("0.51"), D("1"))]
        assert fees.order_fee(fills) == D("0.04")  # 0.0175 + 0.017493 = 0.034993, rounded up once
        # Three tiny fills show why it matters: 3 x 0.0063 = 0.0189 -> 0.02, not 3 x 0.01.
        small = [(D("0.10"), D("1"))] * 3  # 0.0063 each
        assert fees.order_fee(small) == D("0.02")
        assert sum(fees.fee(p, s) for p, s in small) == D("0.03")

    def test_maker_rate_and_multiplier(self) -> None:
        fees = QuadraticFee(rate=D("0.07"), maker_rate=D("0.0175"), multiplier=D("0.5"))
        assert fees.fee(D("0.50"), D("100"), taker=False) == D("0.22")  # 0.21875 -> 0.22
        assert fees.fee(D("0.50"), D("100")) == D("0.88")  # 0.875 -> 0.88

    def test_no_maker_fee_by_default(self) -> None:
        assert QuadraticFee(rate=D("0.07")).fee(D("0.5"), D("100"), taker=False) == D(0)


class TestPowerFee:
    """Polymarket: shares x r x (p(1-p))^e (reference polymarket.md section 7)."""

    @pytest.mark.parametrize(("price", "fee"), [("0.50", "1.5625"), ("0.30", "1.1025"), ("0.10", "0.2025")])
    def test_official_sdk_vectors_exponent_two(self, price: str, fee: str) -> None:
        assert PowerFee(rate=D("0.25"), exponent=2).fee(D(price), D("100")) == D(fee)

    def test_exponent_one(self) -> None:
        assert PowerFee(rate=D("0.072"), exponent=1).fee(D("0.50"), D("200")) == D("3.60")

    def test_makers_pay_nothing(self) -> None:
        assert PowerFee(rate=D("0.03")).fee(D("0.5"), D("10"), taker=False) == D(0)

    def test_bad_exponent_refused(self) -> None:
        with pytest.raises(ValidationError):
            PowerFee(rate=D("0.03"), exponent=-1)


def test_no_fees_is_zero_but_validates() -> None:
    assert NoFees().fee(D("0.5"), D("10")) == D(0)
    with pytest.raises(ValidationError):
        NoFees().fee(D("1.5"), D("10"))


@pytest.mark.parametrize("schedule", [QuadraticFee(rate=D("0.07")), PowerFee(rate=D("0.03")), NoFees()])
def test_every_schedule_satisfies_the_protocol(schedule: FeeSchedule) -> None:
    assert isinstance(schedule, FeeSchedule)


@given(
    price=st.decimals(min_value="0.01", max_value="0.99", places=2),
    size=st.decimals(min_value="0", max_value="100000", places=2),
)
def test_fees_are_never_negative_and_grow_with_size(price: Decimal, size: Decimal) -> None:
    for schedule in (QuadraticFee(rate=D("0.07")), PowerFee(rate=D("0.03"))):
        fee = schedule.fee(price, size)
        assert fee >= 0
        assert schedule.fee(price, size + 1) >= fee
