"""A recording of the Polymarket sandbox's stream replays through the real decoder, twice alike."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arbkit.engine.fees import QuadraticFee
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.models import Market, OrderBook, Outcome
from arbkit.plugins import stream as plugin_stream
from arbkit.sandbox import SandboxServer
from arbkit.streams import BookStore, Detection, FeedSink, FrameDecoder, StreamingEngine
from arbkit.streams.recording import Recorder, replay
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.stream import serve_stream
from arbkit_polymarket.stream import PolymarketStream
from tests.polymarket.conftest import KNICKS, NBA, ROCKETS, SCENARIO

D = Decimal
STATIC = "static"
STATIC_MARKET = Market(
    exchange=STATIC,
    id="S",
    title="Knicks vs. Rockets",
    outcomes=[Outcome("yes", "Knicks"), Outcome("no", "Rockets")],
    status="open",
    fees=QuadraticFee(rate=D("0.07")),
)


class StaticDecoder:
    """The other venue of the match: fixed books, frames ``[outcome, ask]`` or ``"live"``."""

    def __init__(self, sink: FeedSink) -> None:
        self.sink = sink

    def feed(self, text: str, received_at: datetime) -> None:
        data = json.loads(text)
        if data == "live":
            self.sink.live(STATIC, [])
        else:
            book = OrderBook.build(STATIC, "S", data[0], asks=[(data[1], "1000")], timestamp=received_at)
            self.sink.book(book)


def decoders(venue: str, sink: FeedSink, conn: str) -> FrameDecoder:
    if venue == STATIC:
        return StaticDecoder(sink)
    return plugin_stream(venue).decoder(sink, conn)  # the decoder the live stream used


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """Three times the sandbox's Knicks ask drops to cross the static NO at 0.50, then recovers."""
    sandbox = PolymarketSandbox()
    sandbox.load_scenario(json.loads(SCENARIO.read_text(), parse_float=Decimal))
    sandbox.set_book(NBA, [["0.30", "200"]], [["0.60", "200"]])  # the scenario's 0.47 would cross
    path = tmp_path / "sandbox.jsonl.gz"
    with SandboxServer(sandbox) as http, serve_stream(sandbox) as ws:
        client = PolymarketClient(base_url=http.url, gamma_url=http.url + "/gamma", max_retries=0)
        poly = next(m for m in client.markets() if m.id == NBA)
        match = MarketMatch(
            method="explicit",
            groups=[
                OutcomeGroup("Knicks", [OutcomeRef(poly, KNICKS), OutcomeRef(STATIC_MARKET, "yes")]),
                OutcomeGroup("Rockets", [OutcomeRef(poly, ROCKETS), OutcomeRef(STATIC_MARKET, "no")]),
            ],
            confidence=D(1),
            title="Knicks vs. Rockets",
        )
        store = BookStore()
        seen = threading.Event()

        def found(detection: Detection) -> None:
            seen.set()

        engine = StreamingEngine(store, [match], bet_amount=D(100), on_opportunity=found)
        live = PolymarketStream(client=client, url=ws.url + "/ws")
        changes = store.changes()
        with Recorder(path, venues=["polymarket", STATIC], inner=store) as recorder:
            recorder.catalog([match])
            now = datetime.now(UTC)
            for text in ('"live"', '["yes", "0.99"]', '["no", "0.50"]'):
                recorder.frame(STATIC, "market", text, now)
                StaticDecoder(recorder).feed(text, now)
            live.start(recorder)
            live.subscribe([poly])
            wait(changes, lambda: store.usable(("polymarket", NBA, KNICKS)))
            engine.start()
            for ask in ("0.40", "0.42", "0.41"):
                seen.clear()
                sandbox.set_book(NBA, [["0.30", "200"]], [[ask, "200"]])
                assert seen.wait(8.0)
                sandbox.set_book(NBA, [["0.30", "200"]], [["0.60", "200"]])
                wait(changes, lambda: not engine.current())
            engine.stop()
            live.close()
        client.close()
    return path


def wait(changes: Any, predicate: Any) -> None:
    for _ in range(40):
        if predicate():
            return
        changes.take(timeout=0.2)
    raise AssertionError("the stream did not deliver")


def test_a_sandbox_recording_replays_through_the_real_decoder_to_the_same_report(recording: Path) -> None:
    first = replay(recording, decoders=decoders, bet_amount=D(100))
    assert len(first.opportunities) == 3
    assert all(life.seconds is not None and life.seconds > 0 for life in first.opportunities)
    assert [str(life.first.legs[0].limit_price) for life in first.opportunities] == ["0.40", "0.42", "0.41"]
    assert len(first.executed) == 1  # the same arbitrage is held after the first paper trade
    assert first.fees > 0
    assert first.problems == ()
    second = replay(recording, decoders=decoders, bet_amount=D(100))
    assert second.summary() == first.summary()


def kalshi_recording(path: Path) -> None:
    """Three times the Kalshi sandbox's YES ask drops to cross the static NO at 0.50, then recovers."""

    from arbkit_kalshi.client import KalshiClient
    from arbkit_kalshi.sandbox import KalshiSandbox, example_scenario
    from arbkit_kalshi.sandbox.accounts import new_account
    from arbkit_kalshi.sandbox.stream import WS_PATH
    from arbkit_kalshi.sandbox.stream import serve_stream as serve_kalshi
    from arbkit_kalshi.stream import KalshiStream

    account = new_account(KALSHI_KEY)
    pem, public = account.private_key_pem.reveal(), account.public_key_pem
    app = KalshiSandbox()
    app.load_scenario(example_scenario())
    app.add_account(KALSHI_KEY, public, "1000")
    app.set_book(NYK, yes_bids=[["0.30", "500"]], no_bids=[["0.40", "500"]])  # YES asks 0.60: calm
    with SandboxServer(app) as http, serve_kalshi(app) as ws:
        client = KalshiClient(base_url=http.url, api_key_id=KALSHI_KEY, private_key=pem, rate_limit=None)
        client.transport.session.trust_env = False
        kalshi = client.market(NYK)
        match = MarketMatch(
            method="explicit",
            groups=[
                OutcomeGroup("New York", [OutcomeRef(kalshi, "yes"), OutcomeRef(STATIC_MARKET, "yes")]),
                OutcomeGroup("Houston", [OutcomeRef(kalshi, "no"), OutcomeRef(STATIC_MARKET, "no")]),
            ],
            confidence=D(1),
            title="New York at Houston",
        )
        store = BookStore()
        seen = threading.Event()
        engine = StreamingEngine(store, [match], bet_amount=D(100), on_opportunity=lambda d: seen.set())
        live = KalshiStream(
            url=ws.url + WS_PATH, api_key_id=KALSHI_KEY, private_key=pem, proxy=None, user=False
        )
        changes = store.changes()
        with Recorder(path, venues=["kalshi", STATIC], inner=store) as recorder:
            recorder.catalog([match])
            now = datetime.now(UTC)
            for text in ('"live"', '["yes", "0.99"]', '["no", "0.50"]'):
                recorder.frame(STATIC, "market", text, now)
                StaticDecoder(recorder).feed(text, now)
            live.start(recorder)
            live.subscribe([kalshi])
            wait(changes, lambda: store.usable(("kalshi", NYK, "yes")))
            engine.start()
            for no_bid in ("0.60", "0.58", "0.59"):  # YES asks 0.40, 0.42, 0.41
                seen.clear()
                app.set_book(NYK, yes_bids=[["0.30", "500"]], no_bids=[[no_bid, "500"]])
                assert seen.wait(8.0)
                app.set_book(NYK, yes_bids=[["0.30", "500"]], no_bids=[["0.40", "500"]])
                wait(changes, lambda: not engine.current())
            engine.stop()
            live.close()
        client.close()


KALSHI_KEY = "3f1c2d4e-0000-4000-8000-00000000c0de"
NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"


def test_a_kalshi_sandbox_recording_replays_through_the_real_decoder(tmp_path: Path) -> None:
    path = tmp_path / "kalshi.jsonl.gz"
    kalshi_recording(path)
    # the plugin's decoder, as arbkit replay builds it: no Kalshi credentials needed to decode
    first = replay(path, decoders=decoders, bet_amount=D(100))
    prices = [life.first.legs[0].limit_price for life in first.opportunities]
    assert prices == [D("0.40"), D("0.42"), D("0.41")]
    assert len(first.executed) == 1
    assert first.fees > 0  # Kalshi's quadratic fee on both legs
    assert first.problems == ()
    assert replay(path, decoders=decoders, bet_amount=D(100)).summary() == first.summary()
