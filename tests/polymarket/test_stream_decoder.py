"""The stream decoders on canned frames: hashes, level updates, checks, bad frames, user events.

Frames are the shapes of reference polymarket.md section 8 (the snapshot in
``samples/ws_book_snapshot.json`` is a capture, Aug 2026); the rest are built here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.engine.fees import PowerFee
from arbkit.errors import ExchangeError, InvalidResponse
from arbkit.models import Market, MarketStatus, Outcome, Side
from arbkit_polymarket.parse import parse_book
from arbkit_polymarket.parse_stream import (
    HASH_MISMATCH_LIMIT,
    LocalBook,
    MarketDecoder,
    Subscriptions,
    UserDecoder,
    book_hash,
    parse_level_changes,
)
from arbkit_polymarket.parse_trading import parse_open_order, parse_trades

from .streaming import RecordingSink, levels

D = Decimal
SAMPLES = Path(__file__).parent / "samples"
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
M = "0x" + "ab" * 32
YES, NO = "101", "202"
MARKET = Market("polymarket", M, "Test market", (Outcome(YES, "Yes"), Outcome(NO, "No")), MarketStatus.OPEN)


SNAPSHOT_AT, CHANGE_AT = "1764763200000", "1764763201000"  # epoch ms, as the venue writes them
Pairs = list[tuple[str, str]]


def summary(asset: str, bids: Pairs, asks: Pairs, stamp: str = SNAPSHOT_AT) -> Any:
    """A ``book`` event with every hashed field, and its hash (the sandbox's shape)."""
    book = {
        "market": M,
        "asset_id": asset,
        "timestamp": stamp,
        "hash": "",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
        "min_order_size": "5",
        "tick_size": "0.01",
        "neg_risk": False,
        "last_trade_price": "0.5",
    }
    book["hash"] = book_hash(book)
    return {**book, "event_type": "book"}


BOOKS = [
    summary(YES, [("0.40", "100"), ("0.45", "20")], [("0.60", "10"), ("0.50", "30")]),
    summary(NO, [("0.40", "30"), ("0.50", "10")], [("0.60", "20"), ("0.55", "100")]),
]


def change(
    asset: str, price: str, size: str, side: str, after: Any, stamp: str = CHANGE_AT, **kw: Any
) -> Any:
    """One ``price_changes`` entry whose best prices and hash describe the book ``after`` it."""
    bids = [(lv["price"], lv["size"]) for lv in after["bids"]]
    asks = [(lv["price"], lv["size"]) for lv in after["asks"]]
    digest = book_hash(summary(asset, bids, asks, stamp))
    entry = {
        "asset_id": asset,
        "price": price,
        "size": size,
        "side": side,
        "hash": digest,
        "best_bid": max((p for p, _ in bids), key=D, default="0"),
        "best_ask": min((p for p, _ in asks), key=D, default="1"),
    }
    return {**entry, **kw}


def price_change(*entries: Any, stamp: str = CHANGE_AT) -> str:
    return json.dumps(
        {"event_type": "price_change", "market": M, "price_changes": list(entries), "timestamp": stamp}
    )


def decoder(**kw: Any) -> tuple[MarketDecoder, RecordingSink, list[list[str]]]:
    sink = RecordingSink()
    asked: list[list[str]] = []
    found = MarketDecoder(
        sink, Subscriptions([MARKET]), resync=lambda assets, why: asked.append(list(assets)), **kw
    )
    found.feed(json.dumps(BOOKS), AT)
    return found, sink, asked


def test_the_hash_is_the_official_sdk_vector() -> None:
    book = {
        "market": "0xaabbcc",
        "asset_id": "100",
        "timestamp": "123456789",
        "hash": "",
        "bids": [{"price": "0.3", "size": "100"}, {"price": "0.4", "size": "100"}],
        "asks": [{"price": "0.6", "size": "100"}, {"price": "0.7", "size": "100"}],
        "min_order_size": "100",
        "tick_size": "0.01",
        "neg_risk": False,
        "last_trade_price": "0.5",
    }
    assert book_hash(book) == "0458ea5755c9f73d64a14636fa5c36ed460ec394"


def test_the_captured_snapshot_is_the_rest_parsers_book_but_its_hash_cannot_be_checked() -> None:
    raw = json.loads((SAMPLES / "ws_book_snapshot.json").read_text())
    local, book = LocalBook.from_snapshot(raw)
    assert book == parse_book(raw)
    assert book.best_bid is not None
    assert book.best_ask is not None
    assert (book.best_bid.price, book.best_ask.price) == (D("0.07"), D("0.08"))
    # The capture lacks min_order_size and neg_risk: its hash is not reproducible, so not checked.
    assert local.hash(raw["timestamp"]) is None
    assert local.hash_checked is False


def test_snapshots_make_the_market_live_with_the_rest_parsers_books() -> None:
    found, sink, _ = decoder()
    assert sink.events == [("live", (M,))]
    assert levels(sink.books[("polymarket", M, YES)]) == levels(parse_book(BOOKS[0]))
    assert sink.books[("polymarket", M, YES)].source == "stream"
    assert all(book.hash_checked for book in found.books.values())


def test_a_level_update_sets_new_totals_and_zero_removes_the_level() -> None:
    found, sink, asked = decoder()
    after = summary(YES, [("0.40", "100"), ("0.45", "25")], [("0.60", "10")])
    second = summary(YES, [("0.40", "100"), ("0.45", "25")], [("0.60", "10")], CHANGE_AT)
    found.feed(
        price_change(
            change(YES, "0.45", "25", "BUY", after, best_bid="0.45", best_ask="0.50", hash="x"),
            change(YES, "0.50", "0", "SELL", second),
        ),
        AT,
    )
    book = sink.books[("polymarket", M, YES)]
    assert [(lv.price, lv.size) for lv in book.bids] == [(D("0.45"), D("25")), (D("0.40"), D("100"))]
    assert [(lv.price, lv.size) for lv in book.asks] == [(D("0.60"), D("10"))]
    assert book.timestamp == AT  # when it was received: the core ages books on its own clock
    assert (asked, sink.stale_reasons(), sink.errors) == ([], [], [])  # only the last entry is the state


def test_a_hash_that_disagrees_marks_the_whole_market_stale_and_asks_for_both_books() -> None:
    found, sink, asked = decoder()
    calls = sink.book_calls
    wrong = summary(YES, [("0.40", "999")], [])  # what the venue's book really is: a change was lost
    found.feed(price_change(change(YES, "0.45", "20", "BUY", wrong, best_bid="0.45", best_ask="0.50")), AT)
    assert asked == [[YES, NO]]
    assert sink.events[-1][:2] == ("stale", (M,))
    assert "book hash" in sink.stale_reasons()[0]
    assert sink.book_calls == calls  # the doubtful book was not handed out
    assert found.books == {}
    found.feed(json.dumps(BOOKS), AT)  # the fresh snapshots
    assert sink.events[-1] == ("live", (M,))


def test_repeated_unreproducible_hashes_switch_hash_checks_off_for_that_asset() -> None:
    found, sink, asked = decoder()
    wrong = summary(YES, [("0.41", "1")], [])
    for _ in range(HASH_MISMATCH_LIMIT):
        found.feed(
            price_change(change(YES, "0.45", "20", "BUY", wrong, best_bid="0.45", best_ask="0.50")), AT
        )
        found.feed(json.dumps(BOOKS), AT)
    assert YES in found.hash_disabled
    assert any("never reproduces" in str(e) for e, _ in sink.errors)
    assert found.books[YES].hash_checked is False
    found.feed(price_change(change(YES, "0.45", "20", "BUY", wrong, best_bid="0.45", best_ask="0.50")), AT)
    assert len(asked) == HASH_MISMATCH_LIMIT  # no further resync: the top of book still agrees


def test_a_top_of_book_that_disagrees_is_a_gap_even_without_a_hash() -> None:
    found, sink, asked = decoder(check_hash=False)
    found.feed(
        price_change({"asset_id": NO, "price": "0.52", "size": "5", "side": "BUY", "best_bid": "0.51"}), AT
    )
    assert asked == [[YES, NO]]
    assert "disagrees with the venue's top" in sink.stale_reasons()[0]


def test_updates_before_a_snapshot_and_of_other_assets_are_ignored() -> None:
    sink = RecordingSink()
    found = MarketDecoder(sink, Subscriptions([MARKET]))
    found.feed(price_change({"asset_id": YES, "price": "0.45", "size": "5", "side": "BUY"}), AT)
    found.feed(json.dumps({**BOOKS[0], "asset_id": "999"}), AT)
    assert (sink.book_calls, sink.events, sink.errors) == (0, [], [])


def test_bad_frames_are_typed_errors_that_put_books_in_doubt() -> None:
    found, sink, asked = decoder()
    found.feed('{"event_type": "price_chan', AT)
    assert isinstance(sink.errors[-1][0], InvalidResponse)
    assert asked[-1] == [YES, NO]
    found.feed(json.dumps(BOOKS), AT)
    for bad in (
        {
            "event_type": "price_change",
            "market": M,
            "price_changes": [{"asset_id": YES, "price": "1e999999"}],
        },
        {
            "event_type": "price_change",
            "market": M,
            "price_changes": [{"asset_id": YES, "price": "0.4", "size": "-1", "side": "BUY"}],
        },
        {
            "event_type": "price_change",
            "market": M,
            "price_changes": [{"asset_id": YES, "price": "1.5", "size": "1", "side": "BUY"}],
        },
        {"event_type": "book", "market": M, "asset_id": YES, "bids": [{"price": "x", "size": "1"}]},
        {"event_type": "tick_size_change", "market": M, "asset_id": YES, "new_tick_size": "0"},
    ):
        found.feed(json.dumps(BOOKS), AT)
        errors = len(sink.errors)
        found.feed(json.dumps(bad), AT)
        assert len(sink.errors) == errors + 1
        assert isinstance(sink.errors[-1][0], InvalidResponse)
        assert sink.events[-1][:2] == ("stale", (M,))


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.text(max_size=8)
            | st.sampled_from(["0.5", "1e9999", YES, M]),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        ["event_type", "asset_id", "market", "price_changes", "price", "size", "side", "bids"]
                    ),
                    inner,
                    max_size=5,
                )
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
def test_no_frame_makes_the_decoders_raise(text: str) -> None:
    found, sink, _ = decoder()
    found.feed(text, AT)
    UserDecoder(sink, owner="k", address="0x1").feed(text, AT)
    assert all(isinstance(e, ExchangeError) for e, _ in sink.errors)


def test_the_replay_decoder_learns_the_markets_from_the_books() -> None:
    sink = RecordingSink()
    found = MarketDecoder(sink, Subscriptions(learn=True))
    found.feed(json.dumps(BOOKS), AT)
    assert set(sink.books) == {("polymarket", M, YES), ("polymarket", M, NO)}
    assert ("live", (M,)) in sink.events


# -- the user channel ----------------------------------------------------------------------------
KEY = "11111111-2222-3333-4444-555555555555"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ORDER = {
    "event_type": "order",
    "type": "UPDATE",
    "id": "0xorder",
    "owner": KEY,
    "market": M,
    "asset_id": YES,
    "side": "BUY",
    "original_size": "10",
    "size_matched": "4",
    "price": "0.45",
    "status": "LIVE",
    "outcome": "Yes",
    "order_type": "GTC",
    "created_at": 1764763200,
    "timestamp": "1764763201000",
}
TRADE = {
    "event_type": "trade",
    "type": "TRADE",
    "id": "trade-1",
    "taker_order_id": "0xtaker",
    "market": M,
    "asset_id": YES,
    "side": "SELL",
    "size": "4",
    "price": "0.45",
    "fee_rate_bps": "0",
    "status": "MATCHED",
    "match_time": "1764763201",
    "last_update": "1764763201",
    "outcome": "Yes",
    "owner": "someone-else",
    "maker_address": "0xabc",
    "trader_side": "TAKER",
    "maker_orders": [
        {
            "order_id": "0xorder",
            "owner": KEY,
            "maker_address": ADDRESS,
            "matched_amount": "4",
            "price": "0.45",
            "asset_id": YES,
            "outcome": "Yes",
            "side": "BUY",
        }
    ],
}


def test_order_events_are_the_rest_parsers_orders() -> None:
    sink = RecordingSink()
    UserDecoder(sink, owner=KEY, address=ADDRESS).feed(json.dumps([ORDER]), AT)
    assert sink.orders == [parse_open_order(ORDER)]
    assert sink.orders[0].filled_size == 4


def test_a_trade_is_one_fill_through_its_statuses_seen_from_our_side_and_priced() -> None:
    sink = RecordingSink()
    fee = PowerFee(rate=D("0.03"), exponent=1)
    user = UserDecoder(sink, owner=KEY, address=ADDRESS, fees={M: fee}.get)
    for status in ("MATCHED", "MINED", "CONFIRMED"):
        user.feed(json.dumps({**TRADE, "status": status}), AT)
    (fill,) = sink.fills
    (expected,) = parse_trades([{**TRADE, "trader_side": "MAKER"}], owner=KEY, address=ADDRESS)
    assert fill == attrs.evolve(expected, fee=fee.fee(D("0.45"), D("4"), taker=False))
    assert (fill.order_id, fill.side, fill.is_taker, fill.fee) == ("0xorder", Side.BUY, False, 0)
    user.feed(json.dumps({**TRADE, "status": "FAILED"}), AT)
    assert "failed after matching" in str(sink.errors[-1][0])


def test_a_trade_we_took_is_our_taker_fill() -> None:
    sink = RecordingSink()
    UserDecoder(sink, owner=KEY, address=ADDRESS).feed(
        json.dumps({**TRADE, "owner": KEY, "trader_side": "MAKER"}), AT
    )
    (fill,) = sink.fills
    assert (fill.order_id, fill.side, fill.is_taker) == ("0xtaker", Side.SELL, True)


PRICE_TEXT = st.integers(1, 99).map(lambda c: f"0.{c:02d}") | st.integers(1, 999).map(lambda m: f"0.{m:03d}")
SIZE_TEXT = st.decimals("0.01", "100000", places=2).map(str) | st.integers(1, 10**6).map(str)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(PRICE_TEXT, SIZE_TEXT, max_size=12),
    st.dictionaries(PRICE_TEXT, SIZE_TEXT, max_size=12),
    st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), PRICE_TEXT, SIZE_TEXT | st.just("0")), max_size=6),
)
def test_the_incremental_hash_is_the_published_recipe_after_any_changes(
    bids: dict[str, str], asks: dict[str, str], changes: list[tuple[str, str, str]]
) -> None:
    def pairs(levels: dict[str, str]) -> Pairs:
        merged = {D(p): (p, s) for p, s in levels.items()}  # one text per price, as a venue sends
        return sorted(merged.values(), key=lambda ps: D(ps[0]))

    snapshot = summary(YES, pairs(bids), sorted(pairs(asks), key=lambda ps: -D(ps[0])))
    local, _ = LocalBook.from_snapshot(snapshot)
    assert local.hash_checked
    sides = {"BUY": {D(p): (p, s) for p, s in pairs(bids)}, "SELL": {D(p): (p, s) for p, s in pairs(asks)}}
    for side, price, size in changes:
        found = parse_level_changes(
            {"price_changes": [{"asset_id": YES, "price": price, "size": size, "side": side}]}
        )
        local.apply(found[0])
        if D(size) == 0:
            sides[side].pop(D(price), None)
        else:
            sides[side][D(price)] = (price, size)
    expected = summary(
        YES,
        [sides["BUY"][p] for p in sorted(sides["BUY"])],
        [sides["SELL"][p] for p in sorted(sides["SELL"], reverse=True)],
        CHANGE_AT,
    )
    assert local.hash(CHANGE_AT) == expected["hash"]


def test_a_replay_without_our_key_reads_whose_trade_it_is_from_trade_owner() -> None:
    sink = RecordingSink()
    replay = UserDecoder(sink, owner="", address="")
    replay.feed(json.dumps({**TRADE, "trade_owner": KEY}), AT)
    replay.feed(
        json.dumps({**TRADE, "id": "trade-2", "maker_orders": [{**TRADE["maker_orders"][0], "owner": ""}]}),
        AT,
    )
    (fill,) = sink.fills  # ours as maker; the second names no owner, so nothing is guessed
    assert (fill.order_id, fill.is_taker) == ("0xorder", False)
    assert "cannot tell whose" in str(sink.errors[-1][0])


def test_a_notice_from_the_venue_is_an_error_but_puts_no_book_in_doubt() -> None:
    found, sink, asked = decoder()
    found.feed("INVALID OPERATION", AT)
    found.feed(json.dumps({"error": "duplicate assets"}), AT)
    assert [str(e.venue_message) for e, _ in sink.errors] == ["INVALID OPERATION", "duplicate assets"]
    assert (asked, sink.stale_reasons()) == ([], [])
    assert set(found.books) == {YES, NO}
