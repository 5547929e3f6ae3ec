"""Parsers on today's wire: string money and counts, ``orderbook_fp``, V2 orders, odd enums, bad payloads."""

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
    GRID_META_KEY,
    parse_event,
    parse_market,
    parse_orderbook,
    parse_orderbooks,
    parse_resolution,
    parse_series,
    top_of_book,
)
from arbkit_kalshi.parse_trading import (
    Intent,
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
def test_only_the_string_fields_are_read_never_the_removed_integers() -> None:
    assert read_dollars({"yes_bid_dollars": "0.4550"}, "yes_bid_dollars") == D("0.4550")
    # The integer twins were removed in 2026 (kalshi.md 4.2): a payload with only them has no price.
    assert read_dollars({"yes_bid": 45}, "yes_bid_dollars") is None
    assert read_dollars({"yes_bid_dollars": ""}, "yes_bid_dollars") is None
    assert read_count({"count": 10}, "count_fp") is None


def test_fractional_counts_stay_exact() -> None:
    assert read_count({"count_fp": "2.50"}, "count_fp") == D("2.50")
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
    market = parse_market(load("market.json"))
    assert market.id == TICKER
    assert market.exchange == "kalshi"
    assert [(o.id, o.name) for o in market.outcomes] == [("yes", "New York"), ("no", "Not New York")]
    assert market.status is MarketStatus.OPEN
    assert market.event_id == "KXNBAGAME-26MAR31NYKHOU"
    assert market.tick_size == D("0.01")
    # Every market is fractional since Jul 2026: 0.01-contract lots.
    assert (market.min_order_size, market.size_increment) == (D("0.01"), D("0.01"))
    assert market.meta["price_level_structure"] == "linear_cent"
    assert market.close_time is not None
    assert market.close_time.isoformat() == "2026-04-14T00:00:00+00:00"
    assert market.meta["can_close_early"] is True
    assert market.meta["expected_expiration_time"] == "2026-04-01T03:00:00Z"
    assert market.rules.startswith("If New York wins")


def test_market_top_of_book_prefers_dollar_fields() -> None:
    bid, ask = top_of_book(load("market.json")["market"])
    assert bid is not None
    assert (bid.price, bid.size) == (D("0.4500"), D("100.00"))
    assert ask is not None
    assert (ask.price, ask.size) == (D("0.4800"), D("80.00"))


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


def test_a_tapered_grid_gives_hundredth_lots_and_its_finest_step() -> None:
    market = parse_market(load("market_tapered.json"))
    assert market.tick_size == D("0.001")
    grid = market.meta[GRID_META_KEY]
    assert grid.structure == "tapered_deci_cent"
    assert grid.is_valid(D("0.045"))
    assert grid.is_valid(D("0.955"))
    assert not grid.is_valid(D("0.455"))  # the center band steps by a whole cent
    payload = {
        "ticker": "X-1",
        "status": "active",
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
def test_fp_book_derives_asks_from_the_opposite_bids() -> None:
    yes, no = parse_orderbook(load("orderbook_fp.json"), TICKER)
    assert [(lv.price, lv.size) for lv in yes.bids] == [(D("0.47"), D(120)), (D("0.46"), D(300))]
    # A NO bid at 0.52 is a YES ask at 0.48, with that NO level's size (levels arrive ascending).
    assert [(lv.price, lv.size) for lv in yes.asks] == [(D("0.48"), D(40)), (D("0.49"), D("15.50"))]
    assert no.best_bid is not None
    assert no.best_bid.price == D("0.52")
    assert no.best_ask is not None
    assert (no.best_ask.price, no.best_ask.size) == (D("0.53"), D(120))


def test_the_removed_legacy_orderbook_object_is_not_read() -> None:
    with pytest.raises(InvalidResponse, match="orderbook_fp"):
        parse_orderbook({"orderbook": {"yes": [[40, 1]], "no": None}}, TICKER)


def test_empty_sides_are_empty_books() -> None:
    yes, no = parse_orderbook(
        {"orderbook_fp": {"yes_dollars": [], "no_dollars": [["0.6000", "4.00"]]}}, TICKER
    )
    assert yes.bids == ()
    assert no.asks == ()
    assert yes.best_ask is not None
    assert yes.best_ask.price == D("0.40")
    empty_yes, empty_no = parse_orderbook({"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}, TICKER)
    assert empty_yes.bids == empty_yes.asks == empty_no.bids == ()


@pytest.mark.parametrize(
    "payload",
    [
        {"orderbook_fp": {"yes_dollars": [["1.0000", "5.00"]]}},
        {"orderbook_fp": {"yes_dollars": [["0.4500"]]}},
        {"orderbook_fp": {"yes_dollars": [[45, 5]]}},
        {"orderbook_fp": {"yes_dollars": "45x5"}},
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
        (
            "scalar",
            {"settlement_value_dollars": "0.3000"},
            ResolutionState.RESOLVED,
            {"yes": D("0.3"), "no": D("0.7")},
        ),
        ("scalar", {"settlement_value": 30}, ResolutionState.PENDING, {}),  # removed int field: not read
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
def test_partially_filled_bid_reads_as_a_yes_buy() -> None:
    order = parse_order(load("order_partial.json"))
    assert (order.id, order.market_id, order.outcome_id, order.side) == (
        "3b23c1c7-f4ef-4f0d-8b9a-9e53c61f1a0d",
        "KXNBAGAME-26DEC05NYKHOU-NYK",
        "yes",
        Side.BUY,
    )
    assert order.status is OrderStatus.OPEN
    assert order.raw_status == "resting"
    assert (order.price, order.size, order.filled_size) == (D("0.49"), D(10), D(4))
    assert order.average_price == D("0.49")
    assert order.fees == D("0.069972")
    assert order.client_order_id == "c-1"
    assert order.remaining_size == D(6)


def test_an_ask_reads_as_a_no_buy_unless_the_intent_says_sell_yes() -> None:
    # The deprecated side says "yes" on every V2 order (kalshi.md 3.7): it is never read.
    body = load("order_ask.json")
    as_no = parse_order(body)
    assert (as_no.outcome_id, as_no.side, as_no.price) == ("no", Side.BUY, D("0.60"))
    assert as_no.average_price == D("0.60")  # 1.50 paid for 2.50 NO contracts
    as_sell = parse_order(body, Intent("yes", Side.SELL))
    assert (as_sell.outcome_id, as_sell.side, as_sell.price) == ("yes", Side.SELL, D("0.40"))
    assert as_sell.average_price == D("0.40")
    assert as_sell.status is OrderStatus.FILLED


def test_order_with_an_unknown_status_and_only_the_no_price() -> None:
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


@pytest.mark.parametrize(
    "payload",
    [
        {"order": {"ticker": "T"}},
        {"order_id": "o", "ticker": "T", "book_side": "bid"},
        {"order_id": "o", "ticker": "T", "side": "yes", "action": "buy", "yes_price_dollars": "0.4000"},
        {"order_id": "o", "ticker": "T", "book_side": "bid", "yes_price_dollars": "1.5000"},
        # A V1-shaped order (integer cents, side/action only) is not today's wire.
        {"order_id": "o", "ticker": "T", "side": "no", "action": "sell", "yes_price": 70, "count": 2},
    ],
)
def test_malformed_orders_raise_invalid_response(payload: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_order(payload)


def test_fills_read_book_side_and_yes_price() -> None:
    ask, bid = (parse_fill(f) for f in load("fills.json")["fills"])
    assert (ask.outcome_id, ask.side, ask.price, ask.size, ask.fee) == (
        "no",
        Side.BUY,
        D("0.44"),
        D("2.50"),
        D("0.04312"),
    )
    assert ask.fill_id == "f-2"
    assert ask.is_taker
    assert (bid.market_id, bid.outcome_id, bid.side, bid.price, bid.size) == (
        TICKER,
        "yes",
        Side.BUY,
        D("0.52"),
        D(3),
    )
    assert bid.timestamp.year == 2026
    assert bid.is_taker is False
    sold = parse_fill(load("fills.json")["fills"][0], Intent("yes", Side.SELL))
    assert (sold.outcome_id, sold.side, sold.price) == ("yes", Side.SELL, D("0.56"))


def test_positions_are_signed_yes_or_no_and_flat_rows_dropped() -> None:
    rows = load("positions.json")["market_positions"]
    yes, no, flat = (parse_position(r) for r in rows)
    assert flat is None
    assert yes is not None
    assert (yes.outcome_id, yes.size, yes.cost, yes.average_price) == ("yes", D(10), D("4.8"), D("0.48"))
    assert no is not None
    assert (no.outcome_id, no.size, no.cost) == ("no", D(5), D("3.80"))
    # The integer position was removed (Mar 2026): a row with only it is flat to this client.
    assert parse_position({"ticker": "T", "position": 5, "market_exposure": 300}) is None


def test_balance_reads_the_exact_dollars_not_the_truncated_cents() -> None:
    assert parse_balance(load("balance.json")).available == D("97.975")
    with pytest.raises(InvalidResponse):
        parse_balance({"balance": 10000})


def test_settlement_revenue_in_cents() -> None:
    settlement = parse_settlement(load("settlements.json")["settlements"][0])
    assert (settlement.market_result, settlement.revenue, settlement.value) == ("yes", D(4), D(1))
    assert settlement.yes_count == D(4)
    assert settlement.yes_cost == D("1.96")
    assert settlement.fee == D(0)
