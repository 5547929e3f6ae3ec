"""Parsers: both field families, bid-only books, unknown enums, malformed payloads."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbkit.errors import InvalidResponse
from arbkit.models import MarketStatus, OrderStatus, ResolutionState, Side
from arbkit_kalshi.parse import (
    parse_event,
    parse_market,
    parse_orderbook,
    parse_orderbooks,
    parse_resolution,
    parse_series,
    top_of_book,
)
from arbkit_kalshi.parse_trading import (
    parse_balance,
    parse_fill,
    parse_order,
    parse_position,
    parse_settlement,
)
from arbkit_kalshi.units import cents_to_dollars, format_count, format_dollars, read_count, read_dollars

PAYLOADS = Path(__file__).parent / "payloads"
TICKER = "KXNBAGAME-26MAR31NYKHOU-NYK"


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(), parse_float=D)


# -- units ----------------------------------------------------------------
def test_new_string_fields_win_over_legacy_cents() -> None:
    data = {"yes_bid": 45, "yes_bid_dollars": "0.4550"}
    assert read_dollars(data, "yes_bid_dollars", "yes_bid") == D("0.4550")


def test_legacy_cents_are_read_when_the_new_field_is_missing_or_empty() -> None:
    assert read_dollars({"yes_bid": 45}, "yes_bid_dollars", "yes_bid") == D("0.45")
    assert read_dollars({"yes_bid": 45, "yes_bid_dollars": ""}, "yes_bid_dollars", "yes_bid") == D("0.45")
    assert read_count({"count": 10}, "count_fp", "count") == D(10)


def test_fractional_counts_stay_exact() -> None:
    assert read_count({"count_fp": "2.50"}, "count_fp", "count") == D("2.50")
    assert format_count(D("2.5")) == "2.50"


def test_malformed_numbers_raise_invalid_response() -> None:
    with pytest.raises(InvalidResponse):
        read_dollars({"yes_bid_dollars": "forty"}, "yes_bid_dollars")
    with pytest.raises(InvalidResponse):
        read_count({"count_fp": True}, "count_fp")


@given(st.integers(min_value=0, max_value=10**9))
def test_cents_round_trip_through_dollar_strings(cents: int) -> None:
    dollars = cents_to_dollars(cents)
    assert D(format_dollars(dollars)) * 100 == cents


# -- markets ----------------------------------------------------------------
def test_market_maps_to_the_core_model() -> None:
    market = parse_market(load("market_both_families.json"))
    assert market.id == TICKER
    assert market.exchange == "kalshi"
    assert [(o.id, o.name) for o in market.outcomes] == [("yes", "New York"), ("no", "Not New York")]
    assert market.status is MarketStatus.OPEN
    assert market.event_id == "KXNBAGAME-26MAR31NYKHOU"
    assert market.tick_size == D("0.01")
    assert market.min_order_size == 1
    assert market.close_time is not None
    assert market.close_time.isoformat() == "2026-04-14T00:00:00+00:00"
    assert market.meta["can_close_early"] is True
    assert market.meta["expected_expiration_time"] == "2026-04-01T03:00:00Z"
    assert market.rules.startswith("If New York wins")


def test_market_top_of_book_prefers_dollar_fields() -> None:
    bid, ask = top_of_book(load("market_both_families.json")["market"])
    assert bid is not None
    assert (bid.price, bid.size) == (D("0.4700"), D("120.00"))
    assert ask is not None
    assert ask.price == D("0.4900")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("active", MarketStatus.OPEN),
        ("open", MarketStatus.OPEN),
        ("initialized", MarketStatus.UNOPENED),
        ("inactive", MarketStatus.PAUSED),
        ("closed", MarketStatus.CLOSED),
        ("determined", MarketStatus.RESOLVED),
        ("finalized", MarketStatus.RESOLVED),
        ("settled", MarketStatus.RESOLVED),
        ("some_future_state", MarketStatus.UNKNOWN),
        (None, MarketStatus.UNKNOWN),
    ],
)
def test_market_status_words_including_unknown_ones(raw: str | None, status: MarketStatus) -> None:
    payload = {"ticker": "X-1", "event_ticker": "X", "status": raw, "yes_sub_title": "A"}
    assert parse_market(payload).status is status


def test_fractional_market_allows_hundredth_lots_and_sub_penny_ticks() -> None:
    payload = {
        "ticker": "X-1",
        "status": "active",
        "fractional_trading_enabled": True,
        "price_ranges": [
            {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
            {"start": "0.1000", "end": "1.0000", "step": "0.0100"},
        ],
    }
    market = parse_market(payload)
    assert market.min_order_size == D("0.01")
    assert market.size_increment == D("0.01")
    assert market.tick_size == D("0.001")
    assert [o.name for o in market.outcomes] == ["Yes", "No"]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"market": {"status": "active"}},
        {"ticker": "X-1", "close_time": "next tuesday"},
        {"ticker": "X-1", "close_time": 1700000000},
        {"ticker": "X-1", "price_ranges": [{"step": "abc"}]},
    ],
)
def test_malformed_market_raises_invalid_response(payload: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_market(payload)


def test_event_keeps_grouping_and_fee_overrides() -> None:
    event = parse_event(
        {
            "event": {
                "event_ticker": "E",
                "series_ticker": "S",
                "title": "T",
                "mutually_exclusive": True,
                "fee_multiplier_override": "0.5",
            },
            "markets": [{"ticker": "E-A"}, {"ticker": "E-B"}],
        }
    )
    assert event.mutually_exclusive is True
    assert event.fee_multiplier_override == D("0.5")
    assert [m["ticker"] for m in event.market_payloads] == ["E-A", "E-B"]


def test_series_fee_fields() -> None:
    series = parse_series(
        {"series": {"ticker": "KXNBAGAME", "fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1}}
    )
    assert (series.fee_type, series.fee_multiplier) == ("quadratic_with_maker_fees", D(1))


# -- order books ----------------------------------------------------------------
def test_legacy_book_derives_asks_from_the_opposite_bids() -> None:
    yes, no = parse_orderbook(load("orderbook_legacy.json"), TICKER)
    assert [(lv.price, lv.size) for lv in yes.bids] == [(D("0.47"), 5), (D("0.45"), 10), (D("0.01"), 200)]
    # A NO bid at 0.52 is a YES ask at 0.48, with that NO level's size.
    assert [(lv.price, lv.size) for lv in yes.asks] == [(D("0.48"), 12), (D("0.50"), 30)]
    assert [(lv.price, lv.size) for lv in no.bids] == [(D("0.52"), 12), (D("0.50"), 30)]
    assert no.best_ask is not None
    assert (no.best_ask.price, no.best_ask.size) == (D("0.53"), 5)


def test_fp_book_in_descending_order_with_fractional_sizes() -> None:
    yes, no = parse_orderbook(load("orderbook_fp.json"), TICKER)
    assert yes.best_bid is not None
    assert yes.best_bid.price == D("0.47")
    assert yes.best_ask is not None
    assert (yes.best_ask.price, yes.best_ask.size) == (D("0.48"), D("2.50"))
    assert no.best_bid is not None
    assert no.best_bid.price == D("0.52")


def test_fp_family_is_preferred_over_legacy_cents() -> None:
    payload = {
        "orderbook": {"yes": [[40, 1]], "no": None},
        "orderbook_fp": {"yes_dollars": [["0.4100", "1.00"]]},
    }
    yes, _ = parse_orderbook(payload, TICKER)
    assert yes.best_bid is not None
    assert yes.best_bid.price == D("0.41")


def test_null_and_missing_sides_are_empty() -> None:
    yes, no = parse_orderbook({"orderbook": {"yes": None, "no": [[60, 4]]}}, TICKER)
    assert yes.bids == ()
    assert no.asks == ()
    assert yes.best_ask is not None
    assert yes.best_ask.price == D("0.40")
    empty_yes, empty_no = parse_orderbook({"orderbook_fp": {}}, TICKER)
    assert empty_yes.bids == empty_yes.asks == empty_no.bids == ()


@pytest.mark.parametrize(
    "payload",
    [
        {"orderbook": {"yes": [[100, 5]]}},
        {"orderbook": {"yes": [[45]]}},
        {"orderbook": {"yes": "45x5"}},
        {"orderbook_fp": {"yes_dollars": [["0.45", "many"]]}},
        "not an object",
    ],
)
def test_malformed_books_raise_invalid_response(payload: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_orderbook(payload, TICKER)


def test_batch_books_are_keyed_by_ticker() -> None:
    body = {
        "orderbooks": [
            {"ticker": "A", "orderbook_fp": {"yes_dollars": [["0.3000", "1.00"]]}},
            {"ticker": "B", "orderbook_fp": {"no_dollars": [["0.6000", "2.00"]]}},
        ]
    }
    books = parse_orderbooks(body)
    assert books["A"][0].best_bid is not None
    assert books["A"][0].best_bid.price == D("0.3")
    assert books["B"][0].best_ask is not None
    assert books["B"][0].best_ask.price == D("0.4")


# -- resolution ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("result", "extra", "state", "payouts"),
    [
        ("yes", {}, ResolutionState.RESOLVED, {"yes": 1, "no": 0}),
        ("no", {}, ResolutionState.RESOLVED, {"yes": 0, "no": 1}),
        (
            "void",
            {"settlement_value_dollars": "0.5000"},
            ResolutionState.VOID,
            {"yes": D("0.5"), "no": D("0.5")},
        ),
        ("void", {}, ResolutionState.VOID, {}),
        ("scalar", {"settlement_value": 30}, ResolutionState.RESOLVED, {"yes": D("0.3"), "no": D("0.7")}),
        ("", {}, ResolutionState.PENDING, {}),
    ],
)
def test_resolution_from_result(
    result: str, extra: dict[str, Any], state: ResolutionState, payouts: dict[str, Any]
) -> None:
    resolution = parse_resolution(
        {"market": {"ticker": TICKER, "status": "finalized", "result": result, **extra}}
    )
    assert resolution.state is state
    assert dict(resolution.payouts) == payouts


# -- trading payloads ----------------------------------------------------------------
def test_partially_filled_order_in_both_families() -> None:
    order = parse_order(load("order_partial.json"))
    assert (order.id, order.market_id, order.outcome_id, order.side) == (
        "3b23c1c7-0b4e-4a8e-9c39-6c5b7f0a1d11",
        TICKER,
        "yes",
        Side.BUY,
    )
    assert order.status is OrderStatus.OPEN
    assert order.raw_status == "resting"
    assert (order.price, order.size, order.filled_size) == (D("0.49"), D(10), D(4))
    assert order.average_price == D("0.49")
    assert order.fees == D("0.07")
    assert order.client_order_id == "c-1"
    assert order.remaining_size == D(6)


def test_order_with_only_new_fields_and_an_unknown_status() -> None:
    order = parse_order(
        {
            "order_id": "o",
            "ticker": "T",
            "outcome_side": "no",
            "book_side": "ask",
            "status": "paused_by_exchange",
            "no_price_dollars": "0.3000",
            "initial_count_fp": "1.50",
            "fill_count_fp": "0.00",
        }
    )
    assert (order.outcome_id, order.side, order.price) == ("no", Side.BUY, D("0.3"))
    assert order.status is OrderStatus.UNKNOWN
    assert order.size == D("1.50")


def test_order_price_falls_back_to_the_complement() -> None:
    order = parse_order(
        {
            "order_id": "o",
            "ticker": "T",
            "side": "no",
            "action": "sell",
            "yes_price": 70,
            "count": 2,
            "status": "executed",
            "fill_count": 2,
        }
    )
    assert order.price == D("0.30")
    assert order.status is OrderStatus.FILLED


@pytest.mark.parametrize(
    "payload",
    [
        {"order": {"ticker": "T"}},
        {"order_id": "o", "ticker": "T", "side": "yes", "action": "buy"},
        {"order_id": "o", "ticker": "T", "side": "maybe"},
        {"order_id": "o", "ticker": "T", "side": "yes", "action": "buy", "yes_price": 150, "count": 1},
    ],
)
def test_malformed_orders_raise_invalid_response(payload: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_order(payload)


def test_fills_in_both_families() -> None:
    new, old = (parse_fill(f) for f in load("fills.json")["fills"])
    assert (new.outcome_id, new.side, new.price, new.size, new.fee) == (
        "no",
        Side.BUY,
        D("0.44"),
        D("2.50"),
        D("0.05"),
    )
    assert new.fill_id == "f-2"
    assert new.is_taker
    assert (old.market_id, old.outcome_id, old.side, old.price, old.size) == (
        TICKER,
        "yes",
        Side.SELL,
        D("0.52"),
        D(3),
    )
    assert old.timestamp.year == 2026
    assert old.is_taker is False


def test_positions_are_signed_yes_or_no_and_flat_rows_dropped() -> None:
    rows = load("positions.json")["market_positions"]
    yes, no, flat = (parse_position(r) for r in rows)
    assert flat is None
    assert yes is not None
    assert (yes.outcome_id, yes.size, yes.cost, yes.average_price) == (
        "yes",
        D(10),
        D("4.8"),
        D("0.48"),
    )
    assert no is not None
    assert (no.outcome_id, no.size, no.cost) == ("no", D(5), D("3.80"))


def test_balance_cents_become_dollars() -> None:
    assert parse_balance({"balance": 10000}).available == D("100")
    assert parse_balance({"balance": 10050, "balance_dollars": "100.5000"}).available == D("100.5")
    with pytest.raises(InvalidResponse):
        parse_balance({"portfolio_value": 5})


def test_settlement_revenue_in_cents() -> None:
    settlement = parse_settlement(load("settlements.json")["settlements"][0])
    assert (settlement.market_result, settlement.revenue, settlement.value) == ("yes", D(10), D(1))
    assert settlement.yes_count == D(10)
    assert settlement.fee == D("0.34")
