"""The sports matcher on the pitfalls listed in the sports reference (section 4) and the alias table.

Market shapes follow what the adapters build from each venue (sports reference sections 1.1-1.3):
Kalshi lists one yes/no market per team (plus ``TIE`` in soccer), Polymarket one two-token market
per US game or three Yes/No markets per soccer game. Only ``GameInfo`` is read, never tickers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from arbkit.engine.fees import NoFees
from arbkit.engine.matching import MarketMatch, ResolutionPolicy, match_markets
from arbkit.engine.matching.teams import Team, TeamTable, default_teams, normalize_name
from arbkit.errors import ValidationError
from arbkit.games import DRAW, GameInfo
from arbkit.models import Market, Outcome


def kalshi_game(
    league: str,
    event: str,
    away: str,
    home: str,
    *,
    day: date,
    tie: bool = False,
    start: datetime | None = None,
    game_number: int | None = None,
    names: dict[str, str] | None = None,
    rules: str = "",
    home_first: bool = False,
) -> list[Market]:
    """Kalshi's per-team markets ``{event}-{CODE}`` (and ``-TIE``), YES = that outcome."""
    teams = (home, away) if home_first else (away, home)
    codes = [*teams, "TIE"] if tie else list(teams)
    markets = []
    for code in codes:
        info = GameInfo(
            league=league,
            game_key=event,
            teams=teams,
            home=home,
            away=away,
            outcome_teams={"yes": DRAW if code == "TIE" else code},
            team_names=names or {},
            date=day,
            start_time=start,
            game_number=game_number,
        )
        markets.append(
            Market(
                exchange="kalshi",
                id=f"{event}-{code}",
                title=f"{away} at {home} Winner?",
                outcomes=[Outcome("yes", code), Outcome("no", code)],
                status="open",
                fees=NoFees(),
                rules=rules,
                game=info,
            )
        )
    return markets


def poly_game(
    league: str,
    slug: str,
    away: str,
    home: str,
    *,
    day: date,
    start: datetime | None = None,
    outcome_order: tuple[str, str] | None = None,
    names: dict[str, str] | None = None,
    rules: str = "",
) -> list[Market]:
    """Polymarket's one moneyline market per US game: two tokens named after the teams."""
    order = outcome_order or (away, home)
    info = GameInfo(
        league=league,
        game_key=slug,
        teams=(away, home),
        away=away,
        home=home,
        outcome_teams={f"tok-{slug}-{code}": code for code in order},
        team_names=names or {},
        date=day,
        start_time=start,
    )
    market = Market(
        exchange="polymarket",
        id=slug,
        title=f"{away} vs. {home}",
        outcomes=[Outcome(f"tok-{slug}-{code}", (names or {}).get(code, code)) for code in order],
        status="open",
        fees=NoFees(),
        rules=rules,
        game=info,
    )
    return [market]


def poly_soccer(
    league: str, slug: str, home: str, away: str, *, day: date, draw: bool = True
) -> list[Market]:
    """Polymarket soccer: three Yes/No markets ``{slug}-{home}``, ``-draw``, ``-{away}`` (section 1.3)."""
    markets = []
    for code in [home, "draw", away] if draw else [home, away]:
        info = GameInfo(
            league=league,
            game_key=slug,
            teams=(home, away),
            home=home,
            away=away,
            outcome_teams={f"{slug}-{code}-yes": DRAW if code == "draw" else code},
            date=day,
        )
        markets.append(
            Market(
                exchange="polymarket",
                id=f"{slug}-{code}",
                title=f"Will {code} win?",
                outcomes=[Outcome(f"{slug}-{code}-yes", "Yes"), Outcome(f"{slug}-{code}-no", "No")],
                status="open",
                fees=NoFees(),
                game=info,
            )
        )
    return markets


def only(matches: list[MarketMatch]) -> MarketMatch:
    assert len(matches) == 1, [m.title for m in matches]
    return matches[0]


def contracts(match: MarketMatch) -> dict[str, set[str]]:
    return {g.name: {str(r) for r in g.refs} for g in match.groups}


def test_nba_game_maps_polymarket_tokens_to_kalshi_yes_and_the_other_teams_no() -> None:
    kalshi = kalshi_game("nba", "KXNBAGAME-26MAR31NYKHOU", "NYK", "HOU", day=date(2026, 3, 31))
    poly = poly_game("nba", "nba-nyk-hou-2026-03-31", "nyk", "hou", day=date(2026, 3, 31))
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    assert match.method == "sports"
    assert contracts(match) == {
        "NYK": {
            "polymarket:nba-nyk-hou-2026-03-31:tok-nba-nyk-hou-2026-03-31-nyk",
            "kalshi:KXNBAGAME-26MAR31NYKHOU-NYK:yes",
            "kalshi:KXNBAGAME-26MAR31NYKHOU-HOU:no",
        },
        "HOU": {
            "polymarket:nba-nyk-hou-2026-03-31:tok-nba-nyk-hou-2026-03-31-hou",
            "kalshi:KXNBAGAME-26MAR31NYKHOU-HOU:yes",
            "kalshi:KXNBAGAME-26MAR31NYKHOU-NYK:no",
        },
    }
    assert [g.name for g in match.groups] == ["NYK", "HOU"]  # away first, then home
    assert match.confidence == D("0.95")  # codes from the table, but only a date on Kalshi
    assert match.tradable


def test_outcomes_are_mapped_by_team_never_by_position() -> None:
    # Polymarket lists the home team's token first here: position would invert YES/NO (pitfall 2).
    kalshi = kalshi_game("nba", "KXNBAGAME-26MAR31NYKHOU", "NYK", "HOU", day=date(2026, 3, 31))
    poly = poly_game(
        "nba", "nba-nyk-hou-2026-03-31", "nyk", "hou", day=date(2026, 3, 31), outcome_order=("hou", "nyk")
    )
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    nyk = next(g for g in match.groups if g.name == "NYK")
    poly_ref = next(r for r in nyk.refs if r.exchange == "polymarket")
    assert poly_ref.outcome_id.endswith("-nyk")
    assert poly_ref.market.outcomes[1].id == poly_ref.outcome_id  # second position, still the Knicks


def test_rams_codes_differ_between_venues_la_and_lar() -> None:
    for kalshi_code, poly_code in [("LAR", "la"), ("LA", "lar")]:
        kalshi = kalshi_game(
            "nfl", f"KXNFLGAME-26SEP21NYG{kalshi_code}", "NYG", kalshi_code, day=date(2026, 9, 21)
        )
        poly = poly_game("nfl", f"nfl-nyg-{poly_code}-2026-09-22", "nyg", poly_code, day=date(2026, 9, 22))
        match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
        assert [g.name for g in match.groups] == ["NYG", "LA"]


def test_kalshi_eastern_date_pairs_with_next_day_utc_slug_but_not_two_days_off() -> None:
    # KXNFLGAME-26SEP14DENKC (Monday night, ET) is nfl-den-kc-2026-09-15 on Polymarket (section 3).
    kalshi = kalshi_game("nfl", "KXNFLGAME-26SEP14DENKC", "DEN", "KC", day=date(2026, 9, 14))
    poly = poly_game("nfl", "nfl-den-kc-2026-09-15", "den", "kcc", day=date(2026, 9, 15))
    assert only(match_markets({"kalshi": kalshi, "polymarket": poly})).groups[1].name == "KC"
    far = poly_game("nfl", "nfl-den-kc-2026-09-16", "den", "kc", day=date(2026, 9, 16))
    assert match_markets({"kalshi": kalshi, "polymarket": far}) == []


def test_start_times_pick_the_right_doubleheader_game() -> None:
    day = date(2026, 9, 4)
    g1_start, g2_start = datetime(2026, 9, 4, 18, 10, tzinfo=UTC), datetime(2026, 9, 4, 23, 15, tzinfo=UTC)
    kalshi = kalshi_game(
        "mlb", "KXMLBGAME-26SEP041410DETCLEG1", "DET", "CLE", day=day, start=g1_start, game_number=1
    )
    kalshi += kalshi_game(
        "mlb", "KXMLBGAME-26SEP041915DETCLEG2", "DET", "CLE", day=day, start=g2_start, game_number=2
    )
    poly = poly_game("mlb", "mlb-det-cle-2026-09-04", "det", "cle", day=day, start=g1_start)
    poly += poly_game("mlb", "mlb-det-cle-2026-09-05", "det", "cle", day=date(2026, 9, 5), start=g2_start)
    matches = match_markets({"kalshi": kalshi, "polymarket": poly})
    pairs = {
        (
            next(x.id for x in m.markets if x.exchange == "kalshi").split("-")[1][-2:],
            next(x.id for x in m.markets if x.exchange == "polymarket"),
        )
        for m in matches
    }
    assert pairs == {("G1", "mlb-det-cle-2026-09-04"), ("G2", "mlb-det-cle-2026-09-05")}
    assert all(m.confidence == D(1) for m in matches)


def test_doubleheader_without_start_times_is_ambiguous_and_not_matched() -> None:
    day = date(2026, 9, 4)
    kalshi = kalshi_game("mlb", "KXMLBGAME-26SEP04DETCLE", "DET", "CLE", day=day)
    poly = poly_game("mlb", "mlb-det-cle-2026-09-04", "det", "cle", day=day)
    poly += poly_game("mlb", "mlb-det-cle-2026-09-04-2", "det", "cle", day=day)
    assert match_markets({"kalshi": kalshi, "polymarket": poly}) == []


def test_start_times_too_far_apart_are_different_games() -> None:
    start = datetime(2026, 4, 20, 23, 0, tzinfo=UTC)
    kalshi = kalshi_game("nba", "KXNBAGAME-26APR20MINDEN", "MIN", "DEN", day=date(2026, 4, 20), start=start)
    later = datetime(2026, 4, 21, 3, 30, tzinfo=UTC)
    poly = poly_game("nba", "nba-min-den-2026-04-20", "min", "den", day=date(2026, 4, 20), start=later)
    assert match_markets({"kalshi": kalshi, "polymarket": poly}) == []
    wide = ResolutionPolicy(max_start_gap=later - start)
    assert len(match_markets({"kalshi": kalshi, "polymarket": poly}, policy=wide)) == 1


def test_soccer_three_way_maps_home_draw_away_and_never_uses_a_team_no() -> None:
    # Kalshi soccer tickers are HOME then AWAY; Chelsea is CFC on Kalshi, che on Polymarket.
    kalshi = kalshi_game(
        "epl", "KXEPLGAME-26APR12CFCMCI", "MCI", "CFC", day=date(2026, 4, 12), tie=True, home_first=True
    )
    poly = poly_soccer("epl", "epl-che-mci-2026-04-12", "che", "mci", day=date(2026, 4, 12))
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    assert [g.name for g in match.groups] == ["CFC", "MCI", DRAW]  # as the venues write it: home first
    assert match.title == "English Premier League: CFC vs MCI (2026-04-12)"
    assert contracts(match)[DRAW] == {
        "kalshi:KXEPLGAME-26APR12CFCMCI-TIE:yes",
        "polymarket:epl-che-mci-2026-04-12-draw:epl-che-mci-2026-04-12-draw-yes",
    }
    # "Chelsea does not win" is draw OR City: a team's NO is in no group.
    assert all(
        r.outcome_id in ("yes",) or r.outcome_id.endswith("-yes") for g in match.groups for r in g.refs
    )


def test_two_way_cup_game_never_pairs_with_a_three_way_game() -> None:
    kalshi = kalshi_game(
        "epl", "KXEFLCUPGAME-26SEP15REABRE", "BRE", "REA", day=date(2026, 9, 15), home_first=True
    )
    poly = poly_soccer("epl", "epl-rea-bre-2026-09-15", "rea", "bre", day=date(2026, 9, 15))
    assert match_markets({"kalshi": kalshi, "polymarket": poly}) == []
    two_way_poly = poly_soccer(
        "epl", "epl-rea-bre-2026-09-15", "rea", "bre", day=date(2026, 9, 15), draw=False
    )
    assert match_markets({"kalshi": kalshi, "polymarket": two_way_poly}) == []  # not exhaustive either


def test_codes_are_per_league_la_is_the_kings_in_the_nhl() -> None:
    kalshi = kalshi_game("nhl", "KXNHLGAME-26FEB25VGKLA", "VGK", "LA", day=date(2026, 2, 25))
    poly = poly_game("nhl", "nhl-las-lak-2026-02-25", "las", "lak", day=date(2026, 2, 25))
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    assert [g.name for g in match.groups] == ["VGK", "LA"]
    nfl_poly = poly_game("nfl", "nfl-las-lak-2026-02-25", "lv", "lar", day=date(2026, 2, 25))
    assert match_markets({"kalshi": kalshi, "polymarket": nfl_poly}) == []


def test_polymarket_digit_suffix_codes_match_the_bare_kalshi_code() -> None:
    kalshi = kalshi_game(
        "ucl", "KXUCLGAME-26FEB25RMABEN", "BEN", "RMA", day=date(2026, 2, 25), tie=True, home_first=True
    )
    poly = poly_soccer("ucl", "ucl-rma1-ben-2026-02-25", "rma1", "ben", day=date(2026, 2, 25))
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    assert {g.name for g in match.groups} == {"RMA", "BEN", DRAW}
    assert match.confidence < D(1)  # digit stripping and an unlisted code lower confidence


def test_venue_name_contradicting_a_table_code_refuses_the_game() -> None:
    kalshi = kalshi_game("nba", "KXNBAGAME-26MAR31NYKHOU", "NYK", "HOU", day=date(2026, 3, 31))
    poly = poly_game(
        "nba",
        "nba-nyk-hou-2026-03-31",
        "nyk",
        "hou",
        day=date(2026, 3, 31),
        names={"nyk": "Brooklyn Nets", "hou": "Houston Rockets"},
    )
    assert match_markets({"kalshi": kalshi, "polymarket": poly}) == []


def test_overtime_rule_difference_refuses_the_match_but_reports_it() -> None:
    kalshi = kalshi_game(
        "nhl",
        "KXNHLGAME-26OCT01TBNYR",
        "TB",
        "NYR",
        day=date(2026, 10, 1),
        rules="If the Lightning win the game, including overtime and shootouts, resolves Yes.",
    )
    poly = poly_game(
        "nhl",
        "nhl-tb-nyr-2026-10-01",
        "tbl",
        "nyr",
        day=date(2026, 10, 1),
        rules="This market resolves on the result at the end of regulation time only.",
    )
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    assert not match.allowed
    assert not match.tradable
    assert any("overtime" in d for d in match.differences)
    permissive = ResolutionPolicy(refuse=frozenset())
    assert only(match_markets({"kalshi": kalshi, "polymarket": poly}, policy=permissive)).allowed


def test_low_confidence_matches_are_dropped() -> None:
    kalshi = kalshi_game(
        "laliga", "KXLALIGAGAME-26MAR01CADALM", "ALM", "CAD", day=date(2026, 3, 1), tie=True, home_first=True
    )
    poly = poly_soccer("laliga", "lal-cad-alm-2026-03-01", "cad", "alm", day=date(2026, 3, 1))
    match = only(match_markets({"kalshi": kalshi, "polymarket": poly}))
    assert match.confidence == D("0.9") * D("0.95")  # codes not in the table, only dates
    assert match_markets({"kalshi": kalshi, "polymarket": poly}, min_confidence=D("0.9")) == []


def test_the_shipped_alias_table_resolves_each_venues_codes_and_names() -> None:
    table = default_teams()
    assert table.resolve("nfl", "JAX", "kalshi").team == "JAC"
    assert table.resolve("nfl", "jax", "polymarket").team == "JAC"
    assert table.resolve("mlb", "oak", "polymarket").team == "ATH"
    assert table.resolve("epl", "che", "polymarket").team == "CFC"
    assert table.resolve("nhl", "utah", "polymarket").team == "UTA"
    assert table.resolve_name("nba", "LA Lakers") == "LAL"
    assert table.resolve_name("nba", "Los Angeles Lakers") == "LAL"
    assert table.resolve_name("nba", "Lakers") == "LAL"
    assert table.resolve_name("epl", "Chelsea FC") == "CFC"
    assert table.resolve_name("nba", "Los Angeles") is None  # two teams: never guessed
    assert normalize_name("Brighton & Hove Albion FC") == "brighton and hove albion"


def test_an_alias_naming_two_teams_of_one_league_is_refused() -> None:
    with pytest.raises(ValidationError, match="names both"):
        TeamTable(
            [
                Team("nba", "LAL", "Los Angeles Lakers", codes={"polymarket": ("la",)}),
                Team("nba", "LAC", "LA Clippers", codes={"polymarket": ("la",)}),
            ]
        )


def test_a_market_listed_twice_counts_once() -> None:
    kalshi = kalshi_game("nba", "KXNBAGAME-26MAR31NYKHOU", "NYK", "HOU", day=date(2026, 3, 31))
    poly = poly_game("nba", "nba-nyk-hou-2026-03-31", "nyk", "hou", day=date(2026, 3, 31))
    match = only(match_markets({"kalshi": kalshi + kalshi[:1], "polymarket": poly + poly}))
    assert sum(len(g.refs) for g in match.groups) == 6
