"""The domain model refuses nonsense and keeps money exact."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest

from arbkit import (
    BookLevel,
    Market,
    MarketStatus,
    Order,
    OrderBook,
    OrderRequest,
    OrderStatus,
    Outcome,
    OutcomeResult,
    Resolution,
    ResolutionState,
    Side,
    TimeInForce,
    ValidationError,
    to_decimal,
)
from arbkit.engine.fees import QuadraticFee

D = Decimal


def make_market(**overrides: object) -> Market:
    fields: dict[str, object] = {
        "exchange": "kalshi",
        "id": "KXNBAGAME-26MAR31NYKHOU-NYK",
        "title": "New York at Houston Winner?",
        "outcomes": (Outcome("yes", "New York"), Outcome("no", "Not New York")),
        "status": MarketStatus.OPEN,
        "fees": QuadraticFee(rate=D("0.07")),
    }
    fields.update(overrides)
    return Market(**fields)  # type: ignore[arg-type]


class TestToDecimal:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [(".48", D("0.48")), ("0.920", D("0.920")), (7, D(7)), (D("1.5"), D("1.5")), (" 2.50 ", D("2.50"))],
    )
    def test_accepts_exact_inputs(self, raw: object, expected: Decimal) -> None:
        assert to_decimal(raw) == expected

    @pytest.mark.parametrize(
        "raw", [0.1, float("nan"), "NaN", "inf", "-Infinity", "abc", "", None, True, [1]]
    )
    def test_refuses_inexact_or_non_numbers(self, raw: object) -> None:
        with pytest.raises(ValidationError):
            to_decimal(raw)

    def test_error_is_also_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="price"):
            to_decimal("x", field="price")


class TestBookLevel:
    @pytest.mark.parametrize("price", ["0", "1", "-0.1", "1.01"])
    def test_price_must_be_strictly_inside_zero_one(self, price: str) -> None:
        with pytest.raises(ValidationError, match="price"):
            BookLevel(price, "1")

    @pytest.mark.parametrize("size", ["0", "-5", "1e999999", "1e16"])
    def test_size_must_be_positive_and_plausible(self, size: str) -> None:
        with pytest.raises(ValidationError, match="size"):
            BookLevel("0.5", size)

    def test_is_frozen(self) -> None:
        level = BookLevel("0.5", "3")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            level.price = D("0.6")  # type: ignore[misc]


class TestOrderBook:
    def test_build_sorts_best_first_and_merges_equal_prices(self) -> None:
        # Polymarket sends best-last arrays; the position of a level must never matter.
        book = OrderBook.build(
            "polymarket",
            "0xcond",
            "tok",
            bids=[("0.40", "5"), ("0.45", "2"), ("0.40", "1")],
            asks=[("0.55", "4"), ("0.50", "1")],
        )
        assert [(lvl.price, lvl.size) for lvl in book.bids] == [(D("0.45"), D("2")), (D("0.40"), D("6"))]
        assert book.best_ask == BookLevel("0.50", "1")
        assert book.key == ("polymarket", "0xcond", "tok")

    def test_constructor_refuses_unsorted_levels(self) -> None:
        with pytest.raises(ValidationError, match="bids"):
            OrderBook("kalshi", "m", "yes", bids=[("0.40", "1"), ("0.45", "1")], asks=[])
        with pytest.raises(ValidationError, match="asks"):
            OrderBook("kalshi", "m", "yes", bids=[], asks=[("0.55", "1"), ("0.50", "1")])

    def test_absurd_sizes_from_a_broken_feed_are_refused_not_overflowed(self) -> None:
        with pytest.raises(ValidationError, match="implausibly large"):
            OrderBook.build("kalshi", "m", "yes", asks=[("0.5", "1e999999"), ("0.5", "1e999999")])

    def test_empty_sides_have_no_best(self) -> None:
        book = OrderBook.build("kalshi", "m", "yes")
        assert book.best_bid is None
        assert book.best_ask is None

    def test_timestamp_must_be_aware(self) -> None:
        with pytest.raises(ValidationError, match="timezone"):
            OrderBook.build("kalshi", "m", "yes", timestamp=datetime(2026, 1, 1))


class TestMarket:
    def test_outcome_lookup(self) -> None:
        market = make_market()
        assert market.outcome("yes").name == "New York"
        with pytest.raises(ValidationError, match="no outcome"):
            market.outcome("maybe")

    def test_duplicate_outcomes_refused(self) -> None:
        with pytest.raises(ValidationError, match="duplicate"):
            make_market(outcomes=(Outcome("yes", "a"), Outcome("yes", "b")))

    def test_unknown_fee_schedule_is_not_tradable(self) -> None:
        assert make_market().tradable
        assert not make_market(fees=None).tradable
        assert not make_market(status=MarketStatus.CLOSED).tradable

    def test_meta_is_read_only(self) -> None:
        market = make_market(meta={"event_ticker": "KXNBAGAME-26MAR31NYKHOU"})
        with pytest.raises(TypeError):
            market.meta["x"] = 1  # type: ignore[index]

    def test_status_from_string(self) -> None:
        assert make_market(status="closed").status is MarketStatus.CLOSED


class TestOrderRequest:
    def test_valid_request(self) -> None:
        req = OrderRequest(make_market(), "yes", "buy", "0.47", "10", TimeInForce.FOK, "t1-0")
        assert req.side is Side.BUY
        assert req.notional == D("4.70")

    @pytest.mark.parametrize(
        ("price", "size", "match"),
        [("1.2", "1", "price"), ("0.5", "-1", "size"), ("0.5", "0", "size"), ("NaN", "1", "finite")],
    )
    def test_nonsense_refused(self, price: str, size: str, match: str) -> None:
        with pytest.raises(ValidationError, match=match):
            OrderRequest(make_market(), "yes", "buy", price, size)

    def test_outcome_must_belong_to_market(self) -> None:
        with pytest.raises(ValidationError, match="no outcome"):
            OrderRequest(make_market(), "draw", "buy", "0.5", "1")

    def test_gtd_needs_expiry(self) -> None:
        with pytest.raises(ValidationError, match="GTD"):
            OrderRequest(make_market(), "yes", "buy", "0.5", "1", TimeInForce.GTD)

    def test_client_order_id_is_bounded(self) -> None:
        with pytest.raises(ValidationError, match="client_order_id"):
            OrderRequest(make_market(), "yes", "buy", "0.5", "1", client_order_id="x" * 65)


class TestOrder:
    def test_remaining_and_cost(self) -> None:
        order = Order(
            "kalshi",
            "o1",
            "m",
            "yes",
            "buy",
            "0.5",
            "10",
            OrderStatus.OPEN,
            filled_size="4",
            average_price="0.49",
        )
        assert order.remaining_size == D("6")
        assert order.cost == D("1.96")
        done = attrs.evolve(order, status=OrderStatus.CANCELED)
        assert done.remaining_size == D(0)
        assert done.status.is_final


class TestResolution:
    def test_results_per_outcome(self) -> None:
        won = Resolution("kalshi", "m", ResolutionState.RESOLVED, {"yes": 1, "no": 0})
        assert won.result("yes") is OutcomeResult.WON
        assert won.result("no") is OutcomeResult.LOST
        split = Resolution("polymarket", "m", "resolved", {"a": "0.5", "b": "0.5"})
        assert split.result("a") is OutcomeResult.FIFTY_FIFTY
        assert split.payout("a") == D("0.5")

    def test_pending_and_void(self) -> None:
        pending = Resolution("kalshi", "m", ResolutionState.PENDING)
        assert pending.result("yes") is OutcomeResult.PENDING
        assert pending.payout("yes") is None
        void = Resolution("kalshi", "m", ResolutionState.VOID)
        assert void.result("yes") is OutcomeResult.VOID

    def test_payout_must_be_within_zero_one(self) -> None:
        with pytest.raises(ValidationError, match="payout"):
            Resolution("kalshi", "m", "resolved", {"yes": "1.5"})


def test_aware_datetimes_round_trip() -> None:
    when = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    assert make_market(close_time=when).close_time == when


def test_decimal_from_text_shares_repeated_short_texts_and_never_keeps_long_ones() -> None:
    from decimal import InvalidOperation

    from arbkit.models import decimal_from_text

    assert decimal_from_text("0.47") is decimal_from_text("0.47")
    assert decimal_from_text("0.47") == Decimal("0.47")
    assert str(decimal_from_text("0.4700")) == "0.4700"  # the text's exponent is kept
    long_text = "1" * 100
    assert decimal_from_text(long_text) == Decimal(long_text)
    assert decimal_from_text(long_text) is not decimal_from_text(long_text)
    with pytest.raises(InvalidOperation):
        decimal_from_text("abc")


def test_a_book_keeps_its_levels_when_no_price_repeats() -> None:
    level = BookLevel("0.40", "10")
    book = OrderBook.build("kalshi", "M", "yes", bids=[level], asks=[("0.45", "3"), ("0.45", "2")])
    assert book.bids[0] is level
    assert book.asks == (BookLevel("0.45", "5"),)


def test_repeated_venue_text_is_held_once_across_markets() -> None:
    # Built as a parser would: a fresh string object per market for the same venue text.
    first = make_market(
        id="m1", title="".join(["Boston at ", "Denver"]), meta={"status_raw": "".join(["act", "ive"])}
    )
    second = make_market(id="m2", title="".join(["Boston at ", "Den", "ver"]), meta={"status_raw": "active"})
    assert first.title is second.title
    assert first.meta["status_raw"] is second.meta["status_raw"]
    assert first.outcome("yes").name is second.outcome("yes").name
    long_text = "rules " * 100
    assert make_market(rules=long_text).rules is long_text  # long texts are not interned
