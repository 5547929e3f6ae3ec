"""One game of every supported league served by both sandboxes as the real venues shape it, then scanned.

The scenarios come from ``examples/demo/scenario.py`` (:func:`league_games`): Kalshi closes the
game markets two weeks after the game, Polymarket's ``endDate`` is the start (issue 18); the
NCAA game's Polymarket title lists the teams in the other order than its slug (issue 14); the
WNBA has no alias table, so its game must be refused with a reason, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from examples.demo.scenario import TEAMS, Game, kalshi_scenario, league_games, polymarket_scenario

import arbkit
from arbkit.engine.matching import MarketMatch
from arbkit.games import DRAW
from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from arbkit_polymarket.sandbox import PolymarketSandbox

GAMES = league_games()


@pytest.fixture(scope="module")
def result() -> Iterator[arbkit.ScanResult]:
    kalshi, polymarket = KalshiSandbox(), PolymarketSandbox()
    kalshi.load_scenario(kalshi_scenario(GAMES))
    polymarket.load_scenario(polymarket_scenario(GAMES))
    with SandboxServer(kalshi) as k, SandboxServer(polymarket) as p:
        settings = arbkit.Settings.from_mapping(
            {
                "KALSHI_BASE_URL": k.url + PREFIX,
                "POLYMARKET_CLOB_URL": p.url,
                "POLYMARKET_GAMMA_URL": p.url + "/gamma",
            }
        )
        scanner = arbkit.Scanner.from_settings(settings, refresh_seconds=0)
        try:
            yield scanner.scan()
        finally:
            for client in scanner.exchanges.values():
                client.close()


def match_of(result: arbkit.ScanResult, game: Game) -> MarketMatch:
    (match,) = [m for m in result.matches if any(x.id.startswith(game.event_ticker) for x in m.markets)]
    return match


@pytest.mark.parametrize("game", [g for g in GAMES if g.league != "wnba"], ids=lambda g: g.league)
def test_each_league_is_paired_on_the_right_tokens_and_allowed(result: arbkit.ScanResult, game: Game) -> None:
    match = match_of(result, game)
    assert match.tradable, match.refusals
    for group in match.groups:
        for ref in group.refs:
            if ref.exchange == "kalshi" and ref.outcome_id == "yes":
                suffix = ref.market.id.rsplit("-", 1)[1]
                assert group.name == (DRAW if suffix == "TIE" else suffix)
            if ref.exchange == "polymarket" and not game.three_way:
                nickname = ref.market.outcome(ref.outcome_id).name
                assert nickname == dict((c, n) for c, _, n in TEAMS[game.league])[group.name]
    assert not any("close time" in d for d in match.differences)


def test_the_served_times_are_the_real_venues_relations(result: arbkit.ScanResult) -> None:
    game = GAMES[0]
    match = match_of(result, game)
    for market in match.markets:
        info = market.game
        if market.exchange == "kalshi":
            assert market.close_time is not None
            assert market.close_time - game.start == timedelta(days=14)
            assert info.expected_end - game.start == timedelta(hours=3)
            assert info.scheduled_date == game.kalshi_day
        else:
            assert market.close_time == game.start == info.start_time


def test_a_title_in_the_other_order_than_the_slug_still_pairs_the_right_tokens(
    result: arbkit.ScanResult,
) -> None:
    (game,) = [g for g in GAMES if g.reversed_title]
    assert game.title.startswith("Illinois vs.")
    assert game.slug.startswith("cbb-rutg-ill-")
    match = match_of(result, game)
    rutgers = next(g for g in match.groups if g.name == "RUTG")
    (poly,) = [r for r in rutgers.refs if r.exchange == "polymarket"]
    assert poly.market.outcome(poly.outcome_id).name == "Rutgers"


def test_a_league_without_aliases_is_refused_with_a_reason(result: arbkit.ScanResult) -> None:
    (game,) = [g for g in GAMES if g.league == "wnba"]
    match = match_of(result, game)
    assert not match.tradable
    assert any("identity unconfirmed" in r for r in match.refusals), match.refusals
    assert not any(
        leg.market.id.startswith(game.event_ticker) for o in result.opportunities for leg in o.legs
    )
