"""One live trade in a subprocess, for the crash-recovery tests (``python -m tests.live.crash_worker``).

The test starts the sandboxes, passes their URLs, the credentials and a state directory
through the environment, and ``LIVE_TEST_CRASH_AT`` = N: the worker trades with a
:class:`KillingJournal`, which kills this process with SIGKILL right after its N-th durable
record (the production journal has no such hook).
"""

from __future__ import annotations

import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

from arbkit.trading.execution.executor import ExecutionConfig
from arbkit.trading.execution.journal import Journal, JournalRecord
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.risk import BalanceCheck, RiskChain
from arbkit.trading.store import JsonFileStore
from tests.live import scenarios as sc

#: Execution settings shared by the worker and the recovering test process.
CONFIG = ExecutionConfig(reconcile_seconds=0.3, unwind_step_pause_seconds=0.0, retry_pause_seconds=0.0)


class KillingJournal(Journal):
    """A journal that kills its process with SIGKILL right after its ``crash_at``-th record."""

    def __init__(self, path: Path, crash_at: int) -> None:
        super().__init__(path)
        self.crash_at = crash_at
        self.written = 0

    def append(self, trade_id: str, step: str, **data: object) -> JournalRecord:
        record = super().append(trade_id, step, **data)  # durable (fsynced) before the kill
        self.written += 1
        if self.written >= self.crash_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return record


def build(
    state_dir: Path, kalshi_url: str, poly_url: str, key_id: str, pem: str, poly_key: str, **kw: object
) -> RealTradingSystem:
    """The live system both processes use: same store, same journal, same clients."""
    kw.setdefault("journal", state_dir / "journal.jsonl")
    return RealTradingSystem(
        initial_balance=Decimal(2000),
        store=JsonFileStore(state_dir / "real_trading_data.json"),
        risk=RiskChain([BalanceCheck()]),
        exchanges={
            "kalshi": sc.kalshi_client(kalshi_url, key_id, pem),
            "polymarket": sc.poly_client(poly_url, poly_key),
        },
        execution=CONFIG,
        **kw,  # type: ignore[arg-type]
    )


def main() -> int:
    env = os.environ
    state_dir = Path(env["LIVE_TEST_STATE_DIR"])
    system = build(
        state_dir,
        env["LIVE_TEST_KALSHI_URL"],
        env["LIVE_TEST_POLY_URL"],
        env["LIVE_TEST_KALSHI_KEY_ID"],
        Path(env["LIVE_TEST_KALSHI_PEM_FILE"]).read_text(),
        env["LIVE_TEST_POLY_KEY"],
        recover_on_start=False,
        journal=KillingJournal(state_dir / "journal.jsonl", int(env["LIVE_TEST_CRASH_AT"])),
    )
    kalshi, poly = system.exchanges["kalshi"], system.exchanges["polymarket"]
    result = system.execute(sc.opportunity(kalshi, poly))  # type: ignore[arg-type]
    print(result.status)
    system.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
