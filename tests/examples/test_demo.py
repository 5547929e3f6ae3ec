"""The demo scenario: both venues' scenarios from one game list, paired by the real matcher; the driver."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from examples.demo.driver import Driver
from examples.demo.scenario import (
    Game,
    demo_games,
    generated_games,
    kalshi_scenario,
    polymarket_scenario,
)

import arbkit
from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from arbkit_polymarket.sandbox import PolymarketSandbox

from .conftest import Venues


def scanner_for(kalshi: SandboxServer, polymarket: SandboxServer) -> arbkit.Scanner:
    settings = arbkit.Settings.from_mapping(
        {
            "KALSHI_BASE_URL": kalshi.url + PREFIX,
            "POLYMARKET_CLOB_URL": polymarket.url,
            "POLYMARKET_GAMMA_URL": polymarket.url + "/gamma",
        }
    )
    return arbkit.Scanner.from_settings(settings, refresh_seconds=0)


@pytest.fixture
def scanner(venues: Venues) -> Iterator[arbkit.Scanner]:
    scanner = scanner_for(venues.kalshi_server, venues.polymarket_server)
    yield scanner
    for client in scanner.exchanges.values():
        client.close()


def test_every_demo_game_is_paired_and_exactly_the_priced_apart_ones_are_arbitrage(
    scanner: arbkit.Scanner, venues: Venues
) -> None:
    result = scanner.scan()
    assert result.errors == ()
    assert len(result.matches) == len(venues.games) == 10
    assert all(match.tradable for match in result.matches)
    live_edges = {g.slug for g in venues.games if g.edge > 0 and g.edge_from == 0}
    found = {o.legs[0].market.event_id for o in result.opportunities} | {
        leg.market.event_id for o in result.opportunities for leg in o.legs
    }
    assert len(result.opportunities) == len(live_edges) == 4
    assert live_edges <= found
    soccer = next(o for o in result.opportunities if o.kind == "3-way")
    assert len(soccer.legs) == 3
    assert {leg.exchange for leg in soccer.legs} == {"kalshi", "polymarket"}
    for opportunity in result.opportunities:
        assert opportunity.profit > 0
        assert opportunity.roi_percent >= 1


def test_the_driver_opens_late_edges_keeps_fair_games_fair_and_resolves_due_games(
    scanner: arbkit.Scanner, venues: Venues
) -> None:
    driver = Driver(
        venues.games, kalshi_url=venues.kalshi_server.url, polymarket_url=venues.polymarket_server.url
    )
    fair = {g.slug for g in venues.games if g.edge == 0}
    for elapsed in (10.0, 20.0, 30.0, 65.0):
        driver.step(elapsed)
        titles = {leg.market.event_id for o in scanner.scan().opportunities for leg in o.legs}
        assert not titles & fair, f"a fair game became arbitrage at {elapsed}s"
    # The MLB edge opens at 60 s: five opportunities now.
    assert len(scanner.scan().opportunities) == 5
    driver.step(105.0)  # the NBA game resolves at 100 s
    knicks = next(g for g in venues.games if g.event_ticker.endswith("NYKHOU"))
    assert driver.resolved == {venues.games.index(knicks)}
    state = venues.kalshi.control_state()
    assert state["markets"][f"{knicks.event_ticker}-HOU"]["result"] == "yes"
    assert state["markets"][f"{knicks.event_ticker}-NYK"]["result"] == "no"
    remaining = scanner.scan()
    assert all(knicks.slug not in {leg.market.event_id for leg in o.legs} for o in remaining.opportunities)
    driver.stop()


def test_generated_games_give_five_hundred_distinct_matched_pairs(tmp_path: Path) -> None:
    games = generated_games(500)
    assert len({g.event_ticker for g in games}) == 500
    assert len({g.slug for g in games}) == 500
    assert {g.league for g in games} == {"nba", "nfl", "mlb", "nhl", "epl"}
    assert generated_games(500) == games  # deterministic
    kalshi = KalshiSandbox()
    kalshi.load_scenario(kalshi_scenario(games))
    polymarket = PolymarketSandbox()
    polymarket.load_scenario(polymarket_scenario(games))
    with SandboxServer(kalshi) as k, SandboxServer(polymarket) as p:
        scanner = scanner_for(k, p)
        result = scanner.scan()
        for client in scanner.exchanges.values():
            client.close()
    assert result.errors == ()
    assert len(result.matches) == 500
    assert sum(1 for m in result.matches if m.tradable) == 500
    arbitrage = sum(1 for g in games if g.edge > 0)
    assert len(result.opportunities) == arbitrage
    assert 100 < arbitrage < 200


def test_prices_sum_to_one_and_stay_on_the_cent_tick() -> None:
    for game in [*demo_games(), *generated_games(60)]:
        for venue in ("kalshi", "polymarket"):
            prices = game.prices(venue, elapsed=1e9)
            assert all(p == p.quantize(Decimal("0.01")) for p in prices)
            assert all(Decimal("0.02") < p < Decimal("0.98") for p in prices)
            assert abs(sum(prices, Decimal(0)) - 1) <= Decimal("0.02")


def test_tickers_and_slugs_follow_the_venues_conventions() -> None:
    games = demo_games()
    mlb, epl, nba = (next(g for g in games if g.league == league) for league in ("mlb", "epl", "nba"))
    assert mlb.event_ticker.startswith("KXMLBGAME-")
    assert mlb.event_ticker.endswith("BOSNYY")
    assert len(mlb.event_ticker.split("-")[1]) == len("26NOV251830BOSNYY")  # MLB carries HHMM (ET)
    assert epl.event_ticker.endswith("ARSEVE")  # soccer: home first
    assert epl.slug.startswith("epl-ars-eve-")
    assert nba.slug.startswith("nba-nyk-hou-")  # US: away first
    market = polymarket_scenario([epl])["events"][0]["markets"]
    assert [m["slug"].rsplit("-", 1)[1] for m in market] == ["ars", "draw", "eve"]
    assert Game("nba", "NYK", "HOU", nba.start, ("0.5", "0.5")).codes == ("NYK", "HOU")
