"""Several live instances on one database see one book: every trade, one ledger, one payout each."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest

from arbkit.errors import PersistenceError
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.postgres import PostgresStore
from arbkit.trading.records import TradeStatus
from arbkit.trading.risk import BalanceCheck, MaxDailyTrades, RiskChain
from tests import scenarios as sc
from tests.core import test_store as contract
from tests.live.conftest import FAST, Venues

D = Decimal


def test_a_trade_settled_by_one_instance_cannot_be_paid_again_by_another(
    pg_store: Callable[..., PostgresStore],
) -> None:
    first, second = pg_store("paper"), pg_store("paper")
    trade = contract.make_trade()
    assert first.load() is None
    first.append_trade(trade, contract.ledger("9988.74", 1))
    assert second.load() is not None  # both now hold the open trade
    settled = attrs.evolve(trade, status=TradeStatus.SETTLED, realised_pnl=D("0.74"), settled_at=contract.T0)
    first.update_trade(settled, contract.ledger("10000.74", 1))  # paid 12

    with pytest.raises(PersistenceError, match="changed by another instance"):
        second.update_trade(settled, contract.ledger("10000.74", 1))

    ledger = pg_store("paper").ledger()
    assert ledger is not None
    assert ledger.balance == D("10000.74")  # one payout
    changed, shared = second.changes()
    assert changed == [settled]
    assert shared == ledger


def test_instances_see_each_others_trades_and_settle_each_once(
    venues: Venues, pg_store: Callable[..., PostgresStore]
) -> None:
    def system() -> RealTradingSystem:
        return RealTradingSystem(
            initial_balance=D(2000),
            store=pg_store(),
            risk=RiskChain([BalanceCheck()]),
            exchanges={"kalshi": venues.kalshi(), "polymarket": venues.poly()},
            execution=FAST,
            recover_on_start=False,
        )

    a, b = system(), system()
    mine = a.execute(sc.opportunity(venues.kalshi(), venues.poly(), size=D(4))).trade
    theirs = b.execute(sc.opportunity(venues.kalshi(), venues.poly(), size=D(6))).trade
    assert mine is not None
    assert theirs is not None
    venues.kalshi_app.resolve(sc.KALSHI_TICKER, "yes")
    venues.poly_app.resolve(sc.POLY_MARKET, winner=sc.KNICKS)

    settled = a.check_settlements() + b.check_settlements()

    assert sorted(s.trade.id for s in settled) == sorted([mine.id, theirs.id])  # each once
    moved = venues.kalshi_cash() - sc.KALSHI_BALANCE + venues.poly_cash() - sc.POLY_BALANCE
    for instance in (a, b):
        report = instance.reconcile()
        assert report.mismatches == (), report.mismatches  # positions and cash: both agree with the venues
        state = instance.state()
        assert {t.id for t in state.trade_history} == {mine.id, theirs.id}
        assert state.balance - D(2000) == moved  # the shared ledger, as the venues moved cash
        assert state.daily_trades == 2
    a.close()
    b.close()


def test_shared_limits_that_cannot_be_checked_refuse_the_trade_before_any_order(
    venues: Venues, pg_store: Callable[..., PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = pg_store()
    system = RealTradingSystem(
        initial_balance=D(2000),
        store=store,
        risk=RiskChain([BalanceCheck()]),
        exchanges={"kalshi": venues.kalshi(), "polymarket": venues.poly()},
        execution=FAST,
        recover_on_start=False,
    )

    def unreachable(*args: object, **kwargs: object) -> None:
        raise PersistenceError("cannot check the shared limits (postgresql://arbkit:***@db/arbkit): gone")

    monkeypatch.setattr(store, "reserve", unreachable)
    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))

    assert result.trade is None
    assert result.reasons
    assert result.reasons[0].startswith("the shared limits cannot be checked")
    assert venues.order_posts("kalshi") == venues.order_posts("polymarket") == 0
    system.close()


def test_paper_instances_on_one_database_hold_the_daily_limit_and_one_ledger(
    venues: Venues, pg_store: Callable[..., PostgresStore]
) -> None:
    def paper() -> PaperTradingSystem:
        return PaperTradingSystem(
            initial_balance=D(10000),
            store=pg_store("paper"),
            risk=RiskChain([MaxDailyTrades(3), BalanceCheck()]),
            exchanges={"kalshi": venues.kalshi(), "polymarket": venues.poly()},
        )

    a, b = paper(), paper()
    opportunity = sc.opportunity(venues.kalshi(), venues.poly(), size=D(5))
    results = [system.execute(opportunity) for system in (a, b, a, b, a, b)]

    made = [r for r in results if r.trade is not None and r.trade.filled]
    assert len(made) == 3  # each instance alone would have allowed three
    assert all("across instances" in r.reasons[0] for r in results if r.trade is None)
    shared = pg_store("paper").ledger()
    assert shared is not None
    assert shared.daily.trades == 3
    assert shared.balance == D(10000) - sum((r.trade.total_cost for r in made if r.trade), D(0))
    b.check_settlements()  # reads what the other recorded
    assert {t.id for t in b.state().trade_history} == {r.trade.id for r in made if r.trade}
