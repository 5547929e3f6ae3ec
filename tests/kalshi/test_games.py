"""Sports tickers -> GameInfo: team order per league, draws, MLB start times, doubleheaders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from arbkit.games import DRAW
from arbkit_kalshi.games import game_info, parse_event_ticker, split_teams
from arbkit_kalshi.parse import build_markets, parse_event


def _event(series: str, event: str, suffixes: dict[str, str], **market: Any) -> Any:
    return parse_event(
        {
            "event_ticker": event,
            "series_ticker": series,
            "title": "t",
            "markets": [
                {
                    "ticker": f"{event}-{code}",
                    "event_ticker": event,
                    "yes_sub_title": name,
                    "status": "active",
                    **market,
                }
                for code, name in suffixes.items()
            ],
        }
    )


def test_nba_tickers_are_away_then_home() -> None:
    markets = build_markets(
        _event("KXNBAGAME", "KXNBAGAME-26MAR31NYKHOU", {"NYK": "New York", "HOU": "Houston"}), {}
    )
    game = markets[0].game
    assert (game.league, game.away, game.home, game.teams) == ("nba", "NYK", "HOU", ("NYK", "HOU"))
    assert game.outcome_teams == {"yes": "NYK"}
    assert dict(game.team_names) == {"NYK": "New York", "HOU": "Houston"}
    assert game.date == date(2026, 3, 31)
    assert game.start_time is None
    assert markets[1].game.outcome_teams == {"yes": "HOU"}


def test_soccer_tickers_are_home_then_away_with_a_tie_market() -> None:
    markets = build_markets(
        _event(
            "KXEPLGAME", "KXEPLGAME-25DEC27CFCAVL", {"CFC": "Chelsea", "TIE": "Tie", "AVL": "Aston Villa"}
        ),
        {},
    )
    games = {m.id.rsplit("-", 1)[1]: m.game for m in markets}
    assert (games["CFC"].home, games["CFC"].away) == ("CFC", "AVL")
    assert games["TIE"].outcome_teams == {"yes": DRAW}
    assert "TIE" not in games["TIE"].team_names


def test_mlb_start_time_is_eastern_hhmm_and_doubleheaders_are_numbered() -> None:
    game = game_info(
        "KXMLBGAME",
        "KXMLBGAME-26SEP041915DETCLEG2",
        "KXMLBGAME-26SEP041915DETCLEG2-DET",
        {"DET": "Detroit", "CLE": "Cleveland"},
    )
    assert game is not None
    assert (game.away, game.home, game.game_number) == ("DET", "CLE", 2)
    assert game.start_time == datetime(2026, 9, 4, 23, 15, tzinfo=UTC)  # 19:15 EDT


def test_two_letter_codes_split_from_the_market_suffixes() -> None:
    assert split_teams("CWSSD", ["SD", "CWS"]) == ("CWS", "SD")
    assert split_teams("KCATH", ["KC"]) == ("KC", "ATH")
    assert split_teams("M-OHFRES", ["FRES", "OH"]) == ("OH", "FRES")
    assert split_teams("NYKHOU", ["LAL"]) is None


def test_non_game_series_and_odd_tickers_have_no_game_info() -> None:
    assert game_info("KXFEDDECISION", "KXFEDDECISION-26JUN", "KXFEDDECISION-26JUN-H0", {"H0": "Hold"}) is None
    assert game_info("KXNBAGAME", "KXNBAGAME-26XYZ31NYKHOU", "KXNBAGAME-26XYZ31NYKHOU-NYK", {}) is None
    assert parse_event_ticker("KXNBAGAME-26FEB30NYKHOU") is None
    market = build_markets(_event("KXFEDDECISION", "KXFEDDECISION-26JUN", {"H0": "Hold"}), {})[0]
    assert market.game is None
