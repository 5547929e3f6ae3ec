"""Several accounts per venue, live on both sandboxes: routing, refusal, reconciliation, recovery,
flattening, each on the account a leg was sent from (the sandboxes verify each account's own
signatures: Kalshi's RSA key per API key id, Polymarket's EIP-712 order signer per wallet)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arbkit.accounts import AccountId
from arbkit.trading.execution.journal import Journal
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.reconcile import Mismatch
from arbkit.trading.records import TradeStatus
from arbkit.trading.store import JsonFileStore, SqliteStore
from tests import scenarios as sc
from tests.live.conftest import SystemFactory, Venues

D = Decimal
HEDGE_K = AccountId("kalshi", "hedge")
HEDGE_P = AccountId("polymarket", "hedge")


def accounts(venues: Venues) -> dict[Any, Any]:
    return {
        "kalshi": venues.kalshi(),
        "kalshi:hedge": venues.kalshi_hedge(),
        "polymarket": venues.poly(),
        HEDGE_P: venues.poly_hedge(),
    }


def leg_on(trade: Any, venue: str) -> Any:
    return next(leg for leg in trade.legs if leg.exchange == venue)


def test_each_leg_is_sent_from_its_venues_account_with_the_most_free_cash(
    live_system: SystemFactory, venues: Venues, tmp_path: Path
) -> None:
    venues.with_hedge(kalshi=D(1500), poly=D(200))  # Kalshi: the hedge has more; Polymarket: less
    system = live_system(exchanges=accounts(venues))
    assert system.account_ids == (AccountId("kalshi"), HEDGE_K, AccountId("polymarket"), HEDGE_P)

    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))

    trade = result.trade
    assert trade is not None, result
    assert trade.status is TradeStatus.OPEN, result
    assert leg_on(trade, "kalshi").account_id == HEDGE_K
    assert leg_on(trade, "polymarket").account_id == AccountId("polymarket")
    # The venues agree: the hedge Kalshi account and the default Polymarket wallet hold them.
    assert venues.kalshi_position(hedge=True) == sc.SIZE
    assert venues.kalshi_position() == 0
    assert venues.poly_tokens() == sc.SIZE
    assert venues.poly_tokens(hedge=True) == 0
    assert venues.kalshi_cash(hedge=True) == D(1500) + leg_on(trade, "kalshi").basis * -1
    assert venues.kalshi_cash() == sc.KALSHI_BALANCE
    # The account is in the store, the journal and the state, and survives a reload.
    stored = JsonFileStore(tmp_path / "real_trading_data.json").load()
    assert stored is not None
    assert [leg.account for leg in stored.trades[0].legs] == [leg.account for leg in trade.legs]
    intent = Journal(tmp_path / "journal.jsonl").entry(trade.id)
    assert intent is not None
    assert intent.intent is not None
    assert {leg["exchange"]: leg["account"] for leg in intent.intent.data["trade"]["legs"]} == {
        "kalshi": "hedge",
        "polymarket": "default",
    }
    state = {str(a.account): a for a in system.state().accounts}
    assert state["kalshi:hedge"].positions == ((sc.KALSHI_TICKER, "yes", sc.SIZE),)
    assert state["kalshi"].positions == ()
    assert state["kalshi:hedge"].cash_flow == -leg_on(trade, "kalshi").basis
    report = system.reconcile()
    assert report.mismatches == (), report.mismatches
    assert [v.label for v in report.venues] == ["kalshi", "kalshi:hedge", "polymarket", "polymarket:hedge"]
    totals = {v.venue: v for v in report.totals}
    assert totals["kalshi"].cash_available == venues.kalshi_cash() + venues.kalshi_cash(hedge=True)
    assert [(p.stored, p.venue) for p in totals["kalshi"].positions] == [(sc.SIZE, sc.SIZE)]


def test_legs_follow_the_cash_as_an_account_spends_it(live_system: SystemFactory, venues: Venues) -> None:
    venues.with_hedge(kalshi=D(1003), poly=D(0))  # $3 more than the default account
    system = live_system(exchanges=accounts(venues))
    first = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    second = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert first is not None
    assert second is not None
    # The first trade spent ~$4 of the hedge's cash: the second goes to the default account.
    assert [leg_on(t, "kalshi").account for t in (first, second)] == ["hedge", "default"]
    assert venues.kalshi_position(hedge=True) == sc.SIZE == venues.kalshi_position()
    assert system.reconcile().mismatches == ()


def test_a_leg_no_account_can_pay_for_is_refused_before_any_order(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.with_hedge(kalshi=D(2), poly=D(0))
    venues.kalshi_app.add_account(venues.key_id, venues.public_pem, D(3))
    system = live_system(exchanges=accounts(venues))

    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))

    assert result.trade is None
    assert result.rejected
    (reason,) = result.reasons
    assert "no kalshi account has the $4.17 leg 1 reserves" in reason, reason
    assert "(kalshi $3.00, kalshi:hedge $2.00)" in reason, reason
    assert venues.order_posts("kalshi") == 0
    assert venues.order_posts("polymarket") == 0


def test_one_account_per_venue_keeps_the_balance_refusal_it_always_had(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.kalshi_app.add_account(venues.key_id, venues.public_pem, D(3))
    system = live_system()
    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    assert result.reasons == ("insufficient balance: kalshi needs $4.17, has $3.00",), result.reasons


def test_reconciliation_names_the_account_whose_position_differs(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.with_hedge(kalshi=D(0), poly=D(1500))
    system = live_system(exchanges=accounts(venues))
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert leg_on(trade, "polymarket").account_id == HEDGE_P
    assert system.reconcile().mismatches == ()

    venues.poly_app.give_tokens(venues.hedge.poly_address, sc.ROCKETS, 2)  # type: ignore[union-attr]
    report = system.reconcile()

    (mismatch,) = report.mismatches
    assert mismatch == Mismatch(
        "polymarket",
        "position",
        f"polymarket:hedge {sc.POLY_MARKET} {sc.ROCKETS}: stored {sc.SIZE}, venue holds {sc.SIZE + 2}",
        sc.POLY_MARKET,
        sc.ROCKETS,
        sc.SIZE,
        sc.SIZE + 2,
        account="hedge",
    )
    views = {v.label: v for v in report.venues}
    assert not views["polymarket:hedge"].agrees
    assert views["polymarket"].agrees
    (error,) = [e for e in system.state().recent_errors if e.operation == "reconcile position"]
    assert error.venue == "polymarket:hedge"


def test_reconciliation_names_the_account_whose_cash_differs(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.with_hedge(kalshi=D(1500), poly=D(0))
    system = live_system(exchanges=accounts(venues))
    assert system.execute(sc.opportunity(venues.kalshi(), venues.poly())).executed
    assert system.reconcile().mismatches == ()
    with venues.kalshi_app.lock:  # $10 reaches the hedge account by a way no record knows
        venues.kalshi_app.engine.accounts[venues.hedge.key_id].balance += 10  # type: ignore[union-attr]
    kinds = {(m.kind, m.label) for m in system.reconcile().mismatches}
    assert kinds == {("cash", "all"), ("cash", "kalshi:hedge")}, kinds


def test_flattening_sells_on_the_account_that_holds_the_contracts(
    live_system: SystemFactory, venues: Venues
) -> None:
    venues.with_hedge(kalshi=D(1500), poly=D(1500))
    system = live_system(exchanges=accounts(venues))
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert {leg.account for leg in trade.legs} == {"hedge"}

    flattened = system.flatten(trade.id, max_loss=D(2))

    assert flattened.status is TradeStatus.UNWOUND, flattened
    assert venues.kalshi_position(hedge=True) == 0
    assert venues.poly_tokens(hedge=True) == 0
    assert venues.kalshi_orders() == []
    assert venues.poly_orders() == []
    assert system.reconcile().mismatches == ()


class Crash(BaseException):
    """The process dies right after a journal record."""


class CrashingJournal(Journal):
    def __init__(self, path: Path, crash_after: int) -> None:
        super().__init__(path)
        self.left = crash_after

    def append(self, trade_id: str, step: str, **data: Any) -> Any:
        record = super().append(trade_id, step, **data)
        self.left -= 1
        if self.left == 0:
            raise Crash
        return record


@pytest.mark.parametrize("crash_after", [1, 2])
def test_recovery_after_a_crash_finishes_each_leg_on_its_account(
    venues: Venues, tmp_path: Path, crash_after: int
) -> None:
    venues.with_hedge(kalshi=D(1500), poly=D(1500))
    store = SqliteStore(tmp_path / "live.sqlite3")
    from tests.live.conftest import FAST

    def build(journal: Journal, *, recover: bool) -> RealTradingSystem:
        return RealTradingSystem(
            initial_balance=D(2000),
            store=store,
            exchanges=accounts(venues),
            journal=journal,
            execution=FAST,
            recover_on_start=recover,
        )

    crashing = build(CrashingJournal(tmp_path / "journal.jsonl", crash_after), recover=False)
    with pytest.raises(Crash):
        crashing.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    crashing.executor.close()

    restarted = build(Journal(tmp_path / "journal.jsonl"), recover=True)
    try:
        (trade,) = restarted.state().trade_history
        assert {leg.account for leg in trade.legs} == {"hedge"}
        held = {leg.exchange: leg.held_size for leg in trade.legs}
        assert held == {
            "kalshi": venues.kalshi_position(hedge=True),
            "polymarket": venues.poly_tokens(hedge=True),
        }
        assert venues.kalshi_position() == 0
        assert venues.poly_tokens() == 0
        assert restarted.reconcile().mismatches == ()
    finally:
        restarted.close()


def test_a_store_written_before_accounts_loads_as_the_default_accounts(
    live_system: SystemFactory, venues: Venues, tmp_path: Path
) -> None:
    system = live_system()
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    system.close()
    path = tmp_path / "real_trading_data.json"
    data = json.loads(path.read_text())
    for stored in data["trades"]:
        for leg in stored["legs"]:
            del leg["account"]  # what an older arbkit wrote
    path.write_text(json.dumps(data))

    reloaded = live_system(store=JsonFileStore(path), journal=tmp_path / "journal.jsonl")
    (loaded,) = reloaded.state().trade_history
    assert loaded == trade
    assert {leg.account_id for leg in loaded.legs} == {AccountId("kalshi"), AccountId("polymarket")}
    assert reloaded.reconcile().mismatches == ()
