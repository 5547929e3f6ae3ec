"""Parsers: captured and reference-shaped payloads -> core models; malformed -> InvalidResponse."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arbkit.engine.fees import NoFees, PowerFee
from arbkit.errors import BadRequest, InsufficientFunds, InvalidResponse, OrderRejected
from arbkit.games import DRAW, GameInfo
from arbkit.models import Market, MarketStatus, OrderStatus, Outcome, ResolutionState, Side
from arbkit_polymarket.errors import map_error
from arbkit_polymarket.parse import (
    decode_list,
    parse_book,
    parse_clob_market_info,
    parse_clob_resolution,
    parse_event,
    parse_gamma_market,
    parse_gamma_resolution,
)
from arbkit_polymarket.parse_trading import parse_open_order, parse_send_order, parse_trades

SAMPLES = Path(__file__).parent / "samples"
D = Decimal


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(), parse_float=Decimal)


def test_book_best_bid_and_ask_are_the_last_wire_elements() -> None:
    book = parse_book(sample("ws_book_snapshot.json"))
    assert book.best_bid is not None
    assert book.best_ask is not None
    assert (book.best_bid.price, book.best_ask.price) == (D("0.07"), D("0.08"))
    assert book.best_ask.size == D("228198.28")
    assert book.timestamp == datetime.fromtimestamp(1786604072.222, UTC)  # ms on the wire
    assert book.market_id.startswith("0x6bd5")


def test_book_numbers_without_leading_zero_and_empty_levels() -> None:
    book = parse_book(
        {
            "market": "0xabc",
            "asset_id": "1",
            "bids": [{"price": ".48", "size": "10"}, {"price": "0.47", "size": "0"}],
            "asks": [{"price": "0.520", "size": "3.5"}],
        }
    )
    assert [(lvl.price, lvl.size) for lvl in book.bids] == [(D("0.48"), D("10"))]
    assert book.asks[0].price == D("0.52")


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"market": "0xabc", "asset_id": "1", "bids": [{"price": "x", "size": "1"}]},
        {"market": "0xabc", "asset_id": "1", "bids": [{"price": "1.5", "size": "1"}]},
        {"market": "0xabc", "asset_id": "1", "bids": "nope"},
        {"asset_id": "1"},
    ],
)
def test_malformed_books_raise_invalid_response(payload: Any) -> None:
    with pytest.raises(InvalidResponse):
        parse_book(payload)


def test_gamma_market_decodes_json_inside_json_and_maps_tokens() -> None:
    market = parse_gamma_market(sample("gamma_market_sports.json"))
    assert market.id == "0x202abb9a80673068ec5ce9294d60e31eeaf3ab5c82fb21fb0c9142e5d0cab385"
    assert [o.name for o in market.outcomes] == ["FaZe", "illwill"]
    assert market.outcomes[0].id.startswith("899723")
    assert market.status is MarketStatus.RESOLVED
    assert market.tick_size == D("0.001")
    assert market.min_order_size == D(5)
    assert market.fees == PowerFee(rate=D("0.03"), exponent=1)
    assert market.event_id == "cs2-faze-ill-2026-04-05"
    assert market.start_time == datetime(2026, 4, 5, 15, 10, tzinfo=UTC)
    assert market.meta["secondsDelay"] == 3
    assert market.meta["neg_risk"] is False
    assert market.game is None  # cs2 is not a league arbkit matches


def test_gamma_moneyline_maps_tokens_to_teams_by_label_not_position() -> None:
    moneyline, spread = parse_event(sample("gamma_event_mlb.json"))
    game = moneyline.game
    assert isinstance(game, GameInfo)
    # Labels are listed home-first here, the slug is away-home: the label decides.
    assert dict(game.outcome_teams) == {"1001": "nyy", "1002": "tex"}
    assert (game.away, game.home) == ("tex", "nyy")
    assert game.league == "mlb"
    assert game.date == date(2026, 5, 5)
    assert game.start_time == datetime(2026, 5, 5, 23, 5, tzinfo=UTC)
    assert game.market_type == "moneyline"
    assert moneyline.event_title == "Texas Rangers vs. New York Yankees"
    spread_game = spread.game
    assert spread_game.market_type == "spread"
    assert spread_game.line == D("-1.5")
    assert isinstance(spread.fees, NoFees)


def _soccer_market(suffix: str) -> dict[str, Any]:
    return {
        "conditionId": f"0x{suffix}",
        "question": "Will Chelsea FC win on 2026-04-12?",
        "slug": f"epl-che-mci-2026-04-12-{suffix}",
        "outcomes": '["Yes", "No"]',
        "clobTokenIds": f'["{len(suffix)}1", "{len(suffix)}2"]',
        "active": True,
        "closed": False,
        "negRisk": True,
    }


def test_soccer_per_outcome_markets_map_only_the_yes_token() -> None:
    event = {"slug": "epl-che-mci-2026-04-12", "title": "Chelsea FC vs. Manchester City FC"}
    home = parse_gamma_market(_soccer_market("che"), event).game
    draw = parse_gamma_market(_soccer_market("draw"), event).game
    assert dict(home.outcome_teams) == {"31": "che"}
    assert (home.home, home.away) == ("che", "mci")
    assert dict(draw.outcome_teams) == {"41": DRAW}


def test_ambiguous_moneyline_labels_get_no_game_info() -> None:
    event = sample("gamma_event_mlb.json")
    event["markets"] = [dict(event["markets"][0], outcomes='["Team A", "Team B"]')]
    event["title"] = "Game"
    (market,) = parse_event(event)
    assert market.game is None


@pytest.mark.parametrize(
    "change",
    [
        {"clobTokenIds": '["1"]'},
        {"clobTokenIds": "not json"},
        {"conditionId": None},
        {"orderPriceMinTickSize": "abc"},
    ],
)
def test_malformed_gamma_markets_raise_invalid_response(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidResponse):
        parse_gamma_market({**sample("gamma_market_sports.json"), **change})


def test_decode_list_accepts_real_arrays_and_encoded_strings() -> None:
    assert decode_list('["a", "b"]', "x") == ["a", "b"]
    assert decode_list(["a"], "x") == ["a"]
    assert decode_list(None, "x") == []


def test_clob_market_info_fee_details_and_omitted_flags() -> None:
    info = parse_clob_market_info(sample("clob_markets_compact.json"))
    assert info.fees == PowerFee(rate=D("0.02"), exponent=2, taker_only=True)
    assert (info.neg_risk, info.tick_size, info.min_order_size, info.seconds_delay) == (True, D("0.01"), 5, 3)
    bare = parse_clob_market_info({"c": "0xabc", "t": [], "mts": "0.001"})
    assert bare.neg_risk is False
    assert isinstance(bare.fees, NoFees)


def test_fee_formula_matches_the_official_examples() -> None:
    fee = PowerFee(rate=D("0.25"), exponent=2)
    assert fee.fee(D("0.50"), D(100)) == D("1.5625")
    assert fee.fee(D("0.30"), D(100)) == D("1.1025")
    assert fee.fee(D("0.10"), D(100)) == D("0.2025")
    assert PowerFee(rate=D("0.072"), exponent=1).fee(D("0.50"), D(200)) == D("3.6")
    assert fee.fee(D("0.5"), D(100), taker=False) == 0


def _binary(ids: tuple[str, str] = ("108872287226", "89711707365")) -> Market:
    return Market("polymarket", "0x8ccc", "m", [Outcome(ids[0], "Yes"), Outcome(ids[1], "No")], "closed")


def test_clob_winner_resolves_the_market() -> None:
    resolution = parse_clob_resolution(sample("clob_market_resolved.json"), _binary())
    assert resolution is not None
    assert resolution.state is ResolutionState.RESOLVED
    assert resolution.payout("89711707365") == 1
    assert resolution.payout("108872287226") == 0


def test_clob_without_winner_defers_and_fifty_fifty_pays_half() -> None:
    payload = sample("clob_market_resolved.json")
    for token in payload["tokens"]:
        token["winner"] = False
    assert parse_clob_resolution(payload, _binary()) is None
    payload["is_50_50_outcome"] = True
    resolution = parse_clob_resolution(payload, _binary())
    assert resolution is not None
    assert resolution.payout("89711707365") == D("0.5")


@pytest.mark.parametrize(
    ("prices", "status", "closed", "state", "payout"),
    [
        ('["1", "0"]', "resolved", True, ResolutionState.RESOLVED, D(1)),
        ('["0.5", "0.5"]', "resolved", True, ResolutionState.RESOLVED, D("0.5")),
        ('["0", "0"]', "resolved", True, ResolutionState.VOID, None),
        ('["1", "0"]', "proposed", True, ResolutionState.PENDING, None),
        ('["1", "0"]', "resolved", False, ResolutionState.PENDING, None),
    ],
)
def test_gamma_resolution_fallback(
    prices: str, status: str, closed: bool, state: ResolutionState, payout: Decimal | None
) -> None:
    payload = {"outcomePrices": prices, "umaResolutionStatus": status, "closed": closed}
    resolution = parse_gamma_resolution(payload, _binary())
    assert resolution.state is state
    assert resolution.payout("108872287226") == payout


def _send(payload: dict[str, Any], side: Side = Side.BUY, marketable: bool = True) -> Any:
    return parse_send_order(
        payload,
        order_id="0xlocal",
        market_id="0xm",
        outcome_id="1",
        side=side,
        price=D("0.5"),
        size=D("10"),
        marketable=marketable,
        client_order_id="c1",
    )


def test_send_order_success_false_is_a_rejection_with_the_venue_message() -> None:
    with pytest.raises(InsufficientFunds, match="Insufficient balance"):
        _send({"success": False, "orderID": None, "errorMsg": "Insufficient balance"})
    with pytest.raises(OrderRejected, match="post-only"):
        _send({"success": False, "errorMsg": "invalid post-only order: order crosses book"})


def test_send_order_statuses() -> None:
    filled = _send(
        {"success": True, "orderID": "0x1", "status": "matched", "makingAmount": "4.8", "takingAmount": "10"}
    )
    assert (filled.status, filled.filled_size, filled.average_price) == (OrderStatus.FILLED, D(10), D("0.48"))
    partial = _send(
        {"success": True, "orderID": "0x1", "status": "matched", "makingAmount": "2", "takingAmount": "4"}
    )
    assert (partial.status, partial.filled_size) == (OrderStatus.CANCELED, D(4))
    live = _send(
        {"success": True, "orderID": "0x1", "status": "live", "makingAmount": "", "takingAmount": ""}
    )
    assert (live.status, live.filled_size, live.id) == (OrderStatus.OPEN, 0, "0x1")
    delayed = _send({"success": True, "orderID": "", "status": "delayed"})
    assert (delayed.status, delayed.id) == (OrderStatus.PENDING, "0xlocal")


def test_open_order_shape() -> None:
    order = parse_open_order(
        {
            "id": "0x1234",
            "status": "LIVE",
            "market": "0xdd22",
            "asset_id": "7132",
            "side": "BUY",
            "original_size": "100.0000",
            "size_matched": "25.0000",
            "price": "0.5000",
            "created_at": 1703875200,
        }
    )
    assert (order.status, order.size, order.filled_size, order.remaining_size) == (
        OrderStatus.OPEN,
        D(100),
        D(25),
        D(75),
    )
    assert order.created_at == datetime(2023, 12, 29, 18, 40, tzinfo=UTC)


def test_trades_give_taker_fills_and_our_maker_entries_and_skip_failed() -> None:
    base = {
        "market": "0xm",
        "asset_id": "7",
        "side": "BUY",
        "size": "25",
        "price": "0.5",
        "match_time": "1703875200",
    }
    trades = [
        {**base, "id": "t1", "taker_order_id": "0xa", "trader_side": "TAKER", "status": "CONFIRMED"},
        {**base, "id": "t2", "taker_order_id": "0xb", "trader_side": "TAKER", "status": "FAILED"},
        {
            **base,
            "id": "t3",
            "taker_order_id": "0xother",
            "trader_side": "MAKER",
            "status": "MATCHED",
            "maker_orders": [
                {
                    "order_id": "0xc",
                    "owner": "me",
                    "matched_amount": "5",
                    "price": "0.4",
                    "asset_id": "7",
                    "side": "SELL",
                },
                {
                    "order_id": "0xd",
                    "owner": "you",
                    "matched_amount": "6",
                    "price": "0.4",
                    "asset_id": "7",
                    "side": "SELL",
                },
            ],
        },
    ]
    fills = parse_trades(trades, owner="me", address="0x0")
    assert [(f.order_id, f.size, f.is_taker) for f in fills] == [("0xa", D(25), True), ("0xc", D(5), False)]


def test_error_mapper() -> None:
    assert isinstance(map_error(400, {"error": "not enough balance / allowance"}, ""), InsufficientFunds)
    error = map_error(400, {"error": "Invalid token id"}, "")
    assert isinstance(error, BadRequest)
    assert error.venue_message == "Invalid token id"
    assert map_error(429, {"error": "Too Many Requests"}, "") is None  # transport reads Retry-After
    assert map_error(503, {"error": "Trading is currently disabled"}, "") is None
