"""One trading instance of the race and failover tests, run as its own process.

``python -m tests.postgres.racer CONFIG_JSON``: builds a :class:`RealTradingSystem` on a
:class:`PostgresStore` (and its journal) against both sandboxes, prints ``ready``, waits
for a line on stdin (so every racer starts at once), then trades and prints one JSON line
of what happened. Without an argument it reads one configuration per stdin line and races
once for each (the race tests reuse four such processes). ``crash_after`` (failover test)
kills the process with SIGKILL right after its N-th journal record is committed, as a
power cut would.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from decimal import Decimal
from typing import Any

from arbkit.trading.execution.executor import ExecutionConfig
from arbkit.trading.execution.journal import JournalRecord
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.postgres import PostgresJournal, PostgresStore
from arbkit.trading.risk import BalanceCheck, MarketExposureCap, MaxDailyTrades, RiskChain, RiskPolicy
from tests.live import scenarios as sc

FAST = ExecutionConfig(
    concurrent=False,
    max_unhedged_seconds=5.0,
    reconcile_seconds=0.3,
    unwind_step_pause_seconds=0.0,
    retry_pause_seconds=0.0,
)


class KilledJournal(PostgresJournal):
    """Dies (SIGKILL, no clean-up at all) right after its ``crash_after``-th committed record."""

    crash_after: int | None = None

    def append(self, trade_id: str, step: str, **data: Any) -> JournalRecord:
        record = super().append(trade_id, step, **data)
        if self.crash_after is not None:
            self.crash_after -= 1
            if self.crash_after <= 0:
                os.kill(os.getpid(), signal.SIGKILL)
        return record


def build(config: dict[str, Any]) -> RealTradingSystem:
    store = PostgresStore(config["url"], mode="live", instance=config.get("instance"))
    journal = KilledJournal(store, lease_seconds=float(config.get("lease_seconds", 15)))
    journal.crash_after = config.get("crash_after")
    policies: list[RiskPolicy] = [BalanceCheck()]
    if config.get("max_daily_trades") is not None:
        policies.append(MaxDailyTrades(int(config["max_daily_trades"])))
    if config.get("max_market_exposure") is not None:
        policies.append(MarketExposureCap(Decimal(config["max_market_exposure"])))
    timeout = float(config.get("timeout", 3.0))
    return RealTradingSystem(
        initial_balance=Decimal(2000),
        store=store,
        risk=RiskChain(policies),
        exchanges={
            "kalshi": sc.kalshi_client(
                config["kalshi_url"], config["key_id"], config["private_pem"], timeout=timeout
            ),
            "polymarket": sc.poly_client(config["poly_url"], config["poly_key"], timeout=timeout),
        },
        journal=journal,
        execution=FAST,
        recover_on_start=bool(config.get("recover", False)),
    )


def run(config: dict[str, Any]) -> dict[str, Any]:
    """Build an instance for ``config``, say ``ready``, wait for the start line, trade."""
    system = build(config)
    kalshi, poly = system.client("kalshi"), system.client("polymarket")
    opportunity = sc.opportunity(kalshi, poly, size=Decimal(config.get("size", 5)))  # type: ignore[arg-type]
    print("ready", flush=True)
    sys.stdin.readline()
    outcome: dict[str, Any] = {"traded": [], "refused": [], "errors": []}
    refusals_in_a_row = 0
    for _ in range(int(config.get("attempts", 0))):
        result = system.execute(opportunity)
        if result.trade is not None:
            refusals_in_a_row = 0
            outcome["traded"].append({"id": result.trade.id, "status": result.trade.status.value})
        elif result.reasons:
            outcome["refused"].append(list(result.reasons))
            refusals_in_a_row += 1
            if refusals_in_a_row >= int(config.get("stop_after_refusals", 1_000_000)):
                break
        else:
            outcome["errors"].append(result.error)
    system.close()
    system.store.close()
    return outcome


def main() -> None:
    """One race with the configuration in argv, or (no argument) one race per configuration
    line read from stdin until end of input: a racer started once serves several tests."""
    if len(sys.argv) > 1:
        print(json.dumps(run(json.loads(sys.argv[1]))), flush=True)
        return
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
