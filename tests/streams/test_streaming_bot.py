"""The Bot trading from streams: fake venue streams, paper trading, never a stale book."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import arbkit
from arbkit.scanner import default_detector
from arbkit.streams import BookStore, FeedState
from arbkit.streams.session import StreamingSession
from arbkit.trading.notify import Event, EventKind
from tests.core.test_bot import pair_by_title
from tests.core.test_trading_fakes import Clock, FakeExchange, FakeVenuesPlugin, binary_market
from tests.streams.fakes import FakeStream

D = Decimal


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[arbkit.Settings]:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    alpha.add_market(binary_market("alpha", "A"))
    beta.add_market(binary_market("beta", "B"))
    plugin = FakeVenuesPlugin(alpha, beta)
    arbkit.plugin_manager.register(plugin)
    yield arbkit.Settings.from_mapping(
        {
            "ARBKIT_EXCHANGES": "alpha,beta",
            "ARBKIT_DATA_DIR": str(tmp_path),
            "PAPER_TRADING_INITIAL_BALANCE": "1000",
            "PAPER_TRADING_BET_AMOUNT": "100",
        }
    )
    arbkit.plugin_manager.unregister(plugin)


def make_bot(settings: arbkit.Settings, **scanner: Any) -> arbkit.Bot:
    return arbkit.Bot.from_settings(
        settings, clock=Clock(), scanner_options={"matcher": pair_by_title, **scanner}
    )


def crossing(alpha: FakeStream, beta: FakeStream) -> None:
    """Books on which YES on A at 0.40 and NO on B at 0.50 pay $0.10 a set."""
    alpha.push({"book": ["A", "yes", [["0.40", "50"]]]})
    alpha.push({"book": ["A", "no", [["0.70", "50"]]]})
    beta.push({"book": ["B", "yes", [["0.70", "50"]]]})
    beta.push({"book": ["B", "no", [["0.50", "50"]]]})


def test_a_streaming_bot_trades_an_arbitrage_as_its_books_arrive(settings: arbkit.Settings) -> None:
    traded = threading.Event()
    bot = make_bot(settings)
    bot.trading.add_notifier(lambda e: traded.set() if e.kind is EventKind.TRADE_EXECUTED else None)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    session = bot.start_streaming({"alpha": alpha, "beta": beta})
    try:
        assert alpha.subscribed == ["A"]
        assert beta.subscribed == ["B"]
        alpha.push({"live": []})
        beta.push({"live": []})
        crossing(alpha, beta)
        assert traded.wait(5.0)
        (trade,) = bot.state().open_positions
        assert trade.total_cost == D(45)
        assert session.latency().count >= 1
        assert session.latency().p99 is not None
        assert [s.state for s in bot.feed_status()] == [FeedState.LIVE, FeedState.LIVE]
    finally:
        bot.stop_streaming()
    assert alpha.closed
    assert beta.closed
    assert bot.feed_status() == []


def test_books_from_before_a_gap_are_never_traded(settings: arbkit.Settings) -> None:
    bot = make_bot(settings)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    session = StreamingSession(bot, {"alpha": alpha, "beta": beta}).start(background=False)
    alpha.push({"live": []})
    beta.push({"live": []})
    crossing(alpha, beta)
    alpha.push({"stale": ["A"], "reason": "sequence gap: 7 after 5"})
    assert session.step() == []
    alpha.push({"live": ["A"]})  # whole again, but no fresh book: still nothing
    assert session.step() == []
    assert bot.state().open_positions == ()
    alpha.push({"book": ["A", "yes", [["0.41", "50"]]]})  # fresh
    alpha.push({"book": ["A", "no", [["0.70", "50"]]]})
    (detection,) = session.step()
    assert detection.opportunity.total_cost == D("45.50")
    assert len(bot.state().open_positions) == 1
    assert any("sequence gap" in e.message for e in bot.state().recent_errors)


def test_a_book_gone_stale_between_detection_and_trading_is_not_traded(settings: arbkit.Settings) -> None:
    holder: dict[str, StreamingSession] = {}

    def detector_then_gap(matches: Sequence[Any], books: Mapping[Any, Any], **kw: Any) -> Any:
        found = default_detector(matches, books, **kw)
        # the venue's thread reports a gap right after detection read the books
        holder["session"].store.stale("beta", [], "disconnected")
        return found

    bot = make_bot(settings, detector=detector_then_gap)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    session = holder["session"] = StreamingSession(bot, {"alpha": alpha, "beta": beta})
    session.start(background=False)
    alpha.push({"live": []})
    beta.push({"live": []})
    crossing(alpha, beta)
    assert len(session.step()) == 1  # detected...
    (outcome,) = session.trades()
    assert outcome.skipped == "a leg's book is stale"  # ...but never traded
    assert bot.state().open_positions == ()


def test_a_silent_feed_is_resubscribed_and_its_books_unused_until_fresh(settings: arbkit.Settings) -> None:
    bot = make_bot(settings)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    clock = [0]
    store = BookStore(cadence={"alpha": 5.0, "beta": None}, monotonic_ns=lambda: clock[0])
    session = StreamingSession(bot, {"alpha": alpha, "beta": beta}, store=store)
    session.start(background=False)
    alpha.push({"live": []})
    beta.push({"live": []})
    crossing(alpha, beta)
    clock[0] += 6 * 10**9
    resubscribed = threading.Event()
    original = alpha.subscribe

    def subscribe(markets: Any) -> None:
        original(markets)
        resubscribed.set()

    alpha.subscribe = subscribe  # type: ignore[method-assign]
    assert session.store.check_silence() == ["alpha"]
    assert resubscribed.wait(5.0)
    assert alpha.calls[-2:] == ["unsubscribe:A", "subscribe:A"]
    assert session.step() == []  # the silent feed's books are out
    statuses = {s.exchange: s for s in session.feed_status()}
    assert statuses["alpha"].state is FeedState.STALE
    assert "silent" in statuses["alpha"].reason
    session.close()


def test_notifications_of_streamed_trades_reach_the_bot(settings: arbkit.Settings) -> None:
    events: list[Event] = []
    bot = make_bot(settings)
    bot.trading.add_notifier(events.append)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    session = StreamingSession(bot, {"alpha": alpha, "beta": beta}).start(background=False)
    alpha.push({"live": []})
    beta.push({"live": []})
    crossing(alpha, beta)
    session.step()
    crossing(alpha, beta)  # the same arbitrage again: already held, not bought twice
    session.step()
    assert [e.kind for e in events].count(EventKind.TRADE_EXECUTED) == 1
    assert session.trades()[-1].skipped == "already held"


def test_the_streaming_loop_subscribes_markets_listed_later(settings: arbkit.Settings) -> None:
    bot = make_bot(settings)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    session = StreamingSession(bot, {"alpha": alpha, "beta": beta})
    subscribed = threading.Event()
    original = beta.subscribe

    def subscribe(markets: Any) -> None:
        original(markets)
        if any(m.id == "B2" for m in markets):
            subscribed.set()

    beta.subscribe = subscribe  # type: ignore[method-assign]
    bot.scanner.refresh_seconds = 0.0
    stop = threading.Event()
    runner = threading.Thread(target=session.run, args=(stop,), kwargs={"tick": 0.01})
    runner.start()
    try:
        beta_venue = bot.scanner.exchanges["beta"]
        beta_venue.add_market(binary_market("beta", "B2", title="Heat at Bulls"))  # type: ignore[attr-defined]
        bot.scanner.exchanges["alpha"].add_market(binary_market("alpha", "A2", title="Heat at Bulls"))  # type: ignore[attr-defined]
        assert subscribed.wait(5.0)
        assert "A2" in alpha.subscribed
        assert len(session.engine.matches) == 2
    finally:
        stop.set()
        runner.join(5.0)
        session.close()


def test_a_streaming_session_records_what_it_traded_on_for_replay(
    settings: arbkit.Settings, tmp_path: Path
) -> None:
    from arbkit.streams import replay
    from tests.streams.fakes import FakeDecoder

    bot = make_bot(settings)
    alpha, beta = FakeStream("alpha"), FakeStream("beta")
    path = tmp_path / "live.jsonl.gz"
    session = StreamingSession(bot, {"alpha": alpha, "beta": beta}, record=path).start(background=False)
    alpha.push({"live": []})
    beta.push({"live": []})
    crossing(alpha, beta)
    session.step()
    session.close()
    assert len(bot.state().open_positions) == 1
    report = replay(path, decoders=lambda venue, sink, conn: FakeDecoder(venue, sink), bet_amount=D(100))
    assert report.messages == 6
    assert len(report.opportunities) == 1
    (replayed,) = report.executed
    assert replayed.trade is not None
    assert replayed.trade.total_cost == bot.state().open_positions[0].total_cost == D(45)


def test_start_streaming_builds_each_venues_stream_from_its_plugin(settings: arbkit.Settings) -> None:
    from tests.streams.fakes import FakeStreamsPlugin

    plugin = FakeStreamsPlugin("alpha")  # beta offers no stream: its matches are not watched
    arbkit.plugin_manager.register(plugin)
    try:
        bot = make_bot(settings)
        session = bot.start_streaming()
        assert sorted(session.streams) == ["alpha"]
        assert session.engine.matches == []
        assert [s.exchange for s in bot.feed_status()] == ["alpha"]
    finally:
        bot.stop_streaming()
        arbkit.plugin_manager.unregister(plugin)
