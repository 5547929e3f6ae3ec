"""KalshiStream against the Kalshi sandbox's stream over loopback: books, faults, auth, user channels.

Every fault comes from the shared toolkit through the sandbox's control API
(``/_sandbox/ws/faults``); after each one the stream must have said "stale", resynchronised
and ended live with the book REST reports.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from arbkit.errors import ArbkitError, AuthenticationError, ExchangeError, InvalidResponse
from arbkit.models import (
    Fill,
    Market,
    MarketStatus,
    Order,
    OrderBook,
    OrderRequest,
    Outcome,
    Side,
    TimeInForce,
)
from arbkit.sandbox import HttpError, SandboxServer, WsSandboxServer
from arbkit.streams import FeedState, MarketEvent
from arbkit.streams.books import BookStore
from arbkit.streams.recording import Recorder, from_ns, read_recording
from arbkit_kalshi.auth import KalshiSigner
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.parse_stream import KalshiDecoder
from arbkit_kalshi.sandbox import KalshiSandbox, example_scenario
from arbkit_kalshi.sandbox.stream import WS_PATH, serve_stream
from arbkit_kalshi.stream import WS_SIGN_PATH, KalshiStream

from .conftest import KEY_ID

NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"
HOU = "KXNBAGAME-26MAR31NYKHOU-HOU"
WAIT = 5.0


class WaitSink:
    """A FeedSink that records calls and lets a test wait for a condition (no sleeps)."""

    def __init__(self, forward: BookStore | None = None) -> None:
        self.cond = threading.Condition()
        self.books: dict[tuple[str, str], OrderBook] = {}
        self.calls: list[tuple[str, Any]] = []
        self.forward = forward

    def _add(self, kind: str, value: Any) -> None:
        with self.cond:
            self.calls.append((kind, value))
            self.cond.notify_all()

    def book(self, book: OrderBook) -> None:
        if self.forward is not None:
            self.forward.book(book)
        with self.cond:
            self.books[book.key] = book
        self._add("book", book.key)

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        if self.forward is not None:
            self.forward.stale(exchange, market_ids, reason)
        self._add("stale", (tuple(market_ids), reason))

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        if self.forward is not None:
            self.forward.live(exchange, market_ids)
        self._add("live", tuple(market_ids))

    def order(self, order: Order) -> None:
        self._add("order", order)

    def fill(self, fill: Fill) -> None:
        self._add("fill", fill)

    def market(self, event: MarketEvent) -> None:
        self._add("market", event)

    def error(self, exc: ArbkitError, operation: str) -> None:
        self._add("error", exc)

    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        self._add("frame", (connection, text, received_at))

    def of(self, kind: str) -> list[Any]:
        with self.cond:
            return [value for name, value in self.calls if name == kind]

    def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[KalshiSandbox, SandboxServer, WsSandboxServer]]:
    app = KalshiSandbox()
    with SandboxServer(app) as http, serve_stream(app) as ws:
        yield app, http, ws


@pytest.fixture
def app(venue: tuple[KalshiSandbox, SandboxServer, WsSandboxServer], public_pem: str) -> KalshiSandbox:
    sandbox, _, ws = venue
    ws.clear_faults()
    sandbox.load_scenario(example_scenario())
    sandbox.add_account(KEY_ID, public_pem, "1000")
    return sandbox


@pytest.fixture
def http(venue: tuple[KalshiSandbox, SandboxServer, WsSandboxServer], app: KalshiSandbox) -> str:
    return venue[1].url


@pytest.fixture
def ws(venue: tuple[KalshiSandbox, SandboxServer, WsSandboxServer], app: KalshiSandbox) -> WsSandboxServer:
    return venue[2]


@pytest.fixture
def client(http: str, private_pem: str) -> Iterator[KalshiClient]:
    with KalshiClient(
        base_url=http, api_key_id=KEY_ID, private_key=private_pem, rate_limit=None, timeout=5
    ) as kalshi:
        kalshi.transport.session.trust_env = False
        yield kalshi


def until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll a condition no sink call announces (the stream's own status)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.01)
    return True


def make_stream(ws: WsSandboxServer, pem: str, **options: Any) -> KalshiStream:
    fast: dict[str, Any] = {
        "proxy": None,
        "idle_probe_s": 0.3,
        "probe_timeout_s": 0.3,
        "backoff_s": 0.02,
        "max_backoff_s": 0.1,
        "ping_interval_s": None,
    }
    fast.update(options)
    return KalshiStream(url=ws.url + WS_PATH, api_key_id=KEY_ID, private_key=pem, **fast)


@pytest.fixture
def sink() -> WaitSink:
    return WaitSink()


@pytest.fixture
def stream(
    ws: WsSandboxServer, private_pem: str, client: KalshiClient, sink: WaitSink
) -> Iterator[KalshiStream]:
    feed = make_stream(ws, private_pem, intents=client.order_intent)
    feed.start(sink)
    yield feed
    feed.close()


@pytest.fixture
def markets(client: KalshiClient) -> dict[str, Market]:
    return {ticker: client.market(ticker) for ticker in (NYK, HOU)}


def levels(book: OrderBook) -> tuple[Any, Any]:
    return book.bids, book.asks


def books_match(client: KalshiClient, sink: WaitSink, stream: KalshiStream, market: Market) -> bool:
    """Whether the stream is live and both streamed books equal what REST reports now."""
    want = {o: levels(client.order_book(market, o)) for o in ("yes", "no")}

    def same() -> bool:
        got = {o: sink.books.get(("kalshi", market.id, o)) for o in ("yes", "no")}
        return stream.status().state is FeedState.LIVE and all(
            b is not None and levels(b) == want[o] for o, b in got.items()
        )

    return sink.wait(same)


def fault(http: str, **body: Any) -> None:
    session = requests.Session()
    session.trust_env = False
    answer = session.post(http + "/_sandbox/stream/faults", json=body, timeout=5)
    assert answer.status_code == 201, answer.text


def test_a_subscribed_market_goes_live_with_the_rest_book(
    stream: KalshiStream, sink: WaitSink, client: KalshiClient, markets: dict[str, Market]
) -> None:
    stream.subscribe(list(markets.values()))
    for market in markets.values():
        assert books_match(client, sink, stream, market)
    assert stream.status().subscribed == 2
    rest = client.order_book(markets[NYK], "yes")
    assert sink.wait(lambda: stream.ticker(NYK) is not None)
    ticker = stream.ticker(NYK)
    assert ticker is not None
    assert rest.best_bid is not None
    assert rest.best_ask is not None
    assert (ticker.yes_bid, ticker.yes_ask) == (rest.best_bid.price, rest.best_ask.price)
    assert sink.of("frame"), "every raw frame reaches the sink for recording"
    assert sink.of("error") == []


book_ops = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.sampled_from(["yes", "no"]), st.integers(30, 70), st.integers(1, 30)),
        st.tuples(st.just("cancel"), st.integers(0, 10)),
        st.tuples(st.just("house"), st.integers(30, 48), st.integers(52, 70), st.integers(1, 500)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=book_ops)
def test_snapshot_then_deltas_reproduce_the_rest_book_after_any_order_activity(
    app: KalshiSandbox,
    stream: KalshiStream,
    sink: WaitSink,
    client: KalshiClient,
    markets: dict[str, Market],
    public_pem: str,
    ops: list[tuple[Any, ...]],
) -> None:
    market = markets[NYK]
    stream.subscribe([market])
    placed: list[str] = []
    for op in ops:
        if op[0] == "buy":
            _, outcome, cents, size = op
            order = client.place_order(
                OrderRequest(market, outcome, Side.BUY, Decimal(cents) / 100, Decimal(size))
            )
            placed.append(order.id)
        elif op[0] == "cancel" and placed:
            order_id = placed[op[1] % len(placed)]
            if client.get_order(order_id).status.value == "open":
                client.cancel_order(order_id)
        elif op[0] == "house":
            _, yes_bid, yes_ask, size = op
            # A house level crossing our resting orders is refused after the old levels went:
            # a change the stream must report all the same.
            with contextlib.suppress(HttpError):
                app.set_book(
                    NYK, yes_bids=[[f"0.{yes_bid}", str(size)]], no_bids=[[f"0.{100 - yes_ask}", "7"]]
                )
    assert books_match(client, sink, stream, market)
    assert sink.of("stale") == []
    # Reset for the next example: the stream stays connected across scenario loads.
    app.load_scenario(example_scenario())
    app.add_account(KEY_ID, public_pem, "1000")


@pytest.mark.parametrize("kind", ["gap", "duplicate", "bad_frame"])
def test_a_broken_sequence_or_frame_marks_the_book_stale_then_resyncs_it_live(
    kind: str,
    app: KalshiSandbox,
    http: str,
    stream: KalshiStream,
    sink: WaitSink,
    client: KalshiClient,
    markets: dict[str, Market],
) -> None:
    market = markets[NYK]
    stream.subscribe([market])
    assert books_match(client, sink, stream, market)
    fault(http, kind=kind, topic=f"orderbook:{NYK}")
    app.set_book(NYK, yes_bids=[["0.40", "10"]], no_bids=[["0.55", "10"]])
    app.set_book(NYK, yes_bids=[["0.41", "11"]], no_bids=[["0.56", "12"]])
    assert sink.wait(lambda: any(NYK in m for m, _ in sink.of("stale")))
    assert books_match(client, sink, stream, market)
    reasons = " ".join(r for _, r in sink.of("stale"))
    expected = {"gap": "gap", "duplicate": "duplicate", "bad_frame": "unreadable frame"}[kind]
    assert expected in reasons
    if kind == "bad_frame":
        assert any(isinstance(e, InvalidResponse) for e in sink.of("error"))
    stale_at = next(i for i, (k, _) in enumerate(sink.calls) if k == "stale")
    assert any(k == "live" for k, _ in sink.calls[stale_at:]), "live comes after stale"


@pytest.mark.parametrize(("kind", "reason"), [("drop", "disconnected"), ("freeze", "silent")])
def test_a_dropped_or_frozen_connection_goes_stale_reconnects_and_ends_live(
    kind: str,
    reason: str,
    app: KalshiSandbox,
    http: str,
    ws: WsSandboxServer,
    stream: KalshiStream,
    sink: WaitSink,
    client: KalshiClient,
    markets: dict[str, Market],
) -> None:
    market = markets[NYK]
    stream.subscribe([market])
    assert books_match(client, sink, stream, market)
    fault(http, kind=kind, now=True)
    assert sink.wait(lambda: any(m == () and reason in r for m, r in sink.of("stale")))
    app.set_book(NYK, yes_bids=[["0.30", "3"]], no_bids=[["0.60", "4"]])  # changed while away
    assert books_match(client, sink, stream, market)
    assert stream.status().reconnects >= 1
    ws.clear_faults()


def test_a_bad_signature_is_refused_at_the_handshake(
    ws: WsSandboxServer, sink: WaitSink, other_key: rsa.RSAPrivateKey, private_pem: str
) -> None:
    stranger = KalshiSigner(KEY_ID, other_key)  # our key id, somebody else's key
    with pytest.raises(InvalidStatus) as refused:
        connect(ws.url + WS_PATH, additional_headers=stranger.headers("GET", WS_SIGN_PATH), proxy=None)
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(ws.url + WS_PATH, proxy=None)  # no headers at all
    pem = other_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    feed = make_stream(ws, pem)
    feed.start(sink)
    try:
        assert sink.wait(lambda: any(isinstance(e, AuthenticationError) for e in sink.of("error")))
        status = feed.status()
        assert status.state is not FeedState.LIVE
        assert "401" in status.reason
        assert pem not in repr(feed)
        assert all(pem not in str(e) for e in sink.of("error"))
    finally:
        feed.close()
    assert feed.status().state is FeedState.CLOSED


def test_own_fills_and_orders_arrive_as_rest_reports_them(
    stream: KalshiStream, sink: WaitSink, client: KalshiClient, markets: dict[str, Market]
) -> None:
    market = markets[NYK]
    stream.subscribe([market])
    assert books_match(client, sink, stream, market)
    # Takes the house's 80 at 0.48, rests 20 at 0.49; then sells 30 YES back into the 0.45 bid.
    bought = client.place_order(OrderRequest(market, "yes", Side.BUY, Decimal("0.49"), Decimal("100")))
    sold = client.place_order(
        OrderRequest(market, "yes", Side.SELL, Decimal("0.45"), Decimal("30"), time_in_force=TimeInForce.IOC)
    )
    for order in (bought, sold):
        rest = client.get_order(order.id)
        assert sink.wait(lambda rest=rest: any(o == rest for o in sink.of("order"))), rest
        rest_fills = sorted(client.fills(order_id=order.id), key=lambda f: str(f.fill_id))
        assert sink.wait(
            lambda rest_fills=rest_fills, order=order: (
                sorted((f for f in sink.of("fill") if f.order_id == order.id), key=lambda f: str(f.fill_id))
                == rest_fills
            )
        )
    assert next(o for o in sink.of("order") if o.id == sold.id).side is Side.SELL
    assert books_match(client, sink, stream, market)


def test_settlement_arrives_on_the_lifecycle_channel(
    app: KalshiSandbox, stream: KalshiStream, sink: WaitSink, client: KalshiClient, markets: dict[str, Market]
) -> None:
    stream.subscribe([markets[NYK]])
    assert books_match(client, sink, stream, markets[NYK])
    app.set_status(HOU, "inactive")
    app.resolve(NYK, "yes")
    assert sink.wait(lambda: any(e.raw == "settled" for e in sink.of("market")))
    events = [(e.market_id, e.status, e.winner, e.raw) for e in sink.of("market")]
    assert (HOU, MarketStatus.PAUSED, None, "deactivated") in events
    assert (NYK, MarketStatus.RESOLVED, "yes", "determined") in events
    assert (NYK, MarketStatus.RESOLVED, "yes", "settled") in events


def test_unsubscribe_stops_a_market_and_the_feed_stays_live(
    app: KalshiSandbox,
    stream: KalshiStream,
    sink: WaitSink,
    client: KalshiClient,
    markets: dict[str, Market],
    ws: WsSandboxServer,
) -> None:
    stream.subscribe(list(markets.values()))  # one subscription for both
    for market in markets.values():
        assert books_match(client, sink, stream, market)
    stream.unsubscribe([markets[HOU]])
    assert until(lambda: not ws.subscribers(f"orderbook:{HOU}"))  # the toolkit announces no unsubscribe
    assert ws.subscribers(f"orderbook:{NYK}")
    before = len([k for k in sink.of("book") if k[0] == HOU])
    app.set_book(HOU, yes_bids=[["0.33", "3"]], no_bids=[["0.60", "3"]])
    app.set_book(NYK, yes_bids=[["0.33", "3"]], no_bids=[["0.60", "3"]])
    assert books_match(client, sink, stream, markets[NYK])  # NYK's change arrived after HOU's
    assert len([k for k in sink.of("book") if k[0] == HOU]) == before
    assert stream.status().state is FeedState.LIVE
    assert stream.status().subscribed == 1


def _raw(ws: WsSandboxServer, private_pem: str) -> Any:
    signer = KalshiSigner(KEY_ID, private_pem)
    return connect(ws.url + WS_PATH, additional_headers=signer.headers("GET", WS_SIGN_PATH), proxy=None)


def test_the_sandbox_answers_commands_as_the_asyncapi_says(ws: WsSandboxServer, private_pem: str) -> None:
    with _raw(ws, private_pem) as conn:

        def ask(body: dict[str, Any]) -> dict[str, Any]:
            conn.send(json.dumps(body))
            answer: dict[str, Any] = json.loads(conn.recv(timeout=WAIT))
            return answer

        assert (
            ask({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}})["msg"]["code"]
            == 14
        )
        assert ask({"id": 2, "cmd": "subscribe", "params": {"channels": ["ticker_v2"]}})["msg"]["code"] == 8
        assert ask({"id": 3, "cmd": "subscribe"})["msg"]["code"] == 2
        assert ask({"id": 4, "cmd": "unsubscribe", "params": {"sids": [99]}})["msg"]["code"] == 7
        assert ask({"id": 5, "cmd": "frobnicate"})["msg"]["code"] == 5
        assert ask({"id": 6, "cmd": "subscribe", "params": {"channels": ["fill"]}}) == {
            "id": 6,
            "type": "subscribed",
            "msg": {"channel": "fill", "sid": 1},
        }
        sub = ask(
            {"id": 7, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_ticker": NYK}}
        )
        assert sub["type"] == "subscribed"
        snapshot = json.loads(conn.recv(timeout=WAIT))
        assert snapshot["type"] == "orderbook_snapshot"
        assert (snapshot["sid"], snapshot["seq"]) == (2, 1)
        assert snapshot["msg"]["yes_dollars_fp"][-1] == ["0.4500", "100.00"]  # ascending, best last
        listed = ask({"id": 8, "cmd": "list_subscriptions"})
        assert listed["type"] == "ok"
        assert {"channel": "orderbook_delta", "sid": 2} in listed["msg"]
        again = ask(
            {
                "id": 9,
                "cmd": "update_subscription",
                "params": {"sid": 2, "action": "get_snapshot", "market_tickers": [NYK]},
            }
        )
        assert (again["type"], again["id"], again["seq"]) == ("orderbook_snapshot", 9, 2)
        done = json.loads(conn.recv(timeout=WAIT))
        assert (done["type"], done["id"], done["msg"]) == ("ok", 9, {"market_tickers": [NYK]})
        gone = ask({"id": 10, "cmd": "unsubscribe", "params": {"sids": [2]}})
        assert (gone["type"], gone["sid"]) == ("unsubscribed", 2)


def _both(channel: str) -> dict[str, Any]:
    return {"channels": [channel], "market_ticker": NYK, "market_tickers": [NYK]}


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("not json", 1),
        ("[1, 2]", 1),
        ({"id": "seven", "cmd": "subscribe"}, 1),
        ({"id": 1, "cmd": "subscribe", "params": []}, 2),
        ({"id": 2, "cmd": "subscribe", "params": {"channels": "orderbook_delta"}}, 3),
        ({"id": 3, "cmd": "subscribe", "params": {"channels": [["ticker"]]}}, 8),
        ({"id": 4, "cmd": "subscribe", "params": {"channels": ["ticker"], "market_tickers": [5]}}, 11),
        ({"id": 5, "cmd": "subscribe", "params": _both("fill")}, 11),
        (
            {
                "id": 6,
                "cmd": "subscribe",
                "params": {"channels": ["market_lifecycle_v2"], "market_ticker": NYK},
            },
            11,
        ),
        ({"id": 7, "cmd": "unsubscribe", "params": {"sids": "x"}}, 4),
        ({"id": 8, "cmd": "update_subscription", "params": {"sids": [1, 2], "action": "add_markets"}}, 12),
        ({"id": 9, "cmd": "update_subscription", "params": {"sid": 99, "action": "add_markets"}}, 7),
    ],
)
def test_a_malformed_command_gets_its_error_code_and_the_connection_stays_usable(
    ws: WsSandboxServer, private_pem: str, command: str | dict[str, Any], code: int
) -> None:
    with _raw(ws, private_pem) as conn:
        conn.send(command if isinstance(command, str) else json.dumps(command))
        answer = json.loads(conn.recv(timeout=WAIT))
        assert (answer["type"], answer["msg"]["code"]) == ("error", code), answer
        conn.send(json.dumps({"id": 50, "cmd": "list_subscriptions"}))
        assert json.loads(conn.recv(timeout=WAIT)) == {"id": 50, "type": "ok", "msg": []}


def test_the_sandbox_reports_the_no_side_in_yes_prices_when_asked(
    app: KalshiSandbox, ws: WsSandboxServer, private_pem: str
) -> None:
    with _raw(ws, private_pem) as conn:
        snapshots = []
        for command_id, flag in ((1, False), (2, True)):
            params = {"channels": ["orderbook_delta"], "market_ticker": NYK, "use_yes_price": flag}
            conn.send(json.dumps({"id": command_id, "cmd": "subscribe", "params": params}))
            assert json.loads(conn.recv(timeout=WAIT))["type"] == "subscribed"
            snapshots.append(json.loads(conn.recv(timeout=WAIT))["msg"])
        plain, yes_terms = snapshots
        assert plain["no_dollars_fp"] == [["0.5100", "200.00"], ["0.5200", "80.00"]]
        assert yes_terms["no_dollars_fp"] == [["0.4800", "80.00"], ["0.4900", "200.00"]]
        app.set_book(
            NYK, yes_bids=[["0.45", "100"], ["0.44", "250"]], no_bids=[["0.52", "81"], ["0.51", "200"]]
        )
        deltas = [json.loads(conn.recv(timeout=WAIT)) for _ in range(2)]
        prices = {d["sid"]: (d["msg"]["side"], d["msg"]["price_dollars"]) for d in deltas}
        assert prices == {1: ("no", "0.5200"), 2: ("no", "0.4800")}


def test_stream_faults_are_listed_and_cleared_on_the_control_api(http: str) -> None:
    session = requests.Session()
    session.trust_env = False
    fault(http, kind="gap", topic="orderbook:*", times=2)
    listed = session.get(http + "/_sandbox/stream/faults", timeout=5).json()["faults"]
    assert [(f["kind"], f["times"]) for f in listed] == [("gap", 2)]
    assert session.delete(http + "/_sandbox/stream/faults", timeout=5).json() == {"faults": []}
    bad = session.post(http + "/_sandbox/stream/faults", json={"kind": "explode"}, timeout=5)
    assert bad.status_code == 400
    assert "connections" in session.get(http + "/_sandbox/stream", timeout=5).json()


def test_the_stream_needs_credentials_and_is_registered_as_a_plugin() -> None:
    import arbkit.plugins
    from arbkit.errors import ConfigError

    assert "kalshi" in arbkit.plugins.streams()
    keyless = arbkit.plugins.stream("kalshi")  # a replay decodes without credentials
    assert not keyless.can_connect  # type: ignore[attr-defined]
    assert isinstance(keyless.decoder(WaitSink()), KalshiDecoder)
    with pytest.raises(ConfigError, match="KALSHI_API_KEY"):
        keyless.start(WaitSink())
    status = keyless.status()
    assert (status.state, status.reason) == (FeedState.CLOSED, "not started: no Kalshi credentials")
    with pytest.raises(ConfigError):
        arbkit.plugins.stream("kalshi", api_key_id="k")  # a key id without its key
    with pytest.raises(ConfigError, match="unknown options"):
        arbkit.plugins.stream("kalshi", api_key_id="k", private_key="x", colour="red")


def test_a_recording_replays_to_the_same_books_through_the_plugins_keyless_decoder(
    app: KalshiSandbox,
    ws: WsSandboxServer,
    private_pem: str,
    client: KalshiClient,
    markets: dict[str, Market],
    tmp_path: Path,
) -> None:
    sink = WaitSink()
    path = tmp_path / "kalshi.jsonl.gz"
    recorder = Recorder(path, venues=["kalshi"], inner=sink)
    feed = make_stream(ws, private_pem)
    feed.start(recorder)
    try:
        feed.subscribe(list(markets.values()))
        assert books_match(client, sink, feed, markets[NYK])
        client.place_order(OrderRequest(markets[NYK], "yes", Side.BUY, Decimal("0.46"), Decimal("12")))
        app.set_book(HOU, yes_bids=[["0.50", "5"]], no_bids=[["0.45", "6"]])
        assert books_match(client, sink, feed, markets[HOU])
        assert books_match(client, sink, feed, markets[NYK])
    finally:
        feed.close()
        recorder.close()
    replayed = WaitSink()
    import arbkit.plugins

    decoder = arbkit.plugins.stream("kalshi").decoder(replayed)  # no credentials needed
    _, lines, problems = read_recording(path)
    for line in lines:
        if line.msg:
            assert line.conn == "market"  # one connection carries every channel
            decoder.feed(line.msg, from_ns(line.t))
    assert problems == []
    assert replayed.books == sink.books  # timestamps included: a replay is deterministic
    assert replayed.of("live") == sink.of("live")
    assert [f.fill_id for f in replayed.of("fill")] == [f.fill_id for f in sink.of("fill")]


def test_a_market_the_venue_will_not_stream_is_reported_and_does_not_hold_the_feed(
    stream: KalshiStream, sink: WaitSink, client: KalshiClient, markets: dict[str, Market]
) -> None:
    ghost = Market(
        "kalshi", "KXNOPE-26DEC05-X", "No such market", (Outcome("yes", "Yes"), Outcome("no", "No")), "open"
    )
    stream.subscribe([markets[NYK], ghost])
    assert sink.wait(lambda: any(isinstance(e, ExchangeError) and e.code == "16" for e in sink.of("error")))
    assert books_match(client, sink, stream, markets[NYK])
    assert ("kalshi", ghost.id, "yes") not in sink.books


class _Watch(BookStore):
    """The core's BookStore, noting any book still usable right after its market was reported stale."""

    def __init__(self) -> None:
        super().__init__(default_cadence=None)
        self.violations: list[str] = []

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        super().stale(exchange, market_ids, reason)
        hit = [k for k in self.books() if k[0] == exchange and (not market_ids or k[1] in market_ids)]
        self.violations.extend(f"{k} usable after stale" for k in hit)


def test_the_core_book_store_never_offers_a_book_between_stale_and_its_fresh_snapshot(
    app: KalshiSandbox,
    http: str,
    ws: WsSandboxServer,
    private_pem: str,
    client: KalshiClient,
    markets: dict[str, Market],
) -> None:
    store = _Watch()
    sink = WaitSink(forward=store)
    feed = make_stream(ws, private_pem)
    feed.start(sink)
    try:
        feed.subscribe(list(markets.values()))
        keys = list(client.order_books(list(markets.values())))
        for market in markets.values():
            assert books_match(client, sink, feed, market)
        assert all(store.usable(k) for k in keys)
        for step, (kind, now) in enumerate([("gap", False), ("bad_frame", False), ("drop", True)]):
            stale = len(sink.of("stale"))
            fault(http, kind=kind, topic=f"orderbook:{NYK}", now=now)
            app.set_book(NYK, yes_bids=[["0.40", str(10 + step)]], no_bids=[["0.55", "10"]])
            app.set_book(NYK, yes_bids=[["0.41", str(11 + step)]], no_bids=[["0.56", "12"]])
            assert sink.wait(lambda stale=stale: len(sink.of("stale")) > stale)
            for market in markets.values():
                assert books_match(client, sink, feed, market)
            assert sink.wait(lambda: all(store.usable(k) for k in keys))
        assert store.violations == []
        rest = client.order_books(list(markets.values()))
        assert {k: levels(store.books()[k]) for k in keys} == {k: levels(b) for k, b in rest.items()}
    finally:
        feed.close()
        store.close()


def test_a_client_that_reads_too_slowly_is_dropped_and_comes_back_whole(
    public_pem: str, private_pem: str
) -> None:
    app = KalshiSandbox()
    app.load_scenario(example_scenario())
    app.add_account(KEY_ID, public_pem, "1000")
    sink = WaitSink()
    with SandboxServer(app) as http, serve_stream(app, send_queue=8) as server:
        feed = make_stream(server, private_pem, ticker=False, user=False, lifecycle=False)
        with KalshiClient(base_url=http.url, rate_limit=None, timeout=5) as client:
            client.transport.session.trust_env = False
            market = client.market(NYK)
            feed.start(sink)
            try:
                feed.subscribe([market])
                assert books_match(client, sink, feed, market)
                fault(http.url, kind="slow_consumer", now=True)
                for size in range(1, 12):  # more frames than the queue holds
                    app.set_book(NYK, yes_bids=[["0.40", str(size)]], no_bids=[["0.55", "5"]])
                assert sink.wait(lambda: any(m == () and "disconnected" in r for m, r in sink.of("stale")))
                assert books_match(client, sink, feed, market)
                assert feed.status().reconnects == 1
            finally:
                feed.close()


def test_the_sandbox_command_line_prints_a_stream_url_that_serves(private_pem: str, public_pem: str) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "arbkit_kalshi.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        rest_line = proc.stdout.readline()
        ws_line = proc.stdout.readline()
        assert "ws_url=" in ws_line, ws_line
        ws_url = ws_line.split("ws_url=", 1)[1].split()[0]
        rest_url = rest_line.split(" on ", 1)[1].split()[0]
        session = requests.Session()
        session.trust_env = False
        base = rest_url.removesuffix("/trade-api/v2")
        added = session.post(
            base + "/_sandbox/accounts",
            json={"key_id": KEY_ID, "public_key_pem": public_pem, "balance": "10"},
            timeout=5,
        )
        assert added.status_code == 201
        sink = WaitSink()
        feed = KalshiStream(url=ws_url, api_key_id=KEY_ID, private_key=private_pem, proxy=None)
        with KalshiClient(base_url=rest_url, rate_limit=None, timeout=5) as client:
            client.transport.session.trust_env = False
            market = client.market(NYK)
            feed.start(sink)
            try:
                feed.subscribe([market])
                assert books_match(client, sink, feed, market)
            finally:
                feed.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_a_replaced_level_never_shows_beside_its_replacement_between_deltas(
    app: KalshiSandbox, stream: KalshiStream, sink: WaitSink, client: KalshiClient, markets: dict[str, Market]
) -> None:
    market = markets[NYK]
    stream.subscribe([market])
    assert books_match(client, sink, stream, market)
    before = {lv.price for lv in sink.books["kalshi", NYK, "yes"].asks} | {
        lv.price for lv in sink.books["kalshi", NYK, "yes"].bids
    }
    seen: list[OrderBook] = []
    original = sink.book

    def keep(book: OrderBook) -> None:
        if book.key == ("kalshi", NYK, "yes"):
            seen.append(book)
        original(book)

    sink.book = keep  # type: ignore[method-assign]
    # Every level moves: YES bids 0.45/0.44 -> 0.47/0.46, NO bids 0.52/0.51 -> 0.50 (YES ask 0.50).
    app.set_book(NYK, yes_bids=[["0.47", "10"], ["0.46", "10"]], no_bids=[["0.50", "10"]])
    assert books_match(client, sink, stream, market)
    after = {lv.price for lv in seen[-1].asks} | {lv.price for lv in seen[-1].bids}
    gone, added = before - after, after - before
    assert gone
    assert added
    for book in seen:
        prices = {lv.price for lv in book.asks} | {lv.price for lv in book.bids}
        assert not (prices & gone and prices & added), book


def test_the_venues_pings_show_as_traffic_in_the_status_without_any_data(
    public_pem: str, private_pem: str
) -> None:
    app = KalshiSandbox()
    app.load_scenario(example_scenario())
    app.add_account(KEY_ID, public_pem, "1000")
    sink = WaitSink()
    with serve_stream(app, ping_interval=0.05) as server:
        feed = make_stream(server, private_pem, ticker=False, user=False, lifecycle=False, idle_probe_s=30)
        feed.start(sink)
        try:
            assert until(lambda: feed.status().last_message_at is not None)
            first = feed.status().last_message_at
            assert first is not None
            assert until(lambda: (feed.status().last_message_at or first) > first)
            assert sink.of("frame") == []  # no frame was sent: only pings
            assert feed.status().messages == 0
        finally:
            feed.close()


class _Flaky(WaitSink):
    """A sink whose first book() raises, as a buggy consumer might."""

    def __init__(self) -> None:
        super().__init__()
        self.raised = False

    def book(self, book: OrderBook) -> None:
        if not self.raised:
            self.raised = True
            raise RuntimeError("consumer bug")
        super().book(book)


def test_a_sink_that_raises_does_not_kill_the_stream(
    ws: WsSandboxServer, private_pem: str, client: KalshiClient, markets: dict[str, Market]
) -> None:
    sink = _Flaky()
    feed = make_stream(ws, private_pem)
    feed.start(sink)
    try:
        feed.subscribe([markets[NYK]])
        assert books_match(client, sink, feed, markets[NYK])
        assert sink.raised
        assert any("internal error: RuntimeError" in str(e) for e in sink.of("error"))
        assert feed.status().reconnects == 1
    finally:
        feed.close()


def test_an_ed25519_key_streams_too(app: KalshiSandbox, ws: WsSandboxServer, client: KalshiClient) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app.add_account("ed-key", public.decode(), "5")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    sink = WaitSink()
    feed = KalshiStream(
        url=ws.url + WS_PATH, api_key_id="ed-key", private_key=pem, proxy=None, ping_interval_s=None
    )
    feed.start(sink)
    try:
        market = client.market(NYK)
        feed.subscribe([market])
        assert books_match(client, sink, feed, market)
    finally:
        feed.close()


def test_the_handshake_signature_never_reaches_the_logs_even_at_debug(
    ws: WsSandboxServer, private_pem: str, client: KalshiClient, markets: dict[str, Market], caplog: Any
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    sink = WaitSink()
    feed = make_stream(ws, private_pem)
    feed.start(sink)
    try:
        feed.subscribe([markets[NYK]])
        assert books_match(client, sink, feed, markets[NYK])
    finally:
        feed.close()
    # The client's records only: the sandbox's server side (the shared toolkit) is another matter.
    ours = [r for r in caplog.records if not r.name.startswith("websockets.server")]
    text = "\n".join(r.getMessage() for r in ours).lower()
    assert "kalshi-access-signature" not in text
    assert "kalshi-access-key" not in text


def test_a_delta_lost_just_before_the_market_goes_quiet_is_found_by_a_snapshot(
    app: KalshiSandbox,
    http: str,
    stream: KalshiStream,
    sink: WaitSink,
    client: KalshiClient,
    markets: dict[str, Market],
) -> None:
    market = markets[NYK]
    stream.subscribe([market])
    assert books_match(client, sink, stream, market)
    fault(http, kind="gap", topic=f"orderbook:{NYK}")
    # One delta (a size change), lost; then nothing more on the market (its ticker still talks).
    app.set_book(NYK, yes_bids=[["0.45", "101"], ["0.44", "250"]], no_bids=[["0.52", "80"], ["0.51", "200"]])
    assert sink.wait(lambda: any(NYK in m and "gap" in r for m, r in sink.of("stale")))
    assert books_match(client, sink, stream, market)
    assert sink.books["kalshi", NYK, "yes"].bids[0].size == Decimal("101")
