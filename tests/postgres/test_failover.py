"""An instance killed mid-trade (SIGKILL) is recovered by another once its lease expires.

Instance A runs in its own process and dies right after its N-th journal record is
committed: after the intent (nothing sent), after the first leg's result (one leg filled),
after the second's (both filled, nothing recorded). Instance B, a standby on the same
database, cannot touch A's trade while A's lease runs; after it expires B takes the trade
over, reconciles it with the venues by client order id and finishes it, with no second
order for any client order id, and the store agrees with what the venues hold.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import psycopg
import pytest

from arbkit.trading.live import RealTradingSystem
from arbkit.trading.postgres import PostgresJournal, PostgresStore
from arbkit.trading.reconcile import stored_positions
from arbkit.trading.risk import BalanceCheck, RiskChain
from tests.live import scenarios as sc
from tests.live.conftest import FAST, Venues
from tests.postgres import racing

D = Decimal
LEASE = 3.0  # long enough that the standby checks before it runs out, even on a loaded box


@pytest.mark.parametrize("crash_after", [1, 2, 3], ids=["after-intent", "after-first-leg", "after-both-legs"])
def test_a_killed_instances_trade_is_finished_by_another_without_a_second_order(
    venues: Venues, pg_url: str, pg_store: Callable[..., PostgresStore], crash_after: int
) -> None:
    standby_store = PostgresStore(pg_url, mode="live")
    standby = RealTradingSystem(
        initial_balance=D(2000),
        store=standby_store,
        risk=RiskChain([BalanceCheck()]),
        exchanges={"kalshi": venues.kalshi(), "polymarket": venues.poly()},
        execution=FAST,
        recover_on_start=False,
    )
    assert isinstance(standby.journal, PostgresJournal)

    [killed] = racing.race(
        [racing.config(venues, pg_url, attempts=1, crash_after=crash_after, lease_seconds=LEASE)]
    )
    assert killed is None  # SIGKILLed mid-trade

    with psycopg.connect(pg_url) as conn:
        [(trade_id, owner)] = conn.execute(
            "SELECT trade_id, owner FROM arbkit_journal_owners WHERE NOT finished"
        ).fetchall()
    assert owner != standby_store.instance
    assert standby.recover() == []  # the dead instance's lease still runs: hands off

    deadline = time.monotonic() + LEASE + 10
    recovered = standby.recover()
    while not recovered:
        assert time.monotonic() < deadline, "the standby never took the trade over"
        time.sleep(0.1)
        recovered = standby.recover()

    [trade] = recovered
    assert trade.id == trade_id
    with psycopg.connect(pg_url) as conn:
        assert conn.execute(
            "SELECT owner, finished, taken_over FROM arbkit_journal_owners WHERE trade_id = %s", (trade_id,)
        ).fetchone() == (standby_store.instance, True, 1)
        active = conn.execute(
            "SELECT count(*) FROM arbkit_reservations WHERE released_seq IS NULL"
        ).fetchone()
    assert active == (0,)
    # No client order id has two venue orders.
    assert all(n == 1 for n in Counter(o.client_order_id for o in venues.kalshi_orders()).values())
    # The store (as any instance reads it) holds what the venues hold, and the cash they moved.
    state = pg_store().load()
    assert state is not None
    assert [t.id for t in state.trades] == [trade_id]
    held = stored_positions(list(state.trades))
    assert held.get(("kalshi", sc.KALSHI_TICKER, "yes"), D(0)) == venues.kalshi_position()
    assert held.get(("polymarket", sc.POLY_MARKET, sc.ROCKETS), D(0)) == venues.poly_tokens()
    moved = venues.kalshi_cash() - sc.KALSHI_BALANCE + venues.poly_cash() - sc.POLY_BALANCE
    assert state.ledger.balance - D(2000) == moved
    standby.close()
    standby_store.close()


def test_a_recorded_trade_left_undecided_is_adopted_and_corrected_once(
    venues: Venues, pg_url: str, pg_store: Callable[..., PostgresStore]
) -> None:
    """An instance that stops with a leg still unknown hands the trade over; the standby
    finishes it from the venues and corrects the shared ledger without counting it twice."""

    def system(store: PostgresStore) -> RealTradingSystem:
        return RealTradingSystem(
            initial_balance=D(2000),
            store=store,
            risk=RiskChain([BalanceCheck()]),
            exchanges={"kalshi": venues.kalshi(), "polymarket": venues.poly()},
            execution=FAST,
            recover_on_start=False,
        )

    standby = system(pg_store())
    first = system(pg_store())
    venues.fault("polymarket", "drop", times=None)  # the Polymarket leg's fate cannot be known
    trade = first.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert trade.legs[1].status.value == "unknown"
    first.close()  # stops with the entry unfinished: its lease is given up
    venues.poly_app.faults.clear()

    [recovered] = standby.recover()

    assert recovered.id == trade.id
    assert all(leg.status.value != "unknown" for leg in recovered.legs)
    assert all(n == 1 for n in Counter(o.client_order_id for o in venues.kalshi_orders()).values())
    state = pg_store().load()
    assert state is not None
    assert [t.id for t in state.trades] == [trade.id]
    assert state.trades[0] == recovered
    assert state.ledger.daily.trades == 1  # adopted, not counted again
    assert state.ledger.daily.loss == recovered.realised_loss
    held = stored_positions(list(state.trades))
    assert held.get(("kalshi", sc.KALSHI_TICKER, "yes"), D(0)) == venues.kalshi_position()
    assert held.get(("polymarket", sc.POLY_MARKET, sc.ROCKETS), D(0)) == venues.poly_tokens()
    moved = venues.kalshi_cash() - sc.KALSHI_BALANCE + venues.poly_cash() - sc.POLY_BALANCE
    assert state.ledger.balance - D(2000) == moved
    standby.close()
