"""The model-based money test (tests/moneypath/test_model.py) with the PostgreSQL store and journal.

The same machine, rules and invariants; only what a process builds differs: a
:class:`PostgresStore` on a fresh database per example and its :class:`PostgresJournal`,
which dies (``Crash``) right after its N-th committed record like the file journal of the
original. A restart is the same instance coming back (same instance name), so it owns its
unfinished trades at once. Four examples here (the JSON run explores further).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from arbkit.errors import PersistenceError
from arbkit.trading.execution.journal import JournalRecord
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.postgres import PostgresJournal, PostgresStore
from arbkit.trading.postgres.local import LocalServer
from arbkit.trading.risk import BalanceCheck, RiskChain
from tests.live.conftest import Venues
from tests.moneypath import test_model as model


class CrashingPostgresJournal(PostgresJournal):
    """A PostgreSQL journal whose process dies right after its ``crash_after``-th committed record."""

    crash_after: int | None = None
    dead = False

    def append(self, trade_id: str, step: str, **data: Any) -> JournalRecord:
        if self.dead:
            raise model.Crash
        record = super().append(trade_id, step, **data)
        if self.crash_after is not None:
            self.crash_after -= 1
            if self.crash_after <= 0:
                self.dead = True
                self._stop.set()  # a dead process renews no lease
                raise model.Crash
        return record


class PostgresMoneyPath(model.MoneyPath):
    server: ClassVar[LocalServer]
    seen: ClassVar[Counter[str]] = Counter()  # its own, not the JSON run's

    def build(self, crash_after: int | None, *, recover: bool = False) -> None:
        if self.system is not None:
            with contextlib.suppress(model.Crash, PersistenceError):
                self.system.close()
                self.system.store.close()
        if not hasattr(self, "url"):
            self.url = self.server.database()
            self.instance = f"moneypath-{os.getpid()}-{id(self)}"
        v = self.venues
        store = PostgresStore(self.url, mode="live", instance=self.instance)
        journal = CrashingPostgresJournal(store)
        journal.crash_after = crash_after
        self.journal = journal  # type: ignore[assignment]
        self.system = RealTradingSystem(
            initial_balance=model.INITIAL,
            store=store,
            risk=RiskChain([BalanceCheck()]),
            exchanges={"kalshi": v.kalshi(), "polymarket": v.poly()},
            journal=journal,
            execution=model.CONFIG,
            recover_on_start=recover,
        )

    def teardown(self) -> None:
        super().teardown()
        if self.system is not None:
            with contextlib.suppress(PersistenceError):
                self.system.store.close()


def test_the_money_path_holds_on_postgres(venues: Venues, pg_server: LocalServer) -> None:
    PostgresMoneyPath.venues = venues
    PostgresMoneyPath.server = pg_server
    PostgresMoneyPath.seen.clear()
    examples = int(os.environ.get("ARBKIT_SOAK_EXAMPLES", "4"))
    steps = int(os.environ.get("ARBKIT_SOAK_STEPS", "10"))
    run_state_machine_as_test(
        PostgresMoneyPath,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print("money path steps on postgres:", dict(sorted(PostgresMoneyPath.seen.items())))
    assert PostgresMoneyPath.seen["trade"] > 0
