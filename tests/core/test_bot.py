"""The cycle as a library: two fake exchange plugins, matched, an opportunity found, paper-traded, settled."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import arbkit
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.models import Market
from arbkit.trading.notify import Event, EventKind
from arbkit.trading.records import TradeStatus
from tests.core.test_trading_fakes import Clock, FakeExchange, FakeVenuesPlugin, binary_market

D = Decimal


def pair_by_title(markets: Mapping[str, Sequence[Market]]) -> list[MarketMatch]:
    """A stand-in matcher: markets with the same title on two venues are the same yes/no question."""
    by_title: dict[str, list[Market]] = {}
    for venue_markets in markets.values():
        for market in venue_markets:
            by_title.setdefault(market.title, []).append(market)
    return [
        MarketMatch(
            method="explicit",
            groups=(
                OutcomeGroup("yes", [OutcomeRef(m, "yes") for m in group]),
                OutcomeGroup("no", [OutcomeRef(m, "no") for m in group]),
            ),
            confidence=D(1),
            title=title,
        )
        for title, group in by_title.items()
        if len({m.exchange for m in group}) == 2
    ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FakeExchange, FakeExchange, Clock, arbkit.Settings]]:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    clock = Clock()
    a = alpha.add_market(binary_market("alpha", "A"))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.add_market(binary_market("alpha", "C", title="Unmatched"))
    alpha.set_book(a, "yes", [("0.40", "50")], at=clock.now)
    beta.set_book(b, "no", [("0.50", "50"), ("0.55", "100")], at=clock.now)
    plugin = FakeVenuesPlugin(alpha, beta)  # registered in-process, as a third-party plugin would be
    arbkit.plugin_manager.register(plugin)
    settings = arbkit.Settings.from_mapping(
        {
            "ARBKIT_EXCHANGES": "alpha,beta",
            "ARBKIT_DATA_DIR": str(tmp_path),
            "PAPER_TRADING_INITIAL_BALANCE": "1000",
            "PAPER_TRADING_BET_AMOUNT": "100",
        }
    )
    yield alpha, beta, clock, settings
    arbkit.plugin_manager.unregister(plugin)


def make_bot(settings: arbkit.Settings, clock: Clock, **kw: Any) -> arbkit.Bot:
    return arbkit.Bot.from_settings(settings, clock=clock, scanner_options={"matcher": pair_by_title}, **kw)


def test_full_cycle_finds_trades_and_settles_through_plugins(world: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    alpha, beta, clock, settings = world
    events: list[Event] = []
    bot = make_bot(settings, clock, notifiers=[events.append])

    report = bot.scan_and_trade()

    assert len(report.scan.matches) == 1  # type: ignore[union-attr]
    (opportunity,) = report.opportunities
    assert opportunity.size == D(50)  # the depth at 0.40 + 0.50; the 0.55 level earns nothing
    (result,) = report.executed
    assert result.trade.status is TradeStatus.OPEN  # type: ignore[union-attr]
    assert result.trade.total_cost == D(45)  # type: ignore[union-attr]
    # books came from the scan: one order_books call per venue, no per-leg fetches
    assert alpha.calls.count("order_books") == 1
    assert "order_book" not in alpha.calls
    assert beta.calls.count("order_books") == 1
    assert "order_book" not in beta.calls

    # The same arbitrage is not bought again while the trade is open.
    again = bot.scan_and_trade()
    assert again.results == ()
    assert again.skipped == again.opportunities != ()

    alpha.resolve("A", {"yes": "0", "no": "1"})
    beta.resolve("B", {"yes": "0", "no": "1"})
    (settlement,) = bot.settle()

    assert settlement.realised_pnl == D(5)
    state = bot.state()
    assert state.balance == D(1005)
    assert state.open_positions == ()
    assert [e.kind for e in events] == [EventKind.TRADE_EXECUTED, EventKind.TRADE_SETTLED]
    saved = json.loads((tmp_path / "paper_trading_data.json").read_text())
    assert saved["balance"] == "1005.00"
    assert saved["trades"][0]["status"] == "settled"


def test_a_failing_venue_is_recorded_and_never_raised(world: tuple) -> None:  # type: ignore[type-arg]
    _alpha, beta, clock, settings = world
    events: list[Event] = []
    bot = make_bot(settings, clock, notifiers=[events.append])
    beta.fail.add("order_books")

    report = bot.scan_and_trade()

    assert report.opportunities == ()
    assert report.results == ()
    assert report.scan.errors[0][:2] == ("beta", "fetch order books")  # type: ignore[union-attr]
    state = bot.state()
    assert state.recent_errors[-1].venue == "beta"
    assert state.recent_errors[-1].code == "down"
    assert events[-1].kind is EventKind.ERROR

    beta.fail.add("resolution")
    assert bot.settle() == []  # nothing open: no venue asked


def test_settle_never_raises_on_a_venue_error(world: tuple) -> None:  # type: ignore[type-arg]
    alpha, _beta, clock, settings = world
    bot = make_bot(settings, clock)
    assert bot.scan_and_trade().executed
    alpha.fail.add("resolution")
    assert bot.settle() == []
    assert bot.state().recent_errors[-1].operation == "resolution A"


def test_paper_trading_disabled_only_scans(world: tuple) -> None:  # type: ignore[type-arg]
    _alpha, _beta, clock, settings = world
    import attrs

    bot = make_bot(attrs.evolve(settings, paper_trading_enabled=False), clock)
    report = bot.scan_and_trade()
    assert report.results == ()
    assert len(report.skipped) == 1
    assert bot.state().trade_history == ()


def test_an_exchange_that_cannot_be_built_is_left_out_and_recorded(world: tuple) -> None:  # type: ignore[type-arg]
    _alpha, _beta, clock, settings = world
    import attrs

    bot = make_bot(attrs.evolve(settings, exchanges=("alpha", "beta", "nosuch")), clock)
    assert set(bot.scanner.exchanges) == {"alpha", "beta"}
    assert bot.state().recent_errors[-1].venue == "nosuch"
    assert bot.scan_and_trade().executed
