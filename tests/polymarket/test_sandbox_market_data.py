"""The client against the sandbox over loopback: discovery, books, fees, resolution, plugin."""

from __future__ import annotations

from decimal import Decimal

import arbkit
from arbkit.config import Settings
from arbkit.engine.fees import PowerFee
from arbkit.models import MarketStatus, ResolutionState
from arbkit.sandbox import SandboxServer
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox

from .conftest import FED, FED_YES, KNICKS, NBA, ROCKETS, make_client

D = Decimal


def test_discovery_returns_core_markets_with_game_info_and_neg_risk(server: SandboxServer) -> None:
    client = make_client(server)
    markets = {m.id: m for m in client.markets()}
    assert set(markets) == {NBA, FED}
    nba = markets[NBA]
    assert [(o.id, o.name) for o in nba.outcomes] == [(KNICKS, "Knicks"), (ROCKETS, "Rockets")]
    assert nba.fees == PowerFee(rate=D("0.03"), exponent=1)
    game = nba.game
    assert dict(game.outcome_teams) == {KNICKS: "nyk", ROCKETS: "hou"}
    assert (game.away, game.home) == ("nyk", "hou")
    assert markets[FED].meta["neg_risk"] is True
    assert markets[FED].tick_size == D("0.001")
    assert [m.id for m in client.markets(query="fed")] == [FED]
    assert [m.id for m in client.markets(series="nba")] == [NBA]
    assert [m.id for m in client.markets(event_id="nba-nyk-hou-2026-03-31")] == [NBA]


def test_discovery_follows_keyset_pages(sandbox: PolymarketSandbox, server: SandboxServer) -> None:
    scenario = {
        "events": [
            {
                "id": str(i),
                "slug": f"event-{i}",
                "markets": [{"condition_id": f"0x{i:064x}", "token_ids": [str(2 * i + 1), str(2 * i + 2)]}],
            }
            for i in range(1, 231)
        ]
    }
    sandbox.load_scenario(scenario)
    client = make_client(server)
    assert len(client.markets()) == 230
    assert sandbox.requests["GET /gamma/events/keyset"] == 3
    assert len(client.markets(limit=5)) == 5


def test_market_uses_clob_parameters_and_fees(server: SandboxServer) -> None:
    market = make_client(server).market(FED)
    assert market.fees == PowerFee(rate=D("0.04"), exponent=1)
    assert market.meta["neg_risk"] is True
    assert market.min_order_size == 5


def test_books_in_one_request_best_first_and_mirrored_for_the_second_token(
    sandbox: PolymarketSandbox, server: SandboxServer
) -> None:
    client = make_client(server)
    markets = client.markets()
    sandbox.requests.clear()
    books = client.order_books(markets)
    assert sandbox.requests["POST /books"] == 1
    assert set(books) == {
        ("polymarket", NBA, KNICKS),
        ("polymarket", NBA, ROCKETS),
        ("polymarket", FED, FED_YES),
        ("polymarket", FED, markets[1].outcomes[1].id),
    }
    knicks, rockets = books[("polymarket", NBA, KNICKS)], books[("polymarket", NBA, ROCKETS)]
    assert (knicks.best_bid.price, knicks.best_ask.price) == (D("0.45"), D("0.47"))  # type: ignore[union-attr]
    assert (rockets.best_bid.price, rockets.best_ask.price) == (D("0.53"), D("0.55"))  # type: ignore[union-attr]
    assert rockets.best_ask.size == 120  # type: ignore[union-attr]
    single = client.order_book(markets[0], KNICKS)
    assert single.bids == knicks.bids


def test_resolution_from_the_clob_winner_then_gamma_void_and_fifty_fifty(
    sandbox: PolymarketSandbox, server: SandboxServer
) -> None:
    client = make_client(server)
    nba, fed = client.market(NBA), client.market(FED)
    assert client.resolution(nba).state is ResolutionState.PENDING
    sandbox.resolve(NBA, winner=ROCKETS)
    resolved = client.resolution(nba)
    assert resolved.state is ResolutionState.RESOLVED
    assert (resolved.payout(ROCKETS), resolved.payout(KNICKS)) == (1, 0)
    assert client.markets(status=MarketStatus.RESOLVED)[0].id == NBA
    sandbox.resolve(FED, result="void")
    assert client.resolution(fed).state is ResolutionState.VOID
    sandbox.load_scenario({"events": [{"markets": [{"condition_id": "0xabc", "token_ids": ["1", "2"]}]}]})
    sandbox.resolve("0xabc", result="50-50")
    half = client.resolution(client.market("0xabc"))
    assert half.payout("1") == D("0.5")


def test_registered_as_a_plugin_and_built_from_settings(
    server: SandboxServer, wallet: tuple[str, str]
) -> None:
    assert "polymarket" in arbkit.exchanges()
    settings = Settings.from_mapping(
        {
            "POLYMARKET_PRIVATE_KEY": wallet[0],
            "POLYMARKET_CLOB_URL": server.url,
            "POLYMARKET_GAMMA_URL": server.url + "/gamma",
        }
    )
    exchange = arbkit.exchange("polymarket", settings, data_url=server.url + "/data-api")
    assert isinstance(exchange, PolymarketClient)
    assert exchange.address == wallet[1]
    assert exchange.balance().available == 1000
    assert wallet[0][2:12] not in repr(exchange)
