"""GameInfo, the venue-neutral view of a sports market, and its compact read-only maps."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from arbkit import ValidationError
from arbkit.games import DRAW, LEAGUES, GameInfo, League, PairMap, VenueNaming
from arbkit.plugins import venue_namings
from arbkit_kalshi.games import series_kind


def test_pair_map_reads_like_a_dict_and_cannot_be_changed() -> None:
    teams = PairMap({"tok-1": "nyk", "tok-2": "hou"})
    assert teams == {"tok-1": "nyk", "tok-2": "hou"}
    assert teams["tok-2"] == "hou"
    assert teams.get("tok-3") is None
    assert list(teams.items()) == [("tok-1", "nyk"), ("tok-2", "hou")]
    assert len(teams) == 2
    with pytest.raises(KeyError):
        teams["tok-3"]
    with pytest.raises(TypeError):
        teams["tok-1"] = "bos"  # type: ignore[index]
    with pytest.raises(AttributeError):
        teams.extra = 1  # type: ignore[attr-defined]


def test_game_info_keeps_maps_read_only() -> None:
    game = GameInfo(
        league="epl",
        game_key="KXEPLGAME-26SEP06ARSCFC",
        teams=("ARS", "CFC"),
        outcome_teams={"yes": DRAW},
        home="ARS",
        away="CFC",
        team_names={"ARS": "Arsenal", "CFC": "Chelsea"},
        start_time=datetime(2026, 9, 6, 14, tzinfo=UTC),
    )
    assert game.outcome_teams == {"yes": DRAW}
    assert game.team_names["CFC"] == "Chelsea"
    assert game.league_info.three_way
    with pytest.raises(TypeError):
        game.team_names["ARS"] = "Gunners"  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"league": "quidditch"}, "unknown league"),
        ({"market_type": "props"}, "unknown market type"),
        ({"home": "BOS"}, "not one of the game's teams"),
        ({"start_time": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"expected_end": datetime(2026, 1, 1, 3)}, "expected_end must be timezone-aware"),
        ({"line_team": "LAL", "market_type": "spread"}, "not one of the game's teams"),
    ],
)
def test_game_info_refuses_nonsense(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "league": "nba",
        "game_key": "KXNBAGAME-26MAR31NYKHOU",
        "teams": ("NYK", "HOU"),
        "outcome_teams": {"yes": "NYK"},
    }
    with pytest.raises(ValidationError, match=message):
        GameInfo(**{**fields, **kwargs})  # type: ignore[arg-type]


def test_leagues_are_found_by_each_venues_name() -> None:
    namings = venue_namings()  # what the installed adapters registered
    nfl = namings["kalshi"].league_of("kxnflgame")
    assert nfl is not None
    assert nfl.key == "nfl"
    cfb = namings["polymarket"].league_of("CFB")
    assert cfb is not None
    assert cfb.key == "ncaaf"
    assert namings["kalshi"].league_of("KXNOPE") is None
    assert namings["kalshi"].leagues["nba"] == ("KXNBAGAME", "KXNBASPREAD", "KXNBATOTAL")


def test_the_core_league_names_no_venue() -> None:
    assert {field.name for field in attrs.fields(League)} == {
        "key",
        "name",
        "sport",
        "home_first",
        "three_way",
        "regulation_only",
        "can_tie",
    }


def test_a_venue_naming_only_names_core_leagues() -> None:
    with pytest.raises(ValidationError, match="unknown leagues cricket"):
        VenueNaming("newvenue", {"cricket": ("IPL",)})


def test_line_series_name_their_league_and_market_type() -> None:
    found = series_kind("KXNBASPREAD")
    assert found is not None
    assert (found[0].key, found[1]) == ("nba", "spread")
    found = series_kind("kxepltotal")
    assert found is not None
    assert (found[0].key, found[1]) == ("epl", "total")
    assert series_kind("KXMLSSPREAD") is None  # the reference lists no MLS lines
    assert series_kind("KXNHLGAME") == (LEAGUES["nhl"], "moneyline")


def test_which_leagues_can_end_level() -> None:
    assert {key for key, league in LEAGUES.items() if league.ties} == {
        "nfl",
        *(key for key, league in LEAGUES.items() if league.sport == "soccer"),
    }


def test_pair_map_lookups_need_no_exception() -> None:
    names = PairMap({"yes": "Rutgers"})
    assert "yes" in names
    assert "no" not in names
    assert names.get("no", "-") == "-"
    assert names.pairs() == (("yes", "Rutgers"),)


def test_a_plugins_team_codes_join_the_default_alias_table() -> None:
    import arbkit
    from arbkit.engine.matching import default_teams
    from arbkit.plugins import get_plugin_manager

    class NewVenue:
        @arbkit.hookimpl
        def arbkit_register_leagues(self, register: object) -> None:
            register("newvenue", VenueNaming("newvenue", {"nba": ("BASKET",)}, {"nba": {"NYK": ("KNX",)}}))  # type: ignore[operator]

    before = default_teams()
    assert before.resolve("nba", "KNX", "newvenue").team == "KNX"  # unknown: stays itself
    plugin = NewVenue()
    get_plugin_manager().register(plugin)
    try:
        assert venue_namings()["newvenue"].league_of("basket") == LEAGUES["nba"]
        resolved = default_teams().resolve("nba", "knx", "newvenue")
        assert (resolved.team, resolved.how) == ("NYK", "table")
        assert default_teams().resolve("nba", "nyk", "polymarket").team == "NYK"  # the others stay
    finally:
        get_plugin_manager().unregister(plugin)
    assert default_teams().resolve("nba", "KNX", "newvenue").team == "KNX"
