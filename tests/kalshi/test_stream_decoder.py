"""The Kalshi WebSocket decoder on canned frames (kalshi.md 11.3, 11.5): books, sequence, user channels.

Frames follow the AsyncAPI examples quoted in the reference (11.3) with the 2026 fields
(``*_dollars`` strings, ``*_fp`` counts); the REST payloads compared against are the
SDK-validated bodies of kalshi.md 10 (tests/kalshi/payloads).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.errors import ArbkitError, AuthenticationError, InvalidResponse
from arbkit.models import Fill, MarketStatus, Order, OrderBook, Side
from arbkit.streams import FrameDecoder, MarketEvent
from arbkit_kalshi.parse import books_from_bids, parse_orderbook
from arbkit_kalshi.parse_stream import Envelope, KalshiDecoder
from arbkit_kalshi.parse_trading import Intent, parse_fill, parse_order

PAYLOADS = Path(__file__).parent / "payloads"
T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
TICKER = "KXNBAGAME-26DEC05NYKHOU-NYK"


class ListSink:
    """Records every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.books: dict[tuple[str, str], OrderBook] = {}

    def book(self, book: OrderBook) -> None:
        self.books[book.key] = book
        self.calls.append(("book", book.key))

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        self.calls.append(("stale", (tuple(market_ids), reason)))

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        self.calls.append(("live", tuple(market_ids)))

    def order(self, order: Order) -> None:
        self.calls.append(("order", order))

    def fill(self, fill: Fill) -> None:
        self.calls.append(("fill", fill))

    def market(self, event: MarketEvent) -> None:
        self.calls.append(("market", event))

    def error(self, exc: ArbkitError, operation: str) -> None:
        self.calls.append(("error", exc))

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        self.calls.append(("frame", text))

    def of(self, kind: str) -> list[Any]:
        return [value for name, value in self.calls if name == kind]


class Control:
    def __init__(self) -> None:
        self.resyncs: list[tuple[int, tuple[str, ...], str]] = []
        self.responses: list[Envelope] = []

    def response(self, envelope: Envelope) -> None:
        self.responses.append(envelope)

    def resync(self, sid: int, market_ids: Sequence[str], reason: str) -> None:
        self.resyncs.append((sid, tuple(market_ids), reason))


def frame(kind: str, msg: Any, *, sid: int | None = 1, seq: int | None = None, **top: Any) -> str:
    body: dict[str, Any] = {"type": kind, "msg": msg, **top}
    if sid is not None:
        body["sid"] = sid
    if seq is not None:
        body["seq"] = seq
    return json.dumps(body)


def snapshot(seq: int, yes: list[list[str]] | None, no: list[list[str]] | None, sid: int = 1) -> str:
    msg: dict[str, Any] = {"market_ticker": TICKER, "market_id": "9b0f6b43"}
    if yes is not None:
        msg["yes_dollars_fp"] = yes
    if no is not None:
        msg["no_dollars_fp"] = no
    return frame("orderbook_snapshot", msg, sid=sid, seq=seq)


def delta(seq: int, side: str, price: str, change: str, sid: int = 1) -> str:
    msg = {"market_ticker": TICKER, "price_dollars": price, "delta_fp": change, "side": side, "ts_ms": 1}
    return frame("orderbook_delta", msg, sid=sid, seq=seq)


def subscribed(sid: int, channel: str = "orderbook_delta", command_id: int = 1) -> str:
    return json.dumps({"id": command_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def decoder() -> tuple[KalshiDecoder, ListSink, Control]:
    sink, control = ListSink(), Control()
    return KalshiDecoder(sink, control=control), sink, control


def test_the_decoder_is_a_frame_decoder() -> None:
    assert isinstance(KalshiDecoder(ListSink()), FrameDecoder)


def test_a_snapshot_gives_the_same_books_as_rest_for_the_same_levels() -> None:
    dec, sink, _ = decoder()
    # The reference's REST body (kalshi.md 10): YES bids 0.46/0.47, NO bids 0.51/0.52.
    rest = json.loads((PAYLOADS / "orderbook_fp.json").read_text())
    fp = rest["orderbook_fp"]
    dec.feed(subscribed(1), T0)
    dec.feed(snapshot(1, fp["yes_dollars"], fp["no_dollars"]), T0)
    yes, no = parse_orderbook(rest, TICKER, timestamp=T0)
    assert (sink.books["kalshi", TICKER, "yes"].bids, sink.books["kalshi", TICKER, "yes"].asks) == (
        yes.bids,
        yes.asks,
    )
    assert (sink.books["kalshi", TICKER, "no"].bids, sink.books["kalshi", TICKER, "no"].asks) == (
        no.bids,
        no.asks,
    )
    assert sink.books["kalshi", TICKER, "yes"].source == "stream"
    assert sink.books["kalshi", TICKER, "yes"].timestamp == T0
    assert sink.of("live") == [(TICKER,)]


def test_an_empty_side_is_omitted_on_the_websocket() -> None:
    dec, sink, _ = decoder()
    dec.feed(snapshot(1, [["0.4000", "10.00"]], None), T0)
    assert sink.books["kalshi", TICKER, "yes"].asks == ()
    assert sink.books["kalshi", TICKER, "no"].bids == ()
    assert sink.books["kalshi", TICKER, "no"].asks[0].price == Decimal("0.6")


def test_deltas_change_sizes_delete_emptied_levels_and_ignore_a_cut_on_a_missing_level() -> None:
    dec, sink, _ = decoder()
    dec.feed(snapshot(1, [["0.4600", "300.00"]], [["0.5100", "15.50"]]), T0)
    dec.feed(delta(2, "yes", "0.4600", "-54.00"), T0)
    dec.feed(delta(3, "no", "0.5100", "-15.50"), T0)
    dec.feed(delta(4, "no", "0.2000", "-3.00"), T0)  # nothing rests there (kalshi.md 11.5: ignore)
    dec.feed(delta(5, "yes", "0.4700", "2.50"), T0)
    yes = sink.books["kalshi", TICKER, "yes"]
    assert [(lv.price, lv.size) for lv in yes.bids] == [
        (Decimal("0.4700"), Decimal("2.50")),
        (Decimal("0.4600"), Decimal("246.00")),
    ]
    assert yes.asks == ()
    assert next((lv.price, lv.size) for lv in sink.books["kalshi", TICKER, "no"].asks) == (
        Decimal("0.5300"),
        Decimal("2.50"),
    )
    assert sink.of("stale") == []
    assert sink.of("error") == []


prices = st.integers(min_value=1, max_value=99).map(lambda c: Decimal(c) / 100)
sizes = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=60, deadline=None)
@given(
    yes=st.dictionaries(prices, sizes, max_size=6),
    no=st.dictionaries(prices, sizes, max_size=6),
    changes=st.lists(st.tuples(st.sampled_from(["yes", "no"]), prices, sizes, st.booleans()), max_size=40),
)
def test_a_snapshot_and_any_deltas_give_the_book_rest_would_give_for_the_resulting_levels(
    yes: dict[Decimal, Decimal],
    no: dict[Decimal, Decimal],
    changes: list[tuple[str, Decimal, Decimal, bool]],
) -> None:
    dec, sink, _ = decoder()
    fmt = lambda side: [[f"{p:.4f}", f"{s:.2f}"] for p, s in sorted(side.items())]  # noqa: E731
    dec.feed(snapshot(1, fmt(yes), fmt(no)), T0)
    model = {"yes": dict(yes), "no": dict(no)}
    for seq, (side, price, size, cut) in enumerate(changes, start=2):
        change = -size if cut else size
        dec.feed(delta(seq, side, f"{price:.4f}", f"{change:.2f}"), T0)
        left = model[side].get(price, Decimal(0)) + change
        if left > 0:
            model[side][price] = left
        else:
            model[side].pop(price, None)
    want_yes, want_no = books_from_bids(
        TICKER, list(model["yes"].items()), list(model["no"].items()), timestamp=T0, source="stream"
    )
    assert sink.books["kalshi", TICKER, "yes"] == want_yes
    assert sink.books["kalshi", TICKER, "no"] == want_no


@pytest.mark.parametrize(("seq", "what"), [(4, "gap"), (2, "duplicate")])
def test_a_gap_or_a_repeat_marks_the_books_stale_asks_for_a_resync_and_a_new_snapshot_ends_it(
    seq: int, what: str
) -> None:
    dec, sink, control = decoder()
    dec.feed(subscribed(1), T0)
    dec.feed(snapshot(1, [["0.4000", "10.00"]], [["0.5000", "10.00"]]), T0)
    dec.feed(delta(2, "yes", "0.4000", "5.00"), T0)
    dec.feed(delta(seq, "yes", "0.4000", "1.00"), T0)
    [(markets, reason)] = sink.of("stale")
    assert markets == (TICKER,)
    assert what in reason
    assert "sid 1" in reason
    assert control.resyncs == [(1, (TICKER,), reason)]
    # Later frames of the broken subscription are ignored: the book keeps its last good state.
    dec.feed(delta(seq + 1, "yes", "0.4000", "100.00"), T0)
    assert sink.books["kalshi", TICKER, "yes"].bids[0].size == Decimal("15.00")
    # The resubscription's snapshot (new sid, seq from 1) makes the market whole again.
    dec.feed(subscribed(2, command_id=9), T0)
    dec.feed(snapshot(1, [["0.4100", "7.00"]], None, sid=2), T0)
    assert sink.of("live") == [(TICKER,), (TICKER,)]
    assert sink.books["kalshi", TICKER, "yes"].bids[0].price == Decimal("0.41")
    dec.feed(delta(2, "yes", "0.4100", "1.00", sid=2), T0)
    assert sink.books["kalshi", TICKER, "yes"].bids[0].size == Decimal("8.00")


def test_a_frame_that_is_not_json_is_a_typed_error_and_every_book_goes_stale() -> None:
    dec, sink, control = decoder()
    dec.feed(subscribed(1), T0)
    dec.feed(snapshot(1, [["0.4000", "10.00"]], None), T0)
    dec.feed('{"type": "broken', T0)
    [error] = sink.of("error")
    assert isinstance(error, InvalidResponse)
    assert sink.of("stale")[0][0] == (TICKER,)
    assert [sid for sid, _, _ in control.resyncs] == [1]


@pytest.mark.parametrize(
    "msg",
    [
        {"market_ticker": TICKER, "price_dollars": "1.2000", "delta_fp": "1.00", "side": "yes"},
        {"market_ticker": TICKER, "price_dollars": "0.5000", "delta_fp": "1e999999", "side": "yes"},
        {"market_ticker": TICKER, "price_dollars": "0.5000", "delta_fp": "x", "side": "yes"},
        {"market_ticker": TICKER, "price": 50, "delta": 1, "side": "yes"},  # removed integer fields
        {"market_ticker": TICKER, "price_dollars": "0.5000", "delta_fp": "1.00", "side": "maybe"},
    ],
)
def test_a_malformed_delta_is_reported_and_its_subscription_resynchronised(msg: dict[str, Any]) -> None:
    dec, sink, control = decoder()
    dec.feed(snapshot(1, [["0.4000", "10.00"]], None), T0)
    dec.feed(frame("orderbook_delta", msg, seq=2), T0)
    assert isinstance(sink.of("error")[0], InvalidResponse)
    assert sink.of("stale")[0][0] == (TICKER,)
    assert control.resyncs[0][0] == 1
    assert sink.books["kalshi", TICKER, "yes"].bids[0].size == Decimal("10.00")  # nothing half-applied


def test_deltas_before_a_snapshot_are_dropped() -> None:
    dec, sink, _ = decoder()
    dec.feed(delta(1, "yes", "0.4000", "5.00"), T0)
    assert sink.books == {}
    assert sink.of("error") == []


def test_a_reused_sid_after_a_reconnect_in_a_recording_marks_the_old_books_stale() -> None:
    dec, sink, _ = decoder()
    dec.feed(subscribed(1), T0)
    dec.feed(snapshot(1, [["0.4000", "10.00"]], None), T0)
    dec.feed(delta(2, "yes", "0.4000", "1.00"), T0)
    dec.feed(subscribed(1), T0)  # a new connection's first subscription
    assert sink.of("stale")[0][0] == (TICKER,)
    dec.feed(snapshot(1, [["0.3000", "1.00"]], None), T0)
    assert sink.of("live")[-1] == (TICKER,)
    assert sink.books["kalshi", TICKER, "yes"].bids[0].price == Decimal("0.3")


def test_a_user_order_frame_is_the_order_rest_returns() -> None:
    dec, sink, _ = decoder()
    rest = json.loads((PAYLOADS / "order_partial.json").read_text())["order"]
    ws = {k: v for k, v in rest.items() if k not in ("created_time", "last_update_time", "expiration_time")}
    ws["created_ts_ms"] = int(datetime(2026, 12, 5, 1, tzinfo=UTC).timestamp() * 1000)
    dec.feed(frame("user_order", ws, sid=5), T0)
    [order] = sink.of("order")
    assert order == parse_order(rest)
    assert order.filled_size == Decimal("4.00")
    assert order.fees == Decimal("0.069972")


def test_a_fill_frame_is_the_fill_rest_returns_and_intents_give_the_callers_terms() -> None:
    rest = json.loads((PAYLOADS / "fills.json").read_text())["fills"][0]
    ws = {
        "trade_id": rest["trade_id"],
        "order_id": rest["order_id"],
        "market_ticker": rest["ticker"],
        "is_taker": rest["is_taker"],
        "yes_price_dollars": rest["yes_price_dollars"],
        "count_fp": rest["count_fp"],
        "fee_cost": rest["fee_cost"],
        "post_position_fp": rest["count_fp"],
        "outcome_side": rest["outcome_side"],
        "book_side": rest["book_side"],
        "ts": 1764896400,
        "ts_ms": int(datetime.fromisoformat(rest["created_time"].replace("Z", "+00:00")).timestamp() * 1000),
    }
    sink = ListSink()
    KalshiDecoder(sink).feed(frame("fill", ws, sid=3), T0)
    assert sink.of("fill") == [parse_fill(rest)]
    # This fill is an ask (it adds NO): placed as "sell YES", it reads in those terms, as REST does.
    assert rest["book_side"] == "ask"
    intent = Intent("yes", Side.SELL)
    sink = ListSink()
    KalshiDecoder(sink, intents=lambda data: intent).feed(frame("fill", ws, sid=3), T0)
    assert sink.of("fill") == [parse_fill(rest, intent)]
    assert sink.of("fill")[0].side is Side.SELL


def test_lifecycle_frames_report_pause_determination_and_settlement() -> None:
    dec, sink, _ = decoder()
    frames = [
        {"market_ticker": TICKER, "event_type": "deactivated", "is_deactivated": True},
        {"market_ticker": TICKER, "event_type": "metadata_updated", "yes_sub_title": "NY"},
        {
            "market_ticker": TICKER,
            "event_type": "determined",
            "result": "yes",
            "settlement_value": "1.0000",
            "determination_ts": 1764896400,
        },
        {"market_ticker": TICKER, "event_type": "settled", "settled_ts": 1764896700},
    ]
    for seq, msg in enumerate(frames, start=1):
        dec.feed(frame("market_lifecycle_v2", msg, sid=7, seq=seq), T0)
    events = sink.of("market")
    assert [(e.status, e.winner, e.raw) for e in events] == [
        (MarketStatus.PAUSED, None, "deactivated"),
        (MarketStatus.RESOLVED, "yes", "determined"),
        (MarketStatus.RESOLVED, "yes", "settled"),
    ]
    assert events[1].timestamp == datetime.fromtimestamp(1764896400, UTC)
    dec.feed(frame("market_lifecycle_v2", frames[0], sid=7, seq=9), T0)
    assert "lifecycle sequence gap" in str(sink.of("error")[0])  # lost events are said, not hidden


def test_an_error_frame_maps_to_a_typed_error() -> None:
    dec, sink, control = decoder()
    dec.feed(json.dumps({"id": 4, "type": "error", "msg": {"code": 9, "msg": "Authentication required"}}), T0)
    [error] = sink.of("error")
    assert isinstance(error, AuthenticationError)
    assert error.code == "9"
    assert error.venue_message == "Authentication required"
    assert control.responses[0].id == 4


def test_unknown_types_and_keys_are_ignored() -> None:
    dec, sink, _ = decoder()
    dec.feed(frame("event_fee_update", {"event_ticker": "X", "fee_type_override": None}, seq=1), T0)
    dec.feed(frame("ticker", {"market_ticker": TICKER, "price_dollars": "", "yes_bid_dollars": "0.4500"}), T0)
    assert sink.of("error") == []
    assert dec.tickers[TICKER].last_price is None
    assert dec.tickers[TICKER].yes_bid == Decimal("0.45")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["0.5000", "-1.00", "yes"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
frame_types = st.sampled_from(
    [
        "orderbook_snapshot",
        "orderbook_delta",
        "ticker",
        "fill",
        "user_order",
        "market_lifecycle_v2",
        "subscribed",
        "unsubscribed",
        "ok",
        "error",
        "trade",
    ]
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "market_ticker": st.sampled_from([TICKER, "", 5]) | json_values,
        "ticker": st.sampled_from([TICKER]) | json_values,
        "price_dollars": json_values,
        "delta_fp": json_values,
        "side": st.sampled_from(["yes", "no"]) | json_values,
        "yes_dollars_fp": json_values,
        "no_dollars_fp": json_values,
        "event_type": st.sampled_from(["determined", "settled", "deactivated"]) | json_values,
        "code": json_values,
        "sid": json_values,
        "channel": json_values,
        "order_id": json_values,
        "book_side": st.sampled_from(["bid", "ask"]) | json_values,
        "count_fp": json_values,
        "yes_price_dollars": json_values,
        "ts_ms": json_values,
        "created_ts_ms": json_values,
    },
)
frames = st.fixed_dictionaries(
    {"type": frame_types | json_values},
    optional={
        "sid": json_values | st.integers(0, 3),
        "seq": json_values | st.integers(0, 5),
        "id": json_values,
        "msg": messages | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(frames, max_size=8))
def test_no_frame_whatever_its_content_makes_the_decoder_raise(items: list[dict[str, Any]]) -> None:
    dec, sink, _ = decoder()
    dec.feed(snapshot(1, [["0.4000", "10.00"]], [["0.5000", "10.00"]]), T0)
    for item in items:
        dec.feed(json.dumps(item), T0)
    for error in sink.of("error"):
        assert isinstance(error, ArbkitError)
    for key, book in sink.books.items():
        assert isinstance(book, OrderBook)
        assert key == book.key
