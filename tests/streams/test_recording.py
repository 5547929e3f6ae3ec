"""Record raw frames to a file and replay them deterministically through the engine and paper trading."""

from __future__ import annotations

import gzip
import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import arbkit
from arbkit.errors import ValidationError
from arbkit.streams import BookStore, FeedSink
from arbkit.streams.catalog import catalog_from_json, catalog_to_json
from arbkit.streams.recording import Recorder, read_recording, replay
from tests.core.test_bot import pair_by_title
from tests.core.test_trading_fakes import T0, binary_market, kalshi_fee
from tests.streams.fakes import FakeDecoder, FakeStream, FakeStreamsPlugin

D = Decimal
ALPHA = binary_market("alpha", "A", fees=kalshi_fee())
BETA = binary_market("beta", "B")
MATCHES = pair_by_title({"alpha": [ALPHA], "beta": [BETA]})


def decoders(venue: str, sink: FeedSink, conn: str) -> FakeDecoder:
    return FakeDecoder(venue, sink)


def record(path: Path, frames: list[tuple[float, str, dict[str, object] | str]]) -> BookStore:
    """A session: both fake streams feed a BookStore through a Recorder; ``frames`` at seconds after T0."""
    store = BookStore()
    streams = {"alpha": FakeStream("alpha"), "beta": FakeStream("beta")}
    with Recorder(path, venues=["alpha", "beta"], inner=store, clock=lambda: T0) as recorder:
        recorder.catalog(MATCHES)
        for stream in streams.values():
            stream.start(recorder)
        for seconds, venue, frame in frames:
            streams[venue].push(frame, at=T0 + timedelta(seconds=seconds))
    return store


def session() -> list[tuple[float, str, dict[str, object] | str]]:
    return [
        (0.0, "alpha", {"live": []}),
        (0.0, "beta", {"live": []}),
        (0.1, "alpha", {"book": ["A", "yes", [["0.40", "50"]]]}),
        (0.1, "alpha", {"book": ["A", "no", [["0.70", "50"]]]}),
        (0.2, "beta", {"book": ["B", "yes", [["0.70", "50"]]]}),
        (0.2, "beta", {"book": ["B", "no", [["0.60", "50"]]]}),  # 0.40 + 0.60: nothing
        (1.0, "beta", {"book": ["B", "no", [["0.50", "50"]]]}),  # opens: 0.40 + 0.50
        (1.5, "beta", {"ping": 1}),
        (3.5, "alpha", {"book": ["A", "yes", [["0.55", "50"]]]}),  # closes after 2.5 s
    ]


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "session.jsonl.gz"
    record(path, session())
    return path


def test_the_file_is_gzip_json_lines_with_a_header_a_catalog_and_raw_frames(recording: Path) -> None:
    lines = [json.loads(line) for line in text(recording).splitlines()]
    header, catalog, first = lines[0], lines[1], lines[2]
    assert header["schema"] == "arbkit.stream-recording"
    assert header["version"] == 1
    assert header["venues"] == ["alpha", "beta"]
    assert "catalog" in catalog
    assert first == {"t": header["t"], "venue": "alpha", "conn": "market", "msg": '{"live": []}'}
    assert lines[-1]["t"] - header["t"] == 3_500_000_000
    assert len(lines) == 2 + len(session())


def test_replay_reports_the_arbitrage_its_life_and_the_paper_trade_with_fees(recording: Path) -> None:
    report = replay(recording, decoders=decoders, bet_amount=D(100))
    assert report.messages == len(session())
    (life,) = report.opportunities
    assert life.seconds == 2.5
    assert life.opened_at == T0 + timedelta(seconds=1)
    (result,) = report.executed
    trade = result.trade
    assert trade is not None
    # 50 sets: 50 x 0.40 + 50 x 0.50 = 45.00; Kalshi's fee on the alpha leg: 0.07 x 50 x 0.4 x 0.6 = 0.84
    assert trade.cost == D(45)
    assert report.fees == D("0.84")
    assert report.profit == D("4.16")
    assert report.recorded_seconds == 3.5
    assert report.problems == ()


def test_a_recording_replays_to_the_same_result_twice(recording: Path) -> None:
    first = replay(recording, decoders=decoders).summary()
    second = replay(recording, decoders=decoders).summary()
    assert first == second
    assert first["executed"] == 1


def test_replay_builds_each_venues_decoder_from_its_plugin(recording: Path) -> None:
    plugin = FakeStreamsPlugin("alpha", "beta")
    arbkit.plugin_manager.register(plugin)
    try:
        report = replay(recording)
    finally:
        arbkit.plugin_manager.unregister(plugin)
    assert len(report.executed) == 1


def test_replay_never_trades_a_book_recorded_before_a_gap(tmp_path: Path) -> None:
    frames = [
        *session()[:6],
        (0.5, "alpha", {"stale": [], "reason": "sequence gap"}),
        (0.6, "alpha", {"book": ["A", "no", [["0.70", "50"]]]}),  # resynced A no; A yes not re-sent
        (0.7, "alpha", {"live": []}),
        (1.0, "beta", {"book": ["B", "no", [["0.50", "50"]]]}),  # would cross the pre-gap A yes at 0.40
    ]
    path = tmp_path / "gap.jsonl.gz"
    record(path, frames)
    report = replay(path, decoders=decoders)
    assert report.opportunities == ()
    assert report.trades == ()
    assert any("sequence gap" in e.message for e in report.errors)


def test_bad_lines_are_skipped_and_named_and_a_cut_file_ends_where_its_data_ends(
    recording: Path, tmp_path: Path
) -> None:
    lines = text(recording).splitlines()
    lines.insert(3, "{not json")
    lines.insert(4, json.dumps({"t": "soon", "venue": "alpha", "conn": "market", "msg": "x"}))
    broken = tmp_path / "broken.jsonl.gz"
    with gzip.open(broken, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    report = replay(broken, decoders=decoders)
    assert len(report.problems) == 2
    assert report.problems[0].startswith("line 4")
    assert len(report.executed) == 1  # nothing else lost

    data = broken.read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) - 30])
    _, items, problems = read_recording(cut)
    assert len(list(items)) >= 1
    assert any("ends early" in p for p in problems)


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl.gz"
    with gzip.open(other, "wt") as handle:
        handle.write('{"hello": 1}\n')
    with pytest.raises(ValidationError, match="not an arbkit stream recording"):
        replay(other, decoders=decoders)
    plain = tmp_path / "plain.txt"
    plain.write_text("not gzip")
    with pytest.raises(ValidationError, match="unreadable"):
        replay(plain, decoders=decoders)


def test_the_catalog_round_trips_markets_fees_and_matches() -> None:
    (match,) = catalog_from_json(json.loads(json.dumps(catalog_to_json(MATCHES))))
    assert match == MATCHES[0]
    alpha = match.groups[0].refs[0].market
    assert alpha.fees == ALPHA.fees
    assert alpha.size_increment == ALPHA.size_increment


def test_the_recorder_passes_every_call_on(tmp_path: Path) -> None:
    store = record(tmp_path / "r.jsonl.gz", session())
    assert store.updates == 6
    assert store.status("alpha").messages == 4
    assert store.get(("alpha", "A", "yes")) is not None


def text(path: Path) -> str:
    with gzip.open(path, "rt") as handle:
        return handle.read()


def test_arbkit_replay_prints_the_report(recording: Path, tmp_path: Path) -> None:
    from arbkit.cli import main

    env = tmp_path / ".env"
    env.write_text(f"ARBKIT_DATA_DIR={tmp_path}\nPAPER_TRADING_BET_AMOUNT=100\n")
    plugin = FakeStreamsPlugin("alpha", "beta")
    arbkit.plugin_manager.register(plugin)
    try:
        out = io.StringIO()
        assert main(["--env-file", str(env), "replay", str(recording)], out=out) == 0
        text_out = out.getvalue()
        assert "1 opportunities" in text_out
        assert "lived 2.50 s" in text_out
        assert "paper: 1 trades, cost $45.00, fees $0.84, expected profit $4.16" in text_out
        out = io.StringIO()
        assert main(["--env-file", str(env), "replay", str(recording), "--json", "--no-trade"], out=out) == 0
        summary = json.loads(out.getvalue())
        assert summary["executed"] == 0
        assert summary["opportunities"][0]["lived_seconds"] == 2.5
    finally:
        arbkit.plugin_manager.unregister(plugin)


def test_arbkit_record_writes_a_recording_of_the_configured_venues(tmp_path: Path) -> None:
    from arbkit.cli import main
    from tests.core.test_trading_fakes import FakeExchange, FakeVenuesPlugin

    env = tmp_path / ".env"
    env.write_text(f"ARBKIT_DATA_DIR={tmp_path}\nARBKIT_EXCHANGES=alpha,beta\n")
    venues = FakeVenuesPlugin(FakeExchange("alpha"), FakeExchange("beta"))
    streams = FakeStreamsPlugin("alpha", "beta")
    for plugin in (venues, streams):
        arbkit.plugin_manager.register(plugin)
    try:
        out = io.StringIO()
        path = tmp_path / "rec.jsonl.gz"
        assert main(["--env-file", str(env), "record", str(path), "--seconds", "0.05"], out=out) == 0
    finally:
        for plugin in (venues, streams):
            arbkit.plugin_manager.unregister(plugin)
    header, items, problems = read_recording(path)
    assert header.venues == ("alpha", "beta")
    assert [item.catalog for item in items] == [[]]  # no markets listed, so nothing matched
    assert problems == []
    assert "0 frames" in out.getvalue()


def test_a_markets_game_round_trips_and_an_old_recordings_text_game_is_dropped() -> None:
    from datetime import UTC, date, datetime

    import attrs

    from arbkit.games import GameInfo
    from arbkit.streams.catalog import market_from_json, market_to_json

    game = GameInfo(
        league="nba",
        game_key="KXNBASPREAD-26MAR31NYKHOU",
        teams=("NYK", "HOU"),
        outcome_teams={"yes": "NYK"},
        market_type="spread",
        away="NYK",
        home="HOU",
        team_names={"NYK": "New York"},
        date=date(2026, 3, 31),
        start_time=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
        line=Decimal("-6.5"),
        line_team="NYK",
        scheduled_date=date(2026, 3, 30),
    )
    market = attrs.evolve(binary_market("kalshi", "KXNBASPREAD-26MAR31NYKHOU-NYK7"), game=game)
    data = json.loads(json.dumps(market_to_json(market)))
    back = market_from_json(data)
    assert back.game == game
    assert (back.game.line, back.game.date, back.game.start_time) == (game.line, game.date, game.start_time)
    assert dict(back.game.outcome_teams) == {"yes": "NYK"}
    # Recordings made before Market.game held the game as text in meta: they still load, without it.
    old = {**data, "game": None, "meta": {**data["meta"], "game": "GameInfo(league='nba', ...)"}}
    loaded = market_from_json(old)
    assert loaded.game is None
    assert "game" not in loaded.meta
