"""Real-shaped games of every supported league, read by the adapters' own parsers, then matched.

The payloads (``fixtures/real_games.json``) follow the venues' documented fields and time
relations (issue 18): Kalshi closes a game market two weeks after the game and expects it
over three hours after the start; Polymarket's ``endDate`` is the start; soccer is three
Yes/No markets on Polymarket. Each fixture says which team every contract pays on.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbkit.engine.detect import find_opportunities
from arbkit.engine.fees import NoFees
from arbkit.engine.matching import DEFAULT_POLICY, MarketMatch, ResolutionPolicy, match_markets
from arbkit.games import OVER, UNDER
from arbkit.models import Market, OrderBook
from arbkit_kalshi.parse import build_markets
from arbkit_kalshi.parse import parse_event as kalshi_event
from arbkit_polymarket.parse import parse_event as poly_event

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "real_games.json").read_text("utf-8"))
MATCHED = FIXTURES["matched"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def venues(fixture: dict[str, Any]) -> dict[str, list[Market]]:
    events = [fixture["kalshi"], *fixture["kalshi"].get("_lines", [])]
    kalshi = [
        m
        for e in events
        for m in build_markets(kalshi_event({k: v for k, v in e.items() if k != "_lines"}), {})
    ]
    return {"kalshi": kalshi, "polymarket": poly_event(fixture["polymarket"])}


def is_line(match: MarketMatch) -> bool:
    return any(m.game.market_type != "moneyline" for m in match.markets)


def moneyline(matches: list[MarketMatch]) -> MarketMatch:
    (match,) = [m for m in matches if not is_line(m)]
    return match


def team_of(match: MarketMatch) -> dict[tuple[str, str], str]:
    """(venue, Kalshi ticker or Polymarket token) -> the group it pays in (Kalshi YES only)."""
    return {
        (r.exchange, r.market.id if r.exchange == "kalshi" else r.outcome_id): g.name
        for g in match.groups
        for r in g.refs
        if r.outcome_id != "no"
    }


@pytest.mark.parametrize(
    "fixture", MATCHED, ids=[f"{f['league']}-{f['polymarket']['slug']}" for f in MATCHED]
)
def test_every_league_matches_on_the_right_tokens_and_the_default_policy_allows_it(
    fixture: dict[str, Any],
) -> None:
    matches = match_markets(venues(fixture))
    match = moneyline(matches)
    assert match.tradable, (match.refusals, match.differences)
    got = team_of(match)
    for ticker, team in fixture["truth"]["kalshi"].items():
        assert got[("kalshi", ticker)] == team
    for token, team in fixture["truth"]["polymarket"].items():
        assert got[("polymarket", token)] == team
    assert not any("close time" in d for d in match.differences)  # 14 days apart on the real venues
    assert match.confidence >= D("0.9")  # well clear of the 0.85 minimum, not hanging on one signal


def test_titles_read_as_the_venues_write_them() -> None:
    titles = {f["league"]: moneyline(match_markets(venues(f))).title for f in MATCHED}
    assert titles["epl"] == "English Premier League: Chelsea vs Aston Villa (2026-01-24)"  # home first
    assert titles["nba"].startswith("NBA: New York vs Houston")  # away first, as both venues list it


def test_title_order_never_outweighs_labels_and_codes_issue_14() -> None:
    (fixture,) = [f for f in MATCHED if f["polymarket"]["title"] == "Illinois vs. Rutgers"]
    match = moneyline(match_markets(venues(fixture)))
    rutgers = next(g for g in match.groups if g.name == "RUTG")
    tokens = {r.outcome_id for r in rutgers.refs if r.exchange == "polymarket"}
    assert tokens == {t for t, team in fixture["truth"]["polymarket"].items() if team == "RUTG"}
    assert "kalshi:KXNCAAMBGAME-26JAN08RUTGILL-RUTG:yes" in {str(r) for r in rutgers.refs}


def test_a_token_mapped_to_the_wrong_team_is_refused_whatever_the_policy() -> None:
    (fixture,) = [f for f in MATCHED if f["polymarket"]["title"] == "Illinois vs. Rutgers"]
    markets = venues(fixture)
    (poly,) = markets["polymarket"]
    game = poly.game
    a, b = (o.id for o in poly.outcomes)
    # An adapter that trusted the title order would say: first token Illinois, second Rutgers.
    swapped = attrs.evolve(game, outcome_teams={a: "ill", b: "rutg"})
    bad = attrs.evolve(poly, game=swapped)
    for policy in (DEFAULT_POLICY, ResolutionPolicy(refuse=frozenset())):
        match = moneyline(match_markets({"kalshi": markets["kalshi"], "polymarket": [bad]}, policy=policy))
        assert not match.tradable
        assert any("rutgers" in r.lower() for r in match.refusals)


def test_a_league_without_aliases_and_city_labels_is_refused_with_a_reason() -> None:
    (fixture,) = FIXTURES["refused"]
    matches = match_markets(venues(fixture))
    assert all(not m.tradable for m in matches)
    assert all(any("unconfirmed" in r for r in m.refusals) for m in matches)


def test_spreads_and_totals_match_only_where_both_venues_list_the_same_line() -> None:
    (fixture,) = [f for f in MATCHED if f["league"] == "nba"]
    lines = [m for m in match_markets(venues(fixture)) if is_line(m)]
    by_kind = {m.markets[0].game.market_type: m for m in lines}
    assert set(by_kind) == {"spread", "total"}
    spread = by_kind["spread"]
    assert [g.name for g in spread.groups] == ["HOU", "NYK"]
    hou = {str(r) for r in spread.groups[0].refs}
    assert any(r.startswith("kalshi:KXNBASPREAD-26JAN23NYKHOU-HOU7:yes") for r in hou)
    poly_ref = next(r for r in spread.groups[0].refs if r.exchange == "polymarket")
    assert poly_ref.market.outcome(poly_ref.outcome_id).name == "Rockets"
    total = by_kind["total"]
    assert [g.name for g in total.groups] == [OVER, UNDER]
    assert {r.market.outcome(r.outcome_id).name for r in total.groups[0].refs} >= {"Over"}
    assert spread.tradable
    assert total.tradable
    # A different number on one venue: no match.
    moved = copy.deepcopy(fixture)
    for market in moved["polymarket"]["markets"]:
        if "-total-" in market["slug"]:
            market["line"] = 220.5
            market["slug"] = market["slug"].replace("218pt5", "220pt5")
    assert not any(
        m.markets[0].game.market_type == "total" for m in match_markets(venues(moved)) if is_line(m)
    )


def test_a_kalshi_no_is_never_the_other_team_where_the_sport_can_tie() -> None:
    (nfl,) = [f for f in MATCHED if f["league"] == "nfl"]
    match = moneyline(match_markets(venues(nfl)))
    assert all(r.outcome_id != "no" for g in match.groups for r in g.refs if r.exchange == "kalshi")
    assert any("tied" in d for d in match.differences)
    (nba,) = [f for f in MATCHED if f["league"] == "nba"]
    nba_match = moneyline(match_markets(venues(nba)))
    assert any(r.outcome_id == "no" for g in nba_match.groups for r in g.refs)  # NBA games cannot tie


def test_postponement_rules_are_listed_to_weigh_not_refused() -> None:
    match = moneyline(match_markets(venues(MATCHED[0])))
    assert any(d.startswith("a postponed game:") for d in match.differences)
    assert match.allowed


def test_the_game_time_decides_not_the_close_time() -> None:
    fixture = copy.deepcopy(MATCHED[0])
    for market in fixture["polymarket"]["markets"]:
        market["gameStartTime"] = "2026-01-24 20:00:00+00"  # five hours before Kalshi's window
    assert [m for m in match_markets(venues(fixture)) if not is_line(m)] == []


LINED = [f for f in MATCHED if f["kalshi"].get("_lines")]


@pytest.mark.parametrize("fixture", LINED, ids=[f["league"] for f in LINED])
def test_lines_pair_the_line_team_and_over_with_the_same_contracts_on_both_venues(
    fixture: dict[str, Any],
) -> None:
    lines = [m for m in match_markets(venues(fixture)) if is_line(m)]
    assert len(lines) == len(fixture["kalshi"]["_lines"])
    for match in lines:
        assert match.tradable, match.refusals
        first = match.groups[0]
        (kalshi_yes,) = [r for r in first.refs if r.exchange == "kalshi"]
        (poly,) = [r for r in first.refs if r.exchange == "polymarket"]
        assert kalshi_yes.outcome_id == "yes"
        info = poly.market.game
        if info.market_type == "total":
            assert first.name == OVER
            assert poly.market.outcome(poly.outcome_id).name == "Over"
        else:  # the line team: Kalshi's suffix team, Polymarket's first-listed outcome
            assert kalshi_yes.market.id.rsplit("-", 1)[1].startswith(first.name)
            assert poly.outcome_id == poly.market.outcomes[0].id
            assert info.line == kalshi_yes.market.game.line


def test_a_spread_on_the_other_team_is_not_the_same_line() -> None:
    (fixture,) = [f for f in MATCHED if f["league"] == "nba"]
    moved = copy.deepcopy(fixture)
    for market in moved["polymarket"]["markets"]:
        if "-spread-" in market["slug"]:  # the same number, on the away team
            market["slug"] = market["slug"].replace("spread-home", "spread-away")
            market["outcomes"] = json.dumps(list(reversed(json.loads(market["outcomes"]))))
            market["clobTokenIds"] = json.dumps(list(reversed(json.loads(market["clobTokenIds"]))))
    kinds = {m.markets[0].game.market_type for m in match_markets(venues(moved)) if is_line(m)}
    assert kinds == {"total"}


def _moneyline_markets(fixture: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in fixture["polymarket"]["markets"] if m["sportsMarketType"] == "moneyline"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_outcome_order_market_order_and_title_order_keeps_every_token_on_its_team(
    data: st.DataObject,
) -> None:
    fixture = copy.deepcopy(data.draw(st.sampled_from(MATCHED)))
    event = fixture["polymarket"]
    for market in _moneyline_markets(fixture):
        outcomes, tokens = json.loads(market["outcomes"]), json.loads(market["clobTokenIds"])
        if data.draw(st.booleans()):  # the venue may list either token first; each keeps its label
            market["outcomes"], market["clobTokenIds"] = json.dumps(outcomes[::-1]), json.dumps(tokens[::-1])
    if data.draw(st.booleans()) and " vs. " in event["title"]:
        left, right = event["title"].split(" vs. ", 1)
        event["title"] = f"{right} vs. {left}"
        for market in _moneyline_markets(fixture):
            if market["question"] == f"{left} vs. {right}":
                market["question"] = event["title"]
    event["markets"] = data.draw(st.permutations(event["markets"]))
    match = moneyline(match_markets(venues(fixture)))
    assert match.tradable, match.refusals
    got = team_of(match)
    for token, team in fixture["truth"]["polymarket"].items():
        assert got[("polymarket", token)] == team


@pytest.mark.parametrize("fixture", MATCHED, ids=[f["polymarket"]["slug"] for f in MATCHED])
def test_an_inverted_venue_mapping_is_refused_with_the_market_named(fixture: dict[str, Any]) -> None:
    """A mapping that contradicts the contracts' own words (labels, questions) is never traded."""
    markets = venues(fixture)
    team_markets = [m for m in markets["polymarket"] if m.game.market_type == "moneyline"]
    first, *rest = team_markets
    info = first.game
    if len(first.outcomes) == 2 and len(info.outcome_teams) == 2:  # a two-team market: swap its mapping
        (a, code_a), (b, code_b) = info.outcome_teams.items()
        swapped = [attrs.evolve(first, game=attrs.evolve(info, outcome_teams={a: code_b, b: code_a}))]
    else:  # soccer: the home market claims to be the away team's (its question still names the home team)
        away = next(c for c in info.teams if c != next(iter(info.outcome_teams.values())))
        yes = next(iter(info.outcome_teams))
        swapped = [attrs.evolve(first, game=attrs.evolve(info, outcome_teams={yes: away}))]
    match = moneyline(match_markets({"kalshi": markets["kalshi"], "polymarket": swapped + rest}))
    assert not match.tradable
    assert any(first.id in reason for reason in match.refusals), match.refusals


def test_polymarkets_home_and_away_fields_are_checked_against_the_codes() -> None:
    (fixture,) = [f for f in MATCHED if f["league"] == "nba"]
    event = copy.deepcopy(fixture)
    event["polymarket"]["homeTeamName"] = "New York Knicks"  # the slug says Houston is at home
    match = moneyline(match_markets(venues(event)))
    assert not match.tradable
    assert any("the home team" in r for r in match.refusals), match.refusals
    event["polymarket"]["homeTeamName"] = "Houston Rockets"
    assert moneyline(match_markets(venues(event))).tradable


@pytest.mark.parametrize(("league", "found"), [("nba", 1), ("nfl", 0)])
def test_detection_buys_a_team_no_as_the_other_team_only_where_games_cannot_tie(
    league: str, found: int
) -> None:
    (fixture,) = [f for f in MATCHED if f["league"] == league]
    markets = {
        venue: [attrs.evolve(m, fees=NoFees()) for m in listed] for venue, listed in venues(fixture).items()
    }
    match = moneyline(match_markets(markets))
    away_ticker = next(iter(fixture["truth"]["kalshi"]))  # Kalshi lists the away team first
    away = fixture["truth"]["kalshi"][away_ticker]
    (poly_away,) = [t for t, team in fixture["truth"]["polymarket"].items() if team == away]
    (poly_market,) = [m for m in markets["polymarket"] if m.game.market_type == "moneyline"]
    # Polymarket's away token and Kalshi's NO on the away team at 0.40 each: $0.80 for a set
    # that pays $1 only if "not the away team" means "the home team wins".
    listed = (
        OrderBook.build("kalshi", away_ticker, "no", asks=[("0.40", "100")], timestamp=NOW),
        OrderBook.build("polymarket", poly_market.id, poly_away, asks=[("0.40", "100")], timestamp=NOW),
    )
    books = {book.key: book for book in listed}
    opportunities = find_opportunities([match], books, bet_amount=D(100), now=NOW)
    assert len(opportunities) == found
