"""Settlement of won, lost, void, 50-50 and disagreeing pairs, through the paper trading system."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from arbkit.models import Resolution
from arbkit.trading.notify import Event, EventKind, Severity
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import TradeStatus
from arbkit.trading.settlement import DISAGREEMENT_FLAG, settle_trade
from arbkit.trading.store import JsonFileStore
from tests.core.test_trading_fakes import T0, Clock, FakeExchange, arb, binary_market, kalshi_fee

D = Decimal


@pytest.fixture
def setup(tmp_path: Path) -> tuple[PaperTradingSystem, FakeExchange, FakeExchange, list[Event]]:
    """A paper system holding one trade: YES on alpha:A at 0.40 and NO on beta:B at 0.50, 10 contracts."""
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    a = alpha.add_market(binary_market("alpha", "A", fees=kalshi_fee()))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "100")])
    beta.set_book(b, "no", [("0.50", "100")])
    system = PaperTradingSystem(
        initial_balance=D(1000),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        exchanges={"alpha": alpha, "beta": beta},
        clock=Clock(),
    )
    trade = system.execute(arb(a, b)).trade
    assert trade is not None
    assert trade.total_cost == D("9.17")  # 4.00 + 5.00 + Kalshi fee 0.07 x 10 x 0.4 x 0.6 = 0.168 -> 0.17
    events: list[Event] = []
    system.add_notifier(events.append)
    return system, alpha, beta, events


def test_nothing_settles_while_a_leg_is_pending(setup: tuple) -> None:  # type: ignore[type-arg]
    system, alpha, _beta, events = setup
    alpha.resolve("A", {"yes": "1", "no": "0"})
    assert system.check_settlements() == []
    assert system.state().open_positions[0].status is TradeStatus.OPEN
    assert events == []


@pytest.mark.parametrize(
    ("a_payouts", "b_payouts", "payout"),
    [
        ({"yes": "1", "no": "0"}, {"yes": "1", "no": "0"}, D(10)),  # A won: YES leg pays
        ({"yes": "0", "no": "1"}, {"yes": "0", "no": "1"}, D(10)),  # B's NO won
        ({"yes": "0.5", "no": "0.5"}, {"yes": "0.5", "no": "0.5"}, D(10)),  # 50-50 on both
    ],
    ids=["yes-won", "no-won", "fifty-fifty"],
)
def test_a_resolved_pair_pays_out_the_guaranteed_profit(
    setup: tuple,  # type: ignore[type-arg]
    a_payouts: dict[str, str],
    b_payouts: dict[str, str],
    payout: Decimal,
) -> None:
    system, alpha, beta, events = setup
    alpha.resolve("A", a_payouts)
    beta.resolve("B", b_payouts)

    (settlement,) = system.check_settlements()

    assert settlement.payout == payout
    assert settlement.realised_pnl == D("0.83")
    assert not settlement.disagreement
    state = system.state()
    assert state.balance == D(1000) - D("9.17") + payout
    assert state.realised_pnl == D("0.83")
    assert state.daily_loss == 0
    assert state.open_positions == ()
    assert state.trade_history[0].status is TradeStatus.SETTLED
    assert [e.kind for e in events] == [EventKind.TRADE_SETTLED]
    assert events[0].text == "📄 PAPER Settled: Lakers at Celtics: payout $10.00, P&L +$0.83"
    # settled exactly once
    assert system.check_settlements() == []
    # and persisted
    stored = JsonFileStore(system.store.path).load()  # type: ignore[attr-defined]
    assert stored.trades[0].status is TradeStatus.SETTLED
    assert stored.ledger.balance == state.balance


def test_void_that_pays_nothing_is_booked_as_nothing_paid(setup: tuple) -> None:  # type: ignore[type-arg]
    # A void market whose venue gives no payout (Polymarket outcomePrices ["0","0"]) pays nothing:
    # it used to be booked as a $9 refund at cost, $9 of balance the account never received.
    system, alpha, beta, events = setup
    before = system.state().balance
    alpha.resolve("A", {}, state="void")
    beta.resolve("B", {}, state="void")
    (settlement,) = system.check_settlements()
    assert settlement.void
    assert not settlement.disagreement
    assert settlement.payout == D(0)
    assert settlement.realised_pnl == D("-9.17")
    assert system.state().balance == before
    assert system.state().daily_loss == D("9.17")
    assert "the venue paid nothing" in settlement.trade.note
    assert "(void)" in events[0].text


def test_void_refunded_by_the_venue_is_booked_at_what_it_pays(setup: tuple) -> None:  # type: ignore[type-arg]
    # Kalshi reports a void/refund as a settlement value per YES contract (NO pays 1 minus it);
    # the adapter gives those payouts, and settlement books exactly them.
    system, alpha, beta, _ = setup
    alpha.resolve("A", {"yes": "0.40", "no": "0.60"}, state="void")
    beta.resolve("B", {"yes": "0.50", "no": "0.50"}, state="void")
    (settlement,) = system.check_settlements()
    assert settlement.void
    assert settlement.payout == D(9)  # 10 x 0.40 on A's YES + 10 x 0.50 on B's NO
    assert settlement.realised_pnl == D("-0.17")  # the fee is not refunded


def test_fifty_fifty_pays_half_per_contract_on_each_venue(setup: tuple) -> None:  # type: ignore[type-arg]
    system, alpha, beta, _ = setup
    alpha.resolve("A", {"yes": "0.5", "no": "0.5"})
    beta.resolve("B", {"yes": "0.5", "no": "0.5"})
    (settlement,) = system.check_settlements()
    assert settlement.payout == D(10)  # 5 + 5: a complete set still pays $1
    assert not settlement.disagreement


@pytest.mark.parametrize(
    ("a_payouts", "b_payouts", "payout", "what"),
    [
        ({"yes": "1", "no": "0"}, {"yes": "0", "no": "1"}, D(20), "both legs won"),
        ({"yes": "0", "no": "1"}, {"yes": "1", "no": "0"}, D(0), "no leg won"),
    ],
    ids=["both-won", "both-lost"],
)
def test_disagreeing_venues_are_flagged_loudly_and_paid_as_the_venues_pay(
    setup: tuple,  # type: ignore[type-arg]
    a_payouts: dict[str, str],
    b_payouts: dict[str, str],
    payout: Decimal,
    what: str,
) -> None:
    system, alpha, beta, events = setup
    alpha.resolve("A", a_payouts)
    beta.resolve("B", b_payouts)

    (settlement,) = system.check_settlements()

    assert settlement.disagreement
    assert settlement.payout == payout
    assert settlement.realised_pnl == payout - D("9.17")
    trade = system.state().trade_history[0]
    assert DISAGREEMENT_FLAG in trade.flags
    assert what in trade.note
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.TRADE_SETTLED, EventKind.DISAGREEMENT]
    assert all(e.severity is Severity.ERROR for e in events)
    assert events[1].text.startswith("📄 PAPER VENUES DISAGREE: Lakers at Celtics: venues disagree")
    if payout == 0:
        assert system.state().daily_loss == D("9.17")


def test_one_venue_void_the_other_resolved_is_a_disagreement(setup: tuple) -> None:  # type: ignore[type-arg]
    system, alpha, beta, _ = setup
    alpha.resolve("A", {}, state="void")
    beta.resolve("B", {"yes": "1", "no": "0"})
    (settlement,) = system.check_settlements()
    assert settlement.disagreement
    assert "one voided" in settlement.note
    assert settlement.payout == D(0)  # A void and unpaid by its venue, B's NO lost


def test_a_venue_error_is_recorded_and_the_trade_waits(setup: tuple) -> None:  # type: ignore[type-arg]
    system, alpha, beta, events = setup
    alpha.resolve("A", {"yes": "1", "no": "0"})
    beta.resolve("B", {"yes": "1", "no": "0"})
    beta.fail.add("resolution")

    assert system.check_settlements() == []
    state = system.state()
    assert state.open_positions != ()
    assert state.recent_errors[-1].venue == "beta"
    assert state.recent_errors[-1].operation == "resolution B"
    assert [e.kind for e in events] == [EventKind.ERROR]

    beta.fail.clear()
    assert len(system.check_settlements()) == 1


def test_one_legged_exposure_settles_on_what_is_held(setup: tuple) -> None:  # type: ignore[type-arg]
    system, _alpha, _beta, _ = setup
    trade = system.state().trade_history[0]
    no_leg = attrs.evolve(trade.legs[1], filled_size=D(0), average_price=None, fees=D(0))
    exposure = attrs.evolve(trade, legs=(trade.legs[0], no_leg), status=TradeStatus.EXPOSURE)
    resolutions = {("alpha", "A"): Resolution("alpha", "A", "resolved", payouts={"yes": "1", "no": "0"})}

    settlement = settle_trade(exposure, resolutions, now=T0)

    assert settlement is not None
    assert not settlement.disagreement
    assert settlement.payout == D(10)
    assert settlement.realised_pnl == D(10) - D("4.17")


def test_settlement_uses_the_market_the_trade_was_made_on_and_a_restart_asks_once(
    setup: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    system, alpha, beta, _events = setup
    alpha.resolve("A", {"yes": "1", "no": "0"})
    beta.resolve("B", {"yes": "1", "no": "0"})
    alpha.calls.clear()
    beta.calls.clear()
    (settlement,) = system.check_settlements()
    assert settlement.payout == D(10)
    # The legs hold their markets: only the resolutions were asked for.
    assert alpha.calls == ["resolution"]
    assert beta.calls == ["resolution"]

    # A process that loads the trade from the store has no market with it: it asks once.
    trade = system.state().trade_history[0]
    reloaded = JsonFileStore(tmp_path / "paper_trading_data.json").load()
    assert reloaded is not None
    assert all(leg.market is None for leg in reloaded.trades[0].legs)
    assert reloaded.trades[0] == trade  # the reference is not part of the record
