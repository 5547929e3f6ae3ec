"""PolymarketStream against the sandbox's stream over loopback: books, subscriptions, replay."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
from decimal import Decimal
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arbkit
from arbkit.config import Settings
from arbkit.errors import ArbkitError, NetworkError
from arbkit.models import Market, MarketStatus, OrderRequest, Outcome, Side, TimeInForce
from arbkit.streams import FeedState, FrameDecoder, MarketStream
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.stream import PolymarketStream

from .conftest import FED, KNICKS, NBA, ROCKETS
from .streaming import RecordingSink, levels, until, venue, wait_same_as_rest

D = Decimal

#: One step of order activity: (what, market, outcome, side, price in ticks from 0.30, size).
ACTION = st.tuples(
    st.sampled_from(["limit", "limit", "take", "cancel", "house"]),
    st.integers(0, 1),
    st.integers(0, 1),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(0, 30),
    st.integers(5, 60),
)


@pytest.mark.parametrize("max_assets", [200, 2], ids=["one-connection", "a-connection-per-market"])
def test_random_order_activity_streams_exactly_the_rest_books(
    sandbox: PolymarketSandbox, wallet: tuple[str, str], max_assets: int
) -> None:
    key, address = wallet
    for market in sandbox.engine.markets.values():
        for token in market.tokens:
            sandbox.give_tokens(address, token, 100_000)
    sandbox.add_account(address, 100_000)
    with venue(sandbox, key, max_assets=max_assets) as v:
        markets = sorted(v.markets, key=lambda m: m.id != NBA)
        assert wait_same_as_rest(v.sink, v.client, markets)
        placed: list[str] = []

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(ACTION, min_size=1, max_size=6))
        def activity(actions: list[tuple[str, int, int, Side, int, int]]) -> None:
            for what, m, o, side, ticks, size in actions:
                market = markets[m]
                tick = market.tick_size
                price = (D("0.30") + ticks * D("0.01")).quantize(tick)
                outcome = market.outcomes[o].id
                with contextlib.suppress(ArbkitError):  # a refused order changes nothing
                    if what == "cancel" and placed:
                        v.client.cancel_order(placed.pop(ticks % len(placed)))
                    elif what == "house":
                        low = D("0.30") + ticks * D("0.005")
                        v.sandbox.set_book(market.id, [[str(low), str(size)]], [[str(low + D("0.1")), "40"]])
                    elif what in ("limit", "take"):
                        tif = TimeInForce.GTC if what == "limit" else TimeInForce.IOC
                        if what == "take":
                            price = D("0.99") - tick if side is Side.BUY else tick
                        order = v.client.place_order(
                            OrderRequest(market, outcome, side, price, D(size), time_in_force=tif)
                        )
                        placed.append(order.id)
            assert wait_same_as_rest(v.sink, v.client, markets)

        activity()
        assert len(v.sandbox.engine.trades) >= 3  # the activity did trade
        # Every change passed the top-of-book and hash checks: nothing ever went stale.
        assert v.sink.stale_reasons() == []
        decoders = [shard.decoder for shard in v.stream._shards if shard.decoder is not None]
        assert all(book.hash_checked for d in decoders for book in d.books.values())
        assert sum(len(d.books) for d in decoders) == 4
        assert v.sink.book_calls > 4
        status = v.stream.status()
        assert (status.state, status.subscribed, status.reconnects) == (FeedState.LIVE, 2, 0)
        assert status.messages == len(v.sink.frames)


def test_a_market_subscribed_later_gets_its_snapshot_and_an_unsubscribed_one_goes_quiet(
    sandbox: PolymarketSandbox,
) -> None:
    with venue(sandbox, subscribe=False) as v:
        nba = next(m for m in v.markets if m.id == NBA)
        fed = next(m for m in v.markets if m.id == FED)
        v.stream.subscribe([nba])
        assert wait_same_as_rest(v.sink, v.client, [nba])
        assert v.stream.status().subscribed == 1
        v.stream.subscribe([fed, nba])  # idempotent for nba
        assert wait_same_as_rest(v.sink, v.client, [nba, fed])
        v.stream.unsubscribe([nba])
        assert until(lambda: not v.ws.subscribers(f"market:{NBA}"))
        before = v.sink.book_calls
        v.sandbox.set_book(NBA, [["0.20", "5"]], [["0.80", "5"]])
        v.sandbox.set_book(FED, [["0.100", "5"]], [["0.900", "5"]])
        assert wait_same_as_rest(v.sink, v.client, [fed])
        assert v.sink.book_calls == before + 2  # FED's two books only
        assert v.sink.stale_reasons() == ["unsubscribed"]
        assert NBA not in v.sink.live_markets
        assert levels(v.sink.books[("polymarket", NBA, KNICKS)]) != levels(v.client.order_book(nba, KNICKS))


def test_unsubscribing_and_subscribing_again_resubscribes_for_fresh_snapshots(
    sandbox: PolymarketSandbox,
) -> None:
    with venue(sandbox) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        snapshots = sum('"book"' in text for _, text, _ in v.sink.frames)
        v.stream.unsubscribe(v.markets)  # what the core's session does about a silent feed
        v.stream.subscribe(v.markets)
        assert v.sink.wait(lambda: sum('"book"' in text for _, text, _ in v.sink.frames) >= snapshots + 2)
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        # Stale either way: resubscribed in one go, or unsubscribed and subscribed apart.
        assert v.sink.stale_reasons() in (["resubscribed"], ["unsubscribed"])
        assert v.stream.status().reconnects == 0


def test_every_frame_is_recorded_and_replays_to_the_same_books(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.sandbox.set_book(NBA, [["0.41", "7"], ["0.42", "9"]], [["0.50", "3"]])
        v.sandbox.set_book(NBA, [["0.42", "9"]], [["0.49", "1"], ["0.50", "3"]])
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        frames = [text for connection, text, _ in v.sink.frames if connection == "market"]
        assert any('"price_change"' in f for f in frames)
        assert any('"book"' in f for f in frames)
        replayed = RecordingSink()
        decoder = PolymarketStream().decoder(replayed)  # no markets given: it follows every book
        assert isinstance(decoder, FrameDecoder)
        for _, text, at in v.sink.frames:
            decoder.feed(text, at)
        assert {k: levels(b) for k, b in replayed.books.items()} == {
            k: levels(b) for k, b in v.sink.books.items()
        }
        assert replayed.errors == []
        assert replayed.stale_reasons() == []


def test_trades_tick_changes_and_resolution_reach_the_sink(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    with venue(sandbox, wallet[0]) as v:
        nba = next(m for m in v.markets if m.id == NBA)
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.client.place_order(OrderRequest(nba, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="IOC"))
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert v.sink.wait(lambda: v.stream.last_trade_price(ROCKETS) is not None)
        assert v.stream.last_trade_price(KNICKS) == D("0.47")
        assert v.stream.last_trade_price(ROCKETS) == D("0.53")  # the complement's last trade
        tick = {"condition_id": NBA, "tick_size": "0.001"}
        answer = requests.post(v.http.url + "/_sandbox/tick-size", json=tick, timeout=5)
        assert answer.json() == {"ok": True}
        assert v.sink.wait(lambda: v.stream.tick_size(KNICKS) is not None)
        assert v.stream.tick_size(KNICKS) == D("0.001")
        v.sandbox.resolve(NBA, winner=KNICKS)
        assert v.sink.wait(lambda: bool(v.sink.markets))
        event = v.sink.markets[0]
        assert (event.market_id, event.status, event.winner) == (NBA, MarketStatus.RESOLVED, KNICKS)
        assert wait_same_as_rest(v.sink, v.client, v.markets)  # the emptied books
        assert v.sink.books[("polymarket", NBA, KNICKS)].bids == ()
        assert v.sink.stale_reasons() == []


def test_the_plugin_offers_the_stream_built_from_settings() -> None:
    assert "polymarket" in arbkit.plugins.streams()
    stream = arbkit.plugins.stream(
        "polymarket", Settings().with_venue("polymarket", ws_url="ws://127.0.0.1:9/ws")
    )
    assert isinstance(stream, MarketStream)
    assert isinstance(stream, PolymarketStream)
    assert stream.url == "ws://127.0.0.1:9/ws"
    assert stream.user is False
    assert stream.status().state is FeedState.CONNECTING
    stream.close()
    assert stream.status().state is FeedState.CLOSED


def test_the_stream_keeps_credentials_out_of_its_repr_and_errors(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    with venue(sandbox, wallet[0]) as v:
        credentials = v.client.api_credentials()
        assert v.ws.wait_subscribed(f"user:{credentials.api_key}")
        text = repr(v.stream) + repr(v.stream.status()) + "".join(str(e) for e, _ in v.sink.errors)
        for secret in (credentials.secret.reveal(), credentials.passphrase.reveal()):
            assert secret not in text


@pytest.mark.parametrize("text", ["{", "[1, 2]", '{"event_type": "book"}', "null"])
def test_the_sandbox_answers_garbage_without_dying(sandbox: PolymarketSandbox, text: str) -> None:
    from websockets.sync.client import connect

    with venue(sandbox) as v, connect(v.ws.url + "/ws/market") as ws:
        ws.send(text)
        ws.send("PING")
        replies = [ws.recv(timeout=5) for _ in range(2)]
        assert "PONG" in replies
        ws.send(json.dumps({"assets_ids": [KNICKS], "type": "market"}))
        books: Any = json.loads(ws.recv(timeout=5))
        assert books[0]["asset_id"] == KNICKS
        assert books[0]["event_type"] == "book"


@pytest.mark.slow
def test_the_standalone_sandbox_prints_its_stream_url_and_streams() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "arbkit_polymarket.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        url = lines[0].rsplit(" ", 1)[-1].strip()
        ws_url = lines[2].split("ws_url=", 1)[1].split()[0]
        client = PolymarketClient(base_url=url, gamma_url=url + "/gamma", data_url=url + "/data-api")
        stream = PolymarketStream(client=client, url=ws_url)
        sink = RecordingSink()
        stream.start(sink)
        markets = client.markets()
        stream.subscribe(markets)
        assert wait_same_as_rest(sink, client, markets)
        stream.close()
        client.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_an_unreachable_venue_is_retried_with_backoff_and_never_crashes() -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    market = Market("polymarket", "0x" + "12" * 32, "m", (Outcome("1", "Y"), Outcome("2", "N")), "open")
    stream = PolymarketStream(url=f"ws://127.0.0.1:{port}/ws", backoff_base=0.01, backoff_cap=0.05, seed=3)
    sink = RecordingSink()
    stream.start(sink)
    stream.subscribe([market])
    assert sink.wait(lambda: len(sink.errors) >= 3)
    assert all(isinstance(e, NetworkError) for e, _ in sink.errors)
    assert stream.status().state is FeedState.CONNECTING
    stream.close()
    assert stream.status().state is FeedState.CLOSED
    assert not any(t.name.startswith("polymarket-ws") and t.is_alive() for t in threading.enumerate())


def test_a_delayed_order_matched_during_a_read_is_streamed(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    sandbox.taker_delay = 0.05
    sandbox.engine.markets[NBA].seconds_delay = 3  # a sports taker delay (reference 5.7)
    clock = sandbox.clock
    with venue(sandbox, wallet[0]) as v:
        nba = next(m for m in v.markets if m.id == NBA)
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        order = v.client.place_order(
            OrderRequest(nba, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="IOC")
        )
        assert order.raw_status == "delayed"
        sandbox.clock = lambda: clock() + 1  # the delay has passed: the next request matches it
        book = v.client.order_book(nba, KNICKS)  # a GET
        assert book.asks[0].size == 70
        assert v.sink.wait(lambda: levels(v.sink.books[("polymarket", NBA, KNICKS)]) == levels(book))
