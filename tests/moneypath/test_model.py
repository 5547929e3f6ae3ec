"""The money path's oracle: a hypothesis state machine trading live on both sandboxes.

Random sequences of trades (through the real clients and ``RealTradingSystem``), with one
fault of any kind the sandboxes inject on either venue's order placement (a status after
the venue took the order, for every status; a status before it; dropped connections before
and after; latency longer than the client timeout and the reconcile window; rejections,
insufficient balance, partial and no fills), crashes at a random journal record followed
by a restart that rebuilds the system from its store and journal, settlements (yes, no,
void, 50-50, and the two venues disagreeing), flattens of open trades by the operator (under
the same faults and crashes), and reconciliation runs. After every step:

* the contracts the store holds equal what each venue holds;
* the ledger's cash change equals the venues' summed cash change;
* every order either venue holds is recorded by a trade, and no client order id has two
  venue orders;
* the daily loss counter equals the realised losses of the records.

It runs twice: with one account per venue, and with a second ("hedge") account on each venue,
where each leg is routed to the account with the most free cash. With two accounts the
invariants also hold per account: the store's positions of each account equal that account's
venue positions, the records' cash change of each account equals that account's cash change,
and every order an account holds is recorded on a leg of that account.

Half the examples trade a sports market, where Polymarket answers ``delayed`` (a taker delay).

CI runs a few derandomized examples (``tests/conftest.py``); ``make soak`` runs it long
(``ARBKIT_SOAK_EXAMPLES`` examples of ``ARBKIT_SOAK_STEPS`` steps).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from arbkit.accounts import AccountId, account_cash_flow, account_positions
from arbkit.errors import PersistenceError, RiskRejected, ValidationError
from arbkit.trading.execution.executor import ExecutionConfig
from arbkit.trading.execution.journal import Journal
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.reconcile import stored_positions
from arbkit.trading.records import LegStatus
from arbkit.trading.risk import BalanceCheck, RiskChain
from arbkit.trading.store import JsonFileStore
from arbkit_polymarket.sandbox.engine import Engine as PolyEngine
from tests import scenarios as sc
from tests.live.conftest import Venues

D = Decimal
INITIAL = D(2000)
#: Short windows so a long latency outlives both the client timeout (0.5 s) and the window.
CONFIG = ExecutionConfig(
    concurrent=False,  # a simulated crash must stop the process's every thread at once
    max_unhedged_seconds=5.0,
    reconcile_seconds=0.2,
    unwind_step_pause_seconds=0.0,
    retry_pause_seconds=0.0,
    in_flight_seconds=0.5,
)

FAULTS = st.one_of(
    st.none(),
    st.builds(lambda s: ("status_after", {"status": s}), st.sampled_from([429, 500, 502, 503, 504])),
    st.builds(lambda s: ("status", {"status": s}), st.sampled_from([429, 500, 503])),
    st.just(("drop", {})),
    st.just(("drop_after", {})),
    st.builds(lambda ms: ("latency", {"delay_ms": ms}), st.sampled_from([650, 1100])),
    st.just(("reject", {})),
    st.just(("insufficient", {})),
    st.just(("no_fill", {})),
    st.builds(lambda r: ("partial_fill", {"fill_ratio": r}), st.sampled_from([D("0.3"), D("0.5")])),
)
#: How each settlement resolves the two venues (Kalshi YES New York + Polymarket Rockets).
SETTLEMENTS = {
    "new_york_wins": (("yes", None), ("winner", sc.KNICKS)),
    "houston_wins": (("no", None), ("winner", sc.ROCKETS)),
    "void": (("void", D("0.5")), ("void", None)),
    "fifty_fifty": (("scalar", D("0.5")), ("50-50", None)),
    "disagree_both_win": (("yes", None), ("winner", sc.ROCKETS)),
    "disagree_none_win": (("no", None), ("winner", sc.KNICKS)),
}


class Crash(BaseException):
    """The process dies: raised out of the journal, past every ``except Exception``."""


class CrashingJournal(Journal):
    """A journal whose process dies right after its ``crash_after``-th durable record."""

    def __init__(self, path: Path, crash_after: int | None) -> None:
        super().__init__(path)
        self.crash_after = crash_after
        self.dead = False

    def append(self, trade_id: str, step: str, **data: Any) -> Any:
        if self.dead:
            raise Crash
        record = super().append(trade_id, step, **data)
        if self.crash_after is not None:
            self.crash_after -= 1
            if self.crash_after <= 0:
                self.dead = True
                raise Crash
        return record


def settings_for_run() -> settings:
    examples = int(os.environ.get("ARBKIT_SOAK_EXAMPLES", "10"))
    steps = int(os.environ.get("ARBKIT_SOAK_STEPS", "10"))
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


class MoneyPath(RuleBasedStateMachine):
    venues: Venues  # set by the test before the machine runs
    #: A second ("hedge") account on each venue, funded with this much (set by the test).
    hedge_funds: ClassVar[tuple[Decimal, Decimal] | None] = None
    #: Steps run, by rule and fault, over the whole test (reported by ``make soak``).
    seen: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        if self.hedge_funds is not None:
            self.venues.hedge_funds = self.hedge_funds  # funded by every reset
        self.venues.reset()
        self.dir = Path(tempfile.mkdtemp(prefix="moneypath-"))
        self.system: RealTradingSystem | None = None
        self.resolved = False
        self.trades = 0
        self.hedge_legs: set[tuple[str, int]] = set()
        self.build(crash_after=None)

    @initialize(sports=st.booleans())
    def market(self, sports: bool) -> None:
        """Half the examples trade a sports market: Polymarket answers ``delayed`` (0.3 s here)."""
        if not sports:
            return
        self.seen["sports market (delayed)"] += 1
        app = self.venues.poly_app
        scenario = sc.poly_scenario()
        scenario["events"][0]["markets"][0]["secondsDelay"] = 3
        with app.lock:
            app.engine = PolyEngine()
            app.delayed.clear()
        app.load_scenario(scenario)
        app.add_account(self.venues.poly_address, sc.POLY_BALANCE)
        if self.hedge_funds is not None and self.venues.hedge is not None:
            app.add_account(self.venues.hedge.poly_address, self.hedge_funds[1])
        app.taker_delay = 0.3

    # -- the system, as a process would build it ------------------------------------------------
    def build(self, crash_after: int | None, *, recover: bool = False) -> None:
        if self.system is not None:
            with contextlib.suppress(Crash, PersistenceError):
                self.system.close()
        v = self.venues
        self.journal = CrashingJournal(self.dir / "journal.jsonl", crash_after)
        exchanges: dict[Any, Any] = {"kalshi": v.kalshi(), "polymarket": v.poly()}
        if self.hedge_funds is not None:
            exchanges |= {"kalshi:hedge": v.kalshi_hedge(), "polymarket:hedge": v.poly_hedge()}
        self.system = RealTradingSystem(
            initial_balance=INITIAL,
            store=JsonFileStore(self.dir / "real_trading_data.json"),
            risk=RiskChain([BalanceCheck()]),
            exchanges=exchanges,
            journal=self.journal,
            execution=CONFIG,
            recover_on_start=recover,
        )

    def restart(self) -> None:
        """A new process on the same store and journal (recovery runs at start)."""
        self.build(crash_after=None, recover=True)

    def settle_in_flight(self) -> None:
        """Wait for requests still sleeping in a sandbox (a latency fault) to be handled."""
        deadline = time.monotonic() + 10
        for app in (self.venues.kalshi_app, self.venues.poly_app):
            while True:
                with app.lock:
                    sent = sum(n for k, n in app.requests.items())
                    done = sum(n for k, n in app.handled.items() if " /_sandbox/" not in k)
                if done >= sent:
                    break
                assert time.monotonic() < deadline, "a sandbox request never finished"
                time.sleep(0.02)

    # -- rules -----------------------------------------------------------------------------------
    @rule(
        venue=st.sampled_from(["kalshi", "polymarket"]),
        fault=FAULTS,
        size=st.integers(1, 10),
        kalshi_first=st.booleans(),
        crash_after=st.one_of(st.none(), st.integers(1, 10)),
        times=st.integers(1, 3),
    )
    def trade(
        self,
        venue: str,
        fault: Any,
        size: int,
        kalshi_first: bool,
        crash_after: int | None,
        times: int = 1,
    ) -> None:
        assert self.system is not None
        if self.resolved:
            return  # the market is closed: nothing left to trade in this example
        self.seen["trade"] += 1
        self.seen[f"fault {fault[0] if fault else 'none'}"] += 1
        if crash_after is not None:
            self.journal.crash_after = crash_after
        if fault is not None:
            kind, options = fault  # on the first `times` orders: entries, re-sends, unwinds
            self.venues.fault(venue, kind, times=times, **options)
        v = self.venues
        opportunity = (
            sc.opportunity(v.kalshi(), v.poly(), size=D(size), kalshi_first=kalshi_first)
            if not self.resolved
            else None
        )
        try:
            if opportunity is not None:
                self.system.execute(opportunity)
                self.trades += 1
        except Crash:
            self.seen["crash and restart"] += 1
            self.settle_in_flight()
            self.restart()
        finally:
            v.kalshi_app.faults.clear()
            v.poly_app.faults.clear()
            self.journal.crash_after = None
        self.settle_in_flight()

    # Trading is most of what happens: two more rules with the same arguments weigh it so.
    trade_again = rule(
        venue=st.sampled_from(["kalshi", "polymarket"]),
        fault=FAULTS,
        size=st.integers(1, 10),
        kalshi_first=st.booleans(),
        crash_after=st.one_of(st.none(), st.integers(1, 8)),
    )(lambda self, **kw: MoneyPath.trade(self, **kw))
    trade_more = rule(
        venue=st.sampled_from(["kalshi", "polymarket"]),
        fault=FAULTS,
        size=st.integers(2, 10),
        kalshi_first=st.booleans(),
        crash_after=st.none(),
    )(lambda self, **kw: MoneyPath.trade(self, **kw))

    @rule(
        pick=st.integers(0, 50),
        max_loss=st.sampled_from([None, "0", "0.5", "2", "50"]),
        venue=st.sampled_from(["kalshi", "polymarket"]),
        fault=FAULTS,
        crash_after=st.one_of(st.none(), st.integers(1, 4)),
    )
    def flatten(
        self, pick: int, max_loss: str | None, venue: str, fault: Any, crash_after: int | None
    ) -> None:
        """The operator flattens an open trade, under a fault or a crash like any other order."""
        assert self.system is not None
        held = [t for t in self.system.state().open_positions if t.hedged_size > 0 or t.legs]
        if not held:
            return
        trade = held[pick % len(held)]
        self.seen["flatten"] += 1
        if crash_after is not None:
            self.journal.crash_after = crash_after
        if fault is not None:
            kind, options = fault
            self.venues.fault(venue, kind, times=1, **options)
        try:
            self.system.flatten(trade.id, max_loss=None if max_loss is None else D(max_loss))
            self.seen["flatten sent"] += 1
        except (RiskRejected, ValidationError):
            self.seen["flatten refused"] += 1
        except Crash:
            self.seen["crash and restart"] += 1
            self.settle_in_flight()
            self.restart()
        finally:
            self.venues.kalshi_app.faults.clear()
            self.venues.poly_app.faults.clear()
            self.journal.crash_after = None
        self.settle_in_flight()

    # Reconciling and restarting share one rule: hypothesis' swarm testing switches rules off
    # per example, and an example left with only these two would trade nothing.
    @rule(what=st.sampled_from(["reconcile", "restart"]))
    def operate(self, what: str) -> None:
        if what == "restart":
            self.seen["restart"] += 1
            self.restart()
            return
        assert self.system is not None
        self.seen["reconcile"] += 1
        report = self.system.reconcile()
        # The faults are gone: every leg is decided now, and the store agrees with the venues.
        assert report.unresolved == (), report
        assert [m for m in report.mismatches if m.kind != "cash"] == [], report.mismatches

    @precondition(lambda self: not self.resolved and self.trades >= 6)
    @rule(how=st.sampled_from(sorted(SETTLEMENTS)))
    def resolve_and_settle(self, how: str) -> None:
        assert self.system is not None
        (k_result, k_value), (p_result, p_winner) = SETTLEMENTS[how]
        self.venues.kalshi_app.resolve(sc.KALSHI_TICKER, k_result, k_value)
        if p_result == "winner":
            self.venues.poly_app.resolve(sc.POLY_MARKET, winner=p_winner)
        else:
            self.venues.poly_app.resolve(sc.POLY_MARKET, result=p_result)
        self.resolved = True
        self.seen[f"settle {how}"] += 1
        self.system.reconcile()  # resolves what is unknown, then settles

    # -- the oracle ------------------------------------------------------------------------------
    def unresolved(self) -> bool:
        assert self.system is not None
        return any(
            leg.status is LegStatus.UNKNOWN for t in self.system.state().trade_history for leg in t.legs
        )

    @invariant()
    def store_matches_the_venues(self) -> None:
        assert self.system is not None
        v = self.venues
        state = self.system.state()
        trades = state.trade_history
        # No client order id has two venue orders, and every venue order is on a record.
        kalshi_ids = Counter(o.client_order_id for o in v.kalshi_orders())
        if self.hedge_funds is not None:
            kalshi_ids.update(o.client_order_id for o in v.kalshi_orders(hedge=True))
        assert all(n == 1 for n in kalshi_ids.values()), kalshi_ids
        recorded_coids = {c for t in trades for leg in t.legs for c in leg.client_order_ids}
        recorded_ids = {i for t in trades for leg in t.legs for i in leg.order_ids}
        if self.unresolved():
            return  # the store says plainly that it does not know yet; reconcile decides
        assert set(kalshi_ids) <= recorded_coids, (set(kalshi_ids) - recorded_coids, trades)
        assert {o.id for o in v.poly_orders()} <= recorded_ids, trades
        if self.hedge_funds is not None:
            assert {o.id for o in v.poly_orders(hedge=True)} <= recorded_ids, trades
        # Positions.
        held = stored_positions(list(trades))  # per venue: every account's together
        hedged = self.hedge_funds is not None
        k_held = v.kalshi_position() + (v.kalshi_position(hedge=True) if hedged else 0)
        p_held = v.poly_tokens() + (v.poly_tokens(hedge=True) if hedged else 0)
        assert held.get(("kalshi", sc.KALSHI_TICKER, "yes"), D(0)) == k_held, trades
        assert held.get(("polymarket", sc.POLY_MARKET, sc.ROCKETS), D(0)) == p_held, trades
        # Cash.
        moved = v.kalshi_cash() - sc.KALSHI_BALANCE + v.poly_cash() - sc.POLY_BALANCE
        if self.hedge_funds is not None:
            moved += v.kalshi_cash(hedge=True) + v.poly_cash(hedge=True) - sum(self.hedge_funds, D(0))
        assert state.balance - INITIAL == moved, (state.balance, moved, trades)
        # The daily loss counter.
        assert state.daily_loss == sum((t.realised_loss for t in trades), D(0)), trades
        if self.hedge_funds is not None:
            self.each_account_matches_its_venue(trades)

    def each_account_matches_its_venue(self, trades: Any) -> None:
        """Positions, cash and orders of every account against the records of its own legs."""
        v = self.venues
        assert self.hedge_funds is not None
        held = account_positions(list(trades))
        flow = account_cash_flow(list(trades))
        for hedge in (False, True):
            name = "hedge" if hedge else "default"
            kalshi, poly = AccountId("kalshi", name), AccountId("polymarket", name)
            k_start, p_start = self.hedge_funds if hedge else (sc.KALSHI_BALANCE, sc.POLY_BALANCE)
            assert held.get((kalshi, sc.KALSHI_TICKER, "yes"), D(0)) == v.kalshi_position(hedge=hedge), (
                kalshi,
                trades,
            )
            assert held.get((poly, sc.POLY_MARKET, sc.ROCKETS), D(0)) == v.poly_tokens(hedge=hedge), (
                poly,
                trades,
            )
            assert flow.get(kalshi, D(0)) == v.kalshi_cash(hedge=hedge) - k_start, (kalshi, trades)
            assert flow.get(poly, D(0)) == v.poly_cash(hedge=hedge) - p_start, (poly, trades)
            coids = {
                c for t in trades for leg in t.legs if leg.account_id == kalshi for c in leg.client_order_ids
            }
            ids = {i for t in trades for leg in t.legs if leg.account_id == poly for i in leg.order_ids}
            assert {o.client_order_id for o in v.kalshi_orders(hedge=hedge)} <= coids, (kalshi, trades)
            assert {o.id for o in v.poly_orders(hedge=hedge)} <= ids, (poly, trades)
        on_hedge = {(t.id, i) for t in trades for i, leg in enumerate(t.legs) if leg.account == "hedge"}
        self.hedge_legs |= on_hedge
        key = "legs sent from a hedge account (most in one example)"
        self.seen[key] = max(self.seen[key], len(self.hedge_legs))

    def teardown(self) -> None:
        self.venues.poly_app.taker_delay = None
        if self.system is not None:
            with contextlib.suppress(Crash, PersistenceError):
                self.system.close()


@pytest.mark.parametrize("accounts", ["one per venue", "two per venue"])
def test_the_money_path_holds_under_any_sequence_of_faults(venues: Venues, accounts: str) -> None:
    MoneyPath.venues = venues
    MoneyPath.hedge_funds = (D(1000), D(1000)) if accounts == "two per venue" else None
    MoneyPath.seen.clear()
    try:
        run_state_machine_as_test(MoneyPath, settings=settings_for_run())
    finally:
        MoneyPath.hedge_funds = None
    print(f"money path steps ({accounts}):", dict(sorted(MoneyPath.seen.items())))
    assert MoneyPath.seen["trade"] > 0
    if accounts == "two per venue":
        assert MoneyPath.seen["legs sent from a hedge account (most in one example)"] > 0
